"""Moderators see each worker's model cache figures above the job list."""

from __future__ import annotations

import pytest

from generation.worker.execute import job_run
from generation.worker.runtime import worker_identity
from generation.worker_stats import model_cache_stats_all
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory

pytestmark = pytest.mark.django_db


def test_running_a_job_publishes_this_workers_cache_figures(tiny_version):
    job = GenerationJobFactory(model_version=tiny_version)
    job_run(job_id=job.pk, worker="w")
    (stats,) = model_cache_stats_all()
    assert stats["worker"] == worker_identity()
    assert stats["models"] >= 1
    assert 0 < stats["bytes_held"] <= stats["budget_bytes"]
    assert stats["hits"] + stats["misses"] >= 1


def test_admin_job_list_shows_the_model_cache(client, tiny_version):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    job = GenerationJobFactory(model_version=tiny_version)
    job_run(job_id=job.pk, worker="w")
    html = client.get("/admin/generation/generationjob/").content.decode()
    assert "Model cache per worker" in html
    assert worker_identity() in html


def test_admin_job_list_without_workers_says_so(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get("/admin/generation/generationjob/").content.decode()
    assert "No worker has loaded a model yet." in html
