"""A1111 names <-> ours: samplers and schedulers, checkpoint titles, base64 pictures and infotext."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from generation.params import JobParams, Sampler
from modelhub.models import ModelFile, ModelVersion

# A1111's API defaults where they differ from ours; the size stays the model's native one.
A1111_DEFAULTS = JobParams(steps=50, cfg_scale=7.0, sampler=Sampler.EULER)

# A1111's sampler aliases (its k-diffusion names), so old clients that send them still work.
SAMPLER_ALIASES: dict[str, list[str]] = {
    Sampler.EULER_A: ["k_euler_a", "k_euler_ancestral"],
    Sampler.EULER: ["k_euler"],
    Sampler.DPMPP_2M: ["k_dpmpp_2m"],
    Sampler.DPMPP_2M_KARRAS: ["k_dpmpp_2m_ka"],
    Sampler.DDIM: ["ddim"],
    Sampler.UNIPC: ["unipc"],
}
# A1111 1.9+ splits "DPM++ 2M Karras" into sampler "DPM++ 2M" + scheduler "Karras"; our samplers
# carry their sigma schedule, so the only schedule we can honour besides "Automatic" is that one.
SCHEDULERS: list[dict[str, object]] = [
    {
        "name": "automatic",
        "label": "Automatic",
        "aliases": None,
        "default_rho": -1,
        "need_inner_model": False,
    },
    {
        "name": "karras",
        "label": "Karras",
        "aliases": None,
        "default_rho": 7.0,
        "need_inner_model": False,
    },
]
KARRAS_VARIANTS = {Sampler.DPMPP_2M: Sampler.DPMPP_2M_KARRAS}


class UnknownName(ValueError):
    """A sampler or scheduler name we do not know; the message says which exist."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def sampler_resolve(name: str, scheduler: str | None = None) -> str:
    """Our sampler for an A1111 sampler name (or alias) and optional scheduler name/label."""
    wanted = name.strip().lower()
    sampler = next(
        (
            value
            for value, aliases in SAMPLER_ALIASES.items()
            if wanted == value.lower() or wanted in aliases
        ),
        None,
    )
    if sampler is None:
        raise UnknownName(
            f"Sampler not found: {name}. Available: {', '.join(Sampler.values)}.",
            field="sampler_name",
        )
    schedule = (scheduler or "automatic").strip().lower()
    if schedule == "automatic":
        return sampler
    if schedule == "karras":
        if sampler == Sampler.DPMPP_2M_KARRAS:
            return sampler
        if sampler in KARRAS_VARIANTS:
            return KARRAS_VARIANTS[Sampler(sampler)]
        raise UnknownName(
            f"The Karras schedule is available with DPM++ 2M only, not {name}.", field="scheduler"
        )
    labels = ", ".join(str(s["label"]) for s in SCHEDULERS)
    raise UnknownName(f"Scheduler not found: {scheduler}. Available: {labels}.", field="scheduler")


@dataclass(frozen=True)
class Checkpoint:
    """A generatable model version as A1111's /sd-models lists a checkpoint."""

    version: ModelVersion
    file: ModelFile

    @property
    def model_name(self) -> str:
        return str(self.version)

    @property
    def title(self) -> str:
        return f"{self.model_name} [{self.file.autov2}]"


def checkpoint_matches(checkpoint: Checkpoint, wanted: str) -> bool:
    """A1111 accepts a checkpoint's title, its name, or its short or full hash."""
    text = wanted.strip().lower()
    candidates = {
        checkpoint.title.lower(),
        checkpoint.model_name.lower(),
        checkpoint.file.autov2.lower(),
        checkpoint.file.sha256.lower(),
        checkpoint.version.model.name.lower(),
    }
    return bool(text) and text in candidates


class BadImage(ValueError):
    """A base64 picture that cannot be decoded."""


def image_b64_decode(data: str) -> bytes:
    """A1111 accepts base64 with or without a ``data:image/...;base64,`` prefix."""
    if data.startswith("data:"):
        _prefix, _sep, data = data.partition(",")
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadImage("Invalid base64 image data.") from exc


def png_info_read(data: bytes) -> dict[str, str]:
    """The text items of a picture (A1111's png-info), without decoding its pixels; a picture
    past Pillow's decompression bomb limit, or with text that inflates past Pillow's text chunk
    limit (a zTXt/iTXt bomb), is a BadImage that says so."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            items = {
                k: v for k, v in picture.info.items() if isinstance(k, str) and isinstance(v, str)
            }
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(_too_many_pixels()) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadImage("Not a readable picture.") from exc
    except ValueError as exc:
        raise BadImage("The picture's text metadata is too large or damaged.") from exc
    # Pillow only warns between its limit and twice its limit; we refuse those too.
    if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
        raise BadImage(_too_many_pixels())
    return items


def _too_many_pixels() -> str:
    return f"The picture is too large: at most {Image.MAX_IMAGE_PIXELS} pixels."


def b64_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# A1111's own pattern for the "Key: value, Key: "quoted, value"" line of an infotext.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def infotext_parse(infotext: str) -> dict[str, str]:
    """An infotext's fields as A1111's parse_generation_parameters gives them (string values;
    "Size" split into "Size-1" and "Size-2"). Written here because A1111's parser is not a
    library we can depend on; the format is the one generation.infotext writes."""
    lines = infotext.strip().split("\n")
    params_line = lines[-1] if len(lines) > 1 and len(_PARAM.findall(lines[-1])) >= 3 else ""
    body = lines[:-1] if params_line else lines
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    fields: dict[str, str] = {
        "Prompt": "\n".join(prompt_lines),
        "Negative prompt": "\n".join(negative_lines),
    }
    for key, raw in _PARAM.findall(params_line):
        value = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"')
        size = _SIZE.match(value)
        if key == "Size" and size:
            fields["Size-1"], fields["Size-2"] = size.group(1), size.group(2)
        else:
            fields[key] = value
    return fields
