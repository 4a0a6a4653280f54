"""Per-worker-process state: the model cache shared by every job this process runs."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.utils import timezone

from generation.engine.cache import ModelCache
from generation.engine.loading import pipeline_load
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
    try:
        return model_cache().acquire(
            _cache_key(model_file),
            lambda: pipeline_load(model_file.local_path, device=settings.GENERATION_DEVICE),
        )
    finally:
        model_cache_stats_publish()


STATS_KEY = "modelcache:worker:{worker}"
WORKERS_KEY = "modelcache:workers"
STATS_TTL_SECONDS = 24 * 3600


def model_cache_stats_publish() -> None:
    """Share this process's cache figures through the shared cache, for the admin (and metrics)."""
    cache_ = model_cache()
    stats = cache_.stats
    worker = worker_identity()
    shared_cache.set(
        STATS_KEY.format(worker=worker),
        {
            "worker": worker,
            "hits": stats.hits,
            "misses": stats.misses,
            "evictions": stats.evictions,
            "bytes_held": stats.bytes_held,
            "peak_bytes": stats.peak_bytes,
            "budget_bytes": cache_.budget_bytes,
            "models": len(cache_.held_keys()),
            "updated_at": timezone.now().isoformat(timespec="seconds"),
        },
        timeout=STATS_TTL_SECONDS,
    )
    workers = set(shared_cache.get(WORKERS_KEY) or ())
    if worker not in workers:
        shared_cache.set(WORKERS_KEY, sorted(workers | {worker}), timeout=STATS_TTL_SECONDS)


def model_cache_stats_all() -> list[dict[str, Any]]:
    """Every worker's latest published cache figures (workers silent for a day drop out)."""
    workers = shared_cache.get(WORKERS_KEY) or []
    found = shared_cache.get_many([STATS_KEY.format(worker=w) for w in workers])
    return sorted(found.values(), key=lambda s: s["worker"])


def worker_identity() -> str:
    """Which process runs a job: host and pid, so operators can find it."""
    return f"{socket.gethostname()}:{os.getpid()}"
