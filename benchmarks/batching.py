"""Batching: throughput of 8 concurrent compatible jobs from 8 members, collated into shared
pipeline calls, against the same jobs run one call each (GENERATION_BATCH_MAX_IMAGES=1).
Embedded settings, the real queue (claim, companions, progress, storage); the worker's task body
(job_run) is called in a loop until the queue is empty, as a worker does per wake-up.

    .venv/bin/python benchmarks/batching.py [--jobs 8] [--steps 20] [--size 128] [--rounds 5]

Prints the median seconds to finish all jobs each way, throughput, and the ratio (goal >= 2).
Rounds alternate which way runs first, so a slow moment of the machine hits both."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.overhead import _setup  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    _setup(tempfile.mkdtemp(prefix="visionary-bench-"))

    from django.test import override_settings

    from accounts.models import User
    from generation.models import GenerationJob
    from generation.services import job_submit
    from generation.worker.execute import job_run
    from generation.worker.runtime import model_cache_use
    from modelhub.selectors import version_default, version_primary_file

    version = version_default()
    assert version is not None
    model_file = version_primary_file(version=version)
    assert model_file is not None
    with model_cache_use(model_file, width=args.size, height=args.size, batch=1):
        pass  # both ways start warm
    members = [
        User.objects.get_or_create(username=f"bench{n}", defaults={"email": f"b{n}@example.com"})[0]
        for n in range(args.jobs)
    ]
    seed = 0

    def drain(max_images: int) -> tuple[float, int]:
        nonlocal seed
        for n, member in enumerate(members):
            seed += 1
            job_submit(
                user=member,
                model_version=version,
                prompt=f"a red circle on a blue background, number {n}",
                seed=seed,  # distinct seeds: never answered from the result cache
                steps=args.steps,
                width=args.size,
                height=args.size,
                enqueue=False,
            )
        calls = 0
        started = time.perf_counter()
        with override_settings(GENERATION_BATCH_MAX_IMAGES=max_images):
            while job_run(worker="bench"):
                calls += 1
        elapsed = time.perf_counter() - started
        assert not GenerationJob.objects.filter(state=GenerationJob.State.QUEUED).exists()
        return elapsed, calls

    drain(args.jobs)  # warm-up: first calls pay one-off costs
    batched: list[float] = []
    single: list[float] = []
    calls_batched = calls_single = 0
    for round_ in range(args.rounds):
        order = [(args.jobs, batched), (1, single)]
        for max_images, times in order if round_ % 2 == 0 else reversed(order):
            elapsed, calls = drain(max_images)
            times.append(elapsed)
            if max_images == 1:
                calls_single = calls
            else:
                calls_batched = calls
    failed = GenerationJob.objects.exclude(state=GenerationJob.State.SUCCEEDED).count()
    b, s = statistics.median(batched), statistics.median(single)
    print(f"{args.jobs} jobs from {args.jobs} members, {args.steps} steps, {args.size} px, "
          f"median of {args.rounds} rounds")  # fmt: skip
    print(f"batched (max {args.jobs} pictures/call): {b:.2f} s in {calls_batched} call(s), "
          f"{args.jobs / b:.2f} jobs/s")  # fmt: skip
    print(f"one call per job:              {s:.2f} s in {calls_single} calls, "
          f"{args.jobs / s:.2f} jobs/s")  # fmt: skip
    print("rounds (s), batched: " + ", ".join(f"{t:.2f}" for t in batched))
    print("rounds (s), single:  " + ", ".join(f"{t:.2f}" for t in single))
    print(f"throughput ratio batched/single: {s / b:.2f}x (goal >= 2)")
    if failed:
        print(f"WARNING: {failed} job(s) did not succeed")


if __name__ == "__main__":
    main()
