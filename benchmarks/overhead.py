"""Platform overhead: submit -> "done" through the job WebSocket consumer, against calling the same
cached pipeline directly with the same parameters. Embedded mode, one process, this machine.

    .venv/bin/python benchmarks/overhead.py [--jobs 10] [--steps 20] [--size 128]

Prints the median wall time of each path and their ratio (goal <= 1.10). The WebSocket side runs
the real consumer through channels' in-process ASGI communicator (no TCP socket) and the real
embedded Celery worker thread, queue and channel layer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(data_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "visionary.settings.embedded"
    os.environ["VISIONARY_DATA_DIR"] = data_dir
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("bootstrap", "--no-demo", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()

    _setup(tempfile.mkdtemp(prefix="visionary-bench-"))

    from channels.db import database_sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from accounts.models import User
    from generation.routing import websocket_urlpatterns
    from generation.services import job_submit
    from generation.worker.engine.runner import TextToImage, text_to_image
    from generation.worker.runtime import model_cache_use
    from modelhub.selectors import version_default, version_primary_file
    from visionary.embedded_worker import embedded_worker_start, embedded_worker_stop

    embedded_worker_start()
    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    version = version_default()
    assert version is not None
    model_file = version_primary_file(version=version)
    assert model_file is not None
    app = URLRouter(websocket_urlpatterns)
    prompt = "a red circle on a blue background"

    async def through_socket(seed: int) -> float:
        started = time.perf_counter()
        job = await database_sync_to_async(job_submit)(
            user=user,
            model_version=version,
            prompt=prompt,
            seed=seed,
            steps=args.steps,
            width=args.size,
            height=args.size,
        )
        communicator = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/")
        communicator.scope["user"] = user
        await communicator.connect()
        while True:
            message = await communicator.receive_json_from(timeout=120)
            if message["type"] in {"done", "error"}:
                break
        elapsed = time.perf_counter() - started
        await communicator.disconnect()
        if message["type"] != "done":
            raise SystemExit(f"job failed: {message}")
        return elapsed

    def direct(seed: int) -> float:
        started = time.perf_counter()
        with model_cache_use(model_file, width=args.size, height=args.size, batch=1) as pipe:
            text_to_image(
                pipe,
                TextToImage(
                    prompt=prompt,
                    negative_prompt="",
                    steps=args.steps,
                    cfg_scale=7.0,
                    width=args.size,
                    height=args.size,
                    sampler="Euler a",
                    seed=seed,
                ),
            )
        return time.perf_counter() - started

    # Warm both paths (model load, first scheduler build), then alternate them.
    asyncio.run(through_socket(0))
    direct(0)
    platform, baseline = [], []
    for i in range(1, args.jobs + 1):
        platform.append(asyncio.run(through_socket(i)))
        baseline.append(direct(i))
    embedded_worker_stop()

    p, b = statistics.median(platform), statistics.median(baseline)
    print(f"jobs={args.jobs} steps={args.steps} size={args.size}px")
    print(f"direct pipeline call      median {b * 1000:8.1f} ms")
    print(f"submit -> done over WS    median {p * 1000:8.1f} ms")
    print(f"overhead ratio (goal <= 1.10): {p / b:.3f}")


if __name__ == "__main__":
    main()
