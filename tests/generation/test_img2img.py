"""img2img: a starting picture and a denoising strength, validated at submit, run on the worker."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from generation.errors import GenerationRejected
from generation.infotext import png_read_infotext
from generation.models import GenerationJob
from generation.services import job_delete, job_rerun, job_submit
from generation.worker.execute import job_run

pytestmark = pytest.mark.django_db


def _submit(member, version, **overrides):
    params = {"prompt": "a red square", "seed": 9, "steps": 10, "sampler": "DDIM"} | overrides
    return job_submit(user=member, model_version=version, enqueue=False, **params)


def _picture(job: GenerationJob) -> np.ndarray:
    with job.images.get().file.open("rb") as fh:
        return np.asarray(PILImage.open(io.BytesIO(fh.read())).convert("RGB"), dtype=int)


def test_init_image_is_stored_re_encoded_and_batching_is_off(member, tiny_version, png_bytes):
    job = _submit(member, tiny_version, init_image=png_bytes, denoising_strength=0.6)
    assert job.is_img2img and job.denoising_strength == 0.6
    assert job.batch_key == ""
    with job.init_image.open("rb") as fh:
        stored = PILImage.open(io.BytesIO(fh.read()))
        assert stored.format == "PNG" and stored.size == (96, 80)
    assert job.steps_total == 6  # img2img redoes only 60 % of the 10 steps


def _run(member, version, **overrides):
    [job] = job_run(job_id=_submit(member, version, **overrides).pk, worker="w")
    assert job is not None and job.state == GenerationJob.State.SUCCEEDED, job.error
    GenerationJob.objects.filter(pk=job.pk).update(fingerprint="")  # no result-cache answers
    return job


def test_img2img_starts_from_the_picture(member, tiny_version, png_bytes):
    # The built-in model's weights are random (its VAE does not reconstruct pictures), so this
    # checks the picture and the strength reach the pipeline, not that the result resembles it.
    other = io.BytesIO()
    PILImage.new("RGB", (64, 64), (240, 240, 20)).save(other, format="PNG")
    first = _run(member, tiny_version, init_image=png_bytes, denoising_strength=0.5)
    again = _run(member, tiny_version, init_image=png_bytes, denoising_strength=0.5)
    other_start = _run(member, tiny_version, init_image=other.getvalue(), denoising_strength=0.5)
    stronger = _run(member, tiny_version, init_image=png_bytes, denoising_strength=0.9)
    plain = _run(member, tiny_version)
    assert np.array_equal(_picture(first), _picture(again))
    for different in (other_start, stronger, plain):
        assert not np.array_equal(_picture(first), _picture(different))
    infotext = png_read_infotext(first.images.get().file.open("rb").read())
    assert "Denoising strength: 0.5" in infotext
    assert "Denoising strength" not in png_read_infotext(plain.images.get().file.open("rb").read())


def test_progress_counts_the_steps_img2img_runs(member, tiny_version, png_bytes, monkeypatch):
    totals: set[int] = set()
    from generation.worker.execute import ProgressReporter

    real = ProgressReporter.__call__

    def spy(self, step, total, latents=None, **kwargs):
        totals.add(total)
        real(self, step, total, latents, **kwargs)

    monkeypatch.setattr(ProgressReporter, "__call__", spy)
    job = _submit(member, tiny_version, init_image=png_bytes, denoising_strength=0.5)
    job_run(job_id=job.pk, worker="w")
    assert totals == {5}


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"not an image at all", "not an image"),
        (b"GIF89a" + b"\x00" * 10, "not an image"),
    ],
)
def test_bad_init_image_is_refused_and_nothing_is_written(member, tiny_version, upload, message):
    with pytest.raises(GenerationRejected) as caught:
        _submit(member, tiny_version, init_image=upload)
    assert message in caught.value.message_dict["init_image"][0]
    assert not GenerationJob.objects.exists()


def test_init_image_too_large_is_refused(member, tiny_version, png_bytes, settings):
    settings.GENERATION_INIT_IMAGE_MAX_BYTES = 100
    with pytest.raises(GenerationRejected) as caught:
        _submit(member, tiny_version, init_image=png_bytes)
    assert "at most" in caught.value.message_dict["init_image"][0]


def test_strength_too_low_for_one_step_is_refused(member, tiny_version, png_bytes):
    with pytest.raises(GenerationRejected) as caught:
        _submit(member, tiny_version, steps=4, init_image=png_bytes, denoising_strength=0.1)
    assert "denoising_strength" in caught.value.message_dict
    assert not GenerationJob.objects.exists()


def test_strength_outside_zero_to_one_is_refused(member, tiny_version, png_bytes):
    with pytest.raises(GenerationRejected) as caught:
        _submit(member, tiny_version, init_image=png_bytes, denoising_strength=1.5)
    assert "denoising_strength" in caught.value.message_dict


def test_rerun_gets_its_own_copy_and_delete_removes_the_file(
    member, tiny_version, png_bytes, django_capture_on_commit_callbacks
):
    first = _submit(member, tiny_version, init_image=png_bytes, seed=-1)
    second = job_rerun(job=first, user=member)
    assert second.init_image.name != first.init_image.name
    assert second.denoising_strength == first.denoising_strength
    GenerationJob.objects.filter(pk=first.pk).update(state=GenerationJob.State.CANCELLED)
    first.refresh_from_db()
    name = first.init_image.name
    with django_capture_on_commit_callbacks(execute=True):
        job_delete(job=first, user=member)
    assert not default_storage.exists(name)
    assert default_storage.exists(second.init_image.name)
