"""Domain errors of generation, with messages fit to show the member."""

from __future__ import annotations

from visionary.errors import Invalid, NotFoundError


class GenerationRejected(Invalid):
    """The request cannot be queued; the message says why (by field where one is to blame)."""


class NotYourJob(NotFoundError):
    """Only the member who submitted a job may act on it; anyone else is told it does not exist."""


class PromptBlocked(GenerationRejected):
    """The prompt filter refused the request; it was recorded as a blocked job. The answer names
    the category and the job on record, never the matched term."""

    code = "prompt_blocked"

    def __init__(self, message: str, *, field: str, category: str, job_id: int) -> None:
        super().__init__({field: [message]}, extra={"category": category, "job": job_id})
        self.field = field
        self.category = category
        self.job_id = job_id
        self.text = message

    @property
    def non_field_errors(self) -> list[str]:
        # The refusal is about the whole request too: it heads the answer, not only its field.
        return [self.text]
