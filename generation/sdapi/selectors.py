"""Reads for the A1111-compatible API: checkpoints, samplers, LoRAs, a member's options, progress."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import User
from generation.models import GenerationJob, Sampler, SdApiOptions
from generation.realtime import job_latest_message
from generation.sdapi.mapping import SAMPLER_ALIASES, SCHEDULERS, Checkpoint, checkpoint_matches
from generation.selectors import job_queue_position, jobs_of_user
from modelhub.selectors import (
    loras_for_base,
    version_default,
    version_primary_file,
    versions_generatable,
)

# The jobs an API call of a member is waiting for, kept in the shared cache so that /progress,
# /interrupt and /skip served by any web process see them (A1111 has one global "state").
INFLIGHT_TTL_SECONDS = 3600


def inflight_key(user_id: int) -> str:
    return f"sdapi:user:{user_id}:jobs"


def inflight_job_ids(*, user: User) -> list[int]:
    ids: list[int] = cache.get(inflight_key(user.pk)) or []
    return ids


def checkpoints() -> list[Checkpoint]:
    """Every generatable model version with the file its hash comes from."""
    listed = []
    for version in versions_generatable().prefetch_related("files"):
        model_file = version_primary_file(version=version)
        if model_file is not None:
            listed.append(Checkpoint(version=version, file=model_file))
    return listed


def checkpoint_find(*, wanted: str) -> Checkpoint | None:
    return next((c for c in checkpoints() if checkpoint_matches(c, wanted)), None)


def options_of(*, user: User) -> SdApiOptions:
    """The member's stored options (unsaved defaults when they never set any)."""
    options = SdApiOptions.objects.select_related("model_version__model").filter(user=user).first()
    return options or SdApiOptions(user=user)


def checkpoint_of(*, user: User) -> Checkpoint | None:
    """The member's chosen model if it can still generate, else the site's default."""
    chosen = options_of(user=user).model_version
    generatable = versions_generatable()
    version = (
        chosen
        if chosen is not None and generatable.filter(pk=chosen.pk).exists()
        else version_default()
    )
    if version is None:
        return None
    model_file = version_primary_file(version=version)
    return Checkpoint(version=version, file=model_file) if model_file else None


def sd_models_list() -> list[dict[str, Any]]:
    return [
        {
            "title": c.title,
            "model_name": c.model_name,
            "hash": c.file.autov2,
            "sha256": c.file.sha256,
            "filename": c.file.path,
            "config": None,
        }
        for c in checkpoints()
    ]


def samplers_list() -> list[dict[str, Any]]:
    return [
        {"name": value, "aliases": SAMPLER_ALIASES.get(value, []), "options": {}}
        for value in Sampler.values
    ]


def schedulers_list() -> list[dict[str, Any]]:
    return [dict(s) for s in SCHEDULERS]


def loras_list() -> list[dict[str, Any]]:
    listed = []
    for version in loras_for_base().prefetch_related("files"):
        model_file = version_primary_file(version=version)
        listed.append(
            {
                "name": version.model.name,
                "alias": version.model.name,
                "path": model_file.path if model_file else "",
                "metadata": {},
            }
        )
    return listed


def options_view(*, user: User) -> dict[str, Any]:
    """GET /options: the member's choices plus the harmless settings clients read."""
    options = options_of(user=user)
    checkpoint = checkpoint_of(user=user)
    return {
        "sd_model_checkpoint": checkpoint.title if checkpoint else None,
        "sd_checkpoint_hash": checkpoint.file.sha256 if checkpoint else None,
        "CLIP_stop_at_last_layers": options.clip_skip,
        "samples_format": "png",
        "sd_vae": "Automatic",
        "live_previews_enable": bool(settings.GENERATION_PREVIEW_EVERY_STEPS),
        "show_progress_every_n_steps": settings.GENERATION_PREVIEW_EVERY_STEPS,
        "eta_noise_seed_delta": 0,
        "enable_pnginfo": True,
    }


def _progress_jobs(user: User) -> list[GenerationJob]:
    """The caller's current API call's jobs; without one, their oldest unfinished job."""
    mine = jobs_of_user(user=user)
    ids = inflight_job_ids(user=user)
    if ids:
        by_id = {job.pk: job for job in mine.filter(pk__in=ids)}
        return [by_id[i] for i in ids if i in by_id]
    running = mine.filter(state__in=[GenerationJob.State.RUNNING, GenerationJob.State.QUEUED])
    current = running.filter(state=GenerationJob.State.RUNNING).order_by("started_at").first() or (
        running.order_by("created_at").first()
    )
    return [current] if current else []


def progress_view(*, user: User, skip_current_image: bool = False) -> dict[str, Any]:
    """A1111's /progress for the caller's own work only; another member's job never shows."""
    jobs = _progress_jobs(user)
    state: dict[str, Any] = {
        "skipped": False,
        "interrupted": False,
        "job": "",
        "job_count": len(jobs),
        "job_timestamp": "0",
        "job_no": 0,
        "sampling_step": 0,
        "sampling_steps": 0,
    }
    current = next((job for job in jobs if not job.is_finished), None)
    if current is None:
        if jobs:
            state["job_no"] = len(jobs)
            state["interrupted"] = any(j.state == GenerationJob.State.CANCELLED for j in jobs)
        return {
            "progress": 1.0 if jobs else 0.0,
            "eta_relative": 0.0,
            "state": state,
            "current_image": None,
            "textinfo": None,
        }
    job_no = jobs.index(current)
    latest = job_latest_message(current.pk) or {}
    running = current.state == GenerationJob.State.RUNNING
    step = int(latest.get("step", 0)) if running and latest.get("type") == "progress" else 0
    total = current.steps_total
    fraction = (job_no + step / max(total, 1)) / len(jobs)
    eta = latest.get("eta_s") if running else None
    state.update(
        job="img2img" if current.is_img2img else "txt2img",
        job_timestamp=current.created_at.strftime("%Y%m%d%H%M%S"),
        job_no=job_no,
        sampling_step=step,
        sampling_steps=total,
    )
    image = None
    if not skip_current_image and running:
        preview = job_latest_message(current.pk, "preview") or {}
        data_url = str(preview.get("image") or "")
        image = data_url.partition(",")[2] or None
    if running:
        textinfo = f"Step {step}/{total}"
    else:
        position = job_queue_position(job=current)
        textinfo = f"Queued (position {position})" if position else "Queued"
    return {
        "progress": round(min(max(fraction, 0.0), 1.0), 4),
        "eta_relative": float(eta) if eta is not None else 0.0,
        "state": state,
        "current_image": image,
        "textinfo": textinfo,
    }
