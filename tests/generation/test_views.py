"""The generation pages and the JSON status URL."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generation.models import GenerationJob
from generation.views import SESSION_LAST_SETTINGS
from generation.worker.execute import job_run
from modelhub.models import ModelFile
from tests.accounts.factories import UserFactory
from tests.generation.factories import GenerationJobFactory
from tests.modelhub.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

GENERATE = "/generate/"


def _form(version, **overrides):
    data = {
        "model_version": version.pk,
        "prompt": "a red circle on a blue background",
        "negative_prompt": "",
        "sampler": "Euler a",
        "steps": 4,
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "seed": 5,
        "batch_size": 1,
        "clip_skip": 1,
    }
    data.update(overrides)
    return data


def test_generate_page_requires_sign_in(client):
    response = client.get(GENERATE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_generate_page_lists_generatable_models(member_client, tiny_version):
    response = member_client.get(GENERATE)
    assert response.status_code == 200
    assert "Test Tiny v1" in response.content.decode()


def test_generate_page_without_models_explains_what_to_do(member_client):
    response = member_client.get(GENERATE)
    assert "manage.py bootstrap" in response.content.decode()


def test_submit_queues_and_redirects_to_the_job(member_client, member, tiny_version):
    response = member_client.post(GENERATE, _form(tiny_version))
    job = GenerationJob.objects.get(user=member)
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert (job.state, job.seed, job.steps) == ("queued", 5, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", 0),
        ("steps", 101),
        ("cfg_scale", 31),
        ("width", 65),
        ("seed", -2),
        ("prompt", ""),
        ("batch_size", 5),
        ("clip_skip", 13),
    ],
)
def test_bad_parameters_give_field_errors_and_queue_nothing(
    member_client, tiny_version, field, value
):
    response = member_client.post(GENERATE, _form(tiny_version, **{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not GenerationJob.objects.exists()


def test_size_beyond_the_model_limit_is_a_field_error(member_client, tiny_version):
    response = member_client.post(GENERATE, _form(tiny_version, width=512))
    assert response.status_code == 400
    assert "256" in response.context["form"].errors["width"][0]
    assert not GenerationJob.objects.exists()


def test_form_remembers_the_last_settings(member_client, tiny_version):
    member_client.post(GENERATE, _form(tiny_version, prompt="a green star", steps=9))
    form = member_client.get(GENERATE).context["form"]
    assert form.initial["prompt"] == "a green star"
    assert form.initial["steps"] == 9


def test_job_page_shows_the_finished_picture(member_client, member, tiny_version):
    member_client.post(GENERATE, _form(tiny_version))
    job = GenerationJob.objects.get(user=member)
    job_run(job_id=job.pk, worker="w")
    html = member_client.get(job.get_absolute_url()).content.decode()
    assert 'value="100"' in html
    assert job.images.get().get_file_url() in html


def test_job_page_of_someone_else_is_not_found(member_client):
    job = GenerationJobFactory(user=UserFactory())
    assert member_client.get(job.get_absolute_url()).status_code == 404


def test_status_json_requires_sign_in(client):
    job = GenerationJobFactory()
    response = client.get(reverse("generation:job_status", args=[job.pk]))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_status_json_hides_other_members_jobs(member_client):
    job = GenerationJobFactory(user=UserFactory())
    response = member_client.get(reverse("generation:job_status", args=[job.pk]))
    assert response.status_code == 404
    assert "detail" in response.json()


def test_status_json_describes_a_queued_job(member_client, member):
    job = GenerationJobFactory(user=member)
    body = member_client.get(reverse("generation:job_status", args=[job.pk])).json()
    assert body["state"] == "queued"
    assert body["queue_position"] == 1
    assert body["progress"] == {"step": 0, "total": 4, "eta_s": None}
    assert body["images"] == []


def test_status_json_lists_images_when_done(member_client, member, tiny_version):
    member_client.post(GENERATE, _form(tiny_version))
    job = GenerationJob.objects.get(user=member)
    job_run(job_id=job.pk, worker="w")
    body = member_client.get(reverse("generation:job_status", args=[job.pk])).json()
    assert body["state"] == "succeeded"
    assert body["images"] == [job.images.get().get_file_url()]
    assert body["seed"] == 5


def test_cancel_my_queued_job_from_its_page(member_client, member):
    job = GenerationJobFactory(user=member)
    response = member_client.post(reverse("generation:job_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_cancel_someone_elses_job_is_not_found_and_changes_nothing(member_client):
    job = GenerationJobFactory(user=UserFactory())
    response = member_client.post(reverse("generation:job_cancel", args=[job.pk]))
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.state == "queued"


def test_cancel_answers_json_when_asked(member_client, member):
    job = GenerationJobFactory(user=member)
    response = member_client.post(
        reverse("generation:job_cancel", args=[job.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"id": job.pk, "cancel_requested": True}


def test_generate_page_offers_to_reuse_the_last_seed(member_client, member, tiny_version):
    member_client.post(GENERATE, _form(tiny_version, seed=4242))
    job_run(job_id=GenerationJob.objects.get(user=member).pk, worker="w")
    html = member_client.get(GENERATE).content.decode()
    assert 'data-seed-value="4242"' in html
    assert 'aria-label="Reuse the last seed (4242)"' in html
    assert 'aria-label="Random seed"' in html


def test_generate_page_carries_each_models_native_size_for_the_presets(member_client, tiny_version):
    html = member_client.get(GENERATE).content.decode()
    assert f'"{tiny_version.pk}": [64, 64]' in html
    assert 'data-ratio="3:2"' in html


def test_generate_page_starts_at_the_models_recommended_cfg_scale(member_client, tiny_version):
    tiny_version.default_cfg_scale = 3.0
    tiny_version.save(update_fields=["default_cfg_scale"])
    response = member_client.get(GENERATE)
    assert response.context["form"]["cfg_scale"].initial == 3.0
    # Each model's scale travels with the page, for the picker to switch to.
    assert f'"{tiny_version.pk}": 3.0' in response.content.decode()


def test_generate_page_offers_the_loras_of_the_selected_model(member_client, tiny_lora):
    response = member_client.get(GENERATE)
    html = response.content.decode()
    assert "&lt;lora:Test Ink:1&gt;" in html
    assert response.context["loras"] == [
        {"name": "Test Ink", "base": "tiny", "base_label": "Tiny (built in)", "usable": True}
    ]
    assert "data-lora-empty hidden" in html
    assert 'id="lora-picker-data"' in html and 'id="model-bases"' in html


def test_generate_page_says_when_the_selected_model_has_no_lora(member_client, tiny_lora):
    sd15 = ModelVersionFactory(base_model="sd15", max_size=1024)
    ModelFile.objects.create(
        version=sd15, format="diffusers", path="x", size_bytes=1, sha256="f" * 64
    )
    session = member_client.session
    session[SESSION_LAST_SETTINGS] = {"model_version": sd15.pk}
    session.save()
    response = member_client.get(GENERATE)
    html = response.content.decode()
    assert response.context["loras"][0]["usable"] is False
    assert '<li data-base="tiny" hidden>' in html
    assert "data-lora-empty hidden" not in html
    assert "No LoRAs for this model yet." in html


def test_submit_with_a_lora_tag_resolves_the_lora(member_client, member, tiny_version, tiny_lora):
    response = member_client.post(GENERATE, _form(tiny_version, prompt="ink <lora:Test Ink:0.5>"))
    job = GenerationJob.objects.get(user=member)
    assert response.status_code == 302
    assert [(lora["version"], lora["weight"]) for lora in job.loras] == [(tiny_lora.pk, 0.5)]


def test_submit_with_an_unknown_lora_is_a_prompt_error(member_client, tiny_version):
    response = member_client.post(GENERATE, _form(tiny_version, prompt="<lora:No Such:1> a cat"))
    assert response.status_code == 400
    assert "No Such" in response.context["form"].errors["prompt"][0]
    assert not GenerationJob.objects.exists()


def test_submit_with_a_starting_picture_queues_img2img(
    member_client, member, tiny_version, png_bytes
):
    upload = SimpleUploadedFile("start.png", png_bytes, content_type="image/png")
    response = member_client.post(
        GENERATE, _form(tiny_version, init_image=upload, denoising_strength=0.4, steps=10)
    )
    job = GenerationJob.objects.get(user=member)
    assert response.status_code == 302
    assert job.is_img2img and job.denoising_strength == 0.4
    assert job.steps_total == 4


def test_submit_without_a_picture_ignores_the_strength(member_client, member, tiny_version):
    member_client.post(GENERATE, _form(tiny_version, denoising_strength=0.3))
    job = GenerationJob.objects.get(user=member)
    assert not job.is_img2img and job.denoising_strength is None


def test_starting_picture_that_is_not_an_image_is_a_field_error(member_client, tiny_version):
    upload = SimpleUploadedFile("start.png", b"not a picture", content_type="image/png")
    response = member_client.post(GENERATE, _form(tiny_version, init_image=upload))
    assert response.status_code == 400
    assert response.context["form"].errors["init_image"] == [
        "This file is not an image we can read."
    ]
    assert not GenerationJob.objects.exists()


def test_starting_picture_over_the_size_limit_is_a_field_error(
    member_client, tiny_version, png_bytes, settings
):
    settings.GENERATION_INIT_IMAGE_MAX_BYTES = len(png_bytes) - 1
    upload = SimpleUploadedFile("start.png", png_bytes, content_type="image/png")
    response = member_client.post(GENERATE, _form(tiny_version, init_image=upload))
    assert response.status_code == 400
    assert "at most" in response.context["form"].errors["init_image"][0]
    assert not GenerationJob.objects.exists()


def test_strength_too_low_for_one_step_is_a_field_error(member_client, tiny_version, png_bytes):
    upload = SimpleUploadedFile("start.png", png_bytes, content_type="image/png")
    response = member_client.post(
        GENERATE, _form(tiny_version, init_image=upload, denoising_strength=0.05, steps=4)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["denoising_strength"]
    assert not GenerationJob.objects.exists()


def test_remembered_settings_keep_the_strength_but_not_the_picture(
    member_client, tiny_version, png_bytes
):
    upload = SimpleUploadedFile("start.png", png_bytes, content_type="image/png")
    member_client.post(GENERATE, _form(tiny_version, init_image=upload, denoising_strength=0.6))
    remembered = member_client.session[SESSION_LAST_SETTINGS]
    assert "init_image" not in remembered
    assert remembered["denoising_strength"] == 0.6
    form = member_client.get(GENERATE).context["form"]
    assert form.initial["denoising_strength"] == 0.6


def test_generate_form_uploads_files_and_offers_a_strength_slider(member_client, tiny_version):
    html = member_client.get(GENERATE).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'accept="image/png,image/jpeg,image/webp,image/gif"' in html
    assert 'type="range"' in html and 'step="0.05"' in html and 'value="0.75"' in html
    assert 'aria-label="Remove the starting picture"' in html


def test_img2img_job_page_shows_strength_and_the_starting_picture_to_its_owner_only(
    member_client, member, client, tiny_version, tiny_lora, png_bytes
):
    from django.urls import reverse

    from generation.services import job_submit
    from tests.accounts.factories import UserFactory

    job = job_submit(
        user=member,
        model_version=tiny_version,
        prompt="a cat <lora:Test Ink:0.5>",
        init_image=png_bytes,
        denoising_strength=0.6,
        enqueue=False,
    )
    page = member_client.get(job.get_absolute_url()).content.decode()
    url = reverse("generation:job_init_image", args=[job.pk])
    assert "0.6" in page and url in page and "Test Ink × 0.5" in page
    response = member_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404  # someone else's upload


def test_txt2img_job_has_no_starting_picture(member_client, member, tiny_version):
    from django.urls import reverse

    from generation.services import job_submit

    job = job_submit(user=member, model_version=tiny_version, prompt="a cat", enqueue=False)
    assert member_client.get(reverse("generation:job_init_image", args=[job.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_after_submit_keeps_the_job_and_says_it_was_accepted(
    member_client, member, tiny_version, monkeypatch
):
    """The job is committed before the wake-up is sent: a broker that is down must not turn an
    accepted job into an error page (the reaper re-wakes it)."""
    import kombu.exceptions

    from visionary.celery import app as celery_app

    def broker_down(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    response = member_client.post(reverse("generation:generate"), _form(tiny_version))
    job = GenerationJob.objects.get(user=member)
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert job.state == GenerationJob.State.QUEUED
