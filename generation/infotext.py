"""AUTOMATIC1111 "infotext": the recipe written into the PNG's "parameters" text chunk."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image
from PIL.PngImagePlugin import PngInfo


@dataclass(frozen=True)
class Recipe:
    prompt: str
    negative_prompt: str
    steps: int
    sampler: str
    cfg_scale: float
    seed: int
    width: int
    height: int
    model_hash: str
    model_name: str
    clip_skip: int = 1
    # (name, AutoV2) of each LoRA used, written as A1111's "Lora hashes".
    lora_hashes: tuple[tuple[str, str], ...] = ()
    # img2img only.
    denoising_strength: float | None = None


def _number(value: float) -> str:
    return f"{value:g}"


def infotext_build(recipe: Recipe) -> str:
    lines = [recipe.prompt]
    if recipe.negative_prompt:
        lines.append(f"Negative prompt: {recipe.negative_prompt}")
    fields = [
        ("Steps", str(recipe.steps)),
        ("Sampler", recipe.sampler),
        ("CFG scale", _number(recipe.cfg_scale)),
        ("Seed", str(recipe.seed)),
        ("Size", f"{recipe.width}x{recipe.height}"),
        ("Model hash", recipe.model_hash),
        ("Model", recipe.model_name),
    ]
    if recipe.clip_skip > 1:
        fields.append(("Clip skip", str(recipe.clip_skip)))
    if recipe.denoising_strength is not None:
        fields.append(("Denoising strength", _number(recipe.denoising_strength)))
    if recipe.lora_hashes:
        # A1111 quotes the list: its values hold commas.
        hashes = ", ".join(f"{name.replace(',', '')}: {h}" for name, h in recipe.lora_hashes)
        fields.append(("Lora hashes", f'"{hashes}"'))
    lines.append(", ".join(f"{key}: {value}" for key, value in fields))
    return "\n".join(lines)


def png_with_infotext(image: Image.Image, infotext: str) -> bytes:
    meta = PngInfo()
    meta.add_text("parameters", infotext)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def png_read_infotext(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return str(image.info.get("parameters", ""))
