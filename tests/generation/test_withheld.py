"""Pictures the image classifier rates above the site's limit: stored in quarantine, never served
(no page, file URL, API or A1111 answer shows them), the member told why, moderators able to
review them, and deleted once the retention period is over."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from gallery.models import Image
from gallery.services import quarantine_purge
from generation.models import GenerationJob
from generation.realtime import job_latest_message
from generation.services import job_submit
from generation.worker import execute
from generation.worker.execute import job_run
from moderation.imagefilter import Rating
from tests.accounts.factories import PASSWORD, UserFactory
from visionary.levels import Level

pytestmark = pytest.mark.django_db

EXPLICIT = Rating(Level.X, ("FEMALE_GENITALIA_EXPOSED",))


@pytest.fixture
def rated_x(monkeypatch):
    """The classifier rates every picture X: what it would say of an explicit picture, which
    a test suite cannot carry. Its own tests run the real detector."""
    monkeypatch.setattr(execute, "image_rate", lambda picture: EXPLICIT)


def _run(member, version, **params) -> GenerationJob:
    job = job_submit(user=member, model_version=version, prompt="a red circle", steps=2, **params)
    job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    return job


def test_every_picture_is_classified_and_its_level_stored(member, tiny_version):
    job = _run(member, tiny_version, seed=3)
    image = job.images.get()
    assert image.level == Level.PG
    assert image.withheld_at is None
    assert image.file.name.startswith("images/")


def test_a_picture_above_the_limit_is_withheld_in_quarantine(member, tiny_version, rated_x):
    job = _run(member, tiny_version, seed=3, batch_size=2)
    assert job.state == GenerationJob.State.SUCCEEDED
    assert job.images.count() == 0  # the default manager never returns them
    withheld = list(Image.all_objects.filter(job=job))
    assert len(withheld) == 2
    for image in withheld:
        assert image.level == Level.X
        assert image.withheld_at is not None
        assert image.file.name.startswith("quarantine/")
        assert default_storage.exists(image.file.name)


def test_the_member_is_told_what_was_withheld_and_why(
    member, member_client: Client, tiny_version, rated_x, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _run(member, tiny_version, seed=3)
    done = job_latest_message(job.pk)
    assert done is not None
    assert done["type"] == "done"
    assert done["images"] == []
    assert done["withheld"][0]["level"] == "X"
    assert "exposed genitals" in done["withheld"][0]["reason"]
    page = member_client.get(job.get_absolute_url()).content.decode()
    assert "above this site&#x27;s limit of PG-13" in page
    status = member_client.get(f"/generate/jobs/{job.pk}/status").json()
    assert status["images"] == [] and status["withheld"][0]["level"] == "X"


def test_no_url_serves_a_withheld_picture_to_anyone_but_moderators(
    member, member_client: Client, client: Client, tiny_version, rated_x
):
    job = _run(member, tiny_version, seed=3)
    image = Image.all_objects.get(job=job)
    for url in (image.get_file_url(), image.get_absolute_url()):
        assert member_client.get(url).status_code == 404  # not even its owner
        assert client.get(url).status_code == 404
    review = f"/moderation/withheld/{image.pk}.png"
    assert member_client.get(review).status_code == 403
    moderator = UserFactory(is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="view_withheld_image"))
    client.force_login(moderator)
    response = client.get(review)
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("private") or "no-store" in response["Cache-Control"]
    )
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_shown_picture_is_not_reachable_at_the_moderators_url(
    member, client: Client, tiny_version
):
    job = _run(member, tiny_version, seed=3)
    moderator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(moderator)
    assert client.get(f"/moderation/withheld/{job.images.get().pk}.png").status_code == 404


def test_the_rest_api_lists_notices_not_pictures(member, tiny_version, rated_x):
    job = _run(member, tiny_version, seed=3)
    api = APIClient()
    api.force_authenticate(member)
    detail = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert detail["images"] == []
    assert detail["withheld"][0]["level"] == "X"
    results = api.get(f"/api/v1/jobs/{job.pk}/results/", {"include": "data"}).json()
    assert results == []


def test_the_a1111_api_sends_no_withheld_picture(
    client: Client, member, tiny_version, rated_x, sdapi_jobs_run_in_process
):
    credentials = base64.b64encode(f"{member.username}:{PASSWORD}".encode()).decode()
    response = client.post(
        "/sdapi/v1/txt2img",
        json.dumps({"prompt": "a red circle", "steps": 2, "seed": 4}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["images"] == []
    assert json.loads(payload["info"])["withheld"][0]["level"] == "X"


def test_a_withheld_result_is_never_copied_by_the_result_cache(member, tiny_version, rated_x):
    first = _run(member, tiny_version, seed=11)
    again = job_submit(
        user=member, model_version=tiny_version, prompt="a red circle", steps=2, seed=11
    )
    assert first.fingerprint == again.fingerprint
    assert again.state == GenerationJob.State.QUEUED  # run afresh, classified afresh


def test_the_purge_deletes_withheld_pictures_after_the_retention_period(
    member, tiny_version, rated_x, settings
):
    job = _run(member, tiny_version, seed=3)
    image = Image.all_objects.get(job=job)
    name = image.file.name
    assert quarantine_purge() == 0  # still within the retention period
    later = timezone.now() + timedelta(days=settings.MODERATION_QUARANTINE_DAYS, seconds=1)
    assert quarantine_purge(now=later) == 1
    assert not Image.all_objects.filter(pk=image.pk).exists()
    assert not default_storage.exists(name)


def test_the_purge_leaves_shown_pictures_alone(member, tiny_version, settings):
    job = _run(member, tiny_version, seed=3)
    later = timezone.now() + timedelta(days=settings.MODERATION_QUARANTINE_DAYS + 5)
    assert quarantine_purge(now=later) == 0
    assert job.images.count() == 1


def test_the_purge_runs_as_a_periodic_task(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["purge-expired-quarantine"]
    assert schedule["task"] == "gallery.tasks.quarantine_purge"
