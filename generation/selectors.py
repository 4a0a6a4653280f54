"""Reads for generation: jobs, their current state and the models one can generate with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

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


def job_queue_position(*, job: GenerationJob) -> int:
    """1 for the next job to run."""
    ahead = GenerationJob.objects.filter(
        state=GenerationJob.State.QUEUED, created_at__lt=job.created_at
    ).count()
    return ahead + 1


def job_image_urls(*, job: GenerationJob) -> list[str]:
    return [image.get_file_url() for image in job.images.order_by("pk")]


def job_state_message(*, job: GenerationJob) -> dict[str, Any]:
    """The message a WebSocket client gets first: the job's state right now."""
    state = GenerationJob.State
    if job.state == state.QUEUED:
        return {"type": "queue", "position": job_queue_position(job=job)}
    if job.state == state.RUNNING:
        latest = job_latest_message(job.pk)
        if latest is not None and latest.get("type") in {"progress", "status"}:
            return latest
        return {"type": "status", "state": job.state}
    if job.state == state.SUCCEEDED:
        return {"type": "done", "images": job_image_urls(job=job)}
    if job.state == state.CANCELLED:
        return {"type": "cancelled"}
    return {"type": "error", "message": job.error or job.get_state_display()}


def job_status(*, job: GenerationJob) -> dict[str, Any]:
    """The JSON status document for clients without WebSockets."""
    latest = job_latest_message(job.pk) or {}
    step = latest.get("step", job.steps if job.state == job.State.SUCCEEDED else 0)
    return {
        "id": job.pk,
        "state": job.state,
        "progress": {"step": step, "total": job.steps, "eta_s": latest.get("eta_s")},
        "queue_position": job_queue_position(job=job) if job.state == job.State.QUEUED else None,
        "images": job_image_urls(job=job) if job.state == job.State.SUCCEEDED else [],
        "seed": job.seed_used,
        "error": job.error or None,
    }
