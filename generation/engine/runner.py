"""Run one text-to-image call on a loaded pipeline, reporting every step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from generation.engine.long_prompts import encode_long_prompts, needs_chunking
from generation.engine.samplers import scheduler_for

# Called after every step with (step, total, latents); latents are the current denoised state.
StepCallback = Callable[[int, int, Any], None]


class Interrupted(Exception):
    pass


@dataclass(frozen=True)
class TextToImage:
    prompt: str
    negative_prompt: str
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler: str
    seed: int
    batch_size: int = 1
    # A1111's meaning: 1 uses the text encoder's last layer, 2 the one before it, ...
    clip_skip: int = 1


def text_to_image(
    pipe: StableDiffusionPipeline,
    request: TextToImage,
    *,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Image.Image]:
    pipe.scheduler = scheduler_for(
        request.sampler, getattr(pipe, "base_scheduler_config", pipe.scheduler.config)
    )
    # One generator per picture, seeded seed + i: picture i starts from the same noise as a
    # single run with that seed.
    generators = [
        torch.Generator(device="cpu").manual_seed(request.seed + i)
        for i in range(request.batch_size)
    ]
    stopped = False

    def step_end(
        pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        nonlocal stopped
        if on_step is not None:
            on_step(step + 1, request.steps, tensors.get("latents"))
        if should_stop is not None and should_stop():
            stopped = True
            pipeline._interrupt = True
        return tensors

    with torch.inference_mode():
        prompts: dict[str, Any]
        if needs_chunking(pipe.tokenizer, request.prompt, request.negative_prompt):
            embeds, negative_embeds = encode_long_prompts(
                pipe, request.prompt, request.negative_prompt, clip_skip=request.clip_skip
            )
            prompts = {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}
        else:
            # diffusers counts layers skipped: A1111's "Clip skip: 2" is diffusers' clip_skip=1.
            prompts = {
                "prompt": request.prompt,
                "negative_prompt": request.negative_prompt or None,
                "clip_skip": request.clip_skip - 1 if request.clip_skip > 1 else None,
            }
        result = pipe(
            **prompts,
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            width=request.width,
            height=request.height,
            num_images_per_prompt=request.batch_size,
            generator=generators,
            callback_on_step_end=step_end,
            callback_on_step_end_tensor_inputs=["latents"],
            output_type="pil",
        )
    if stopped:
        raise Interrupted
    return list(result.images)
