"""Submitting jobs: validation, the per-member queue limit and the result cache."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from generation.errors import GenerationRejected, NotYourJob
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.services.images import image_store
from generation.services.queue import job_enqueue
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
        transaction.on_commit(lambda: job_enqueue(job.pk))
    logger.info("job queued", extra={"job_id": job.pk, "user_id": user.pk})
    return job


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
        image_store(job=job, png=png, seed=source.seed or job.seed, infotext=source.infotext)
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
