"""The figures GPU workers publish about themselves (their model caches), through the shared
cache: workers write them, the admin and /metrics read them. Torch-free: web processes import it."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.utils import timezone

STATS_KEY = "modelcache:worker:{worker}"
WORKERS_KEY = "modelcache:workers"
STATS_TTL_SECONDS = 24 * 3600


def model_cache_stats_publish(*, worker: str, snapshot: dict[str, Any]) -> None:
    """Share one worker's cache figures (``ModelCache.stats_snapshot()``)."""
    cache.set(
        STATS_KEY.format(worker=worker),
        {**snapshot, "worker": worker, "updated_at": timezone.now().isoformat(timespec="seconds")},
        timeout=STATS_TTL_SECONDS,
    )
    workers = set(cache.get(WORKERS_KEY) or ())
    if worker not in workers:
        cache.set(WORKERS_KEY, sorted(workers | {worker}), timeout=STATS_TTL_SECONDS)


def model_cache_stats_all() -> list[dict[str, Any]]:
    """Every worker's latest published cache figures (workers silent for a day drop out)."""
    workers = cache.get(WORKERS_KEY) or []
    found = cache.get_many([STATS_KEY.format(worker=w) for w in workers])
    return sorted(found.values(), key=lambda s: s["worker"])
