"""Writes for the A1111-compatible API: A1111 requests become ordinary generation jobs (quotas,
fairness, history and the result cache all apply); the call waits for them like A1111's does."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from gallery.models import Image
from gallery.selectors import withheld_notices
from generation.errors import NotYourJob
from generation.models import GenerationJob
from generation.params import CLIP_SKIP, RANDOM_SEED, JobParams
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

logger = logging.getLogger(__name__)

# How long an API call waits for its pictures before giving up (and cancelling its jobs). A module
# constant, not a setting: A1111 itself has no limit; this only bounds a stuck request.
WAIT_TIMEOUT_SECONDS = 600
# How often the waiting request looks at the job rows.
WAIT_POLL_SECONDS = 0.15


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


def generate(*, user: User, params: GenerationParams) -> GenerationResult:
    """Queue ``n_iter`` jobs of ``batch_size`` pictures and wait for them, as A1111 would."""
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
    try:
        finished = jobs_wait(job_ids=ids, timeout=WAIT_TIMEOUT_SECONDS)
    finally:
        _inflight_clear(user, ids)
    return _result(params=params, checkpoint=checkpoint, jobs=finished)


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


def jobs_wait(*, job_ids: list[int], timeout: float) -> list[GenerationJob]:
    """Poll the job rows until every job has finished; on timeout cancel them and fail."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = list(
            GenerationJob.objects.filter(pk__in=job_ids).select_related(
                "user", "model_version__model"
            )
        )
        if all(job.is_finished for job in jobs):
            order = {pk: i for i, pk in enumerate(job_ids)}
            return sorted(jobs, key=lambda job: order[job.pk])
        if time.monotonic() > deadline:
            for job in jobs:
                if not job.is_finished:
                    job_cancel(job=job, user=job.user)
            raise SdApiRuntimeError(
                f"The pictures were not ready within {timeout:g} seconds; the jobs were cancelled.",
                http_status=504,
                kind="TimeoutError",
            )
        time.sleep(WAIT_POLL_SECONDS)


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
