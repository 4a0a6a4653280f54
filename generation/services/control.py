"""What a member does to their own jobs: cancel and delete."""

from __future__ import annotations

import logging
from functools import partial

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from gallery.models import Image
from generation.errors import GenerationRejected, NotYourJob
from generation.messages import cancelled_message
from generation.models import GenerationJob
from generation.realtime import job_publish
from generation.services.queue import queue_positions_publish

logger = logging.getLogger(__name__)


def cancel_key(job_id: int) -> str:
    return f"job:{job_id}:cancel"


@transaction.atomic
def job_cancel(*, job: GenerationJob, user: User) -> GenerationJob:
    """Cancel a queued job at once; a running one stops after its current step."""
    if job.user_id != user.pk:
        raise NotYourJob
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if locked.state == GenerationJob.State.QUEUED:
        locked.state = GenerationJob.State.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "finished_at"])
        transaction.on_commit(lambda: job_publish(locked.pk, cancelled_message()))
        transaction.on_commit(queue_positions_publish)
    elif locked.state == GenerationJob.State.RUNNING:
        # The worker checks this flag (in the shared cache) after every step.
        cache.set(cancel_key(locked.pk), True, timeout=3600)
    return locked


@transaction.atomic
def job_delete(*, job: GenerationJob, user: User) -> None:
    """Remove a finished job and its private pictures; published pictures stay in the gallery."""
    if job.user_id != user.pk:
        raise NotYourJob
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if not locked.is_finished:
        raise GenerationRejected(_("Cancel the job before deleting it."))
    if locked.state == GenerationJob.State.BLOCKED:
        raise GenerationRejected(_("A refused request stays on record for the moderators."))
    private = Image.objects.filter(job=locked, is_published=False)
    for name in private.values_list("file", flat=True):
        transaction.on_commit(partial(default_storage.delete, name))
    private.delete()
    if locked.init_image:
        transaction.on_commit(partial(default_storage.delete, locked.init_image.name or ""))
    locked.delete()
