"""A web process's footprint: `manage.py check` wall time, and the resident memory of a production
daphne process after start-up and after serving a few pages.

    .venv/bin/python benchmarks/web_footprint.py [--rounds 3] [--database-url URL] [--redis-url URL]

Starts daphne with the production settings (a throwaway SQLite database by default; pass a
MariaDB database of your own and a Redis database number to match the production topology) on a
free loopback port, waits for /healthz, reads VmRSS from /proc, requests the home, gallery, models
and generate pages and /metrics, reads VmRSS again, and stops it. Goals: check under 2 s, RSS
after start-up under 150 MB, no torch in the process."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _get(url: str, timeout: float = 30) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    # Production settings refuse to start without Redis; db 15 keeps the probe's keys apart.
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="visionary-footprint-"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "DJANGO_SETTINGS_MODULE": "visionary.settings.production",
        "SECRET_KEY": "footprint-" + "s3cret-" * 8,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": args.database_url or f"sqlite:///{data_dir / 'site.sqlite3'}",
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "VISIONARY_DATA_DIR": str(data_dir),
        "METRICS_REQUIRE_TOKEN": "0",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_FORMAT": "text",
    }
    python = sys.executable
    manage = [python, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    # Production serves static files through the manifest storage: collect them first (into
    # staticfiles/, as a deployment does).
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )

    checks = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        subprocess.run([*manage, "check"], cwd=ROOT, env=env, check=True, capture_output=True)
        checks.append(time.perf_counter() - started)

    started_rss, served_rss, torch_loaded = [], [], []
    for _ in range(args.rounds):
        port = _free_port()
        server = subprocess.Popen(
            [
                python,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "visionary.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if _get(f"{base}/healthz", timeout=2) == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not answer /healthz within 120 s")
                time.sleep(0.2)
            started_rss.append(_rss_mb(server.pid))
            for path in ("/", "/gallery/", "/models/", "/generate/", "/metrics"):
                _get(base + path)
            served_rss.append(_rss_mb(server.pid))
            torch_loaded.append(_maps_torch(server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"manage.py check:          median {statistics.median(checks):.2f} s (goal < 2 s)")
    print(
        f"daphne RSS after start-up: median {statistics.median(started_rss):.0f} MB (goal < 150 MB)"
    )
    print(f"daphne RSS after 5 pages:  median {statistics.median(served_rss):.0f} MB")
    print(f"torch loaded in daphne:    {any(torch_loaded)}")


if __name__ == "__main__":
    main()
