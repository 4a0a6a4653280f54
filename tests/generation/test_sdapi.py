"""The AUTOMATIC1111-compatible API (/sdapi/v1/): A1111's paths, fields, shapes and errors; jobs
run in-process (the wait executes them with job_execute instead of waiting for a worker)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from PIL import Image as PILImage

from accounts.api_tokens import api_token_create
from generation.infotext import png_read_infotext
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.sdapi import services as sdapi_services
from generation.sdapi.selectors import inflight_key
from generation.services import job_submit
from modelhub.models import ModelVersion
from modelhub.services import model_register_diffusers
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _auth(username: str, password: str = PASSWORD) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


@pytest.fixture
def api(client: Client, member):
    class Api:
        def get(self, path: str, user=member, **kwargs):
            return client.get(f"/sdapi/v1/{path}", **_auth(user.username), **kwargs)

        def post(self, path: str, body=None, user=member):
            return client.post(
                f"/sdapi/v1/{path}",
                json.dumps(body if body is not None else {}),
                content_type="application/json",
                **_auth(user.username),
            )

    return Api()


@pytest.fixture
def run_in_process(sdapi_jobs_run_in_process):
    """The API call's wait runs its queued jobs here, then waits for them as the real wait does."""


def _png(b64: str) -> bytes:
    return base64.b64decode(b64)


@pytest.fixture
def second_version(tiny_version, tiny_model_dir) -> ModelVersion:
    return model_register_diffusers(
        name="Other Tiny",
        version_name="v2",
        directory=tiny_model_dir,
        base_model=ModelVersion.BaseModel.TINY,
        default_size=64,
        max_size=256,
    )


# --- authentication ---------------------------------------------------------------------------


def test_no_credentials_is_401_with_basic_challenge(client, tiny_version):
    response = client.get("/sdapi/v1/sd-models")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'


def test_wrong_password_is_401(client, member, tiny_version):
    response = client.get("/sdapi/v1/sd-models", **_auth(member.username, "wrong"))
    assert response.status_code == 401


def test_api_token_as_basic_password_works(client, member, tiny_version):
    _token, raw = api_token_create(user=member, name="script")
    response = client.get("/sdapi/v1/options", **_auth("anything", raw))
    assert response.status_code == 200


def test_session_login_alone_is_not_enough(member_client, tiny_version):
    assert member_client.get("/sdapi/v1/options").status_code == 401


# --- txt2img / img2img ----------------------------------------------------------------------


def test_txt2img_returns_pngs_whose_infotext_matches_the_info(api, tiny_version, run_in_process):
    response = api.post(
        "txt2img",
        {"prompt": "a red circle", "seed": 123, "steps": 3, "sampler_name": "Euler a"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["images"]) == 1
    info = json.loads(body["info"])
    infotext = png_read_infotext(_png(body["images"][0]))
    assert info["infotexts"] == [infotext]
    assert "Seed: 123" in infotext and "Sampler: Euler a" in infotext
    assert info["seed"] == 123 and info["all_seeds"] == [123]
    assert info["width"] == 64 and info["sd_model_name"] == "Test Tiny v1"
    for key in ("prompt", "all_prompts", "negative_prompt", "subseed", "sampler_name", "cfg_scale"):
        assert key in info
    for key in ("steps", "sd_model_hash", "job_timestamp", "clip_skip", "denoising_strength"):
        assert key in info
    assert body["parameters"]["steps"] == 3 and body["parameters"]["cfg_scale"] == 7.0
    job = GenerationJob.objects.get()  # an ordinary job, in the member's history
    assert job.state == GenerationJob.State.SUCCEEDED and job.user.username


def test_n_iter_and_batch_size_give_every_picture_and_consecutive_seeds(
    api, tiny_version, run_in_process
):
    response = api.post(
        "txt2img", {"prompt": "dots", "seed": 10, "steps": 2, "batch_size": 2, "n_iter": 2}
    )
    assert response.status_code == 200, response.content
    info = json.loads(response.json()["info"])
    assert len(response.json()["images"]) == 4
    assert info["all_seeds"] == [10, 11, 12, 13]
    assert GenerationJob.objects.count() == 2


def test_random_seed_is_reported(api, tiny_version, run_in_process):
    response = api.post("txt2img", {"prompt": "dots", "seed": -1, "steps": 2})
    info = json.loads(response.json()["info"])
    assert info["seed"] >= 0 and f"Seed: {info['seed']}," in info["infotexts"][0]


def test_default_size_is_the_models_native_size(api, tiny_version, run_in_process):
    response = api.post("txt2img", {"prompt": "dots", "steps": 2})
    assert response.status_code == 200
    assert PILImage.open(io.BytesIO(_png(response.json()["images"][0]))).size == (64, 64)


def test_too_wide_for_the_model_is_a_422_with_fastapi_shape(api, tiny_version):
    response = api.post("txt2img", {"prompt": "x", "width": 1000, "height": 64})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "width"] and "256" in detail[0]["msg"]
    assert not GenerationJob.objects.exists()


def test_zero_steps_is_a_422(api, tiny_version):
    response = api.post("txt2img", {"prompt": "x", "steps": 0})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "steps"]


def test_unknown_sampler_is_a_422_naming_the_samplers(api, tiny_version):
    response = api.post("txt2img", {"prompt": "x", "sampler_name": "Heun++"})
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["loc"] == ["body", "sampler_name"] and "Euler a" in item["msg"]


def test_wrong_type_is_a_422(api, tiny_version):
    response = api.post("txt2img", {"prompt": "x", "steps": "many"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "steps"]


def test_broken_json_is_a_422_not_a_crash(client, member, tiny_version):
    response = client.post(
        "/sdapi/v1/txt2img", "{nope", content_type="application/json", **_auth(member.username)
    )
    assert response.status_code == 422


def test_unknown_lora_is_a_runtime_error_with_the_message(api, tiny_version):
    response = api.post("txt2img", {"prompt": "x <lora:Nobody:1>"})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "detail", "body", "errors"} and "Nobody" in body["errors"]


def test_unknown_fields_are_ignored_with_a_note(api, tiny_version, run_in_process):
    response = api.post(
        "txt2img",
        {
            "prompt": "x",
            "steps": 2,
            "enable_hr": False,
            "restore_faces": True,
            "subseed": 5,
            "alwayson_scripts": {},
            "something_new": [1, 2],
        },
    )
    assert response.status_code == 200, response.content
    info = json.loads(response.json()["info"])
    assert info["ignored_fields"] == ["restore_faces", "something_new"]


def test_karras_scheduler_maps_dpmpp_2m_to_our_karras_sampler(api, tiny_version, run_in_process):
    response = api.post(
        "txt2img",
        {"prompt": "x", "steps": 2, "sampler_name": "DPM++ 2M", "scheduler": "Karras"},
    )
    assert response.status_code == 200, response.content
    assert json.loads(response.json()["info"])["sampler_name"] == "DPM++ 2M Karras"


def test_sampler_index_is_accepted(api, tiny_version, run_in_process):
    response = api.post("txt2img", {"prompt": "x", "steps": 2, "sampler_index": "DDIM"})
    assert json.loads(response.json()["info"])["sampler_name"] == "DDIM"


def test_img2img_with_a_base64_init_image(api, tiny_version, png_bytes, run_in_process):
    encoded = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    response = api.post(
        "img2img",
        {"prompt": "x", "steps": 4, "init_images": [encoded], "denoising_strength": 0.5},
    )
    assert response.status_code == 200, response.content
    info = json.loads(response.json()["info"])
    assert info["denoising_strength"] == 0.5
    assert "Denoising strength: 0.5" in info["infotexts"][0]
    assert GenerationJob.objects.get().is_img2img
    assert response.json()["parameters"]["init_images"] is None


def test_img2img_with_bad_base64_is_a_422(api, tiny_version):
    response = api.post("img2img", {"prompt": "x", "init_images": ["@@@"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "init_images"]


def test_failed_job_is_an_a1111_runtime_error(api, tiny_version, monkeypatch):
    async def fail(*, job_ids, timeout):
        await GenerationJob.objects.filter(pk__in=job_ids).aupdate(
            state="failed", error="GPU on fire"
        )

    monkeypatch.setattr(sdapi_services, "jobs_wait", fail)
    response = api.post("txt2img", {"prompt": "x", "steps": 2})
    assert response.status_code == 500
    assert response.json()["errors"] == "GPU on fire"


def test_wait_timeout_cancels_the_jobs(member, tiny_version):
    job = job_submit(user=member, model_version=tiny_version, prompt="x", enqueue=False)
    with pytest.raises(sdapi_services.SdApiRuntimeError) as caught:
        async_to_sync(sdapi_services.jobs_wait)(job_ids=[job.pk], timeout=0)
    assert caught.value.http_status == 504
    job.refresh_from_db()
    assert job.state == GenerationJob.State.CANCELLED


# --- progress, interrupt, skip -----------------------------------------------------------------


def _running_job(user, version, *, api_call: bool = True) -> GenerationJob:
    from django.core.cache import cache

    job = job_submit(user=user, model_version=version, prompt="x", steps=10, enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(state=GenerationJob.State.RUNNING)
    job_publish(job.pk, {"type": "progress", "step": 4, "total": 10, "eta_s": 1.5})
    job_publish(
        job.pk,
        {"type": "preview", "step": 4, "image": "data:image/jpeg;base64,QUJD"},
        latest_key="preview",
    )
    if api_call:
        cache.set(inflight_key(user.pk), [job.pk])
    job.refresh_from_db()
    return job


def test_progress_shows_the_callers_running_job(api, member, tiny_version):
    _running_job(member, tiny_version)
    body = api.get("progress").json()
    assert body["progress"] == 0.4 and body["eta_relative"] == 1.5
    assert body["state"]["sampling_step"] == 4 and body["state"]["sampling_steps"] == 10
    assert body["state"]["job_count"] == 1
    assert body["current_image"] == "QUJD"
    skipped = api.get("progress?skip_current_image=true").json()
    assert skipped["current_image"] is None


def test_progress_never_shows_another_members_job(api, tiny_version):
    _running_job(UserFactory(), tiny_version)
    body = api.get("progress").json()
    assert body["progress"] == 0 and body["current_image"] is None
    assert body["state"]["job_count"] == 0


def test_interrupt_cancels_only_the_callers_api_job(api, member, tiny_version):
    from django.core.cache import cache

    mine = job_submit(user=member, model_version=tiny_version, prompt="x", enqueue=False)
    other_member = UserFactory()
    theirs = job_submit(user=other_member, model_version=tiny_version, prompt="x", enqueue=False)
    cache.set(inflight_key(member.pk), [mine.pk])
    cache.set(inflight_key(other_member.pk), [theirs.pk])
    assert api.post("interrupt").status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.state == GenerationJob.State.CANCELLED
    assert theirs.state == GenerationJob.State.QUEUED


def test_skip_cancels_the_running_job_and_keeps_the_next(api, member, tiny_version):
    from django.core.cache import cache

    running = _running_job(member, tiny_version)
    queued = job_submit(user=member, model_version=tiny_version, prompt="y", enqueue=False)
    cache.set(inflight_key(member.pk), [running.pk, queued.pk])
    api.post("skip")
    queued.refresh_from_db()
    assert queued.state == GenerationJob.State.QUEUED
    assert cache.get(f"job:{running.pk}:cancel")  # the worker stops it after this step


# --- lists, options, png-info ------------------------------------------------------------------


def test_sd_models_shape(api, tiny_version):
    [model] = api.get("sd-models").json()
    file = tiny_version.files.get()
    assert model == {
        "title": f"Test Tiny v1 [{file.sha256[:10]}]",
        "model_name": "Test Tiny v1",
        "hash": file.sha256[:10],
        "sha256": file.sha256,
        "filename": file.path,
        "config": None,
    }


def test_samplers_and_schedulers_shapes(api, tiny_version):
    samplers = api.get("samplers").json()
    assert {"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {}} in (
        samplers
    )
    schedulers = api.get("schedulers").json()
    assert [s["label"] for s in schedulers] == ["Automatic", "Karras"]
    assert set(schedulers[0]) == {"name", "label", "aliases", "default_rho", "need_inner_model"}


def test_loras_shape(api, tiny_lora):
    [lora] = api.get("loras").json()
    assert lora["name"] == lora["alias"] == "Test Ink"
    assert lora["path"].endswith(".safetensors") and lora["metadata"] == {}


def test_options_post_switches_only_the_callers_model(
    api, member, tiny_version, second_version, run_in_process
):
    other = UserFactory()
    default_title = api.get("options").json()["sd_model_checkpoint"]
    assert default_title.startswith("Test Tiny v1 [")
    response = api.post("options", {"sd_model_checkpoint": "Other Tiny v2", "show_x": 1})
    assert response.status_code == 200 and response.json() is None
    assert response["X-Ignored-Options"] == "show_x"
    assert api.get("options").json()["sd_model_checkpoint"].startswith("Other Tiny v2 [")
    assert api.get("options", user=other).json()["sd_model_checkpoint"] == default_title
    info = json.loads(api.post("txt2img", {"prompt": "x", "steps": 2}).json()["info"])
    assert info["sd_model_name"] == "Other Tiny v2"
    assert GenerationJob.objects.get().model_version == second_version


def test_ignored_option_keys_never_break_the_header(api, tiny_version):
    response = api.post("options", {"bad\nkey": 1, "名字": 2, "plain": 3})
    assert response.status_code == 200
    assert response["X-Ignored-Options"] == "plain"


def test_options_by_hash_and_unknown_checkpoint(api, tiny_version, second_version):
    short_hash = tiny_version.files.get().sha256[:10]
    assert api.post("options", {"sd_model_checkpoint": short_hash}).status_code == 200
    assert api.get("options").json()["sd_model_checkpoint"].startswith("Test Tiny v1")
    response = api.post("options", {"sd_model_checkpoint": "No Such Model"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "sd_model_checkpoint"]


def test_override_settings_checkpoint_applies_to_one_call(
    api, tiny_version, second_version, run_in_process
):
    response = api.post(
        "txt2img",
        {"prompt": "x", "steps": 2, "override_settings": {"sd_model_checkpoint": "Other Tiny v2"}},
    )
    assert json.loads(response.json()["info"])["sd_model_name"] == "Other Tiny v2"
    assert api.get("options").json()["sd_model_checkpoint"].startswith("Test Tiny v1")


def test_png_info_round_trip(api, tiny_version, run_in_process):
    generated = api.post(
        "txt2img", {"prompt": "a cat", "negative_prompt": "dogs", "seed": 7, "steps": 2}
    ).json()
    image = "data:image/png;base64," + generated["images"][0]
    body = api.post("png-info", {"image": image}).json()
    assert body["info"] == json.loads(generated["info"])["infotexts"][0]
    assert body["items"]["parameters"] == body["info"]
    params = body["parameters"]
    assert params["Prompt"] == "a cat" and params["Negative prompt"] == "dogs"
    assert params["Seed"] == "7" and params["Steps"] == "2"
    assert params["Size-1"] == params["Size-2"] == "64"


def test_png_info_of_garbage_is_a_422(api, tiny_version):
    response = api.post("png-info", {"image": base64.b64encode(b"not a picture").decode()})
    assert response.status_code == 422
