"""Fault injection against the production topology on this machine, with the figures printed.

    .venv/bin/python benchmarks/faults.py [--only a,b,c,d,e,f] [--watchers 1000]

Starts its own stack: a MariaDB database of its own (`visionary_faults` on 127.0.0.1:3306, dropped
at the end), its own redis-server on a spare port (which it stops and starts; never the shared
one), daphne (two processes for the watchers), a separate Celery worker and beat, all with the
production settings. Then, one scenario at a time:

  a  SIGKILL the worker mid-job and mid-batch, start a new one
  b  stop Redis for 10 s while jobs run and queue
  c  drop the broker's messages (jobs queued while no worker runs, queue emptied)
  d  50 concurrent visitors for 30 s on /gallery/ and picture pages
  e  30 concurrent submissions from 10 members, and 15 from one member
  f  N anonymous watchers opening /ws/live/ within 10 s against two daphne processes while a
     shared job runs

and prints one table: jobs submitted, succeeded, lost, duplicated, stranded, failed; answers by
status; seconds to recover; peak database connections; watchers connected, the share of progress
messages each received and the p95 spread of delivery (each message's arrival at a watcher after
its first arrival at any watcher: the messages carry no send time). Goals: 0 lost, 0 duplicated,
0 stranded, 0 failed by a fault, no 5xx under load, recovery <= 30 s, every watcher connected,
each receiving >= 95 % of the messages, p95 spread <= 250 ms.

Everything runs on loopback, bounded in time; the stack is stopped whatever happens. The load
helpers (`Stack`, `http_load`, `watchers_run`) are meant for other benchmarks too."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DB_NAME = "visionary_faults"
PROMPT = "a red circle on a blue background"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    """The production topology, started from this checkout with its own database and Redis."""

    workdir: Path
    redis_port: int = field(default_factory=free_port)
    web_ports: list[int] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "DJANGO_SETTINGS_MODULE": "visionary.settings.production",
            "SECRET_KEY": "faults-" + "n0t-a-secret-" * 5,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"mysql://root@127.0.0.1:3306/{DB_NAME}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "VISIONARY_DATA_DIR": str(self.workdir),
            "METRICS_REQUIRE_TOKEN": "0",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "WARNING",
            "API_THROTTLE_JOB_CREATE": "1000/minute",
            "API_THROTTLE_USER": "100000/minute",
            "API_THROTTLE_ANON": "100000/minute",
        }

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def _stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # --- Redis ---------------------------------------------------------------------------------
    def redis_start(self) -> None:
        args = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        self._spawn("redis", [*args, "--save", "", "--appendonly", "no"])
        wait_for(lambda: _port_open(self.redis_port), 10, "redis-server start")

    def redis_stop(self) -> None:
        self._stop("redis")

    # --- The site --------------------------------------------------------------------------------
    def prepare(self) -> None:
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.cursor().execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4")
        conn.close()
        manage = [PY, "manage.py"]
        for command in (
            ["migrate", "--noinput", "-v", "0"],
            ["collectstatic", "--noinput", "-v", "0"],
        ):
            subprocess.run([*manage, *command], cwd=ROOT, env=self.env, check=True)
        # With its demo pictures: the visitors' scenario reads picture pages.
        subprocess.run(
            [*manage, "bootstrap"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )

    def web_start(self, count: int = 1) -> None:
        while len(self.web_ports) < count:
            port = free_port()
            app = "visionary.asgi:application"
            self._spawn(
                f"daphne-{port}", [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
            )
            self.web_ports.append(port)
        for port in self.web_ports:
            wait_for(
                lambda port=port: status_of(f"http://127.0.0.1:{port}/healthz") == 200,
                120,
                "daphne",
            )

    def worker_start(self) -> None:
        celery = [PY, "-m", "celery", "-A", "visionary"]
        self._spawn(
            "worker", [*celery, "worker", "-P", "solo", "-c", "1", "-Q", "generation,default"]
        )

    def worker_kill(self) -> None:
        self._stop("worker", signal.SIGKILL)

    def beat_start(self) -> None:
        schedule = self.workdir / "beat-schedule"
        self._spawn("beat", [PY, "-m", "celery", "-A", "visionary", "beat", "-s", str(schedule)])

    def close(self) -> None:
        for name in list(self.procs):
            self._stop(name, signal.SIGKILL if name == "worker" else signal.SIGTERM)
        try:
            import MySQLdb

            conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
            conn.close()
        except Exception as exc:  # the report matters more than the clean-up
            print(f"could not drop {DB_NAME}: {exc}", file=sys.stderr)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_ports[0]}"


@contextmanager
def stack_running(watch_daphnes: int = 1) -> Iterator[Stack]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="visionary-faults-")))
    try:
        stack.redis_start()
        stack.prepare()
        os.environ.update(stack.env)
        import django

        django.setup()
        stack.web_start(watch_daphnes)
        stack.worker_start()
        stack.beat_start()
        yield stack
    finally:
        stack.close()


# --- HTTP ----------------------------------------------------------------------------------------
def status_of(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # refused or reset: counted as an error, never a hang


def post_json(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:
        return 0, {}


def http_load(urls: list[str], *, clients: int, seconds: float) -> Counter[int]:
    """``clients`` threads fetching ``urls`` round-robin for ``seconds``; answers by status."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        n = offset
        while time.monotonic() < stop_at:
            code = status_of(urls[n % len(urls)])
            n += 1
            with lock:
                statuses[code] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


# --- Members, jobs, outcomes ---------------------------------------------------------------------
def members(count: int, prefix: str) -> list[tuple[Any, str]]:
    from accounts.api_tokens import api_token_create
    from accounts.models import User

    made = []
    for n in range(count):
        user, _ = User.objects.get_or_create(
            username=f"{prefix}{n}", defaults={"email": f"{prefix}{n}@example.com"}
        )
        made.append((user, api_token_create(user=user, name=f"faults-{time.time_ns()}")[1]))
    return made


def submit(stack: Stack, token: str, **params: Any) -> tuple[int, int | None]:
    code, body = post_json(f"{stack.base}/api/v1/jobs/", {"prompt": PROMPT, **params}, token)
    return code, body.get("id")


@dataclass
class Outcome:
    submitted: int = 0
    succeeded: int = 0
    lost: int = 0
    duplicated: int = 0
    stranded: int = 0
    failed: int = 0
    recovery_s: float | None = None
    statuses: Counter[int] = field(default_factory=Counter)
    peak_db_connections: int = 0
    notes: list[str] = field(default_factory=list)


def jobs_settle(job_ids: list[int], timeout: float) -> float:
    """Wait until every job is finished (or ``timeout``); seconds waited."""
    from django.db import connection

    from generation.models import GenerationJob

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        connection.close()  # see other processes' commits at once
        unfinished = GenerationJob.objects.filter(pk__in=job_ids).exclude(
            state__in=GenerationJob.FINISHED_STATES
        )
        if not unfinished.exists():
            break
        time.sleep(0.5)
    return time.monotonic() - started


def outcome_of(job_ids: list[int], outcome: Outcome) -> Outcome:
    from django.db import connection
    from django.db.models import Count

    from generation.models import GenerationJob

    connection.close()
    rows = {
        job.pk: job
        for job in GenerationJob.objects.filter(pk__in=job_ids).annotate(n_images=Count("images"))
    }
    outcome.submitted += len(job_ids)
    for job_id in job_ids:
        job = rows.get(job_id)
        if job is None:
            outcome.lost += 1
        elif job.state == GenerationJob.State.SUCCEEDED:
            outcome.succeeded += 1
            outcome.duplicated += int(job.n_images > job.batch_size)
        elif job.state in (GenerationJob.State.QUEUED, GenerationJob.State.RUNNING):
            outcome.stranded += 1
        elif job.state == GenerationJob.State.FAILED:
            outcome.failed += 1
            outcome.notes.append(f"job {job_id} failed: {job.error[:80]}")
    return outcome


def db_connections() -> int:
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    cursor = conn.cursor()
    cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (DB_NAME,))
    (count,) = cursor.fetchone()
    conn.close()
    return int(count)


def first_running(job_ids: list[int], timeout: float = 60) -> None:
    from django.db import connection

    from generation.models import GenerationJob

    def running() -> bool:
        connection.close()
        return GenerationJob.objects.filter(pk__in=job_ids, state="running").exists()

    wait_for(running, timeout, "a job to start running")


# --- Scenarios -----------------------------------------------------------------------------------
def scenario_kill_worker(stack: Stack) -> Outcome:
    outcome = Outcome()
    team = members(4, "killa")
    ids = []
    for _user, token in team:  # compatible jobs: one batched call
        code, job_id = submit(stack, token, steps=60, seed=-1)
        outcome.statuses[code] += 1
        ids += [job_id] if job_id else []
    first_running(ids)
    stack.worker_kill()
    killed_at = time.monotonic()
    stack.worker_start()
    jobs_settle(ids, timeout=120)
    outcome.recovery_s = time.monotonic() - killed_at
    return outcome_of(ids, outcome)


def scenario_redis_outage(stack: Stack) -> Outcome:
    outcome = Outcome()
    team = members(4, "redisb")
    ids = []
    for _user, token in team:
        for _ in range(2):
            code, job_id = submit(stack, token, steps=40, seed=-1)
            outcome.statuses[code] += 1
            ids += [job_id] if job_id else []
    first_running(ids)
    stack.redis_stop()
    time.sleep(10)
    stack.redis_start()
    back_at = time.monotonic()
    jobs_settle(ids, timeout=120)
    outcome.recovery_s = time.monotonic() - back_at
    return outcome_of(ids, outcome)


def scenario_dropped_messages(stack: Stack) -> Outcome:
    import redis

    outcome = Outcome()
    stack.worker_kill()
    team = members(3, "dropc")
    ids = []
    for _user, token in team:
        code, job_id = submit(stack, token, steps=20, seed=-1)
        outcome.statuses[code] += 1
        ids += [job_id] if job_id else []
    dropped = redis.Redis(port=stack.redis_port).delete("generation")
    outcome.notes.append(f"broker queue emptied ({dropped} key)")
    stack.worker_start()
    started = time.monotonic()
    jobs_settle(ids, timeout=120)
    outcome.recovery_s = time.monotonic() - started
    return outcome_of(ids, outcome)


def scenario_visitors(stack: Stack) -> Outcome:
    from gallery.models import Image

    outcome = Outcome()
    pages = [f"{stack.base}/gallery/", f"{stack.base}/"]
    published = Image.objects.filter(is_published=True).values_list("pk", flat=True)[:10]
    pages += [f"{stack.base}/gallery/{pk}/" for pk in published]
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], db_connections())
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    outcome.statuses = http_load(pages, clients=50, seconds=30)
    done.set()
    sampler.join()
    outcome.peak_db_connections = peak[0]
    return outcome


def scenario_submissions(stack: Stack) -> Outcome:
    from django.conf import settings

    outcome = Outcome()
    stack.worker_kill()  # keep them queued: the limit is about queued jobs
    many = members(10, "subm")
    ((alone, alone_token),) = members(1, "subone")
    ids: list[int] = []
    lock = threading.Lock()

    def send(token: str) -> None:
        code, job_id = submit(stack, token, steps=10, seed=-1)
        with lock:
            outcome.statuses[code] += 1
            if job_id:
                ids.append(job_id)

    tokens = [token for _, token in many for _ in range(3)] + [alone_token] * 15
    threads = [threading.Thread(target=send, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from generation.models import GenerationJob

    limit = settings.GENERATION_MAX_QUEUED_PER_USER
    queued_alone = GenerationJob.objects.filter(user=alone, state="queued").count()
    outcome.notes.append(f"one member's queued jobs: {queued_alone} (limit {limit})")
    if queued_alone > limit:
        outcome.notes.append("QUEUE LIMIT EXCEEDED")
    stack.worker_start()
    jobs_settle(ids, timeout=240)
    return outcome_of(ids, outcome)


def scenario_watchers(stack: Stack, count: int) -> Outcome:
    """Every watcher connects first (within 10 s, over two daphne processes), then a member's
    shared job runs: each watcher should see all of its progress messages."""
    outcome = Outcome()
    stack.web_start(2)
    ((_, token),) = members(1, "livef")
    submitted: list[int] = []

    def start_job() -> None:
        code, job_id = submit(stack, token, steps=100, width=128, height=128, share_live=True)
        outcome.statuses[code] += 1
        submitted.extend([job_id] if job_id else [])

    results = asyncio.run(
        watchers_run(stack.web_ports, count=count, within=10.0, listen=90.0, then=start_job)
    )
    connected = [r for r in results if r["connected"]]
    steps_seen = set().union(*(r["steps"] for r in connected)) if connected else set()
    first: dict[int, float] = {}
    for r in connected:
        for step, at in r["steps"].items():
            first[step] = min(first.get(step, at), at)
    spreads = sorted(at - first[step] for r in connected for step, at in r["steps"].items())
    shares = [len(r["steps"]) / len(steps_seen) for r in connected] if steps_seen else [0.0]
    p95 = spreads[int(len(spreads) * 0.95)] * 1000 if spreads else float("nan")
    outcome.notes.append(
        f"watchers connected {len(connected)} of {count}; progress messages {len(steps_seen)}; "
        f"share received: lowest {min(shares):.0%}, median {statistics.median(shares):.0%}; "
        f"p95 spread {p95:.0f} ms"
    )
    errors = Counter(str(r["error"])[:60] for r in results if not r["connected"])
    outcome.notes += [f"refused: {n} x {error}" for error, n in errors.most_common(3)]
    jobs_settle(submitted, timeout=120)
    return outcome_of(submitted, outcome)


async def watchers_run(
    ports: list[int],
    *,
    count: int,
    within: float,
    listen: float,
    then: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """``count`` WebSocket clients on /ws/live/, spread over ``ports`` and opened evenly within
    ``within`` seconds; once all are open, ``then`` runs (e.g. submits the job to watch). Each
    listens until a job it watched is done, or ``listen`` seconds; returns what each received
    (progress step -> arrival time)."""
    import websockets

    async def watch(n: int) -> dict[str, Any]:
        await asyncio.sleep(within * n / count)
        url = f"ws://127.0.0.1:{ports[n % len(ports)]}/ws/live/"
        result: dict[str, Any] = {"connected": False, "steps": {}, "error": None}
        try:
            async with websockets.connect(
                url, origin=f"http://127.0.0.1:{ports[0]}", open_timeout=60
            ) as socket_:
                result["connected"] = True
                end = time.monotonic() + listen
                while (left := end - time.monotonic()) > 0:
                    try:
                        raw = await asyncio.wait_for(socket_.recv(), timeout=left)
                    except TimeoutError:
                        break
                    message = json.loads(raw)
                    if message.get("type") == "progress":
                        result["steps"].setdefault(message["step"], time.monotonic())
                    elif message.get("type") == "done":
                        break
        except Exception as exc:
            result["error"] = repr(exc)
        return result

    async def trigger() -> None:
        await asyncio.sleep(within + 1)  # every watcher has started opening by then
        if then is not None:
            await asyncio.get_running_loop().run_in_executor(None, then)

    tasks = [asyncio.create_task(watch(n)) for n in range(count)]
    await trigger()
    return list(await asyncio.gather(*tasks))


def print_table(results: dict[str, Outcome]) -> None:
    header = (
        f"{'scenario':<28}{'jobs':>5}{'ok':>5}{'lost':>5}{'dup':>5}{'strand':>7}{'failed':>7}"
        f"{'recover s':>10}{'peak db':>8}  answers by status"
    )
    print(header)
    print("-" * len(header))
    for name, o in results.items():
        recovery = f"{o.recovery_s:.1f}" if o.recovery_s is not None else "-"
        statuses = ", ".join(f"{code or 'refused'}: {n}" for code, n in sorted(o.statuses.items()))
        print(
            f"{name:<28}{o.submitted:>5}{o.succeeded:>5}{o.lost:>5}{o.duplicated:>5}"
            f"{o.stranded:>7}{o.failed:>7}{recovery:>10}{o.peak_db_connections or '-':>8}  {statuses}"
        )
        for note in o.notes:
            print(f"{'':<28}{note}")


SCENARIOS = {
    "a": "worker SIGKILL mid-batch",
    "b": "Redis stopped 10 s",
    "c": "broker messages dropped",
    "d": "50 visitors x 30 s",
    "e": "45 concurrent submissions",
    "f": "watchers on /ws/live/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="abcdef", help="scenarios to run, e.g. ad")
    parser.add_argument("--watchers", type=int, default=1000)
    args = parser.parse_args()
    chosen = [key for key in SCENARIOS if key in args.only]
    results: dict[str, Outcome] = {}
    with stack_running() as stack:
        runs: dict[str, Callable[[], Outcome]] = {
            "a": lambda: scenario_kill_worker(stack),
            "b": lambda: scenario_redis_outage(stack),
            "c": lambda: scenario_dropped_messages(stack),
            "d": lambda: scenario_visitors(stack),
            "e": lambda: scenario_submissions(stack),
            "f": lambda: scenario_watchers(stack, args.watchers),
        }
        for key in chosen:
            label = f"{key}) {SCENARIOS[key]}"
            print(f"running {label} ...", flush=True)
            try:
                results[label] = runs[key]()
            except Exception as exc:
                results[label] = Outcome(notes=[f"scenario did not complete: {exc!r}"])
            if "worker" not in stack.procs:
                stack.worker_start()
    print()
    print_table(results)


if __name__ == "__main__":
    main()
