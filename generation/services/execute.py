"""Running claimed jobs on a worker: progress, previews, results and failures."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from generation.engine.infotext import Recipe, infotext_build, png_with_infotext
from generation.engine.previews import preview_data_url
from generation.engine.runner import Interrupted, TextToImage, text_to_image
from generation.errors import GenerationRejected
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.selectors import live_card
from generation.services.control import cancel_key
from generation.services.images import image_store
from generation.services.queue import job_claim, job_claim_next
from generation.worker import held_model_versions, model_cache_acquire
from modelhub.selectors import version_primary_file

logger = logging.getLogger(__name__)
MAX_SEED = 2**32 - 1


class ProgressReporter:
    """Publishes step, total and ETA at most once per interval (first and last steps always),
    and keeps the job's heartbeat fresh for the reaper."""

    def __init__(self, job_id: int, *, live: bool = False) -> None:
        self.job_id = job_id
        self.live = live
        self.started = time.monotonic()
        self.last_sent: float | None = None
        self.last_beat = self.started

    def cancel_requested(self) -> bool:
        return bool(cache.get(cancel_key(self.job_id)))

    def __call__(self, step: int, total: int, latents: Any = None) -> None:
        now = time.monotonic()
        if now - self.last_beat >= settings.GENERATION_HEARTBEAT_SECONDS:
            self.last_beat = now
            GenerationJob.objects.filter(pk=self.job_id).update(heartbeat_at=timezone.now())
        throttled = (
            self.last_sent is not None
            and now - self.last_sent < settings.GENERATION_PROGRESS_MIN_INTERVAL
        )
        if throttled and step < total:
            return
        self.last_sent = now
        elapsed = now - self.started
        eta = elapsed / step * (total - step) if step else None
        progress = {
            "type": "progress",
            "step": step,
            "total": total,
            "eta_s": round(eta, 2) if eta is not None else None,
        }
        job_publish(self.job_id, progress, live=progress if self.live else None)
        every = settings.GENERATION_PREVIEW_EVERY_STEPS
        if latents is not None and every and step % every == 0 and step < total:
            preview = {"type": "preview", "step": step, "image": preview_data_url(latents)}
            job_publish(
                self.job_id, preview, latest_key="preview", live=preview if self.live else None
            )


def job_execute(*, job_id: int, worker: str) -> GenerationJob | None:
    """Claim this very job and run it (bootstrap and tests); workers use job_run_next."""
    job = job_claim(job_id=job_id, worker=worker)
    if job is None:
        logger.info("job not claimable, skipped", extra={"job_id": job_id})
        return None
    return job_run_claimed(job)


def job_run_next(*, worker: str) -> GenerationJob | None:
    """What a wake-up message does: claim the fairest queued job and run it to the end."""
    job = job_claim_next(worker=worker, held_versions=held_model_versions())
    if job is None:
        return None
    return job_run_claimed(job)


def job_run_claimed(job: GenerationJob) -> GenerationJob:
    """Run a claimed job: succeeded with its images, cancelled, or failed with a reason."""
    status = {"type": "status", "state": job.state}
    job_publish(job.pk, status, live={**status, **live_card(job)} if job.share_live else None)
    try:
        images = _job_render(job)
    except Interrupted:
        return _job_finish_cancelled(job=job)
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
        batch_size=job.batch_size,
        clip_skip=job.clip_skip,
    )
    reporter = ProgressReporter(job.pk, live=job.share_live)
    pictures = text_to_image(pipe, request, on_step=reporter, should_stop=reporter.cancel_requested)
    results = []
    for index, picture in enumerate(pictures):
        recipe = Recipe(
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            steps=job.steps,
            sampler=job.sampler,
            cfg_scale=job.cfg_scale,
            seed=seed + index,
            width=job.width,
            height=job.height,
            model_hash=model_file.autov2,
            model_name=job.model_version.model.name,
            clip_skip=job.clip_skip,
        )
        infotext = infotext_build(recipe)
        results.append((png_with_infotext(picture, infotext), seed + index, infotext))
    return results


def _still_ours(job: GenerationJob) -> bool:
    """Lock the row and check no one (the reaper, a cancel) took the job from this worker."""
    current = (
        GenerationJob.objects.select_for_update()
        .filter(pk=job.pk)
        .values_list("state", "worker")
        .first()
    )
    return current == (GenerationJob.State.RUNNING, job.worker)


@transaction.atomic
def _job_succeed(*, job: GenerationJob, images: list[tuple[bytes, int, str]]) -> GenerationJob:
    if not _still_ours(job):
        logger.warning("job was taken over; result discarded", extra={"job_id": job.pk})
        job.refresh_from_db()
        return job
    for png, seed, infotext in images:
        image_store(job=job, png=png, seed=seed, infotext=infotext)
    job.seed_used = images[0][1] if images else None
    job.state = GenerationJob.State.SUCCEEDED
    job.progress_step = job.steps
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "progress_step", "finished_at", "seed_used"])
    urls = [image.get_file_url() for image in job.images.order_by("pk")]
    live = {"type": "done"} if job.share_live else None  # pictures stay private until published
    transaction.on_commit(lambda: job_publish(job.pk, {"type": "done", "images": urls}, live=live))
    logger.info("job succeeded", extra={"job_id": job.pk})
    return job


@transaction.atomic
def _job_fail(*, job: GenerationJob, message: str) -> GenerationJob:
    if not _still_ours(job):
        job.refresh_from_db()
        return job
    job.state = GenerationJob.State.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])
    error = {"type": "error", "message": message}
    transaction.on_commit(
        lambda: job_publish(job.pk, error, live=error if job.share_live else None)
    )
    return job


@transaction.atomic
def _job_finish_cancelled(*, job: GenerationJob) -> GenerationJob:
    cache.delete(cancel_key(job.pk))
    if _still_ours(job):
        job.state = GenerationJob.State.CANCELLED
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "finished_at"])
        cancelled = {"type": "cancelled"}
        transaction.on_commit(
            lambda: job_publish(job.pk, cancelled, live=cancelled if job.share_live else None)
        )
    return job
