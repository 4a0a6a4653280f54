"""Reads for generation: jobs, their current state and the models one can generate with."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max, QuerySet

from gallery.selectors import withheld_notices
from generation.messages import (
    DoneMessage,
    JobMessage,
    LiveJobCard,
    cancelled_message,
    done_message,
    error_message,
    live_job_card,
    queue_message,
    status_message,
)
from generation.models import GenerationJob
from generation.realtime import job_latest_message


def jobs_of_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[GenerationJob]:
    if not user.is_authenticated:
        return GenerationJob.objects.none()
    return GenerationJob.objects.filter(user_id=user.pk).select_related("model_version__model")


def job_for_owner(*, user: AbstractBaseUser | AnonymousUser, job_id: int) -> GenerationJob | None:
    if not user.is_authenticated:
        return None
    return jobs_of_user(user=user).filter(pk=job_id).first()


def job_queue_position(*, job: GenerationJob) -> int | None:
    """1 for the next job to run, in the fair order workers follow; None when not queued."""
    for position, queued in enumerate(queue_order(), start=1):
        if queued.pk == job.pk:
            return position
    return None


def job_image_urls(*, job: GenerationJob) -> list[str]:
    return [image.get_file_url() for image in job.images.order_by("pk")]


def job_done_message(*, job: GenerationJob) -> DoneMessage:
    """The "done" message of a succeeded job: the pictures that may be shown, and a notice for
    each one the image classifier withheld. Pushed live and sent again to a client that
    (re)connects later."""
    return done_message(images=job_image_urls(job=job), withheld=withheld_notices(job_id=job.pk))


def job_state_message(*, job: GenerationJob) -> JobMessage:
    """The message a WebSocket client gets first: the job's state right now, in the shape the
    live message for that state has."""
    state = GenerationJob.State
    if job.state == state.QUEUED:
        return queue_message(job_queue_position(job=job))
    if job.state == state.RUNNING:
        latest = job_latest_message(job.pk)
        if latest is not None and latest.get("type") in {"progress", "status"}:
            return cast(JobMessage, latest)  # stored by realtime.jobs_publish from a builder
        return status_message(job.state)
    if job.state == state.SUCCEEDED:
        return job_done_message(job=job)
    if job.state == state.CANCELLED:
        return cancelled_message()
    return error_message(job.error or job.get_state_display())


def job_status(*, job: GenerationJob) -> dict[str, Any]:
    """The JSON status document for clients without WebSockets."""
    latest = job_latest_message(job.pk) or {}
    step = latest.get("step", job.steps_total if job.state == job.State.SUCCEEDED else 0)
    return {
        "id": job.pk,
        "state": job.state,
        "progress": {"step": step, "total": job.steps_total, "eta_s": latest.get("eta_s")},
        "queue_position": job_queue_position(job=job) if job.state == job.State.QUEUED else None,
        "images": job_image_urls(job=job) if job.state == job.State.SUCCEEDED else [],
        "seed": job.seed_used,
        "error": job.error or None,
        "withheld": withheld_notices(job_id=job.pk) if job.state == job.State.SUCCEEDED else [],
    }


def _last_served(user_ids: set[int]) -> dict[int, Any]:
    """When each user last had a job start: the round-robin key."""
    rows = (
        GenerationJob.objects.filter(user_id__in=user_ids, started_at__isnull=False)
        .values("user_id")
        .annotate(last=Max("started_at"))
    )
    return {row["user_id"]: row["last"] for row in rows}


def queue_order(*, limit: int = 1000, batch_key: str | None = None) -> list[GenerationJob]:
    """Queued jobs in the order workers will claim them: round-robin across users, the user
    served longest ago first, each user's own jobs oldest first. One user's many jobs never
    starve another user's one. With ``batch_key``: only the jobs that could share a call."""
    queued_jobs = GenerationJob.objects.filter(state=GenerationJob.State.QUEUED)
    if batch_key is not None:
        queued_jobs = queued_jobs.filter(batch_key=batch_key)
    queued = list(
        queued_jobs.order_by("created_at", "pk").only(
            "pk", "user_id", "model_version_id", "created_at", "batch_size"
        )[:limit]
    )
    per_user: dict[int, deque[GenerationJob]] = {}
    for job in queued:
        per_user.setdefault(job.user_id, deque()).append(job)
    last = _last_served(set(per_user))
    never = datetime.min.replace(tzinfo=UTC)
    turn = sorted(per_user, key=lambda uid: (last.get(uid) or never, per_user[uid][0].created_at))
    order: list[GenerationJob] = []
    while turn:
        next_turn = []
        for uid in turn:
            order.append(per_user[uid].popleft())
            if per_user[uid]:
                next_turn.append(uid)
        turn = next_turn
    return order


def jobs_live() -> QuerySet[GenerationJob]:
    """Running generations whose owners share them live."""
    return (
        GenerationJob.objects.filter(state=GenerationJob.State.RUNNING, share_live=True)
        .select_related("user", "model_version__model")
        .order_by("started_at")
    )


def jobs_live_state(*, limit: int = 50) -> list[LiveJobCard]:
    """The /ws/live/ first message: every shared running job with its latest progress/preview."""
    cards = []
    for job in jobs_live()[:limit]:
        progress = job_latest_message(job.pk) or {}
        preview = job_latest_message(job.pk, "preview") or {}
        cards.append(live_job_card(job, step=progress.get("step", 0), preview=preview.get("image")))
    return cards


def job_watchable_by(
    *, user: AbstractBaseUser | AnonymousUser, job_id: int
) -> GenerationJob | None:
    """The owner may watch a job; anyone may watch one shared live."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    if job.share_live or (user.is_authenticated and job.user_id == user.pk):
        return job
    return None
