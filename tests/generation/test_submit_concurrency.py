"""The per-member queue limit holds when one member's submissions race each other."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test import override_settings

from generation.errors import GenerationRejected
from generation.models import GenerationJob
from generation.services import job_submit

pytestmark = pytest.mark.django_db(transaction=True)
SUBMITTERS = 15


def _submit_waiting_for_sqlite(member, version) -> None:
    """Submit once. The SQLite test database is in memory with a shared cache, whose table locks
    fail at once ("table is locked") where a database file (IMMEDIATE transactions, a busy
    timeout) waits: the wait is done here. A failed attempt committed nothing, so retrying is the
    file's behaviour. MariaDB gets no retry: any error fails the test."""
    for _attempt in range(2000):
        try:
            job_submit(user=member, model_version=version, prompt="a red circle", seed=-1, steps=4)
            return
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.005)
    raise TimeoutError("the SQLite test database stayed locked")


@override_settings(GENERATION_MAX_QUEUED_PER_USER=10)
def test_concurrent_submissions_never_exceed_the_queue_limit(member, tiny_version):
    start = threading.Barrier(SUBMITTERS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def submit() -> None:
        close_old_connections()
        try:
            start.wait()
            _submit_waiting_for_sqlite(member, tiny_version)
            outcomes.append("queued")
        except GenerationRejected as exc:
            outcomes.append(str(exc.message))
        except BaseException as exc:  # surfaced below: a thread's error must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert outcomes.count("queued") == 10
    rejected = [o for o in outcomes if o != "queued"]
    assert len(rejected) == SUBMITTERS - 10
    assert all("pictures waiting" in message for message in rejected)
    assert GenerationJob.objects.filter(user=member, state=GenerationJob.State.QUEUED).count() == 10
