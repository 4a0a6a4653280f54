"""Submitting jobs: validation, the per-member queue limit and the result cache."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from gallery.selectors import images_withheld_of_job
from generation.errors import GenerationRejected, NotYourJob, PromptBlocked
from generation.models import GenerationJob
from generation.params import DEFAULTS, PROMPT_MAX_CHARS, SIZE_MIN, SIZE_MULTIPLE, size_allowed
from generation.prompt_syntax import PromptSyntaxError, loras_extract
from generation.realtime import job_publish
from generation.selectors import job_done_message
from generation.services.images import image_store
from generation.services.queue import job_enqueue_on_commit
from modelhub.models import ModelVersion
from modelhub.selectors import lora_by_name, version_primary_file
from moderation.imagefilter import Rating
from moderation.services import Refusal, prompts_screen
from visionary.levels import Level
from visionary.uploads import image_upload_open

logger = logging.getLogger(__name__)


def job_submit(
    *,
    user: User,
    model_version: ModelVersion,
    prompt: str,
    negative_prompt: str = DEFAULTS.negative_prompt,
    seed: int = DEFAULTS.seed,
    steps: int = DEFAULTS.steps,
    cfg_scale: float | None = DEFAULTS.cfg_scale,
    width: int | None = DEFAULTS.width,
    height: int | None = DEFAULTS.height,
    sampler: str = DEFAULTS.sampler,
    batch_size: int = DEFAULTS.batch_size,
    clip_skip: int = DEFAULTS.clip_skip,
    init_image: IO[bytes] | bytes | None = None,
    denoising_strength: float = DEFAULTS.denoising_strength,
    share_live: bool = False,
    enqueue: bool = True,
) -> GenerationJob:
    """Validate, record the job as queued and wake a worker once the row is committed.

    Defaults and limits are generation.params' (the job model's validators check the ranges).
    Every problem is raised as GenerationRejected (field -> message) before anything is
    written: a rejected request leaves no row and no file behind. The one exception is a prompt
    the filter refuses: it is recorded as a blocked job (its category; no worker ever sees it)
    and PromptBlocked is raised."""
    flagged = prompts_check(
        user=user, model_version=model_version, prompt=prompt, negative_prompt=negative_prompt
    )
    if cfg_scale is None:
        cfg_scale = model_version.default_cfg_scale
    width = width or model_version.default_width
    height = height or model_version.default_height
    for name, value in (("width", width), ("height", height)):
        if not size_allowed(value, largest=model_version.max_size):
            raise GenerationRejected(
                {
                    name: _("Must be a multiple of %(multiple)s between %(min)s and %(max)s.")
                    % {"multiple": SIZE_MULTIPLE, "min": SIZE_MIN, "max": model_version.max_size}
                }
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
        loras=_loras_resolve(prompt, model_version),
        flagged_categories=flagged,
    )
    init_png = None
    if init_image is not None:
        init_png = _init_image_png(init_image)
        job.denoising_strength = denoising_strength
        if steps * denoising_strength < 1:
            raise GenerationRejected(
                {"denoising_strength": _("Too low to run a single step; raise it or the steps.")}
            )
    try:
        job.full_clean(exclude=["user", "model_version", "init_image"])
    except ValidationError as exc:
        raise GenerationRejected(exc.message_dict) from exc
    model_file = version_primary_file(version=model_version)
    init_sha = hashlib.sha256(init_png).hexdigest() if init_png else ""
    job.fingerprint = job_fingerprint(job, model_file.sha256, init_sha) if model_file else ""
    job.batch_key = "" if init_png else job_batch_key(job)
    if init_png:
        job.init_image.save("init.png", ContentFile(init_png), save=False)
    with transaction.atomic():
        try:
            _queue_room_check(user)
            job.save()
        except Exception:
            if init_png:  # nothing half-written: no row, so no file either
                default_storage.delete(job.init_image.name or "")
            raise
        if _answer_from_result_cache(job):
            return job
        if enqueue:
            job_enqueue_on_commit(job.pk)
    logger.info("job queued", extra={"job_id": job.pk, "user_id": user.pk})
    return job


def _queue_room_check(user: User) -> None:
    """Refuse a job beyond the member's queue limit. Call it in the transaction that saves the
    job: the member's row stays locked until the commit, so concurrent submissions of one member
    count one after another and the limit holds (SQLite serialises writers anyway)."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    queued = GenerationJob.objects.filter(user=user, state=GenerationJob.State.QUEUED).count()
    if queued >= settings.GENERATION_MAX_QUEUED_PER_USER:
        raise GenerationRejected(
            _("You already have %(n)s pictures waiting; let them finish first.") % {"n": queued}
        )


def prompts_check(
    *, user: User, model_version: ModelVersion, prompt: str, negative_prompt: str
) -> list[str]:
    """Run the prompt filter: a refusal is recorded as a blocked job and raised as PromptBlocked
    (call it outside any transaction the refusal rolls back); returns the flagged categories.
    job_submit calls it; a caller that queues several jobs in one transaction calls it first."""
    screening = prompts_screen(prompt=prompt, negative_prompt=negative_prompt)
    if screening.refusal is not None:
        blocked = job_record_blocked(
            user=user,
            model_version=model_version,
            prompt=prompt,
            negative_prompt=negative_prompt,
            refusal=screening.refusal,
        )
        raise PromptBlocked(
            screening.refusal.message,
            field=screening.refusal.field,
            category=screening.refusal.category,
            job_id=blocked.pk,
        )
    return sorted(screening.flagged)


def job_record_blocked(
    *,
    user: User,
    model_version: ModelVersion,
    prompt: str,
    negative_prompt: str,
    refusal: Refusal,
) -> GenerationJob:
    """A refused request on record for moderators: who asked, with which prompt, and the
    category. Written at once, so it stays although the request fails."""
    with transaction.atomic():
        job = GenerationJob.objects.create(
            user=user,
            model_version=model_version,
            prompt=prompt[:PROMPT_MAX_CHARS],
            negative_prompt=negative_prompt[:PROMPT_MAX_CHARS],
            state=GenerationJob.State.BLOCKED,
            blocked_category=refusal.category,
            error=refusal.message,
            finished_at=timezone.now(),
        )
    logger.warning(
        "prompt blocked",
        extra={"job_id": job.pk, "user_id": user.pk, "category": str(refusal.category)},
    )
    return job


def _loras_resolve(prompt: str, model_version: ModelVersion) -> list[dict[str, Any]]:
    """The LoRAs a prompt names, looked up in the hub; an unknown name is a clear error."""
    try:
        _text, tags = loras_extract(prompt)
    except PromptSyntaxError as exc:
        raise GenerationRejected({"prompt": str(exc)}) from exc
    resolved = []
    for tag in tags:
        lora = lora_by_name(name=tag.name)
        if lora is None:
            raise GenerationRejected(
                {"prompt": _("No LoRA named “%(name)s” in the model hub.") % {"name": tag.name}}
            )
        if lora.version.base_model != model_version.base_model:
            raise GenerationRejected(
                {
                    "prompt": _("The LoRA “%(name)s” is made for %(lora)s, not %(model)s.")
                    % {
                        "name": tag.name,
                        "lora": lora.version.get_base_model_display(),
                        "model": model_version.get_base_model_display(),
                    }
                }
            )
        resolved.append(
            {
                "version": lora.version_id,
                "name": lora.version.model.name,
                "weight": tag.weight,
                "hash": lora.autov2,
                "sha256": lora.sha256,
            }
        )
    if len(resolved) > settings.GENERATION_MAX_LORAS:
        raise GenerationRejected(
            {"prompt": _("At most %(n)s LoRAs per picture.") % {"n": settings.GENERATION_MAX_LORAS}}
        )
    return resolved


def _init_image_png(upload: IO[bytes] | bytes) -> bytes:
    """The img2img starting picture, validated and re-encoded as an RGB PNG (metadata dropped)."""
    try:
        image = image_upload_open(
            upload,
            max_bytes=settings.GENERATION_INIT_IMAGE_MAX_BYTES,
            max_pixels=settings.GENERATION_INIT_IMAGE_MAX_PIXELS,
        )
    except ValidationError as exc:
        raise GenerationRejected({"init_image": exc.messages}) from exc
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def job_batch_key(job: GenerationJob) -> str:
    """What must be equal for jobs to share one pipeline call (prompts and seeds may differ)."""
    loras = sorted((lora["sha256"], f"{lora['weight']:g}") for lora in job.loras)
    parts = [
        str(job.model_version_id),
        f"{job.width}x{job.height}",
        job.sampler,
        str(job.steps),
        f"{job.cfg_scale:g}",
        str(job.clip_skip),
        repr(loras),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def job_rerun(*, job: GenerationJob, user: User) -> GenerationJob:
    """Queue the same request again (a random seed stays random). An img2img job gets its own
    copy of the starting picture: deleting one job never removes another's file."""
    if job.user_id != user.pk:
        raise NotYourJob
    init_image = None
    if job.init_image:
        with job.init_image.open("rb") as fh:
            init_image = fh.read()
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
        init_image=init_image,
        denoising_strength=job.denoising_strength or DEFAULTS.denoising_strength,
        share_live=job.share_live,
    )


def job_fingerprint(job: GenerationJob, model_sha256: str, init_image_sha256: str = "") -> str:
    """Everything that decides the pixels: equal fingerprints and an explicit seed mean equal images."""
    loras = sorted((lora["sha256"], f"{lora['weight']:g}") for lora in job.loras)
    parts = [
        repr(loras),
        init_image_sha256,
        f"{job.denoising_strength:g}" if job.denoising_strength is not None else "",
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
    """Finish ``job`` from the member's own identical earlier result (explicit seed only); True
    if answered. Only their own: an answer from another member's job would tell them that someone
    generated that private prompt and seed.

    The member gets copies of the pictures: each Image owns its file, so deleting one never
    removes another's."""
    if job.seed < 0 or not job.fingerprint:
        return False
    earlier = (
        GenerationJob.objects.filter(
            user_id=job.user_id, fingerprint=job.fingerprint, state=GenerationJob.State.SUCCEEDED
        )
        .exclude(pk=job.pk)
        .order_by("-finished_at")
        .first()
    )
    if earlier is None:
        return False
    sources = list(earlier.images.order_by("pk"))
    if images_withheld_of_job(job_id=earlier.pk).exists():
        return False  # run it again: the worker classifies and withholds afresh
    if not sources or not all(default_storage.exists(i.file.name or "") for i in sources):
        return False
    for source in sources:
        with default_storage.open(source.file.name or "") as fh:
            png = fh.read()
        rating = Rating(
            level=Level(source.level if source.level is not None else Level.PG),
            labels=tuple(source.level_labels.split()),
        )
        image_store(
            job=job, png=png, seed=source.seed or job.seed, infotext=source.infotext, rating=rating
        )
    now = timezone.now()
    job.state = GenerationJob.State.SUCCEEDED
    job.seed_used = job.seed
    job.progress_step = job.steps_total
    job.started_at = job.finished_at = now
    job.worker = "result-cache"
    job.save(
        update_fields=["state", "seed_used", "progress_step", "started_at", "finished_at", "worker"]
    )
    done = job_done_message(job=job)
    transaction.on_commit(lambda: job_publish(job.pk, done))
    logger.info("job answered from the result cache", extra={"job_id": job.pk})
    return True
