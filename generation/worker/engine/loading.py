"""Load a model version's weights into a diffusers pipeline, from local disk only, in the dtype
chosen for the device it runs on.

Nothing is fetched from a hub and nothing is unpickled: weights are read as safetensors."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from diffusers import StableDiffusionPipeline
from diffusers.utils import logging as diffusers_logging
from transformers.utils import logging as transformers_logging

# GENERATION_DTYPE's values other than "auto" (visionary.settings.base.GENERATION_DTYPES).
DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}


class UnsupportedDtype(ValueError):
    """The dtype asked for cannot run on the generation device."""


def pipeline_dtype(
    device: str, override: str | None = None, *, bf16_supported: bool
) -> torch.dtype:
    """The dtype pipelines load in: ``override`` ("fp32", "fp16", "bf16"; None or "auto" picks).

    Picked: fp32 on the CPU (its fp16 kernels are slow or missing), fp16 on an accelerator (half
    the memory and the tensor cores; every CUDA GPU has it). bf16 (fp32's range, so no overflow)
    only on request, where the device supports it; fp16 is refused on the CPU."""
    on_cpu = torch.device(device).type == "cpu"
    choice = override or "auto"
    if choice == "auto":
        return torch.float32 if on_cpu else torch.float16
    if choice not in DTYPES:
        raise UnsupportedDtype(f"unknown dtype {choice!r}: use auto, {', '.join(DTYPES)}")
    if choice == "bf16" and not bf16_supported:
        raise UnsupportedDtype(f"{device} does not support bf16: use fp16 or fp32")
    if choice == "fp16" and on_cpu:
        raise UnsupportedDtype("fp16 is for accelerators: on the CPU use bf16 or fp32")
    return DTYPES[choice]


def vae_run_dtype(pipe: Any) -> torch.dtype:
    """The dtype the VAE computes in: fp32 where fp16 would overflow into NaN (SDXL's VAE).

    Such a VAE is stored in half precision with ``config.force_upcast`` set, and diffusers' SDXL
    pipelines move it to fp32 around each decode (fp16) and img2img encode (fp16 or bf16), then
    back. SD 1.x/2.x pipelines never upcast: their VAE runs in its own dtype."""
    vae = pipe.vae
    upcast = getattr(pipe, "text_encoder_2", None) is not None and vae.config.force_upcast
    return torch.float32 if upcast else vae.dtype


def pipeline_finish(pipe: Any) -> Any:
    """What every loaded pipeline gets, whatever its format."""
    pipe.set_progress_bar_config(disable=True)
    # Each job builds its scheduler from the model's original schedule, whatever ran before.
    pipe.base_scheduler_config = pipe.scheduler.config
    if getattr(pipe, "text_encoder_2", None) is not None and pipe.vae.dtype == torch.float16:
        # SDXL's VAE overflows in fp16 (black or NaN pictures); a config without the flag would
        # let diffusers decode in fp16.
        pipe.vae.register_to_config(force_upcast=True)
    # The dtype its VAE is stored in: a call that fails mid-decode leaves it upcast (runner).
    pipe.vae_storage_dtype = pipe.vae.dtype
    _clip_skip_compat(pipe.text_encoder)
    return pipe


def pipeline_load(
    path: Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> StableDiffusionPipeline:
    """Load a diffusers-format folder from local disk only; nothing is fetched, nothing unpickled."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    pipe = StableDiffusionPipeline.from_pretrained(
        str(path), local_files_only=True, use_safetensors=True, dtype=dtype
    )
    return pipeline_finish(pipe).to(device)


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
