"""Per-worker-process state: the model cache shared by every job this process runs."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import Any

import torch
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from generation import worker_stats
from generation.worker.engine.cache import ModelCache
from generation.worker.engine.single_file import pipeline_load_file
from modelhub.models import ModelFile


def _cache_key(model_file: ModelFile) -> str:
    return f"{model_file.version_id}:{model_file.sha256}"


def held_model_versions() -> frozenset[int]:
    """Model versions this worker process has loaded: it prefers jobs for them."""
    return frozenset(int(key.split(":", 1)[0]) for key in model_cache().held_keys())


# Share of a CUDA device's memory the cache takes when MODEL_CACHE_GPU_BYTES is 0 (the rest is
# for activations while a pipeline runs).
CUDA_DEFAULT_SHARE = 0.8


@lru_cache(maxsize=1)
def model_cache() -> ModelCache:
    """This process's cache, with the budgets and the device the settings name."""
    device = settings.GENERATION_DEVICE
    accelerator_budget = settings.MODEL_CACHE_GPU_BYTES
    if device != "cpu" and accelerator_budget == 0:
        if not device.startswith("cuda"):
            raise ImproperlyConfigured(
                f"GENERATION_DEVICE={device} needs MODEL_CACHE_GPU_BYTES (the model cache's "
                "budget on that device)"
            )
        total = torch.cuda.get_device_properties(torch.device(device)).total_memory
        accelerator_budget = int(total * CUDA_DEFAULT_SHARE)
    return ModelCache(
        ram_budget_bytes=settings.MODEL_CACHE_RAM_BYTES,
        accelerator_budget_bytes=accelerator_budget,
        accelerator_device=device,
    )


def model_cache_acquire(model_file: ModelFile) -> Any:
    """The model's pipeline, ready on the generation device (loaded into RAM first if needed)."""
    try:
        return model_cache().acquire(_cache_key(model_file), lambda: pipeline_load_file(model_file))
    finally:
        model_cache_stats_publish()


def model_cache_stats_publish() -> None:
    """Share this process's cache figures through the shared cache, for the admin (and metrics)."""
    worker_stats.model_cache_stats_publish(
        worker=worker_identity(), snapshot=model_cache().stats_snapshot()
    )


def worker_identity() -> str:
    """Which process runs a job: host and pid, so operators can find it."""
    return f"{socket.gethostname()}:{os.getpid()}"
