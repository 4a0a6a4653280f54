"""Compatible queued jobs of different members share one batched pipeline call."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.cache import cache
from django.test import override_settings
from PIL import Image as PILImage

from generation.models import GenerationJob
from generation.services import job_submit
from generation.services.control import cancel_key
from generation.worker.engine import runner
from generation.worker.execute import job_run
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _submit(user, version, **overrides):
    params = {"prompt": "a red circle", "seed": 3, "steps": 3, "sampler": "DDIM"} | overrides
    return job_submit(user=user, model_version=version, enqueue=False, **params)


@pytest.fixture
def calls(monkeypatch):
    """Every pipeline call the worker makes, as its RenderRequest (the real call still runs)."""
    seen = []
    real = runner.render

    def spy(pipe, request, **kwargs):
        seen.append(request)
        return real(pipe, request, **kwargs)

    monkeypatch.setattr("generation.worker.execute.render", spy)
    return seen


def _pixels(job: GenerationJob, index: int = 0) -> np.ndarray:
    image = job.images.order_by("pk")[index]
    with image.file.open("rb") as fh:
        return np.asarray(PILImage.open(io.BytesIO(fh.read())).convert("RGB"), dtype=int)


def test_compatible_jobs_of_different_members_run_in_one_call(tiny_version, calls):
    members = UserFactory.create_batch(3)
    jobs = [
        _submit(user, tiny_version, prompt=f"a circle number {n}", seed=10 + n)
        for n, user in enumerate(members)
    ]
    ran = job_run(worker="w")
    assert sorted(job.pk for job in ran) == sorted(job.pk for job in jobs)
    assert len(calls) == 1 and [row.seed for row in calls[0].rows] == [10, 11, 12]
    for job in jobs:
        job.refresh_from_db()
        assert job.state == GenerationJob.State.SUCCEEDED
        assert job.images.count() == 1 and job.images.get().owner_id == job.user_id
        assert job.images.get().seed == job.seed


def test_a_batched_picture_equals_the_picture_of_a_lone_run(tiny_version, calls):
    alice, bob = UserFactory.create_batch(2)
    _submit(alice, tiny_version, prompt="a blue square", seed=5)
    bobs = _submit(bob, tiny_version, prompt="a green star", seed=6, batch_size=2)
    job_run(worker="w")
    bobs.refresh_from_db()
    lone = _submit(bob, tiny_version, prompt="a green star", seed=7, batch_size=1)
    job_run(job_id=lone.pk, worker="w")
    lone.refresh_from_db()
    # Bob's second picture (seed 6 + 1) from the shared call vs seed 7 alone.
    assert np.abs(_pixels(bobs, 1) - _pixels(lone)).max() <= 2  # batched matmuls may round


def test_incompatible_jobs_are_not_batched(tiny_version, calls):
    alice, bob = UserFactory.create_batch(2)
    _submit(alice, tiny_version)
    _submit(bob, tiny_version, steps=4)
    assert len(job_run(worker="w")) == 1
    assert len(job_run(worker="w")) == 1
    assert len(calls) == 2


@override_settings(GENERATION_BATCH_MAX_IMAGES=4)
def test_a_call_holds_at_most_the_configured_number_of_pictures(tiny_version, calls):
    for n, user in enumerate(UserFactory.create_batch(4)):
        _submit(user, tiny_version, seed=n, batch_size=2)
    first = job_run(worker="w")
    assert sum(job.batch_size for job in first) == 4
    assert len(calls) == 1 and calls[0].picture_count == 4


@override_settings(GENERATION_BATCH_MAX_IMAGES=1)
def test_batch_size_one_turns_batching_off(tiny_version, calls):
    for user in UserFactory.create_batch(2):
        _submit(user, tiny_version)
    assert len(job_run(worker="w")) == 1


def test_img2img_jobs_run_alone(tiny_version, calls, png_bytes):
    alice, bob = UserFactory.create_batch(2)
    _submit(alice, tiny_version, init_image=png_bytes, denoising_strength=0.7)
    _submit(bob, tiny_version, init_image=png_bytes, denoising_strength=0.7)
    assert len(job_run(worker="w")) == 1


def test_cancelling_one_batched_job_leaves_the_others_running(tiny_version, monkeypatch):
    alice, bob = UserFactory.create_batch(2)
    alices = _submit(alice, tiny_version, steps=6)
    bobs = _submit(bob, tiny_version, steps=6, seed=4)
    steps_seen: list[int] = []
    real = runner.render

    def cancel_alice_after_step_two(pipe, request, *, on_step, should_stop):
        def step(step, total, latents):
            steps_seen.append(step)
            if step == 2:
                cache.set(cancel_key(alices.pk), True)
            on_step(step, total, latents)

        return real(pipe, request, on_step=step, should_stop=should_stop)

    monkeypatch.setattr("generation.worker.execute.render", cancel_alice_after_step_two)
    job_run(worker="w")
    alices.refresh_from_db()
    bobs.refresh_from_db()
    assert alices.state == GenerationJob.State.CANCELLED and not alices.images.exists()
    assert bobs.state == GenerationJob.State.SUCCEEDED and bobs.images.count() == 1
    assert steps_seen == [1, 2, 3, 4, 5, 6]  # the call went on for Bob


def test_cancelling_every_job_of_a_call_interrupts_it(tiny_version, monkeypatch):
    jobs = [_submit(user, tiny_version, steps=8) for user in UserFactory.create_batch(2)]
    for job in jobs:
        cache.set(cancel_key(job.pk), True)
    steps_seen: list[int] = []
    real = runner.render

    def counting(pipe, request, *, on_step, should_stop):
        def step(step, total, latents):
            steps_seen.append(step)
            on_step(step, total, latents)

        return real(pipe, request, on_step=step, should_stop=should_stop)

    monkeypatch.setattr("generation.worker.execute.render", counting)
    job_run(worker="w")
    assert steps_seen == [1]  # stopped after the first step, not run to the end
    for job in jobs:
        job.refresh_from_db()
        assert job.state == GenerationJob.State.CANCELLED
