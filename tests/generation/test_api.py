"""REST API for generation jobs: submit, follow, cancel, list, results; members only."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create
from generation.models import GenerationJob
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory
from tests.generation.factories import GenerationJobFactory
from tests.modelhub.factories import ModelFileFactory

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"


@pytest.fixture
def version():
    return ModelFileFactory(version__is_default=True).version


@pytest.fixture
def api(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


def test_jobs_need_a_signed_in_member():
    response = APIClient().get(JOBS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_bearer_token_signs_in(member):
    _token, raw = api_token_create(user=member, name="bot")
    response = APIClient().get(JOBS, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_a_bad_token_is_401_not_anonymous():
    response = APIClient().get(JOBS, HTTP_AUTHORIZATION="Bearer va_nope")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_create_queues_a_job_with_the_sites_default_model(api, member, version):
    response = api.post(JOBS, {"prompt": "a red circle", "steps": 5, "seed": 7}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    job = GenerationJob.objects.get(pk=body["id"])
    assert job.user == member and job.model_version == version and job.steps == 5
    assert body["state"] == "queued"
    assert body["queue_position"] == 1
    assert body["progress"] == {"step": 0, "total": 5, "eta_s": None}
    assert job.cfg_scale == version.default_cfg_scale  # none given: the model's own


def test_create_without_a_cfg_scale_uses_the_models_recommended_one(api, version):
    version.default_cfg_scale = 3.0
    version.save(update_fields=["default_cfg_scale"])
    response = api.post(JOBS, {"prompt": "a red circle", "steps": 5}, format="json")
    assert GenerationJob.objects.get(pk=response.json()["id"]).cfg_scale == 3.0
    response = api.post(JOBS, {"prompt": "a red circle", "cfg_scale": 8}, format="json")
    assert GenerationJob.objects.get(pk=response.json()["id"]).cfg_scale == 8


def test_create_accepts_a_base64_starting_picture(api, version, png_bytes):
    payload = {
        "prompt": "winter",
        "model_version": version.pk,
        "init_image": "data:image/png;base64," + base64.b64encode(png_bytes).decode(),
        "denoising_strength": 0.5,
    }
    response = api.post(JOBS, payload, format="json")
    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert job.is_img2img and job.denoising_strength == 0.5


def test_create_validation_errors_use_the_error_body(api, version):
    response = api.post(JOBS, {"prompt": "x", "steps": 1000}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert list(error["fields"]) == ["steps"]
    assert not GenerationJob.objects.exists()


def test_create_rejections_of_the_service_use_the_error_body(api, version):
    response = api.post(JOBS, {"prompt": "x", "width": 100}, format="json")  # not a multiple of 8
    assert response.status_code == 400
    assert "width" in response.json()["error"]["fields"]


def test_create_refuses_a_picture_that_is_not_base64(api, version):
    response = api.post(JOBS, {"prompt": "x", "init_image": "%%%"}, format="json")
    assert response.status_code == 400
    assert "init_image" in response.json()["error"]["fields"]


def test_create_refuses_an_unknown_model_version(api, version):
    response = api.post(JOBS, {"prompt": "x", "model_version": 999999}, format="json")
    assert response.status_code == 400
    assert "model_version" in response.json()["error"]["fields"]


def test_list_shows_only_my_jobs_newest_first_paginated(api, member, version):
    mine = [GenerationJobFactory(user=member, model_version=version) for _ in range(3)]
    GenerationJobFactory(model_version=version)  # someone else's
    response = api.get(JOBS, {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert [job["id"] for job in body["results"]] == [mine[2].pk, mine[1].pk]
    assert body["next"] is not None
    page2 = api.get(JOBS, {"page_size": 2, "page": 2}).json()
    assert [job["id"] for job in page2["results"]] == [mine[0].pk]


def test_list_page_size_is_capped(api, member, version):
    response = api.get(JOBS, {"page_size": 1000})
    assert response.status_code == 200


def test_a_page_past_the_end_is_404_in_the_error_body(api):
    response = api.get(JOBS, {"page": 9})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_retrieve_shows_state_and_progress(api, member, version):
    job = GenerationJobFactory(user=member, model_version=version)
    body = api.get(f"{JOBS}{job.pk}/").json()
    assert body["id"] == job.pk and body["state"] == "queued"
    assert body["progress"]["total"] == job.steps


def test_another_members_job_is_not_found(api, version):
    job = GenerationJobFactory(model_version=version)
    for response in (
        api.get(f"{JOBS}{job.pk}/"),
        api.post(f"{JOBS}{job.pk}/cancel/"),
        api.get(f"{JOBS}{job.pk}/results/"),
        api.delete(f"{JOBS}{job.pk}/"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    job.refresh_from_db()
    assert job.state == GenerationJob.State.QUEUED


def test_cancel_stops_my_queued_job(api, member, version):
    job = GenerationJobFactory(user=member, model_version=version)
    response = api.post(f"{JOBS}{job.pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["state"] == "cancelled"
    job.refresh_from_db()
    assert job.state == GenerationJob.State.CANCELLED


def test_results_list_the_pictures_with_seed_and_infotext(api, member, version):
    job = GenerationJobFactory(
        user=member, model_version=version, state=GenerationJob.State.SUCCEEDED
    )
    image = ImageFactory(owner=member, job=job, seed=42)
    body = api.get(f"{JOBS}{job.pk}/results/").json()
    assert [item["id"] for item in body] == [image.pk]
    assert body[0]["seed"] == 42 and body[0]["infotext"] == image.infotext
    assert body[0]["url"].endswith(image.get_file_url())
    assert body[0]["png_base64"] is None
    with_data = api.get(f"{JOBS}{job.pk}/results/", {"include": "data"}).json()
    assert base64.b64decode(with_data[0]["png_base64"]).startswith(b"\x89PNG")


def test_deleting_a_running_job_is_refused_in_the_error_body(api, member, version):
    job = GenerationJobFactory(user=member, model_version=version)
    response = api.delete(f"{JOBS}{job.pk}/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert GenerationJob.objects.filter(pk=job.pk).exists()


def test_job_creation_has_its_own_stricter_rate(api, version, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/min", "user": "100/min", "job_create": "2/min"},
    }
    statuses = [api.post(JOBS, {"prompt": "x"}, format="json").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert api.get(JOBS).status_code == 200  # reading is not the scarce part


def test_other_members_are_counted_apart(version, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/min", "user": "1/min", "job_create": "1/min"},
    }
    first, second = APIClient(), APIClient()
    first.force_authenticate(UserFactory())
    second.force_authenticate(UserFactory())
    assert first.get(JOBS).status_code == 200
    throttled = first.get(JOBS)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["error"]["code"] == "throttled"
    assert second.get(JOBS).status_code == 200
