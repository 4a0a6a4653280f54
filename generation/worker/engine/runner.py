"""Run one pipeline call on a loaded pipeline, reporting every step.

One call may carry the rows of several jobs (collated by the queue): each row has its own prompt,
negative prompt, seed and picture count; steps, size, sampler, CFG, clip skip and LoRAs are shared.
LoRAs are applied for the call and removed afterwards, whatever happens. SD 1.x/2.x and SDXL
pipelines both run here (SDXL also gets its pooled prompt embeddings; img2img its own pipeline)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionXLImg2ImgPipeline
from PIL import Image
from safetensors.torch import load_file

from generation.worker.engine.prompt_encoding import is_sdxl, prompt_embeddings_build
from generation.worker.engine.samplers import scheduler_for

logger = logging.getLogger(__name__)

# Called after every step with (step, total, latents); latents are the current denoised state.
StepCallback = Callable[[int, int, Any], None]


class Interrupted(Exception):
    pass


@dataclass(frozen=True)
class Row:
    """One job's share of a call: ``count`` pictures, picture i seeded ``seed + i``."""

    prompt: str
    negative_prompt: str
    seed: int
    count: int = 1


@dataclass(frozen=True)
class LoraWeights:
    """A LoRA file (safetensors, diffusers or kohya keys) and the weight to apply it with."""

    path: Path
    weight: float
    # Unique per file (its hash): the adapter's name inside the pipeline.
    key: str


@dataclass(frozen=True)
class RenderRequest:
    rows: tuple[Row, ...]
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler: str
    # A1111's meaning: 1 uses the text encoder's last layer, 2 the one before it, ...
    clip_skip: int = 1
    loras: tuple[LoraWeights, ...] = ()
    # img2img: the starting picture (resized to width x height) and how much of it to redo.
    init_image: Image.Image | None = field(default=None, compare=False)
    denoising_strength: float = 0.75

    @property
    def picture_count(self) -> int:
        return sum(row.count for row in self.rows)


@dataclass(frozen=True)
class TextToImage:
    """A single job's request (one row): the common case and the tests' shorthand."""

    prompt: str
    negative_prompt: str
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler: str
    seed: int
    batch_size: int = 1
    clip_skip: int = 1

    def as_render(self) -> RenderRequest:
        return RenderRequest(
            rows=(Row(self.prompt, self.negative_prompt, self.seed, self.batch_size),),
            steps=self.steps,
            cfg_scale=self.cfg_scale,
            width=self.width,
            height=self.height,
            sampler=self.sampler,
            clip_skip=self.clip_skip,
        )


@contextmanager
def loras_applied(pipe: Any, loras: tuple[LoraWeights, ...]) -> Iterator[None]:
    """Load ``loras`` into the pipeline with their weights; unload them on the way out, so the
    next call (another member's job) runs on the untouched base weights."""
    if not loras:
        yield
        return
    names: list[str] = []
    try:
        for lora in loras:
            name = f"lora_{lora.key}"
            # Read as safetensors here (never unpickled), then hand diffusers the tensors.
            pipe.load_lora_weights(load_file(str(lora.path)), adapter_name=name)
            names.append(name)
        pipe.set_adapters(names, adapter_weights=[lora.weight for lora in loras])
        yield
    finally:
        if names:
            pipe.unload_lora_weights()


def _img2img(pipe: Any) -> StableDiffusionImg2ImgPipeline | StableDiffusionXLImg2ImgPipeline:
    """The img2img pipeline sharing ``pipe``'s modules (no extra weights), made once per model."""
    cached = getattr(pipe, "_visionary_img2img", None)
    if cached is None:
        if is_sdxl(pipe):
            cached = StableDiffusionXLImg2ImgPipeline.from_pipe(pipe)
        else:
            cached = StableDiffusionImg2ImgPipeline.from_pipe(pipe)
        cached.set_progress_bar_config(disable=True)
        object.__setattr__(pipe, "_visionary_img2img", cached)
    return cached


def _vae_storage_dtype_restore(pipe: Any) -> None:
    """SDXL pipelines move an fp16 VAE to fp32 around the decode and back after it; a call that
    failed in between (out of memory, say) left it in fp32, where fp16 latents would not run."""
    stored = getattr(pipe, "vae_storage_dtype", None)
    if stored is not None and pipe.vae.dtype != stored:
        pipe.vae.to(dtype=stored)


def render(
    pipe: Any,
    request: RenderRequest,
    *,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[list[Image.Image]]:
    """Run the call; the pictures come back grouped by row, in row order."""
    _vae_storage_dtype_restore(pipe)
    runner = _img2img(pipe) if request.init_image is not None else pipe
    runner.scheduler = scheduler_for(
        request.sampler, getattr(pipe, "base_scheduler_config", pipe.scheduler.config)
    )
    # One generator per picture, seeded seed + i: picture i starts from the same noise as a
    # single run with that seed, whichever batch it rides in.
    generators = [
        torch.Generator(device="cpu").manual_seed(row.seed + i)
        for row in request.rows
        for i in range(row.count)
    ]
    prompts = [row.prompt for row in request.rows for _ in range(row.count)]
    negatives = [row.negative_prompt for row in request.rows for _ in range(row.count)]
    stopped = False

    def step_end(
        pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        nonlocal stopped
        if on_step is not None:
            total = getattr(pipeline, "num_timesteps", None) or request.steps
            on_step(step + 1, total, tensors.get("latents"))
        if should_stop is not None and should_stop():
            stopped = True
            pipeline._interrupt = True
        return tensors

    with loras_applied(pipe, request.loras), torch.inference_mode():
        embeddings = prompt_embeddings_build(pipe, prompts, negatives, clip_skip=request.clip_skip)
        kwargs: dict[str, Any] = {
            **embeddings.as_kwargs(),
            "num_inference_steps": request.steps,
            "guidance_scale": request.cfg_scale,
            "generator": generators,
            "callback_on_step_end": step_end,
            "callback_on_step_end_tensor_inputs": ["latents"],
            "output_type": "pil",
        }
        if request.init_image is not None:
            start = request.init_image.convert("RGB").resize(
                (request.width, request.height), Image.Resampling.LANCZOS
            )
            kwargs |= {"image": [start] * len(prompts), "strength": request.denoising_strength}
        else:
            kwargs |= {"width": request.width, "height": request.height}
        result = runner(**kwargs)
    if stopped:
        raise Interrupted
    pictures = list(result.images)
    grouped, start_at = [], 0
    for row in request.rows:
        grouped.append(pictures[start_at : start_at + row.count])
        start_at += row.count
    return grouped


def text_to_image(
    pipe: Any,
    request: TextToImage,
    *,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Image.Image]:
    return render(pipe, request.as_render(), on_step=on_step, should_stop=should_stop)[0]
