"""The trainer's instruments, on the random tiny pipeline (the training itself runs outside the
suite: its smallest useful run takes minutes)."""

from __future__ import annotations

import math

import torch
from diffusers import DDPMScheduler

from generation.engine.builder import tiny_pipeline_build
from generation.starter.shapes import eval_specs
from generation.starter.train import NOISE_SCHEDULE, conditioning_gap


def test_conditioning_gap_compares_own_and_shifted_captions():
    pipe = tiny_pipeline_build(seed=0, sample_size=64)
    specs = eval_specs(8)
    latents = torch.randn((8, 4, 8, 8), generator=torch.Generator().manual_seed(0))
    own, shifted = conditioning_gap(
        pipe.unet,
        pipe.text_encoder,
        pipe.tokenizer,
        DDPMScheduler(**NOISE_SCHEDULE),
        latents,
        specs,
    )
    assert math.isfinite(own) and math.isfinite(shifted)
    assert own != shifted  # the captions reach the UNet: pairing them differently changes it
