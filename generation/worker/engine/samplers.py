"""A1111 sampler names -> diffusers schedulers."""

from __future__ import annotations

from typing import Any

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

SAMPLERS: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "Euler": (EulerDiscreteScheduler, {}),
    "Euler a": (EulerAncestralDiscreteScheduler, {}),
    "DPM++ 2M": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++"}),
    "DPM++ 2M Karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    "DDIM": (DDIMScheduler, {}),
    "UniPC": (UniPCMultistepScheduler, {}),
}


class UnknownSampler(ValueError):
    pass


def scheduler_for(sampler: str, base_config: Any) -> SchedulerMixin:
    """A fresh scheduler for one job, built from the model's own noise schedule."""
    try:
        cls, overrides = SAMPLERS[sampler]
    except KeyError as exc:
        raise UnknownSampler(sampler) from exc
    scheduler: SchedulerMixin = cls.from_config(base_config, **overrides)
    return scheduler
