"""Generation's figures on /metrics: the queue (the database at scrape time), every worker's
model cache (as each worker publishes it) and generation speed (integer counters in the shared
cache that any worker process adds to with ``cache.incr``). Torch-free: web processes serve it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.core.cache import cache
from django.db.models import Count
from django.utils.dateparse import parse_datetime
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from generation.models import GenerationJob
from generation.worker_stats import model_cache_stats_all
from visionary.metrics import REGISTRY

logger = logging.getLogger(__name__)

# --- Generation timing (any worker process, counted in the shared cache) -----------------------
STEP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_TIMING_KEY = "metrics:generation:{name}"
_TIMING_COUNTERS = ("calls", "steps", "step_microseconds", "pictures")


def _timing_key(name: str) -> str:
    return _TIMING_KEY.format(name=name)


def _bucket_key(index: int) -> str:
    # Buckets are stored one by one (not cumulative), so one observation is one incr.
    return _timing_key(f"step_bucket:{index}")


def _cache_add_to(key: str, amount: int) -> None:
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key, amount)
    except ValueError:  # evicted between add and incr (local-memory culling): start again
        cache.add(key, 0, timeout=None)
        cache.incr(key, amount)


def generation_timing_record(*, steps: int, seconds: float, pictures: int) -> None:
    """Count one finished pipeline call: each of its steps is an observation of the call's mean
    seconds per step. Never raises: a metrics failure must not fail the job it measures."""
    if steps <= 0:
        return
    per_step = seconds / steps
    index = next(
        (i for i, bound in enumerate(STEP_SECONDS_BUCKETS) if per_step <= bound),
        len(STEP_SECONDS_BUCKETS),  # +Inf
    )
    try:
        _cache_add_to(_timing_key("calls"), 1)
        _cache_add_to(_timing_key("steps"), steps)
        _cache_add_to(_timing_key("step_microseconds"), round(seconds * 1_000_000))
        _cache_add_to(_timing_key("pictures"), pictures)
        _cache_add_to(_bucket_key(index), steps)
    except Exception:
        logger.warning("generation timing not recorded", exc_info=True)


def _generation_timing_metrics() -> Iterator[Metric]:
    keys = [_timing_key(name) for name in _TIMING_COUNTERS]
    keys += [_bucket_key(i) for i in range(len(STEP_SECONDS_BUCKETS) + 1)]
    found = cache.get_many(keys)
    counters = {name: int(found.get(_timing_key(name), 0)) for name in _TIMING_COUNTERS}
    cumulative = 0
    buckets = []
    for i, bound in enumerate((*STEP_SECONDS_BUCKETS, float("inf"))):
        cumulative += int(found.get(_bucket_key(i), 0))
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(cumulative)))
    step_seconds = HistogramMetricFamily(
        "visionary_generation_step_seconds",
        "Seconds per denoising step of finished pipeline calls (each step one observation of its "
        "call's mean), all workers.",
    )
    step_seconds.add_metric([], buckets, counters["step_microseconds"] / 1_000_000)
    yield step_seconds
    yield CounterMetricFamily(
        "visionary_generation_calls",
        "Pipeline calls finished (one call may serve several batched jobs), all workers.",
        value=counters["calls"],
    )
    yield CounterMetricFamily(
        "visionary_generation_pictures",
        "Pictures made by finished pipeline calls, all workers.",
        value=counters["pictures"],
    )


# --- Queue and jobs (the database at scrape time) ------------------------------------------------
def _job_metrics() -> Iterator[Metric]:
    counts = dict(
        GenerationJob.objects.order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    queue = GaugeMetricFamily(
        "visionary_generation_queue_length", "Generation jobs waiting for a worker."
    )
    queue.add_metric([], counts.get(GenerationJob.State.QUEUED, 0))
    yield queue
    jobs = GaugeMetricFamily(
        "visionary_generation_jobs", "Generation jobs in the database, by state.", labels=["state"]
    )
    for state in GenerationJob.State.values:
        jobs.add_metric([state], counts.get(state, 0))
    yield jobs


# --- Model cache (each worker's latest published figures) ----------------------------------------
def _model_cache_metrics() -> Iterator[Metric]:
    def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> CounterMetricFamily:
        return CounterMetricFamily(name, documentation, labels=["worker", *labels])

    def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, labels=["worker", *labels])

    hits = counter("visionary_model_cache_hits", "Model cache hits, by tier.", ("tier",))
    misses = counter("visionary_model_cache_misses", "Model cache misses.")
    loads = counter("visionary_model_cache_loads", "Pipelines read from disk.")
    promotions = counter("visionary_model_cache_promotions", "RAM hits moved to the accelerator.")
    evictions = counter(
        "visionary_model_cache_evictions",
        "Evictions: accelerator to RAM (to_ram) or out of the cache (dropped).",
        ("kind",),
    )
    held = gauge("visionary_model_cache_bytes", "Bytes of pipelines held, by tier.", ("tier",))
    peak = gauge("visionary_model_cache_peak_bytes", "Most bytes ever held, by tier.", ("tier",))
    budget = gauge("visionary_model_cache_budget_bytes", "Budget, by tier.", ("tier",))
    models = gauge("visionary_model_cache_models", "Models held, by tier.", ("tier",))
    published = gauge(
        "visionary_model_cache_published_timestamp_seconds",
        "When the worker last published its figures (Unix time).",
    )
    for stats in model_cache_stats_all():
        worker = str(stats["worker"])
        for tier in ("accelerator", "ram"):
            hits.add_metric([worker, tier], stats.get(f"{tier}_hits", 0))
            held.add_metric([worker, tier], stats.get(f"{tier}_bytes", 0))
            peak.add_metric([worker, tier], stats.get(f"{tier}_peak_bytes", 0))
            budget.add_metric([worker, tier], stats.get(f"{tier}_budget_bytes", 0))
            models.add_metric([worker, tier], stats.get(f"{tier}_models", 0))
        misses.add_metric([worker], stats.get("misses", 0))
        loads.add_metric([worker], stats.get("loads", 0))
        promotions.add_metric([worker], stats.get("promotions", 0))
        evictions.add_metric([worker, "to_ram"], stats.get("demotions", 0))
        evictions.add_metric([worker, "dropped"], stats.get("drops", 0))
        updated = parse_datetime(str(stats.get("updated_at", "")))
        if updated is not None:
            published.add_metric([worker], updated.timestamp())
    yield from (hits, misses, loads, promotions, evictions, held, peak, budget, models, published)


class GenerationCollector(Collector):
    """Figures read at scrape time from the database and the shared cache."""

    def collect(self) -> Iterator[Metric]:
        yield from _job_metrics()
        yield from _model_cache_metrics()
        yield from _generation_timing_metrics()


_registered = False


def metrics_register() -> None:
    """Add generation's figures to /metrics (once per process; the app's ready() calls it)."""
    global _registered
    if not _registered:
        REGISTRY.register(GenerationCollector())
        _registered = True
