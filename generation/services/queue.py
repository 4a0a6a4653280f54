"""The queue: fair claiming, queue positions and the reaper."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import ChannelError

from generation.messages import error_message, queue_message
from generation.models import GenerationJob
from generation.realtime import Publication, jobs_publish
from generation.selectors import queue_order
from visionary.celery import app as celery_app

logger = logging.getLogger(__name__)


def job_claim(*, job_id: int, worker: str) -> GenerationJob | None:
    """Move a queued job to running; a job already taken (or finished) is left alone.

    The conditional UPDATE is the lock: of two workers racing for a row, one updates it."""
    now = timezone.now()
    claimed = GenerationJob.objects.filter(pk=job_id, state=GenerationJob.State.QUEUED).update(
        state=GenerationJob.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    transaction.on_commit(queue_positions_publish)
    return GenerationJob.objects.select_related("model_version__model", "user").get(pk=job_id)


def job_claim_next(
    *, worker: str, held_versions: frozenset[int] = frozenset()
) -> GenerationJob | None:
    """Claim the fairest queued job (see selectors.queue_order). Among the jobs of the user whose
    turn it is, one for a model this worker already holds is preferred. A job a rival worker
    claims first is skipped; that rival runs it."""
    order = queue_order(limit=500)
    if not order:
        return None
    head_user = order[0].user_id
    preferred = next(
        (j for j in order if j.user_id == head_user and j.model_version_id in held_versions),
        None,
    )
    attempts = ([preferred] if preferred else []) + [j for j in order if j is not preferred]
    for job in attempts:
        claimed = job_claim(job_id=job.pk, worker=worker)
        if claimed is not None:
            return claimed
    return None


def job_companions_claim(*, head: GenerationJob, worker: str) -> list[GenerationJob]:
    """Queued jobs that can share ``head``'s pipeline call (equal batch key), claimed in the fair
    order, until the call holds GENERATION_BATCH_MAX_IMAGES pictures. Riding along costs the
    riders nothing and saves them their wait, so this never hurts fairness."""
    room = settings.GENERATION_BATCH_MAX_IMAGES - head.batch_size
    if not head.batch_key or room <= 0:
        return []
    companions = []
    for job in queue_order(limit=200, batch_key=head.batch_key):
        if job.batch_size > room:
            continue
        claimed = job_claim(job_id=job.pk, worker=worker)
        if claimed is not None:
            companions.append(claimed)
            room -= claimed.batch_size
            if room <= 0:
                break
    return companions


def queue_positions_publish(limit: int = 200) -> None:
    """Tell every waiting job (the first ``limit``) its place in the queue, all in one push (one
    cache write, one hop to the event loop), as a batched call reports its steps."""
    order = queue_order(limit=limit)
    jobs_publish(
        [Publication(job.pk, queue_message(position)) for position, job in enumerate(order, 1)]
    )


@dataclass(frozen=True)
class ReapResult:
    requeued: list[int]
    failed: list[int]
    rewoken: int = 0  # wake-up messages sent for queued jobs no worker heard of


def jobs_reap(*, now: datetime | None = None) -> ReapResult:
    """Requeue running jobs whose worker stopped beating (fail those out of attempts), then wake
    workers for queued jobs whose wake-up message was lost.

    A killed worker loses nothing (its job runs again elsewhere), no job stays running, and a
    lost message (a Redis restart) costs a job seconds, not its place forever."""
    now = now or timezone.now()
    requeued, failed = _stale_jobs_reap(now=now)
    return ReapResult(requeued=requeued, failed=failed, rewoken=queued_jobs_rewake(now=now))


@transaction.atomic
def _stale_jobs_reap(*, now: datetime) -> tuple[list[int], list[int]]:
    stale_before = now - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS)
    stale = list(
        GenerationJob.objects.select_for_update(skip_locked=True).filter(
            state=GenerationJob.State.RUNNING, heartbeat_at__lt=stale_before
        )
    )
    requeued, failed = [], []
    errors: list[Publication] = []
    for job in stale:
        if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            job.state = GenerationJob.State.FAILED
            job.error = _(
                "The worker running this picture stopped responding %(n)s times; giving up."
            ) % {"n": job.attempts}
            job.finished_at = now
            job.save(update_fields=["state", "error", "finished_at"])
            failed.append(job.pk)
            errors.append(Publication(job.pk, error_message(job.error)))
        else:
            job.state = GenerationJob.State.QUEUED
            job.worker = ""
            job.heartbeat_at = None
            job.save(update_fields=["state", "worker", "heartbeat_at"])
            requeued.append(job.pk)
            job_enqueue_on_commit(job.pk)
    if errors:
        transaction.on_commit(partial(jobs_publish, errors))
    if stale:
        logger.warning("stale jobs reaped", extra={"requeued": requeued, "failed": failed})
        transaction.on_commit(queue_positions_publish)
    return requeued, failed


# At most this many wake-ups per reap: after a long outage the rest follow at the next reaps.
REWAKE_MAX_PER_REAP = 200


def queued_jobs_rewake(*, now: datetime) -> int:
    """Send wake-ups for queued jobs older than GENERATION_REQUEUE_AFTER_SECONDS that the
    broker holds no message for; returns how many were sent.

    Each queued job had one message, and one message runs at least one job, so while messages
    flow the broker holds at least as many as there are jobs waiting: only the shortfall (lost
    messages) is made up. A long queue behind busy workers therefore adds nothing, and a broker
    no worker reads is reported instead of being filled."""
    waiting_before = now - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_SECONDS)
    stranded = GenerationJob.objects.filter(
        state=GenerationJob.State.QUEUED, created_at__lt=waiting_before
    )
    stranded_count = stranded.count()
    if not stranded_count:
        return 0
    pending = _wakeups_pending()
    # A broker that cannot say how many it holds gets one wake-up per reap: a worker still runs.
    missing = min(stranded_count - pending, REWAKE_MAX_PER_REAP) if pending is not None else 1
    if missing <= 0:
        logger.warning(
            "queued jobs wait although their wake-ups are in the broker; is a worker consuming "
            "the %s queue?",
            settings.GENERATION_QUEUE,
            extra={"stranded": stranded_count, "pending": pending},
        )
        return 0
    job_ids = list(stranded.order_by("created_at").values_list("pk", flat=True)[:missing])
    try:
        for job_id in job_ids:
            job_enqueue(job_id)
    except Exception:
        logger.warning("could not send wake-ups for queued jobs", exc_info=True)
        return 0
    logger.warning(
        "woke workers for queued jobs without a message",
        extra={"stranded": stranded_count, "pending": pending, "job_ids": job_ids},
    )
    return len(job_ids)


def _wakeups_pending() -> int | None:
    """Messages waiting in the generation queue (None: the broker cannot say)."""
    try:
        with celery_app.connection_for_read() as conn:
            channel: Any = conn.default_channel  # typed StdChannel, which lacks queue_declare
            _name, count, _consumers = channel.queue_declare(
                queue=settings.GENERATION_QUEUE, passive=True
            )
    except ChannelError:  # Redis drops an empty queue's key: nothing waits in it
        return 0
    except Exception:
        logger.info("could not read the generation queue's length", exc_info=True)
        return None
    return int(count)


# The worker's task, sent by name: web processes never import the worker (torch).
JOB_RUN_TASK = "generation.tasks.job_run"


def job_enqueue(job_id: int) -> None:
    """Wake a worker; the id is informative only (the worker claims the fairest queued job)."""
    celery_app.send_task(JOB_RUN_TASK, args=(job_id,), queue=settings.GENERATION_QUEUE)


def job_enqueue_on_commit(job_id: int) -> None:
    """Wake a worker once the job's row is committed. A broker that is down does not undo the
    job, which is already the member's: it stays queued, the failure is logged, and the reaper
    wakes a worker for it within GENERATION_REQUEUE_AFTER_SECONDS."""

    def wake() -> None:
        try:
            job_enqueue(job_id)
        except Exception:
            logger.warning(
                "wake-up not sent; the reaper will send it", extra={"job_id": job_id}, exc_info=True
            )

    transaction.on_commit(wake)
