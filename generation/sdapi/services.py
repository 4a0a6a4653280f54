"""Writes for the A1111-compatible API: A1111 requests become ordinary generation jobs (quotas,
fairness, history and the result cache all apply); the call waits for them like A1111's does, but
asynchronously: a waiting call holds no thread and no database connection."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from gallery.models import Image
from gallery.selectors import withheld_notices
from generation.errors import NotYourJob
from generation.models import GenerationJob
from generation.params import CLIP_SKIP, RANDOM_SEED, JobParams
from generation.realtime import job_group
from generation.sdapi.mapping import Checkpoint, b64_encode
from generation.sdapi.selectors import (
    INFLIGHT_TTL_SECONDS,
    checkpoint_find,
    checkpoint_of,
    inflight_job_ids,
    inflight_key,
    options_of,
)
from generation.services import job_cancel, job_submit, prompts_check
from visionary.errors import ApplicationError
from visionary.outages import DEPENDENCY_ERRORS, outage_log

logger = logging.getLogger(__name__)

# How long an API call waits for its pictures before giving up (and cancelling its jobs). A module
# constant, not a setting: A1111 itself has no limit; this only bounds a stuck request.
WAIT_TIMEOUT_SECONDS = 600
# How often a waiting call looks at its job rows, in case a job's last message was lost (it is
# woken by the message itself otherwise).
WAIT_CHECK_SECONDS = 3.0
# The job messages that end a job (generation.messages): the wait then looks at the rows.
FINISH_MESSAGES = frozenset({"done", "error", "cancelled"})


class SdApiFieldError(ApplicationError):
    """A request value we cannot use, at ``loc`` in the request: FastAPI's 422 validation error."""

    code = "invalid"
    http_status = 422

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class SdApiRuntimeError(ApplicationError):
    """The work could not be done: A1111's runtime error, ``kind`` naming the exception class
    A1111 would have raised."""

    code = "runtime_error"
    http_status = 500

    def __init__(self, message: str, *, http_status: int = 500, kind: str = "RuntimeError") -> None:
        super().__init__(message, http_status=http_status)
        self.kind = kind


@dataclass(frozen=True)
class GenerationParams:
    """One txt2img/img2img request, validated and in our terms (see serializers.py): the job's
    parameters (A1111's defaults filled in) and what an A1111 call adds to them."""

    job: JobParams
    # override_settings.CLIP_stop_at_last_layers; None: the member's option (job.clip_skip unused)
    clip_skip: int | None = None
    n_iter: int = 1
    init_image: bytes | None = None
    checkpoint: str | None = None
    send_images: bool = True
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GenerationResult:
    images: list[str]
    info: dict[str, Any]
    jobs: list[GenerationJob]


@transaction.atomic
def options_update(*, user: User, values: dict[str, Any]) -> list[str]:
    """POST /options: the member's model (sd_model_checkpoint) and clip skip; returns the keys
    ignored (A1111 has hundreds of settings; the others mean nothing here)."""
    options = options_of(user=user)
    ignored = []
    for key, value in values.items():
        if key == "sd_model_checkpoint":
            options.model_version = _checkpoint_named(value, ["body", key]).version
        elif key == "CLIP_stop_at_last_layers":
            options.clip_skip = _clip_skip(value, ["body", key])
        else:
            ignored.append(key)
    options.save()
    if ignored:
        logger.info("sdapi options ignored", extra={"user_id": user.pk, "keys": ignored})
    return ignored


def _checkpoint_named(value: object, loc: list[str | int]) -> Checkpoint:
    checkpoint = checkpoint_find(wanted=str(value)) if isinstance(value, str) else None
    if checkpoint is None:
        raise SdApiFieldError(loc, f"Checkpoint not found: {value}")
    return checkpoint


def _clip_skip(value: object, loc: list[str | int]) -> int:
    if not isinstance(value, int) or value not in CLIP_SKIP:
        raise SdApiFieldError(
            loc, f"Must be a whole number between {CLIP_SKIP.min} and {CLIP_SKIP.max}."
        )
    return value


@dataclass(frozen=True)
class Submission:
    """The jobs an API call queued and the checkpoint they use: what the wait and the result need."""

    params: GenerationParams
    checkpoint: Checkpoint
    job_ids: list[int]


def generation_submit(*, user: User, params: GenerationParams) -> Submission:
    """Queue ``n_iter`` jobs of ``batch_size`` pictures, as A1111 would, and note them as the
    caller's calls in flight (for /progress and /interrupt). The caller then waits with
    ``jobs_wait`` and reads the pictures with ``generation_result``."""
    checkpoint = (
        _checkpoint_named(params.checkpoint, ["body", "override_settings", "sd_model_checkpoint"])
        if params.checkpoint
        else checkpoint_of(user=user)
    )
    if checkpoint is None:
        raise SdApiRuntimeError("No model to generate with.", http_status=503)
    job = replace(params.job, clip_skip=params.clip_skip or options_of(user=user).clip_skip)
    # Screened before the all-or-nothing transaction below, so a refusal stays on record.
    prompts_check(
        user=user,
        model_version=checkpoint.version,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
    )
    jobs = _jobs_submit(user=user, params=params, job=job, checkpoint=checkpoint)
    ids = [job.pk for job in jobs]
    _inflight_set(user, ids)
    return Submission(params=params, checkpoint=checkpoint, job_ids=ids)


def generation_result(*, user: User, submission: Submission) -> GenerationResult:
    """The finished call's pictures and A1111's ``info``; the call is no longer in flight."""
    _inflight_clear(user, submission.job_ids)
    jobs = _jobs_read(submission.job_ids)
    return _result(params=submission.params, checkpoint=submission.checkpoint, jobs=jobs)


def generation_abandon(*, user: User, submission: Submission) -> None:
    """The call ends without its pictures (timed out, or the client went away)."""
    _inflight_clear(user, submission.job_ids)


@transaction.atomic
def _jobs_submit(
    *, user: User, params: GenerationParams, job: JobParams, checkpoint: Checkpoint
) -> list[GenerationJob]:
    """All of the request's jobs or none: a rejected n-th job rolls back the ones before it."""
    jobs = []
    for index in range(params.n_iter):
        seed = job.seed + index * job.batch_size if job.seed >= 0 else RANDOM_SEED
        jobs.append(
            job_submit(
                user=user,
                model_version=checkpoint.version,
                **asdict(replace(job, seed=seed)),
                init_image=params.init_image,
            )
        )
    return jobs


def _jobs_read(job_ids: list[int]) -> list[GenerationJob]:
    jobs = GenerationJob.objects.filter(pk__in=job_ids).select_related(
        "user", "model_version__model"
    )
    order = {pk: i for i, pk in enumerate(job_ids)}
    return sorted(jobs, key=lambda job: order[job.pk])


def _unfinished_count(job_ids: list[int]) -> int:
    count = (
        GenerationJob.objects.filter(pk__in=job_ids)
        .exclude(state__in=GenerationJob.FINISHED_STATES)
        .count()
    )
    connection_release()
    return count


def connection_release() -> None:
    """A waiting call holds no database connection between its looks (the connection budget
    counts requests in flight, and waiting calls may be many); never inside a transaction."""
    if not connection.in_atomic_block:
        connection.close()


def _jobs_time_out(job_ids: list[int], timeout: float) -> SdApiRuntimeError:
    for job in _jobs_read(job_ids):
        if not job.is_finished:
            job_cancel(job=job, user=job.user)
    return SdApiRuntimeError(
        f"The pictures were not ready within {timeout:g} seconds; the jobs were cancelled.",
        http_status=504,
        kind="TimeoutError",
    )


async def jobs_wait(*, job_ids: list[int], timeout: float) -> None:
    """Wait, holding no thread and no database connection, until every job has finished: woken
    by the jobs' own realtime messages (their group on the channel layer), with a database look
    every WAIT_CHECK_SECONDS as the safety net (a message lost in a Redis outage). On timeout
    the jobs are cancelled and SdApiRuntimeError (504) is raised."""
    deadline = time.monotonic() + timeout
    async with _job_signals(job_ids) as signals:
        while await sync_to_async(_unfinished_count)(job_ids):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise await sync_to_async(_jobs_time_out)(job_ids, timeout)
            await signals.finish_heard(min(WAIT_CHECK_SECONDS, remaining))


class _JobSignals:
    """The jobs' groups, heard on one channel of the channel layer; without a layer (or with it
    down) only the safety-net looks remain."""

    def __init__(self, layer: BaseChannelLayer | None, channel: str | None) -> None:
        self.layer = layer
        self.channel = channel

    async def finish_heard(self, within: float) -> bool:
        """True as soon as one of the jobs says it ended; False after ``within`` seconds."""
        if self.layer is None or self.channel is None:
            await asyncio.sleep(within)
            return False
        try:
            async with asyncio.timeout(within):
                while True:
                    event = await self.layer.receive(self.channel)
                    if event.get("message", {}).get("type") in FINISH_MESSAGES:
                        return True
        except TimeoutError:
            return False
        except DEPENDENCY_ERRORS as error:
            outage_log("sdapi wait", error)
            self.channel = None  # looks only, from now on
            return False


@asynccontextmanager
async def _job_signals(job_ids: list[int]) -> AsyncIterator[_JobSignals]:
    layer = get_channel_layer()
    channel = None
    if layer is not None:
        try:
            channel = await layer.new_channel("sdapi.wait.")
            for job_id in job_ids:
                await layer.group_add(job_group(job_id), channel)
        except DEPENDENCY_ERRORS as error:
            outage_log("sdapi wait", error)
            channel = None
    signals = _JobSignals(layer, channel)
    try:
        yield signals
    finally:
        if layer is not None and channel is not None:
            try:
                for job_id in job_ids:
                    await layer.group_discard(job_group(job_id), channel)
            except DEPENDENCY_ERRORS as error:
                outage_log("sdapi wait", error)


def _inflight_set(user: User, ids: list[int]) -> None:
    current = inflight_job_ids(user=user)
    cache.set(inflight_key(user.pk), [*current, *ids], timeout=INFLIGHT_TTL_SECONDS)


def _inflight_clear(user: User, ids: list[int]) -> None:
    remaining = [i for i in inflight_job_ids(user=user) if i not in ids]
    if remaining:
        cache.set(inflight_key(user.pk), remaining, timeout=INFLIGHT_TTL_SECONDS)
    else:
        cache.delete(inflight_key(user.pk))


def api_jobs_cancel(*, user: User, current_only: bool) -> int:
    """/interrupt (every job of the caller's API calls) and /skip (only the one running now);
    another member's jobs are never touched. Returns how many jobs were cancelled."""
    ids = inflight_job_ids(user=user)
    jobs = list(
        GenerationJob.objects.filter(pk__in=ids, user=user)
        .exclude(state__in=GenerationJob.FINISHED_STATES)
        .order_by("created_at", "pk")
    )
    if current_only and jobs:
        running = [job for job in jobs if job.state == GenerationJob.State.RUNNING]
        jobs = running[:1] or jobs[:1]
    cancelled = 0
    for job in jobs:
        try:
            job_cancel(job=job, user=user)
        except NotYourJob:  # pragma: no cover - filtered by user above
            continue
        cancelled += 1
    return cancelled


def _result(
    *, params: GenerationParams, checkpoint: Checkpoint, jobs: list[GenerationJob]
) -> GenerationResult:
    failed = [job for job in jobs if job.state in (job.State.FAILED, job.State.BLOCKED)]
    if failed:
        status = 422 if failed[0].state == GenerationJob.State.BLOCKED else 500
        raise SdApiRuntimeError(
            failed[0].error or failed[0].get_state_display(), http_status=status
        )
    images: list[Image] = []
    for job in jobs:
        images.extend(job.images.order_by("pk"))
    encoded = []
    if params.send_images:
        for image in images:
            with default_storage.open(image.file.name or "") as fh:
                encoded.append(b64_encode(fh.read()))
    head = jobs[0]
    seeds = [int(image.seed if image.seed is not None else -1) for image in images]
    count = len(images)
    info: dict[str, Any] = {
        "prompt": params.job.prompt,
        "all_prompts": [params.job.prompt] * count,
        "negative_prompt": params.job.negative_prompt,
        "all_negative_prompts": [params.job.negative_prompt] * count,
        "seed": seeds[0] if seeds else params.job.seed,
        "all_seeds": seeds,
        "subseed": -1,
        "all_subseeds": [-1] * count,
        "subseed_strength": 0,
        "width": head.width,
        "height": head.height,
        "sampler_name": head.sampler,
        "cfg_scale": head.cfg_scale,
        "steps": head.steps,
        "batch_size": params.job.batch_size,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": checkpoint.model_name,
        "sd_model_hash": checkpoint.file.autov2,
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": head.denoising_strength,
        "extra_generation_params": {},
        "index_of_first_image": 0,
        "infotexts": [image.infotext for image in images],
        "styles": [],
        "job_timestamp": timezone.localtime(head.created_at).strftime("%Y%m%d%H%M%S"),
        "clip_skip": head.clip_skip,
        "is_using_inpainting_conditioning": False,
        "version": "visionary-art",
        # Ours: where the pictures are on the site, and what was asked for but not supported.
        "job_ids": [job.pk for job in jobs],
        "interrupted": any(job.state == GenerationJob.State.CANCELLED for job in jobs),
        "ignored_fields": params.ignored,
        # Pictures the image classifier withheld (rated above the site's limit): never sent.
        "withheld": [notice for job in jobs for notice in withheld_notices(job_id=job.pk)],
    }
    return GenerationResult(images=encoded, info=info, jobs=jobs)


def info_json(result: GenerationResult) -> str:
    """A1111 sends ``info`` as a JSON string inside the JSON response."""
    return json.dumps(result.info)
