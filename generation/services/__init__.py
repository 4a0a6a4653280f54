"""Web-side writes for generation: submitting, queueing and controlling jobs. Views, tasks and
commands import from here; running a job is the worker's (``generation.worker.execute``)."""

from generation.errors import NotYourJob
from generation.services.control import job_cancel, job_delete
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
    "job_fingerprint",
    "job_rerun",
    "job_submit",
    "jobs_reap",
    "prompts_check",
    "queue_positions_publish",
]
