"""Running claimed jobs on a worker: progress, previews, results and failures."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image as PILImage

from generation.errors import GenerationRejected
from generation.infotext import Recipe, infotext_build, png_with_infotext
from generation.messages import (
    cancelled_message,
    error_message,
    live_done_message,
    live_status_message,
    preview_message,
    progress_message,
    status_message,
)
from generation.metrics import generation_timing_record
from generation.models import GenerationJob
from generation.params import DEFAULTS, random_seed
from generation.prompt_syntax import loras_extract
from generation.realtime import Publication, job_publish, jobs_publish
from generation.selectors import job_done_message
from generation.services.control import cancel_key
from generation.services.images import image_store
from generation.services.queue import job_claim, job_claim_next, job_companions_claim
from generation.worker.engine.cache import ModelTooLarge
from generation.worker.engine.previews import preview_data_url
from generation.worker.engine.runner import Interrupted, LoraWeights, RenderRequest, Row, render
from generation.worker.runtime import held_model_versions, model_cache_use
from modelhub.models import ModelFile
from modelhub.selectors import version_primary_file
from moderation.imagefilter import Rating, image_rate

logger = logging.getLogger(__name__)


class ProgressReporter:
    """Publishes step, total and ETA at most once per interval (first and last steps always);
    for a job shared live, a copy for /ws/live/ at most once per (longer) live interval."""

    def __init__(self, job_id: int, *, live: bool = False, base_model: str = "sd15") -> None:
        self.job_id = job_id
        self.live = live
        self.base_model = base_model
        self.started = time.monotonic()
        self.last_sent: float | None = None
        self.last_live: dict[str, float] = {}  # kind of message -> when a live copy last went

    def cancel_requested(self) -> bool:
        return bool(_cancel_flags_read([cancel_key(self.job_id)]))

    def __call__(
        self,
        step: int,
        total: int,
        latents: Any = None,
        *,
        outbox: list[Publication] | None = None,
    ) -> None:
        """Report a step: published at once, or appended to ``outbox`` for the caller to send
        together with the other jobs' reports of a shared call."""
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
        progress = progress_message(step=step, total=total, eta_s=eta)
        live = self.live and self._live_due("progress", now, last=step >= total)
        outgoing = [Publication(self.job_id, progress, live=progress if live else None)]
        every = settings.GENERATION_PREVIEW_EVERY_STEPS
        if latents is not None and every and step % every == 0 and step < total:
            image = preview_data_url(latents, base_model=self.base_model)
            preview = preview_message(step=step, image=image)
            live_preview = self.live and self._live_due("preview", now, last=False)
            outgoing.append(
                Publication(self.job_id, preview, "preview", preview if live_preview else None)
            )
        if outbox is None:
            jobs_publish(outgoing)
        else:
            outbox.extend(outgoing)

    def _live_due(self, kind: str, now: float, *, last: bool) -> bool:
        """Whether this step's ``kind`` of message also goes to /ws/live/ (the first and the
        last always do)."""
        previous = self.last_live.get(kind)
        if last or previous is None or now - previous >= settings.GENERATION_LIVE_MIN_INTERVAL:
            self.last_live[kind] = now
            return True
        return False


def job_run(*, worker: str, job_id: int | None = None) -> list[GenerationJob]:
    """Claim queued work and run it to the end; returns the jobs run (none: nothing claimable).

    What a wake-up message does (no ``job_id``): claim the fairest queued job and the queued jobs
    that can share its pipeline call. With ``job_id`` (bootstrap's demo pictures, tests): claim
    that very job and run it alone."""
    if job_id is not None:
        job = job_claim(job_id=job_id, worker=worker)
        if job is None:
            logger.info("job not claimable, skipped", extra={"job_id": job_id})
            return []
        return _jobs_run_claimed([job])
    head = job_claim_next(worker=worker, held_versions=held_model_versions())
    if head is None:
        return []
    return _jobs_run_claimed([head, *job_companions_claim(head=head, worker=worker)])


class _BatchProgress:
    """Progress and cancellation for the jobs sharing one pipeline call.

    Each job gets its own progress and previews (of its own pictures). Cancelling one
    job ends that job at once (within one step) and leaves the others running; the call itself is
    interrupted only when every job in it was cancelled."""

    def __init__(self, jobs: list[GenerationJob]) -> None:
        self.jobs = jobs
        base_model = jobs[0].model_version.base_model
        self.reporters = {
            job.pk: ProgressReporter(job.pk, live=job.share_live, base_model=base_model)
            for job in jobs
        }
        self.rows: dict[int, slice] = {}
        start = 0
        for job in jobs:
            self.rows[job.pk] = slice(start, start + job.batch_size)
            start += job.batch_size
        self.cancelled: set[int] = set()

    def on_step(self, step: int, total: int, latents: Any) -> None:
        outbox: list[Publication] = []
        for job in self.jobs:
            if job.pk not in self.cancelled:
                rows = latents[self.rows[job.pk]] if latents is not None else None
                self.reporters[job.pk](step, total, rows, outbox=outbox)
        jobs_publish(outbox)

    def should_stop(self) -> bool:
        running = {cancel_key(job.pk): job for job in self.jobs if job.pk not in self.cancelled}
        for key in _cancel_flags_read(list(running)):
            job = running[key]
            _job_finish_cancelled(job=job)
            self.cancelled.add(job.pk)
        return len(self.cancelled) == len(self.jobs)


_cancel_flags_failing = False  # logged once per cache outage, not at every step


def _cancel_flags_read(keys: list[str]) -> dict[str, Any]:
    """The cancel flags set among ``keys``. A cache outage (a Redis restart) must not fail the
    running jobs: it reads as no cancel, and a cancel asked meanwhile is seen once it is back."""
    global _cancel_flags_failing
    try:
        flags: dict[str, Any] = cache.get_many(keys)
    except Exception:
        if not _cancel_flags_failing:
            _cancel_flags_failing = True
            logger.warning("could not read cancel flags; going on", exc_info=True)
        return {}
    _cancel_flags_failing = False
    return flags


def _jobs_run_claimed(jobs: list[GenerationJob]) -> list[GenerationJob]:
    """Run claimed jobs in one pipeline call: each ends succeeded with its pictures, cancelled,
    or failed with a reason."""
    statuses = []
    for job in jobs:
        status = status_message(job.state, batch=len(jobs))
        live = live_status_message(job, status) if job.share_live else None
        statuses.append(Publication(job.pk, status, live=live))
    jobs_publish(statuses)
    if len(jobs) > 1:
        logger.info("jobs batched", extra={"job_ids": [job.pk for job in jobs]})
    progress = _BatchProgress(jobs)
    try:
        with _heartbeat(jobs):
            results = _jobs_render(jobs, progress)
    except Interrupted:
        return [_job_finish_cancelled(job=job) for job in jobs]
    except Exception as exc:
        logger.exception("job failed", extra={"job_ids": [job.pk for job in jobs]})
        message = _user_facing_error(exc)
        return [_job_fail(job=job, message=message) for job in jobs]
    return [
        job if job.pk in progress.cancelled else _job_succeed(job=job, images=results[job.pk])
        for job in jobs
    ]


@contextmanager
def _heartbeat(jobs: list[GenerationJob]) -> Iterator[None]:
    """Keep the running jobs' heartbeat fresh from a thread while the call lasts, also through
    what reports no steps (loading the model, a slow first step, rating and encoding the
    pictures), so the reaper (stale after GENERATION_STALE_AFTER_SECONDS) never takes a job
    that is still being worked on. A failed write is logged; the job goes on."""
    stop = threading.Event()
    job_ids = [job.pk for job in jobs]

    def beat() -> None:
        try:
            while not stop.wait(settings.GENERATION_HEARTBEAT_SECONDS):
                try:
                    with transaction.atomic():
                        # A row someone else holds locked (the job finishing, the reaper) is
                        # skipped this time rather than waited for.
                        free = GenerationJob.objects.select_for_update(skip_locked=True).filter(
                            pk__in=job_ids, state=GenerationJob.State.RUNNING
                        )
                        GenerationJob.objects.filter(
                            pk__in=list(free.values_list("pk", flat=True))
                        ).update(heartbeat_at=timezone.now())
                except Exception:
                    logger.warning(
                        "heartbeat not written", extra={"job_ids": job_ids}, exc_info=True
                    )
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _user_facing_error(exc: Exception) -> str:
    if isinstance(exc, ModelTooLarge | GenerationRejected):
        return str(exc.message if isinstance(exc, GenerationRejected) else exc)
    return _("The picture could not be generated because of an internal error.")


def _lora_weights(job: GenerationJob) -> tuple[LoraWeights, ...]:
    """The job's LoRA files on this worker's disk; one removed from the hub since is an error."""
    weights = []
    for lora in job.loras:
        model_file = ModelFile.objects.filter(sha256=lora["sha256"]).first()
        if model_file is None or not model_file.local_path.is_file():
            raise GenerationRejected(
                _("The LoRA “%(name)s” is no longer available.") % {"name": lora["name"]}
            )
        weights.append(
            LoraWeights(path=model_file.local_path, weight=lora["weight"], key=lora["sha256"][:16])
        )
    return tuple(weights)


def _init_image(job: GenerationJob) -> PILImage.Image | None:
    if not job.init_image:
        return None
    with job.init_image.open("rb") as fh:
        image = PILImage.open(fh)
        image.load()
    return image


Rendered = tuple[bytes, int, str, Rating]


def _jobs_render(jobs: list[GenerationJob], progress: _BatchProgress) -> dict[int, list[Rendered]]:
    """Pictures of every job, keyed by job id: PNG bytes, seed, infotext and the image
    classifier's rating for each."""
    head = jobs[0]  # the batch key guarantees the shared parameters are equal
    model_file = version_primary_file(version=head.model_version)
    if model_file is None:
        raise GenerationRejected(_("This model has no weights to generate with."))
    # picture i of a job uses seed + i, which must stay a valid seed
    seeds = {job.pk: job.seed if job.seed >= 0 else random_seed() for job in jobs}
    request = RenderRequest(
        rows=tuple(
            Row(
                prompt=loras_extract(job.prompt)[0],
                negative_prompt=job.negative_prompt,
                seed=seeds[job.pk],
                count=job.batch_size,
            )
            for job in jobs
        ),
        steps=head.steps,
        cfg_scale=head.cfg_scale,
        width=head.width,
        height=head.height,
        sampler=head.sampler,
        clip_skip=head.clip_skip,
        loras=_lora_weights(head),
        init_image=_init_image(head),
        denoising_strength=head.denoising_strength or DEFAULTS.denoising_strength,
    )
    # The model stays pinned on its device, with the call's working memory reserved, until the
    # pictures are out; PNG encoding and rating below need neither.
    with model_cache_use(
        model_file, width=head.width, height=head.height, batch=request.picture_count
    ) as pipe:
        started = time.perf_counter()  # the pipeline call alone: loading and PNG encoding excluded
        groups = render(pipe, request, on_step=progress.on_step, should_stop=progress.should_stop)
    generation_timing_record(
        steps=head.steps_total,
        seconds=time.perf_counter() - started,
        pictures=sum(job.batch_size for job in jobs),
    )
    results = {}
    for job, pictures in zip(jobs, groups, strict=True):
        rendered = []
        for index, picture in enumerate(pictures):
            seed = seeds[job.pk] + index
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
                clip_skip=job.clip_skip,
                lora_hashes=tuple((lora["name"], lora["hash"]) for lora in job.loras),
                denoising_strength=job.denoising_strength,
            )
            infotext = infotext_build(recipe)
            rating = image_rate(picture)  # before anything is stored or shown
            rendered.append((png_with_infotext(picture, infotext), seed, infotext, rating))
        results[job.pk] = rendered
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
def _job_succeed(*, job: GenerationJob, images: list[Rendered]) -> GenerationJob:
    if not _still_ours(job):
        logger.warning("job was taken over; result discarded", extra={"job_id": job.pk})
        job.refresh_from_db()
        return job
    for png, seed, infotext, rating in images:
        image_store(job=job, png=png, seed=seed, infotext=infotext, rating=rating)
    job.seed_used = images[0][1] if images else None
    job.state = GenerationJob.State.SUCCEEDED
    job.progress_step = job.steps_total
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "progress_step", "finished_at", "seed_used"])
    done = job_done_message(job=job)
    live = live_done_message() if job.share_live else None  # pictures stay private until published
    transaction.on_commit(lambda: job_publish(job.pk, done, live=live))
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
    error = error_message(message)
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
        cancelled = cancelled_message()
        transaction.on_commit(
            lambda: job_publish(job.pk, cancelled, live=cancelled if job.share_live else None)
        )
    return job
