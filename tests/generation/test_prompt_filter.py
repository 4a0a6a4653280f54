"""The prompt filter on every way in: a refused prompt becomes a blocked job with its category,
never reaches a worker, and the member is told why in that entry point's own error style."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from generation.errors import PromptBlocked
from generation.models import GenerationJob
from generation.services import job_submit
from tests.accounts.factories import PASSWORD
from tests.generation.test_services import _drain_generation_queue
from tests.generation.test_views import _form

pytestmark = pytest.mark.django_db

REFUSED = "p o r n, masterpiece"


@pytest.fixture
def no_worker_message(django_capture_on_commit_callbacks):
    """Asserts, after the test body, that nothing was sent to the workers' queue."""
    _drain_generation_queue()
    with django_capture_on_commit_callbacks(execute=True):
        yield
    assert _drain_generation_queue() == []


def _blocked_job() -> GenerationJob:
    job = GenerationJob.objects.get()
    assert job.state == GenerationJob.State.BLOCKED
    assert job.blocked_category == "sexual"
    assert job.finished_at is not None
    assert job.worker == ""
    return job


def test_the_service_records_a_blocked_job_and_raises(
    member, tiny_version, filter_terms, no_worker_message
):
    with pytest.raises(PromptBlocked) as raised:
        job_submit(user=member, model_version=tiny_version, prompt=REFUSED)
    job = _blocked_job()
    assert raised.value.job_id == job.pk
    assert raised.value.category == "sexual"
    assert "porn" not in job.error  # the category, never the matched term
    assert job.prompt == REFUSED  # kept for the moderators


def test_the_negative_prompt_is_screened_too(member, tiny_version, filter_terms):
    with pytest.raises(PromptBlocked) as raised:
        job_submit(user=member, model_version=tiny_version, prompt="a cat", negative_prompt="色情")
    assert raised.value.field == "negative_prompt"


def test_a_flagged_prompt_is_queued_with_its_flags(member, tiny_version, filter_terms):
    job = job_submit(user=member, model_version=tiny_version, prompt="nazi uniform in a museum")
    assert job.state == GenerationJob.State.QUEUED
    assert job.flagged_categories == ["hate"]


def test_the_generate_page_shows_the_reason_on_the_prompt_field(
    member_client: Client, tiny_version, filter_terms, no_worker_message
):
    response = member_client.post("/generate/", _form(tiny_version, prompt=REFUSED))
    assert response.status_code == 400  # the form again, with the reason on the field
    assert "explicit sexual content" in response.context["form"].errors["prompt"][0]
    _blocked_job()


def test_the_rest_api_answers_400_with_the_category(
    member, tiny_version, filter_terms, no_worker_message
):
    api = APIClient()
    api.force_authenticate(member)
    response = api.post("/api/v1/jobs/", {"prompt": REFUSED, "steps": 4}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "prompt_blocked"
    assert error["category"] == "sexual"
    assert error["job"] == _blocked_job().pk
    assert "explicit sexual content" in error["fields"]["prompt"][0]


@pytest.mark.parametrize("endpoint", ["txt2img", "img2img"])
def test_the_a1111_api_answers_with_an_a1111_error(
    client: Client, member, tiny_version, filter_terms, no_worker_message, png_bytes, endpoint
):
    body = {"prompt": REFUSED, "steps": 4, "n_iter": 2}
    if endpoint == "img2img":
        body["init_images"] = [base64.b64encode(png_bytes).decode()]
    credentials = base64.b64encode(f"{member.username}:{PASSWORD}".encode()).decode()
    response = client.post(
        f"/sdapi/v1/{endpoint}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "PromptBlocked"
    assert "explicit sexual content" in payload["errors"]
    _blocked_job()  # one blocked job for the request, although it asked for two batches


def test_a_member_cannot_delete_the_record_of_a_refused_request(
    member, member_client: Client, tiny_version, filter_terms
):
    with pytest.raises(PromptBlocked):
        job_submit(user=member, model_version=tiny_version, prompt=REFUSED)
    job = GenerationJob.objects.get()
    response = member_client.post(f"/generate/jobs/{job.pk}/delete", follow=True)
    assert "stays on record for the moderators" in response.content.decode()
    assert GenerationJob.objects.filter(pk=job.pk).exists()
    history = member_client.get("/generate/history/").content.decode()
    assert "explicit sexual content" in history
    assert f"/generate/jobs/{job.pk}/rerun" not in history
