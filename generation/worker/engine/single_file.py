"""Load single-file checkpoints (what people upload: one .safetensors holding UNet, VAE and text
encoders in the original CompVis/Stability key layout) from local disk only.

diffusers needs a diffusers-format config dir to know each component's architecture; without one it
asks the hub. We ship those dirs (configs and tokenizers, no weights) under ``configs/<base model>``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from diffusers.utils import logging as diffusers_logging
from transformers.utils import logging as transformers_logging

from generation.worker.engine.loading import pipeline_finish, pipeline_load

if TYPE_CHECKING:
    from modelhub.models import ModelFile

logger = logging.getLogger(__name__)

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"

# Base model -> pipeline class whose from_single_file reads the file; the config dir is
# CONFIGS_DIR / <base model>. The tiny built-in model only exists as a diffusers folder.
SINGLE_FILE_PIPELINES: dict[str, type[Any]] = {
    "sd15": StableDiffusionPipeline,
    "sd21": StableDiffusionPipeline,
    "sdxl": StableDiffusionXLPipeline,
}


class UnsupportedSingleFileBase(ValueError):
    """A single-file checkpoint for a base model we ship no architecture config for."""

    def __init__(self, base_model: str) -> None:
        supported = ", ".join(sorted(SINGLE_FILE_PIPELINES))
        super().__init__(
            f"No single-file config for base model {base_model!r}: supported are {supported}."
        )
        self.base_model = base_model


def single_file_config_dir(base_model: str) -> Path:
    """The shipped diffusers-format config dir for a base model."""
    if base_model not in SINGLE_FILE_PIPELINES:
        raise UnsupportedSingleFileBase(base_model)
    return CONFIGS_DIR / base_model


def pipeline_load_single_file(
    path: Path,
    *,
    base_model: str,
    device: str = "cpu",
    config_dir: Path | None = None,
    dtype: torch.dtype = torch.float32,
) -> Any:
    """Load a single .safetensors checkpoint offline, the architecture taken from ``config_dir``
    (by default the shipped dir for ``base_model``) so nothing is looked up on a hub."""
    config = single_file_config_dir(base_model) if config_dir is None else config_dir
    pipeline_class = SINGLE_FILE_PIPELINES.get(base_model)
    if pipeline_class is None:
        raise UnsupportedSingleFileBase(base_model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    logger.info("Loading %s checkpoint %s with configs from %s", base_model, path, config)
    extra: dict[str, Any] = {}
    if pipeline_class is StableDiffusionPipeline:
        # The safety checker and its image processor are not in user checkpoints; ours runs apart.
        extra = {
            "safety_checker": None,
            "feature_extractor": None,
            "requires_safety_checker": False,
        }
    pipe = pipeline_class.from_single_file(
        str(path), config=str(config), local_files_only=True, dtype=dtype, **extra
    )
    return pipeline_finish(pipe).to(device)


def pipeline_load_file(
    model_file: ModelFile, *, device: str = "cpu", dtype: torch.dtype | None = None
) -> Any:
    """Load whichever format a registered model file is in: a diffusers folder or one file, in
    ``dtype`` (None: the loaders' default, fp32).

    Formats are compared as strings: the engine stays free of Django model imports."""
    options: dict[str, Any] = {"device": device}
    if dtype is not None:
        options["dtype"] = dtype
    if model_file.format == "diffusers":
        return pipeline_load(model_file.local_path, **options)
    if model_file.format == "safetensors":
        return pipeline_load_single_file(
            model_file.local_path, base_model=model_file.version.base_model, **options
        )
    raise ValueError(f"Unknown model file format: {model_file.format!r}")
