"""Submitting and executing generation jobs through the services."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.exceptions
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import override_settings

from generation import realtime
from generation.errors import GenerationRejected
from generation.infotext import png_read_infotext
from generation.models import GenerationJob
from generation.realtime import job_group, job_latest_message
from generation.services import job_submit
from generation.worker.execute import job_run
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory
from visionary.celery import app as celery_app

pytestmark = pytest.mark.django_db


def _submit(member, version, **overrides):
    params = {"prompt": "a red circle on a blue background", "seed": 7, "steps": 4}
    params.update(overrides)
    return job_submit(user=member, model_version=version, **params)


def _drain_generation_queue() -> list[dict]:
    """Messages waiting for a worker on the (in-memory) broker."""
    received = []
    with celery_app.connection_for_read() as conn:
        queue = conn.SimpleQueue("generation")
        while True:
            try:
                message = queue.get(block=True, timeout=0.2)
            except queue.Empty:
                break
            received.append({"task": message.headers["task"], "args": message.payload[0]})
            message.ack()
        queue.close()
    return received


def test_submit_queues_job_and_wakes_a_worker_after_commit(
    member, tiny_version, django_capture_on_commit_callbacks
):
    _drain_generation_queue()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = _submit(member, tiny_version)
        assert _drain_generation_queue() == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    assert job.state == GenerationJob.State.QUEUED
    assert _drain_generation_queue() == [{"task": "generation.tasks.job_run", "args": [job.pk]}]


def test_submit_uses_the_model_default_size(member, tiny_version):
    job = _submit(member, tiny_version)
    assert (job.width, job.height) == (64, 64)


def test_submit_uses_the_models_recommended_cfg_scale_unless_one_is_given(member, tiny_version):
    tiny_version.default_cfg_scale = 2.5
    tiny_version.save(update_fields=["default_cfg_scale"])
    assert _submit(member, tiny_version).cfg_scale == 2.5
    assert _submit(member, tiny_version, cfg_scale=9).cfg_scale == 9


@pytest.mark.parametrize("width", [65, 32, 1024])
def test_submit_rejects_sizes_outside_the_model_limits(member, tiny_version, width):
    with pytest.raises(GenerationRejected) as excinfo:
        _submit(member, tiny_version, width=width)
    assert "width" in excinfo.value.error_dict
    assert not GenerationJob.objects.exists()


def test_submit_rejects_out_of_range_steps(member, tiny_version):
    with pytest.raises(GenerationRejected) as excinfo:
        _submit(member, tiny_version, steps=0)
    assert "steps" in excinfo.value.error_dict
    assert not GenerationJob.objects.exists()


@override_settings(GENERATION_MAX_QUEUED_PER_USER=2)
def test_submit_refuses_beyond_the_per_user_queue_limit(member, tiny_version):
    _submit(member, tiny_version)
    _submit(member, tiny_version)
    with pytest.raises(GenerationRejected, match="waiting"):
        _submit(member, tiny_version)
    assert GenerationJob.objects.filter(user=member).count() == 2


def test_execute_produces_a_png_with_infotext(member, tiny_version):
    job = _submit(member, tiny_version, negative_prompt="blurry")
    job_run(job_id=job.pk, worker="test@host")
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED
    assert job.worker == "test@host"
    assert job.started_at and job.finished_at
    image = job.images.get()
    assert image.owner == member and not image.is_published
    with default_storage.open(image.file.name) as fh:
        infotext = png_read_infotext(fh.read())
    autov2 = tiny_version.files.get().autov2
    assert infotext == (
        "a red circle on a blue background\nNegative prompt: blurry\n"
        f"Steps: 4, Sampler: Euler a, CFG scale: 7, Seed: 7, Size: 64x64, "
        f"Model hash: {autov2}, Model: Test Tiny"
    )
    assert image.infotext == infotext


def test_execute_records_the_random_seed_it_used(member, tiny_version):
    job = _submit(member, tiny_version, seed=-1)
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.seed == -1
    assert job.seed_used is not None and job.seed_used >= 0
    assert f"Seed: {job.seed_used}," in job.images.get().infotext


def test_same_parameters_and_seed_give_the_same_image(member, tiny_version):
    first = _submit(member, tiny_version, seed=99)
    second = _submit(member, tiny_version, seed=99)
    for job in (first, second):
        job_run(job_id=job.pk, worker="w")
    a, b = (j.images.get() for j in (first, second))
    with default_storage.open(a.file.name) as fa, default_storage.open(b.file.name) as fb:
        assert fa.read() == fb.read()


def test_a_job_runs_at_most_once(member, tiny_version):
    job = _submit(member, tiny_version)
    job_run(job_id=job.pk, worker="first")
    assert job_run(job_id=job.pk, worker="second") == []  # a duplicate wake-up message
    job.refresh_from_db()
    assert job.worker == "first" and job.images.count() == 1 and job.attempts == 1


def test_failure_ends_failed_with_a_reason(member, db):
    job = GenerationJobFactory(user=member)  # its model file does not exist on disk
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.state == GenerationJob.State.FAILED
    assert job.error
    assert "Traceback" not in job.error
    assert job.finished_at is not None


def _listen(job_id: int) -> tuple[object, str]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(job_group(job_id), channel)
    return layer, channel


def _received_until_done(layer, channel) -> list[dict]:
    async def receive() -> dict:
        return (await asyncio.wait_for(layer.receive(channel), timeout=10))["message"]

    messages = []
    while not messages or messages[-1]["type"] not in {"done", "error"}:
        messages.append(async_to_sync(receive)())
    return messages


def test_progress_and_done_are_pushed_to_the_job_group(
    member, tiny_version, django_capture_on_commit_callbacks
):
    job = _submit(member, tiny_version, steps=5)
    layer, channel = _listen(job.pk)
    with (
        override_settings(GENERATION_PROGRESS_MIN_INTERVAL=0),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job_run(job_id=job.pk, worker="w")
    messages = _received_until_done(layer, channel)
    assert messages[0] == {"type": "status", "state": "running", "batch": 1}
    progress = [m for m in messages if m["type"] == "progress"]
    assert [m["step"] for m in progress] == [1, 2, 3, 4, 5]
    assert all(m["total"] == 5 for m in progress)
    assert progress[-1]["eta_s"] == 0
    assert messages[-1] == {
        "type": "done",
        "images": [job.images.get().get_file_url()],
        "withheld": [],
    }


def test_progress_is_throttled_but_the_last_step_always_sent(
    member, tiny_version, django_capture_on_commit_callbacks
):
    job = _submit(member, tiny_version, steps=8)
    layer, channel = _listen(job.pk)
    with (
        override_settings(GENERATION_PROGRESS_MIN_INTERVAL=3600),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job_run(job_id=job.pk, worker="w")
    messages = _received_until_done(layer, channel)
    assert [m["step"] for m in messages if m["type"] == "progress"] == [1, 8]


def test_previews_are_pushed_every_n_steps(
    member, tiny_version, django_capture_on_commit_callbacks
):
    job = _submit(member, tiny_version, steps=7)
    layer, channel = _listen(job.pk)
    with (
        override_settings(GENERATION_PROGRESS_MIN_INTERVAL=0, GENERATION_PREVIEW_EVERY_STEPS=3),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job_run(job_id=job.pk, worker="w")
    previews = [m for m in _received_until_done(layer, channel) if m["type"] == "preview"]
    assert [m["step"] for m in previews] == [3, 6]
    assert all(m["image"].startswith("data:image/jpeg;base64,") for m in previews)
    assert job_latest_message(job.pk, "preview")["step"] == 6
    assert job_latest_message(job.pk)["type"] == "done"  # previews never hide the state


def test_identical_request_with_explicit_seed_is_answered_from_the_stored_result(
    member, tiny_version, django_capture_on_commit_callbacks
):
    first = _submit(member, tiny_version, seed=11)
    job_run(job_id=first.pk, worker="w")
    _drain_generation_queue()
    with django_capture_on_commit_callbacks(execute=True):
        again = _submit(member, tiny_version, seed=11)
    assert again.state == GenerationJob.State.SUCCEEDED  # at once, no worker involved
    assert again.worker == "result-cache"
    assert _drain_generation_queue() == []
    original, copy = first.images.get(), again.images.get()
    assert copy.owner == member and not copy.is_published
    assert copy.file.name != original.file.name  # each picture owns its file
    with default_storage.open(original.file.name) as a, default_storage.open(copy.file.name) as b:
        assert a.read() == b.read()


def test_another_members_identical_request_is_not_answered_from_their_result(member, tiny_version):
    # An answer at once would tell the second member that someone made this private picture.
    first = _submit(member, tiny_version, seed=11)
    job_run(job_id=first.pk, worker="w")
    again = _submit(UserFactory(), tiny_version, seed=11)
    assert again.state == GenerationJob.State.QUEUED
    assert again.images.count() == 0


def test_a_cache_outage_during_a_run_does_not_fail_the_job(
    member, tiny_version, monkeypatch, caplog
):
    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to redis:6379.")

    job = _submit(member, tiny_version)
    monkeypatch.setattr(realtime, "_latest_store_failing", False, raising=False)
    monkeypatch.setattr(cache, "set_many", unreachable)  # the latest-state writes
    monkeypatch.setattr(cache, "get_many", unreachable)  # the cancel-flag reads
    with caplog.at_level(logging.WARNING):
        job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED
    assert job.images.count() == 1
    # Logged once per outage, not at every step.
    assert caplog.text.count("could not store the latest job messages") == 1
    assert caplog.text.count("could not read cancel flags") == 1


def test_random_seed_requests_always_run(member, tiny_version):
    first = _submit(member, tiny_version, seed=-1)
    job_run(job_id=first.pk, worker="w")
    again = _submit(member, tiny_version, seed=-1)
    assert again.state == GenerationJob.State.QUEUED


@pytest.mark.parametrize(
    "change", [{"steps": 5}, {"prompt": "a blue circle"}, {"sampler": "DDIM"}, {"cfg_scale": 6}]
)
def test_a_different_parameter_is_not_answered_from_the_cache(member, tiny_version, change):
    first = _submit(member, tiny_version, seed=3)
    job_run(job_id=first.pk, worker="w")
    again = _submit(member, tiny_version, seed=3, **change)
    assert again.state == GenerationJob.State.QUEUED


def test_a_batch_makes_one_picture_per_seed(member, tiny_version):
    job = _submit(member, tiny_version, seed=20, batch_size=3)
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    images = list(job.images.order_by("pk"))
    assert [image.seed for image in images] == [20, 21, 22]
    assert all(f"Seed: {image.seed}," in image.infotext for image in images)
    assert job.seed_used == 20
    contents = set()
    for image in images:
        with default_storage.open(image.file.name) as fh:
            contents.add(fh.read())
    assert len(contents) == 3


def test_batch_size_is_bounded(member, tiny_version):
    with pytest.raises(GenerationRejected) as excinfo:
        _submit(member, tiny_version, batch_size=5)
    assert "batch_size" in excinfo.value.error_dict


def test_clip_skip_is_recorded_in_the_png(member, tiny_version):
    job = _submit(member, tiny_version, clip_skip=2)
    job_run(job_id=job.pk, worker="w")
    assert job.images.get().infotext.endswith(", Clip skip: 2")


def test_a_long_prompt_with_a_batch_and_clip_skip_succeeds_whole(member, tiny_version):
    prompt = ", ".join(["a lighthouse on a cliff above a stormy sea at night"] * 10)
    job = _submit(member, tiny_version, prompt=prompt, batch_size=2, clip_skip=2)
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED, job.error
    assert all(image.infotext.startswith(prompt + "\n") for image in job.images.all())
    assert job.images.count() == 2


def test_a_full_cache_outage_during_a_run_does_not_fail_the_job(member, tiny_version, monkeypatch):
    """Every shared-cache call the worker makes (latest state, cancel flags, worker figures,
    timing counters) fails: the picture is still made and stored."""

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to redis:6379.")

    job = _submit(member, tiny_version)
    for name in ("get", "set", "add", "incr", "delete", "get_many", "set_many"):
        monkeypatch.setattr(cache, name, unreachable)
    job_run(job_id=job.pk, worker="w")
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED
    assert job.images.count() == 1
