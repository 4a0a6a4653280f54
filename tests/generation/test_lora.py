"""LoRAs named in the prompt: resolved from the hub at submit, applied per job, never leaking."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from generation.errors import GenerationRejected
from generation.infotext import png_read_infotext
from generation.models import GenerationJob
from generation.services import job_submit
from generation.worker.execute import job_run
from modelhub.models import ModelFile
from tests.modelhub.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db(transaction=False)


def _run(member, version, prompt, **overrides):
    params = {"prompt": prompt, "seed": 11, "steps": 3, "sampler": "DDIM"} | overrides
    job = job_submit(user=member, model_version=version, enqueue=False, **params)
    [job] = job_run(job_id=job.pk, worker="test")
    assert job is not None
    # Forget the fingerprint so an equal request later really runs (not the result cache).
    GenerationJob.objects.filter(pk=job.pk).update(fingerprint="")
    job.refresh_from_db()
    return job


def _pixels(job: GenerationJob) -> np.ndarray:
    image = job.images.get()
    with image.file.open("rb") as fh:
        return np.asarray(PILImage.open(io.BytesIO(fh.read())).convert("RGB"), dtype=int)


def test_lora_tag_is_resolved_with_its_hash(member, tiny_version, tiny_lora):
    job = job_submit(
        user=member,
        model_version=tiny_version,
        prompt="a red circle <lora:test ink:0.8>",
        enqueue=False,
    )
    lora_file = tiny_lora.files.get()
    assert job.loras == [
        {
            "version": tiny_lora.pk,
            "name": "Test Ink",
            "weight": 0.8,
            "hash": lora_file.autov2,
            "sha256": lora_file.sha256,
        }
    ]


def test_unknown_lora_is_refused_naming_it_and_nothing_is_queued(member, tiny_version):
    with pytest.raises(GenerationRejected) as caught:
        job_submit(
            user=member,
            model_version=tiny_version,
            prompt="a cat <lora:no-such-style:1>",
            enqueue=False,
        )
    assert "no-such-style" in caught.value.message_dict["prompt"][0]
    assert not GenerationJob.objects.exists()


def test_lora_weight_that_is_not_a_number_is_refused(member, tiny_version, tiny_lora):
    with pytest.raises(GenerationRejected) as caught:
        job_submit(
            user=member, model_version=tiny_version, prompt="<lora:Test Ink:lots>", enqueue=False
        )
    assert "lots" in caught.value.message_dict["prompt"][0]


def test_lora_for_another_base_model_is_refused(member, tiny_lora):
    sd15 = ModelVersionFactory(base_model="sd15", max_size=1024)
    ModelFile.objects.create(
        version=sd15, format="diffusers", path="x", size_bytes=1, sha256="f" * 64
    )
    with pytest.raises(GenerationRejected) as caught:
        job_submit(user=member, model_version=sd15, prompt="<lora:Test Ink:1>", enqueue=False)
    assert "Test Ink" in caught.value.message_dict["prompt"][0]


def test_lora_changes_the_picture_and_never_leaks_into_the_next_job(
    member, tiny_version, tiny_lora
):
    base = _pixels(_run(member, tiny_version, "a red circle"))
    styled_job = _run(member, tiny_version, "a red circle <lora:Test Ink:1>")
    styled = _pixels(styled_job)
    after = _pixels(_run(member, tiny_version, "a red circle"))
    assert np.abs(styled - base).mean() > 5  # the LoRA visibly changes the picture
    assert np.array_equal(after, base)  # ... and is gone for the next job
    infotext = png_read_infotext(styled_job.images.get().file.open("rb").read())
    assert "<lora:Test Ink:1>" in infotext.splitlines()[0]
    assert f'Lora hashes: "Test Ink: {tiny_lora.files.get().autov2}"' in infotext
    # The picture is linked to the LoRA, so the LoRA's hub page can show it.
    uses = [(use.version_id, use.weight) for use in styled_job.images.get().lora_uses.all()]
    assert uses == [(tiny_lora.pk, 1.0)]


def test_lora_weight_zero_gives_the_base_picture(member, tiny_version, tiny_lora):
    base = _pixels(_run(member, tiny_version, "a red circle"))
    zero = _pixels(_run(member, tiny_version, "a red circle <lora:Test Ink:0>"))
    assert np.array_equal(zero, base)


def test_lora_removed_from_the_hub_after_submit_fails_the_job_clearly(
    member, tiny_version, tiny_lora
):
    job = job_submit(
        user=member, model_version=tiny_version, prompt="<lora:Test Ink:1> cat", enqueue=False
    )
    tiny_lora.model.delete()
    [job] = job_run(job_id=job.pk, worker="test")
    assert job.state == GenerationJob.State.FAILED
    assert "Test Ink" in job.error and "no longer available" in job.error
