"""Job parameters, written once: each one's limits and default. The job model's validators, the
generate form, the jobs API, the A1111 mapping, job_submit and the worker are built from here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.db import models

N = TypeVar("N", int, float)


class Sampler(models.TextChoices):
    EULER = "Euler", "Euler"
    EULER_A = "Euler a", "Euler a"
    DPMPP_2M = "DPM++ 2M", "DPM++ 2M"
    DPMPP_2M_KARRAS = "DPM++ 2M Karras", "DPM++ 2M Karras"
    DDIM = "DDIM", "DDIM"
    UNIPC = "UniPC", "UniPC"


@dataclass(frozen=True)
class Bounds(Generic[N]):
    """The inclusive range a numeric parameter must lie in. Forms and DRF fields take it as
    ``min_value=b.min, max_value=b.max``; model fields as ``validators=b.validators()``."""

    min: N
    max: N

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return self.min <= value <= self.max

    def validators(self) -> list[BaseValidator]:
        return [MinValueValidator(self.min), MaxValueValidator(self.max)]


PROMPT_MAX_CHARS = 2000
RANDOM_SEED = -1  # the seed that asks for a random one
SEED = Bounds(RANDOM_SEED, 2**32 - 1)
STEPS = Bounds(1, 100)
CFG_SCALE: Bounds[float] = Bounds(1, 30)
CLIP_SKIP = Bounds(1, 12)
BATCH_SIZE = Bounds(1, 4)  # pictures per job; picture i uses seed + i
DENOISING_STRENGTH = Bounds(0.0, 1.0)
# What a member may ask for (form and jobs API): below 0.05 img2img changes next to nothing.
DENOISING_STRENGTH_ASKED = Bounds(0.05, 1.0)

# A side is a multiple of SIZE_MULTIPLE from SIZE_MIN up to the model's largest side
# (ModelVersion.max_size); the jobs API refuses anything above SIZE_MAX before asking the model.
SIZE_MIN = 64
SIZE_MULTIPLE = 8
SIZE_MAX = 4096

# A job row's own defaults for what job_submit always takes from the model version.
FALLBACK_CFG_SCALE = 7.0
FALLBACK_SIZE = 512


@dataclass(frozen=True)
class JobParams:
    """What a job is asked to make, with our defaults. ``None`` for the CFG scale and the size
    means the model's own (its recommended scale, its native size); job_submit fills it in."""

    prompt: str = ""
    negative_prompt: str = ""
    seed: int = RANDOM_SEED
    steps: int = 20
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    sampler: str = Sampler.EULER_A
    batch_size: int = 1
    clip_skip: int = 1
    denoising_strength: float = 0.75  # img2img only


DEFAULTS = JobParams()


def size_allowed(value: int, *, largest: int) -> bool:
    """Whether a picture side is one the pipeline takes for a model whose largest side is
    ``largest``."""
    return value % SIZE_MULTIPLE == 0 and SIZE_MIN <= value <= largest


def random_seed() -> int:
    """A random seed low enough that every picture of a batch (seed + i) is still a valid seed."""
    return secrets.randbelow(SEED.max - BATCH_SIZE.max)
