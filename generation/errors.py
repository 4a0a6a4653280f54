"""Domain errors of generation, with messages fit to show the member."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class GenerationRejected(ValidationError):
    """The request cannot be queued; the message says why."""


class NotYourJob(PermissionError):
    """Only the member who submitted a job may cancel it."""


class PromptBlocked(GenerationRejected):
    """The prompt filter refused the request; it was recorded as a blocked job."""

    def __init__(self, message: str, *, field: str, category: str, job_id: int) -> None:
        super().__init__({field: [message]})
        self.field = field
        self.category = category
        self.job_id = job_id
        self.text = message
