"""/metrics: Prometheus text with request latency, the queue, model caches and generation speed."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from generation.metrics import generation_timing_record
from generation.models import GenerationJob
from generation.services import job_submit
from generation.worker.execute import job_run
from generation.worker_stats import STATS_KEY, STATS_TTL_SECONDS, WORKERS_KEY
from tests.generation.factories import GenerationJobFactory
from visionary.metrics import http_request_duration

pytestmark = pytest.mark.django_db

FAMILIES = {
    "visionary_http_request_duration_seconds",
    "visionary_generation_queue_length",
    "visionary_generation_jobs",
    "visionary_model_cache_hits",
    "visionary_model_cache_misses",
    "visionary_model_cache_evictions",
    "visionary_model_cache_bytes",
    "visionary_model_cache_budget_bytes",
    "visionary_model_cache_models",
    "visionary_generation_step_seconds",
    "visionary_generation_pictures",
}


def _scrape(client: Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by (sample name, sorted labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _latency_count(labels: dict[str, str]) -> float:
    """Requests timed so far with these labels (this process's histogram alone: no DB reads)."""
    for family in http_request_duration.collect():
        for sample in family.samples:
            if sample.name.endswith("_count") and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_text_parses_and_has_every_family(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert names >= FAMILIES


def test_request_latency_is_labelled_by_route_not_path(member_client, member):
    job = GenerationJobFactory(user=member)
    route = "generate/jobs/<int:pk>/status"
    labels = {"route": route, "method": "GET", "status": "200"}
    before = _latency_count(labels)

    member_client.get(f"/generate/jobs/{job.pk}/status")

    after = _latency_count(labels)
    assert after == before + 1
    text = member_client.get("/metrics").content.decode()
    assert f'route="{route}"' in text
    assert f"/generate/jobs/{job.pk}/status" not in text


def test_unresolved_paths_share_one_route_label(client):
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    before = _latency_count(labels)

    client.get("/no/such/page-1")
    client.get("/no/such/page-2")

    after = _latency_count(labels)
    assert after == before + 2


def test_scrapes_are_left_out_of_the_latency_histogram(client):
    client.get("/metrics")

    text = client.get("/metrics").content.decode()
    assert 'route="metrics"' not in text


def test_queue_length_and_jobs_by_state_count_database_rows(client):
    GenerationJobFactory.create_batch(3)
    GenerationJobFactory(state=GenerationJob.State.RUNNING)
    GenerationJobFactory.create_batch(2, state=GenerationJob.State.FAILED)

    samples = _scrape(client)

    assert samples[("visionary_generation_queue_length", ())] == 3
    assert samples[("visionary_generation_jobs", (("state", "queued"),))] == 3
    assert samples[("visionary_generation_jobs", (("state", "running"),))] == 1
    assert samples[("visionary_generation_jobs", (("state", "failed"),))] == 2
    assert samples[("visionary_generation_jobs", (("state", "succeeded"),))] == 0


def test_model_cache_figures_of_each_published_worker_appear(client):
    worker = "gpu-1:4242"
    cache.set(WORKERS_KEY, [worker], timeout=STATS_TTL_SECONDS)
    cache.set(
        STATS_KEY.format(worker=worker),
        {
            "worker": worker,
            "updated_at": "2025-01-02T03:04:05+00:00",
            "accelerator_hits": 7,
            "ram_hits": 2,
            "misses": 3,
            "loads": 3,
            "promotions": 1,
            "demotions": 4,
            "drops": 5,
            "accelerator_bytes": 1000,
            "ram_bytes": 500,
            "accelerator_budget_bytes": 2000,
            "ram_budget_bytes": 800,
            "accelerator_models": 1,
            "ram_models": 1,
        },
        timeout=STATS_TTL_SECONDS,
    )

    samples = _scrape(client)

    w = ("worker", worker)
    assert samples[("visionary_model_cache_hits_total", (("tier", "accelerator"), w))] == 7
    assert samples[("visionary_model_cache_hits_total", (("tier", "ram"), w))] == 2
    assert samples[("visionary_model_cache_misses_total", (w,))] == 3
    assert samples[("visionary_model_cache_evictions_total", (("kind", "to_ram"), w))] == 4
    assert samples[("visionary_model_cache_evictions_total", (("kind", "dropped"), w))] == 5
    assert samples[("visionary_model_cache_bytes", (("tier", "accelerator"), w))] == 1000
    assert samples[("visionary_model_cache_bytes", (("tier", "ram"), w))] == 500
    assert samples[("visionary_model_cache_budget_bytes", (("tier", "ram"), w))] == 800
    assert samples[("visionary_model_cache_models", (("tier", "ram"), w))] == 1


def test_generation_timing_recorder_fills_the_step_histogram(client):
    generation_timing_record(steps=10, seconds=0.2, pictures=2)  # 0.02 s per step
    generation_timing_record(steps=4, seconds=8.0, pictures=1)  # 2 s per step

    samples = _scrape(client)

    assert samples[("visionary_generation_step_seconds_bucket", (("le", "0.01"),))] == 0
    assert samples[("visionary_generation_step_seconds_bucket", (("le", "0.025"),))] == 10
    assert samples[("visionary_generation_step_seconds_bucket", (("le", "2.5"),))] == 14
    assert samples[("visionary_generation_step_seconds_bucket", (("le", "+Inf"),))] == 14
    assert samples[("visionary_generation_step_seconds_count", ())] == 14
    assert samples[("visionary_generation_step_seconds_sum", ())] == pytest.approx(8.2)
    assert samples[("visionary_generation_pictures_total", ())] == 3
    assert samples[("visionary_generation_calls_total", ())] == 2


def test_running_a_job_records_its_steps_and_the_workers_cache(client, member, tiny_version):
    job = job_submit(
        user=member,
        model_version=tiny_version,
        prompt="a red circle",
        seed=3,
        steps=4,
        enqueue=False,
    )

    job_run(job_id=job.pk, worker="w")

    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED
    samples = _scrape(client)
    assert samples[("visionary_generation_step_seconds_count", ())] == 4
    assert samples[("visionary_generation_step_seconds_sum", ())] > 0
    assert samples[("visionary_generation_pictures_total", ())] == 1
    cache_series = [key for key in samples if key[0] == "visionary_model_cache_misses_total"]
    assert cache_series  # the worker (this process) published its cache figures


def test_failed_pipeline_call_records_no_timing(client, member, tiny_version, monkeypatch):
    def broken_render(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("generation.worker.execute.render", broken_render)
    job = job_submit(user=member, model_version=tiny_version, prompt="x", seed=3, enqueue=False)

    job_run(job_id=job.pk, worker="w")

    assert _scrape(client)[("visionary_generation_step_seconds_count", ())] == 0


@override_settings(METRICS_TOKEN="s3cret-token")
def test_token_is_required_when_set(client):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert _scrape(client, Authorization="Bearer s3cret-token")


@override_settings(METRICS_TOKEN="", METRICS_REQUIRE_TOKEN=True)
def test_metrics_are_closed_when_a_token_is_required_but_unset(client):
    assert client.get("/metrics").status_code == 403


async def test_requests_through_the_async_stack_are_timed_too(async_client):
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    before = _latency_count(labels)

    await async_client.get("/healthz")

    after = _latency_count(labels)
    assert after == before + 1
