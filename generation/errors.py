"""Domain errors of generation, with messages fit to show the member."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class GenerationRejected(ValidationError):
    """The request cannot be queued; the message says why."""


class NotYourJob(PermissionError):
    """Only the member who submitted a job may cancel it."""
