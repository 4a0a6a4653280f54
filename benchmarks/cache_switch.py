"""Model cache: switching to a model the worker already holds vs loading it cold from disk.

    .venv/bin/python benchmarks/cache_switch.py [--rounds 20]

Builds two tiny pipelines locally, then alternates between them through the real ModelCache
(byte budget large enough for both): cold = first use (load from disk), warm = every later
switch. Prints medians and the ratio (goal <= 0.02)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from generation.worker.engine.cache import ModelCache
    from generation.worker.engine.loading import pipeline_load
    from tools.tiny_pipeline import tiny_pipeline_save

    root = Path(tempfile.mkdtemp(prefix="visionary-cache-bench-"))
    dirs = [tiny_pipeline_save(root / f"model-{i}", seed=i) for i in range(2)]

    cold: list[float] = []
    for _ in range(args.rounds):
        cache = ModelCache(ram_budget_bytes=1024**3)
        for i, directory in enumerate(dirs):
            started = time.perf_counter()
            with cache.use(str(i), lambda d=directory: pipeline_load(d)):
                pass
            cold.append(time.perf_counter() - started)

    warm: list[float] = []
    for n in range(args.rounds * 10):
        key = str(n % 2)
        started = time.perf_counter()
        with cache.use(key, lambda: pipeline_load(dirs[0])):
            pass
        warm.append(time.perf_counter() - started)
    assert cache.stats.misses == 2 and cache.stats.evictions == 0

    c, w = statistics.median(cold), statistics.median(warm)
    print(f"cold load (disk -> RAM)   median {c * 1000:9.3f} ms  ({len(cold)} loads)")
    print(f"warm switch (held)        median {w * 1000:9.3f} ms  ({len(warm)} switches)")
    print(f"warm / cold ratio (goal <= 0.02): {w / c:.6f}")


if __name__ == "__main__":
    main()
