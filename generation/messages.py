"""Every realtime message about a job, typed and built here: what the worker and the services push
and what a (re)connecting client gets first have one shape each (static/js/job.js and live.js
read them). The copies for /ws/live/ never carry the owner's private pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from generation.models import GenerationJob


class QueueMessage(TypedDict):
    type: Literal["queue"]
    position: int | None  # 1: next to run; None: no longer queued


class StatusMessage(TypedDict):
    type: Literal["status"]
    state: str
    batch: NotRequired[int]  # jobs sharing the pipeline call, once it starts


class ProgressMessage(TypedDict):
    type: Literal["progress"]
    step: int
    total: int
    eta_s: float | None


class PreviewMessage(TypedDict):
    type: Literal["preview"]
    step: int
    image: str  # a data: URL


class DoneMessage(TypedDict):
    type: Literal["done"]
    images: list[str]  # file URLs of the pictures that may be shown
    withheld: list[dict[str, str]]  # gallery.selectors.withheld_notices: level and reason


class ErrorMessage(TypedDict):
    type: Literal["error"]
    message: str


class CancelledMessage(TypedDict):
    type: Literal["cancelled"]


JobMessage = (
    QueueMessage
    | StatusMessage
    | ProgressMessage
    | PreviewMessage
    | DoneMessage
    | ErrorMessage
    | CancelledMessage
)


class LiveCard(TypedDict):
    """What watchers of /live see of a shared job."""

    prompt: str
    owner: str
    total: int
    size: str
    model: str


class LiveStatusMessage(LiveCard):
    type: Literal["status"]
    state: str
    batch: NotRequired[int]


class LiveDoneMessage(TypedDict):
    type: Literal["done"]


# The /ws/live/ copy of a job message (realtime adds the job's id to each).
LiveMessage = (
    LiveStatusMessage
    | ProgressMessage
    | PreviewMessage
    | LiveDoneMessage
    | ErrorMessage
    | CancelledMessage
)


class LiveJobCard(LiveCard):
    job: int
    step: int
    preview: str | None


class LiveStateMessage(TypedDict):
    """The first /ws/live/ message: every shared running job."""

    type: Literal["live"]
    jobs: list[LiveJobCard]


def queue_message(position: int | None) -> QueueMessage:
    return {"type": "queue", "position": position}


def status_message(state: str, *, batch: int | None = None) -> StatusMessage:
    message: StatusMessage = {"type": "status", "state": state}
    if batch is not None:
        message["batch"] = batch
    return message


def progress_message(*, step: int, total: int, eta_s: float | None) -> ProgressMessage:
    return {
        "type": "progress",
        "step": step,
        "total": total,
        "eta_s": round(eta_s, 2) if eta_s is not None else None,
    }


def preview_message(*, step: int, image: str) -> PreviewMessage:
    return {"type": "preview", "step": step, "image": image}


def done_message(*, images: list[str], withheld: list[dict[str, str]]) -> DoneMessage:
    return {"type": "done", "images": images, "withheld": withheld}


def error_message(message: str) -> ErrorMessage:
    return {"type": "error", "message": message}


def cancelled_message() -> CancelledMessage:
    return {"type": "cancelled"}


def live_card(job: GenerationJob) -> LiveCard:
    """A shared job as /live shows it: never the owner's private pictures."""
    return {
        "prompt": job.prompt[:300],
        "owner": job.user.name if job.user.is_active else "",
        "total": job.steps_total,
        "size": f"{job.width}x{job.height}",
        "model": str(job.model_version),
    }


def live_status_message(job: GenerationJob, status: StatusMessage) -> LiveStatusMessage:
    message: LiveStatusMessage = {**live_card(job), "type": "status", "state": status["state"]}
    if "batch" in status:
        message["batch"] = status["batch"]
    return message


def live_done_message() -> LiveDoneMessage:
    """Watchers learn that the picture is finished, not what it looks like."""
    return {"type": "done"}


def live_job_card(job: GenerationJob, *, step: int, preview: str | None) -> LiveJobCard:
    return {"job": job.pk, **live_card(job), "step": step, "preview": preview}


def live_state_message(cards: list[LiveJobCard]) -> LiveStateMessage:
    return {"type": "live", "jobs": cards}
