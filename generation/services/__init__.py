"""Writes for generation. Views, tasks and commands import from here."""

from generation.errors import NotYourJob
from generation.services.control import job_cancel, job_delete
from generation.services.execute import job_execute, job_run_claimed, job_run_next
from generation.services.queue import (
    ReapResult,
    job_claim,
    job_claim_next,
    job_enqueue,
    jobs_reap,
    queue_positions_publish,
)
from generation.services.submit import job_fingerprint, job_rerun, job_submit, prompts_check

__all__ = [
    "NotYourJob",
    "ReapResult",
    "job_cancel",
    "job_claim",
    "job_claim_next",
    "job_delete",
    "job_enqueue",
    "job_execute",
    "job_fingerprint",
    "job_rerun",
    "job_run_claimed",
    "job_run_next",
    "job_submit",
    "jobs_reap",
    "prompts_check",
    "queue_positions_publish",
]
