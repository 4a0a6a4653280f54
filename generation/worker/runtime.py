"""Per-worker-process state: the model cache shared by every job this process runs, its budgets
and the dtype its pipelines load in."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import torch
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from generation import worker_stats
from generation.worker.engine.cache import ModelCache
from generation.worker.engine.loading import UnsupportedDtype, pipeline_dtype, vae_run_dtype
from generation.worker.engine.memory import working_memory_bytes
from generation.worker.engine.single_file import pipeline_load_file
from modelhub.models import ModelFile

logger = logging.getLogger(__name__)


def _cache_key(model_file: ModelFile) -> str:
    return f"{model_file.version_id}:{model_file.sha256}"


def held_model_versions() -> frozenset[int]:
    """Model versions this worker process has loaded: it prefers jobs for them."""
    return frozenset(int(key.split(":", 1)[0]) for key in model_cache().held_keys())


# What a CUDA device keeps outside the cache's budget when MODEL_CACHE_GPU_BYTES is 0: the CUDA
# context and loaded kernels (~0.5 GiB), cuBLAS/cuDNN workspaces and what the caching allocator
# holds but cannot reuse. Each call's activations are reserved inside the budget, per call.
CUDA_SAFETY_MARGIN_BYTES = 2 * 1024**3


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
        accelerator_budget = total - CUDA_SAFETY_MARGIN_BYTES
        if accelerator_budget <= 0:
            raise ImproperlyConfigured(
                f"{device} has {total} bytes, no more than the {CUDA_SAFETY_MARGIN_BYTES} kept "
                "back for CUDA itself: set MODEL_CACHE_GPU_BYTES"
            )
    return ModelCache(
        ram_budget_bytes=settings.MODEL_CACHE_RAM_BYTES,
        accelerator_budget_bytes=accelerator_budget,
        accelerator_device=device,
    )


@lru_cache(maxsize=1)
def model_dtype() -> torch.dtype:
    """The dtype this process loads pipelines in (GENERATION_DTYPE on GENERATION_DEVICE)."""
    device = settings.GENERATION_DEVICE
    try:
        return pipeline_dtype(
            device, settings.GENERATION_DTYPE, bf16_supported=_bf16_supported(device)
        )
    except UnsupportedDtype as exc:
        raise ImproperlyConfigured(f"GENERATION_DTYPE={settings.GENERATION_DTYPE}: {exc}") from exc


def _bf16_supported(device: str) -> bool:
    kind = torch.device(device).type
    if kind == "cpu":
        return True  # torch's CPU kernels cover bf16 (slower than fp32 without AVX512-BF16/AMX)
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return False


@contextmanager
def model_cache_use(model_file: ModelFile, *, width: int, height: int, batch: int) -> Iterator[Any]:
    """The model's pipeline, ready on the generation device and pinned there for the ``with``
    block, with working memory for ``batch`` pictures of ``width`` x ``height`` reserved beside
    it (loaded into RAM first if needed)."""

    def working(pipe: Any, model_bytes: int) -> int:
        return working_memory_bytes(
            model_bytes=model_bytes,
            width=width,
            height=height,
            batch=batch,
            dtype_bytes=pipe.unet.dtype.itemsize,
            vae_dtype_bytes=vae_run_dtype(pipe).itemsize,
        )

    cache = model_cache()
    try:
        with cache.use(
            _cache_key(model_file),
            lambda: pipeline_load_file(model_file, dtype=model_dtype()),
            working_bytes=working,
        ) as pipe:
            model_cache_stats_publish()
            yield pipe
    finally:
        model_cache_stats_publish()


def model_cache_stats_publish() -> None:
    """Share this process's cache figures through the shared cache, for the admin (and metrics).
    Best effort: a shared cache that is down must not fail the job being run."""
    try:
        worker_stats.model_cache_stats_publish(
            worker=worker_identity(), snapshot=model_cache().stats_snapshot()
        )
    except Exception:
        logger.warning("model cache figures not published", exc_info=True)


def worker_identity() -> str:
    """Which process runs a job: host and pid, so operators can find it."""
    return f"{socket.gethostname()}:{os.getpid()}"
