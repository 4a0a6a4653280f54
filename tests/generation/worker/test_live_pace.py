"""The public /ws/live/ stream gets a shared job's progress at its own, slower pace (the owner's
socket keeps every push), so a crowd of watchers is never flooded."""

from __future__ import annotations

from generation import realtime
from generation.worker.execute import ProgressReporter


def _sent(monkeypatch) -> list[realtime.Publication]:
    sent: list[realtime.Publication] = []
    monkeypatch.setattr("generation.worker.execute.jobs_publish", sent.extend)
    return sent


def test_live_copies_are_paced_while_the_owner_gets_every_push(monkeypatch, settings):
    settings.GENERATION_PROGRESS_MIN_INTERVAL = 0
    settings.GENERATION_LIVE_MIN_INTERVAL = 3600  # only the first and the last go live
    sent = _sent(monkeypatch)
    report = ProgressReporter(1, live=True)
    for step in range(1, 21):
        report(step, 20)
    progress = [p for p in sent if p.message["type"] == "progress"]
    assert [p.message["step"] for p in progress] == list(range(1, 21))
    assert [p.message["step"] for p in progress if p.live is not None] == [1, 20]


def test_a_job_not_shared_live_sends_no_live_copies(monkeypatch, settings):
    settings.GENERATION_PROGRESS_MIN_INTERVAL = 0
    sent = _sent(monkeypatch)
    report = ProgressReporter(1, live=False)
    for step in range(1, 6):
        report(step, 5)
    assert len(sent) == 5 and all(p.live is None for p in sent)


def test_with_no_live_pace_every_push_goes_live(monkeypatch, settings):
    settings.GENERATION_PROGRESS_MIN_INTERVAL = 0
    settings.GENERATION_LIVE_MIN_INTERVAL = 0
    sent = _sent(monkeypatch)
    report = ProgressReporter(1, live=True)
    for step in range(1, 6):
        report(step, 5)
    assert [p.message["step"] for p in sent if p.live is not None] == [1, 2, 3, 4, 5]
