"""Writes for generation: submitting jobs and executing them on a worker."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from gallery.models import Image
from generation.engine.infotext import Recipe, infotext_build, png_with_infotext
from generation.engine.previews import preview_data_url
from generation.engine.runner import Interrupted, TextToImage, text_to_image
from generation.errors import GenerationRejected
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.selectors import live_card, queue_order
from generation.worker import held_model_versions, model_cache_acquire
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
    batch_size: int = 1,
    clip_skip: int = 1,
    share_live: bool = False,
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
        batch_size=batch_size,
        clip_skip=clip_skip,
        share_live=share_live,
    )
    try:
        job.full_clean(exclude=["user", "model_version"])
    except ValidationError as exc:
        raise GenerationRejected(exc.message_dict) from exc
    model_file = version_primary_file(version=model_version)
    job.fingerprint = job_fingerprint(job, model_file.sha256) if model_file else ""
    job.save()
    if _answer_from_result_cache(job):
        return job
    if enqueue:
        transaction.on_commit(lambda: _enqueue(job.pk))
    logger.info("job queued", extra={"job_id": job.pk, "user_id": user.pk})
    return job


def _enqueue(job_id: int) -> None:
    from generation.tasks import job_run

    job_run.apply_async(args=(job_id,), queue=settings.GENERATION_QUEUE)


def _job_claim(*, job_id: int, worker: str) -> GenerationJob | None:
    """Move a queued job to running; a job already taken (or finished) is left alone.

    The conditional UPDATE is the lock: of two workers racing for a row, one updates it."""
    now = timezone.now()
    claimed = GenerationJob.objects.filter(pk=job_id, state=GenerationJob.State.QUEUED).update(
        state=GenerationJob.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    transaction.on_commit(queue_positions_publish)
    return GenerationJob.objects.select_related("model_version__model", "user").get(pk=job_id)


def job_claim_next(
    *, worker: str, held_versions: frozenset[int] = frozenset()
) -> GenerationJob | None:
    """Claim the fairest queued job (see selectors.queue_order). Among the jobs of the user whose
    turn it is, one for a model this worker already holds is preferred. A job a rival worker
    claims first is skipped; that rival runs it."""
    order = queue_order(limit=500)
    if not order:
        return None
    head_user = order[0].user_id
    preferred = next(
        (j for j in order if j.user_id == head_user and j.model_version_id in held_versions),
        None,
    )
    attempts = ([preferred] if preferred else []) + [j for j in order if j is not preferred]
    for job in attempts:
        claimed = _job_claim(job_id=job.pk, worker=worker)
        if claimed is not None:
            return claimed
    return None


def queue_positions_publish(limit: int = 200) -> None:
    """Tell every waiting job (the first ``limit``) its place in the queue."""
    for position, job in enumerate(queue_order(limit=limit), start=1):
        job_publish(job.pk, {"type": "queue", "position": position})


def _cancel_key(job_id: int) -> str:
    return f"job:{job_id}:cancel"


class _ProgressReporter:
    """Publishes step, total and ETA at most once per interval (first and last steps always),
    and keeps the job's heartbeat fresh for the reaper."""

    def __init__(self, job_id: int, *, live: bool = False) -> None:
        self.job_id = job_id
        self.live = live
        self.started = time.monotonic()
        self.last_sent: float | None = None
        self.last_beat = self.started

    def cancel_requested(self) -> bool:
        return bool(cache.get(_cancel_key(self.job_id)))

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
    job = _job_claim(job_id=job_id, worker=worker)
    if job is None:
        logger.info("job not claimable, skipped", extra={"job_id": job_id})
        return None
    return _job_run_claimed(job)


def job_run_next(*, worker: str) -> GenerationJob | None:
    """What a wake-up message does: claim the fairest queued job and run it to the end."""
    job = job_claim_next(worker=worker, held_versions=held_model_versions())
    if job is None:
        return None
    return _job_run_claimed(job)


def _job_run_claimed(job: GenerationJob) -> GenerationJob:
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
    reporter = _ProgressReporter(job.pk, live=job.share_live)
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


def _image_store(*, job: GenerationJob, png: bytes, seed: int, infotext: str) -> Image:
    """One private picture of ``job``: the PNG in storage, its recipe on the row."""
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
    return image


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
        _image_store(job=job, png=png, seed=seed, infotext=infotext)
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
    cache.delete(_cancel_key(job.pk))
    if _still_ours(job):
        job.state = GenerationJob.State.CANCELLED
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "finished_at"])
        cancelled = {"type": "cancelled"}
        transaction.on_commit(
            lambda: job_publish(job.pk, cancelled, live=cancelled if job.share_live else None)
        )
    return job


class NotYourJob(PermissionError):
    """Only the member who submitted a job may cancel it."""


@transaction.atomic
def job_cancel(*, job: GenerationJob, user: User) -> GenerationJob:
    """Cancel a queued job at once; a running one stops after its current step."""
    if job.user_id != user.pk:
        raise NotYourJob
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if locked.state == GenerationJob.State.QUEUED:
        locked.state = GenerationJob.State.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "finished_at"])
        transaction.on_commit(lambda: job_publish(locked.pk, {"type": "cancelled"}))
        transaction.on_commit(queue_positions_publish)
    elif locked.state == GenerationJob.State.RUNNING:
        # The worker checks this flag (in the shared cache) after every step.
        cache.set(_cancel_key(locked.pk), True, timeout=3600)
    return locked


@dataclass(frozen=True)
class ReapResult:
    requeued: list[int]
    failed: list[int]


@transaction.atomic
def jobs_reap(*, now: datetime | None = None) -> ReapResult:
    """Requeue running jobs whose worker stopped beating; fail those out of attempts.

    A killed worker loses nothing (its job runs again elsewhere) and no job stays running."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS)
    stale = list(
        GenerationJob.objects.select_for_update(skip_locked=True).filter(
            state=GenerationJob.State.RUNNING, heartbeat_at__lt=stale_before
        )
    )
    requeued, failed = [], []
    for job in stale:
        if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            job.state = GenerationJob.State.FAILED
            job.error = _(
                "The worker running this picture stopped responding %(n)s times; giving up."
            ) % {"n": job.attempts}
            job.finished_at = now
            job.save(update_fields=["state", "error", "finished_at"])
            failed.append(job.pk)
            message = job.error
            transaction.on_commit(
                partial(job_publish, job.pk, {"type": "error", "message": message})
            )
        else:
            job.state = GenerationJob.State.QUEUED
            job.worker = ""
            job.heartbeat_at = None
            job.save(update_fields=["state", "worker", "heartbeat_at"])
            requeued.append(job.pk)
            transaction.on_commit(partial(_enqueue, job.pk))
    if stale:
        logger.warning("stale jobs reaped", extra={"requeued": requeued, "failed": failed})
        transaction.on_commit(queue_positions_publish)
    return ReapResult(requeued=requeued, failed=failed)


def job_rerun(*, job: GenerationJob, user: User) -> GenerationJob:
    """Queue the same request again (a random seed stays random)."""
    if job.user_id != user.pk:
        raise NotYourJob
    return job_submit(
        user=user,
        model_version=job.model_version,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=job.seed,
        steps=job.steps,
        cfg_scale=job.cfg_scale,
        width=job.width,
        height=job.height,
        sampler=job.sampler,
        batch_size=job.batch_size,
        clip_skip=job.clip_skip,
        share_live=job.share_live,
    )


@transaction.atomic
def job_delete(*, job: GenerationJob, user: User) -> None:
    """Remove a finished job and its private pictures; published pictures stay in the gallery."""
    if job.user_id != user.pk:
        raise NotYourJob
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if not locked.is_finished:
        raise GenerationRejected(_("Cancel the job before deleting it."))
    private = Image.objects.filter(job=locked, is_published=False)
    for name in private.values_list("file", flat=True):
        transaction.on_commit(partial(default_storage.delete, name))
    private.delete()
    locked.delete()


def job_fingerprint(job: GenerationJob, model_sha256: str) -> str:
    """Everything that decides the pixels: equal fingerprints and an explicit seed mean equal images."""
    parts = [
        model_sha256,
        job.prompt,
        job.negative_prompt,
        str(job.seed),
        str(job.steps),
        f"{job.cfg_scale:g}",
        f"{job.width}x{job.height}",
        job.sampler,
        str(job.batch_size),
        str(job.clip_skip),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _answer_from_result_cache(job: GenerationJob) -> bool:
    """Finish ``job`` from an identical earlier result (explicit seed only); True if answered.

    The member gets copies of the pictures: each Image owns its file, so deleting one never
    removes another's."""
    if job.seed < 0 or not job.fingerprint:
        return False
    earlier = (
        GenerationJob.objects.filter(
            fingerprint=job.fingerprint, state=GenerationJob.State.SUCCEEDED
        )
        .exclude(pk=job.pk)
        .order_by("-finished_at")
        .first()
    )
    if earlier is None:
        return False
    sources = list(earlier.images.order_by("pk"))
    if not sources or not all(default_storage.exists(i.file.name or "") for i in sources):
        return False
    for source in sources:
        with default_storage.open(source.file.name or "") as fh:
            png = fh.read()
        _image_store(job=job, png=png, seed=source.seed or job.seed, infotext=source.infotext)
    now = timezone.now()
    job.state = GenerationJob.State.SUCCEEDED
    job.seed_used = job.seed
    job.progress_step = job.steps
    job.started_at = job.finished_at = now
    job.worker = "result-cache"
    job.save(
        update_fields=["state", "seed_used", "progress_step", "started_at", "finished_at", "worker"]
    )
    urls = [image.get_file_url() for image in job.images.order_by("pk")]
    transaction.on_commit(lambda: job_publish(job.pk, {"type": "done", "images": urls}))
    logger.info("job answered from the result cache", extra={"job_id": job.pk})
    return True
