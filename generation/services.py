"""Writes for generation: submitting jobs and executing them on a worker."""

from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from gallery.models import Image
from generation.engine.infotext import Recipe, infotext_build, png_with_infotext
from generation.engine.runner import TextToImage, text_to_image
from generation.errors import GenerationRejected
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.worker import model_cache_acquire
from modelhub.models import ModelVersion
from modelhub.selectors import version_primary_file

logger = logging.getLogger(__name__)
MAX_SEED = 2**32 - 1


@transaction.atomic
def job_submit(
    *,
    user: User,
    model_version: ModelVersion,
    prompt: str,
    negative_prompt: str = "",
    seed: int = -1,
    steps: int = 20,
    cfg_scale: float = 7.0,
    width: int | None = None,
    height: int | None = None,
    sampler: str = "Euler a",
    enqueue: bool = True,
) -> GenerationJob:
    """Validate, record the job as queued and wake a worker once the row is committed."""
    width = width or model_version.default_width
    height = height or model_version.default_height
    for name, value in (("width", width), ("height", height)):
        if value % 8 or not 64 <= value <= model_version.max_size:
            raise GenerationRejected(
                {
                    name: _("Must be a multiple of 8 between 64 and %(max)s.")
                    % {"max": model_version.max_size}
                }
            )
    queued = GenerationJob.objects.filter(user=user, state=GenerationJob.State.QUEUED).count()
    if queued >= settings.GENERATION_MAX_QUEUED_PER_USER:
        raise GenerationRejected(
            _("You already have %(n)s pictures waiting; let them finish first.") % {"n": queued}
        )
    job = GenerationJob(
        user=user,
        model_version=model_version,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        steps=steps,
        cfg_scale=cfg_scale,
        width=width,
        height=height,
        sampler=sampler,
    )
    try:
        job.full_clean(exclude=["user", "model_version"])
    except ValidationError as exc:
        raise GenerationRejected(exc.message_dict) from exc
    job.save()
    if enqueue:
        transaction.on_commit(lambda: _enqueue(job.pk))
    logger.info("job queued", extra={"job_id": job.pk, "user_id": user.pk})
    return job


def _enqueue(job_id: int) -> None:
    from generation.tasks import job_run

    job_run.apply_async(args=(job_id,), queue=settings.GENERATION_QUEUE)


def _job_claim(*, job_id: int, worker: str) -> GenerationJob | None:
    """Move a queued job to running; a job already taken (or finished) is left alone."""
    claimed = GenerationJob.objects.filter(pk=job_id, state=GenerationJob.State.QUEUED).update(
        state=GenerationJob.State.RUNNING,
        started_at=timezone.now(),
        worker=worker,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    return GenerationJob.objects.select_related("model_version__model", "user").get(pk=job_id)


class _ProgressReporter:
    """Publishes step, total and ETA at most once per interval (first and last steps always)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.started = time.monotonic()
        self.last_sent: float | None = None

    def __call__(self, step: int, total: int) -> None:
        now = time.monotonic()
        throttled = (
            self.last_sent is not None
            and now - self.last_sent < settings.GENERATION_PROGRESS_MIN_INTERVAL
        )
        if throttled and step < total:
            return
        self.last_sent = now
        elapsed = now - self.started
        eta = elapsed / step * (total - step) if step else None
        job_publish(
            self.job_id,
            {
                "type": "progress",
                "step": step,
                "total": total,
                "eta_s": round(eta, 2) if eta is not None else None,
            },
        )


def job_execute(*, job_id: int, worker: str) -> GenerationJob | None:
    """Run one queued job to the end: succeeded with its images, or failed with a reason."""
    job = _job_claim(job_id=job_id, worker=worker)
    if job is None:
        logger.info("job not claimable, skipped", extra={"job_id": job_id})
        return None
    job_publish(job.pk, {"type": "status", "state": job.state})
    try:
        images = _job_render(job)
    except Exception as exc:
        logger.exception("job failed", extra={"job_id": job.pk})
        return _job_fail(job=job, message=_user_facing_error(exc))
    return _job_succeed(job=job, images=images)


def _user_facing_error(exc: Exception) -> str:
    from generation.engine.cache import ModelTooLarge

    if isinstance(exc, ModelTooLarge | GenerationRejected):
        return str(exc.message if isinstance(exc, GenerationRejected) else exc)
    return _("The picture could not be generated because of an internal error.")


def _job_render(job: GenerationJob) -> list[tuple[bytes, int, str]]:
    model_file = version_primary_file(version=job.model_version)
    if model_file is None:
        raise GenerationRejected(_("This model has no weights to generate with."))
    pipe = model_cache_acquire(model_file)
    seed = job.seed if job.seed >= 0 else secrets.randbelow(MAX_SEED)
    request = TextToImage(
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        steps=job.steps,
        cfg_scale=job.cfg_scale,
        width=job.width,
        height=job.height,
        sampler=job.sampler,
        seed=seed,
    )
    pictures = text_to_image(pipe, request, on_step=_ProgressReporter(job.pk))
    recipe = Recipe(
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        steps=job.steps,
        sampler=job.sampler,
        cfg_scale=job.cfg_scale,
        seed=seed,
        width=job.width,
        height=job.height,
        model_hash=model_file.autov2,
        model_name=job.model_version.model.name,
    )
    infotext = infotext_build(recipe)
    return [(png_with_infotext(picture, infotext), seed, infotext) for picture in pictures]


@transaction.atomic
def _job_succeed(*, job: GenerationJob, images: list[tuple[bytes, int, str]]) -> GenerationJob:
    for png, seed, infotext in images:
        image = Image(
            owner=job.user,
            job=job,
            model_version=job.model_version,
            width=job.width,
            height=job.height,
            infotext=infotext,
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            seed=seed,
            steps=job.steps,
            sampler=job.sampler,
            cfg_scale=job.cfg_scale,
        )
        image.file.save("result.png", ContentFile(png), save=False)
        image.save()
        job.seed_used = seed
    job.state = GenerationJob.State.SUCCEEDED
    job.progress_step = job.steps
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "progress_step", "finished_at", "seed_used"])
    urls = [image.get_file_url() for image in job.images.order_by("pk")]
    transaction.on_commit(lambda: job_publish(job.pk, {"type": "done", "images": urls}))
    logger.info("job succeeded", extra={"job_id": job.pk})
    return job


@transaction.atomic
def _job_fail(*, job: GenerationJob, message: str) -> GenerationJob:
    job.state = GenerationJob.State.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])
    transaction.on_commit(lambda: job_publish(job.pk, {"type": "error", "message": message}))
    return job
