"""Load a model version's weights into a diffusers pipeline, from local disk only.

Nothing is fetched from a hub and nothing is unpickled: weights are read as safetensors."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from diffusers import StableDiffusionPipeline
from diffusers.utils import logging as diffusers_logging
from transformers.utils import logging as transformers_logging


def pipeline_load(path: Path, *, device: str = "cpu") -> StableDiffusionPipeline:
    """Load a diffusers-format folder from local disk only; nothing is fetched, nothing unpickled."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    pipe = StableDiffusionPipeline.from_pretrained(
        str(path), local_files_only=True, use_safetensors=True
    )
    pipe.set_progress_bar_config(disable=True)
    # Each job builds its scheduler from the model's original schedule, whatever ran before.
    pipe.base_scheduler_config = pipe.scheduler.config
    _clip_skip_compat(pipe.text_encoder)
    return pipe.to(device)


def _clip_skip_compat(text_encoder: Any) -> None:
    """diffusers 0.42 applies clip skip through ``text_encoder.text_model.final_layer_norm``;
    transformers 5 flattened CLIPTextModel (no ``text_model``). Expose the layer norm under the
    old path, outside nn.Module's registry so parameters and state_dict are unchanged."""
    if text_encoder is not None and not hasattr(text_encoder, "text_model"):
        final_norm = getattr(text_encoder, "final_layer_norm", None)
        if final_norm is not None:
            object.__setattr__(
                text_encoder, "text_model", SimpleNamespace(final_layer_norm=final_norm)
            )
