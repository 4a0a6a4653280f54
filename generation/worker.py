"""Per-worker-process state: the model cache shared by every job this process runs."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import Any

from django.conf import settings

from generation.engine.cache import ModelCache
from generation.engine.runner import pipeline_load
from modelhub.models import ModelFile


def _cache_key(model_file: ModelFile) -> str:
    return f"{model_file.version_id}:{model_file.sha256}"


def held_model_versions() -> frozenset[int]:
    """Model versions this worker process has loaded: it prefers jobs for them."""
    return frozenset(int(key.split(":", 1)[0]) for key in model_cache().held_keys())


@lru_cache(maxsize=1)
def model_cache() -> ModelCache:
    return ModelCache(budget_bytes=settings.MODEL_CACHE_RAM_BYTES)


def model_cache_acquire(model_file: ModelFile) -> Any:
    return model_cache().acquire(
        _cache_key(model_file),
        lambda: pipeline_load(model_file.local_path, device=settings.GENERATION_DEVICE),
    )


def worker_identity() -> str:
    """Which process runs a job: host and pid, so operators can find it."""
    return f"{socket.gethostname()}:{os.getpid()}"
