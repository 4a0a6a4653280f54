"""Model cache under a storm: many queued jobs over 12 models, each worker's cache with room for 3.

    .venv/bin/python benchmarks/storm.py [--jobs 500] [--models 12] [--budget-models 3]
                                         [--members 8] [--workers 2] [--zipf 1.1] [--seed 1]

Builds 12 small distinct pipelines locally, registers them in the model hub, queues the same
seeded job mix twice (models by a Zipf-like popularity, members at random) with
``job_submit(..., enqueue=False)`` and drains it with the real fair claim,
``job_claim_next``: once with affinity (each worker passes the versions its cache holds) and once
without (``frozenset()``). Simulated workers take turns, each with its own ModelCache whose byte
budget (measured from the tensors) holds 3 models. Every claimed job really uses its pipeline
(a miss really loads it from disk); the diffusion steps are not run, the job is marked succeeded.
Prints loads, hit rate and peak bytes per tier against the budget for each pass, and the ratio
of loads without affinity to loads with it."""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(data_dir: str, max_queued: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "visionary.settings.embedded"
    os.environ["VISIONARY_DATA_DIR"] = data_dir
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GENERATION_MAX_QUEUED_PER_USER"] = str(max_queued)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass
class Pass:
    affinity: bool
    loads: int = 0
    hits: int = 0
    misses: int = 0
    jobs: int = 0
    ram_peak: int = 0
    accelerator_peak: int = 0
    seconds: float = 0.0
    per_worker_loads: list[int] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--models", type=int, default=12)
    parser.add_argument("--budget-models", type=int, default=3)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--zipf", type=float, default=1.1, help="popularity exponent")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    _setup(tempfile.mkdtemp(prefix="visionary-storm-"), max_queued=args.jobs + 1)

    from django.conf import settings
    from django.utils import timezone

    import generation.services.queue as queue_service
    from accounts.models import User
    from generation.models import GenerationJob
    from generation.services import job_claim_next, job_submit
    from generation.worker.engine.cache import ModelCache, pipeline_nbytes
    from generation.worker.engine.loading import pipeline_load
    from modelhub.models import ModelVersion
    from modelhub.selectors import version_primary_file
    from modelhub.services import model_register_diffusers
    from tools.tiny_pipeline import tiny_pipeline_save

    # Each claim pushes every waiting job its queue position (200 messages); nobody watches
    # here, and those pushes are not what this measures.
    queue_service.queue_positions_publish = lambda limit=200: None

    started = time.perf_counter()
    versions: list[ModelVersion] = []
    for i in range(args.models):
        directory = tiny_pipeline_save(
            Path(settings.MODELS_DIR) / "storm" / f"model-{i:02d}", seed=i, sample_size=64
        )
        versions.append(
            model_register_diffusers(
                name=f"Storm {i:02d}",
                version_name="v1",
                directory=directory,
                base_model=ModelVersion.BaseModel.TINY,
                default_size=64,
                max_size=256,
            )
        )
    paths = {}
    for version in versions:
        model_file = version_primary_file(version=version)
        assert model_file is not None
        paths[version.pk] = model_file.local_path
    model_bytes = pipeline_nbytes(pipeline_load(paths[versions[0].pk]))
    budget = args.budget_models * model_bytes
    members = [
        User.objects.create(username=f"storm{n}", email=f"storm{n}@example.com")
        for n in range(args.members)
    ]
    build_seconds = time.perf_counter() - started

    rng = random.Random(args.seed)
    weights = [1 / (rank + 1) ** args.zipf for rank in range(args.models)]
    plan = [
        (rng.choice(members), rng.choices(versions, weights)[0], rng.randrange(2**31))
        for _ in range(args.jobs)
    ]
    popularity = sorted(
        (sum(1 for _, v, _ in plan if v.pk == version.pk) for version in versions), reverse=True
    )

    def run_pass(affinity: bool) -> Pass:
        GenerationJob.objects.all().delete()
        for user, version, seed in plan:
            job_submit(
                user=user,
                model_version=version,
                prompt=f"storm {seed}",
                seed=seed,
                steps=4,
                enqueue=False,
            )
        caches = [ModelCache(ram_budget_bytes=budget) for _ in range(args.workers)]
        result = Pass(affinity=affinity)
        began = time.perf_counter()
        turn = 0
        while True:
            cache = caches[turn % args.workers]
            worker = f"storm-worker-{turn % args.workers}"
            turn += 1
            held = frozenset(int(key) for key in cache.held_keys()) if affinity else frozenset()
            job = job_claim_next(worker=worker, held_versions=held)
            if job is None:
                break
            path = paths[job.model_version_id]
            with cache.use(
                str(job.model_version_id), lambda path=path: pipeline_load(path)
            ) as pipe:
                assert pipe is not None
            del pipe
            # Never above the budget, checked independently of the cache's own books too.
            assert len(cache.held_keys()) * model_bytes <= budget
            assert cache.stats.ram_bytes <= cache.ram_budget_bytes
            GenerationJob.objects.filter(pk=job.pk).update(
                state=GenerationJob.State.SUCCEEDED,
                progress_step=job.steps,
                finished_at=timezone.now(),
            )
            result.jobs += 1
        result.seconds = time.perf_counter() - began
        for cache in caches:
            stats = cache.stats
            assert stats.ram_peak_bytes <= cache.ram_budget_bytes
            assert stats.accelerator_peak_bytes <= cache.accelerator_budget_bytes
            result.loads += stats.loads
            result.hits += stats.hits
            result.misses += stats.misses
            result.ram_peak = max(result.ram_peak, stats.ram_peak_bytes)
            result.accelerator_peak = max(result.accelerator_peak, stats.accelerator_peak_bytes)
            result.per_worker_loads.append(stats.loads)
        assert result.jobs == args.jobs
        assert not GenerationJob.objects.filter(state=GenerationJob.State.QUEUED).exists()
        return result

    with_affinity = run_pass(affinity=True)
    without = run_pass(affinity=False)

    mb = 1024**2
    print(
        f"storm: {args.jobs} jobs over {args.models} models, {args.members} members, "
        f"{args.workers} workers taking turns (each its own cache)"
    )
    print(f"popularity (jobs per model, Zipf s={args.zipf}, seed {args.seed}): {popularity}")
    print(
        f"model size (measured from tensors) {model_bytes / mb:.2f} MiB; cache budget per worker "
        f"{budget / mb:.2f} MiB = {args.budget_models} models (host RAM; no accelerator tier "
        "on this CPU-only machine: its budget is 0)"
    )
    print(
        "each claimed job uses its pipeline (a miss really loads it from disk); "
        "diffusion steps are not run, the job is marked succeeded"
    )
    print(f"setup (build + register {args.models} pipelines): {build_seconds:.1f} s")
    print(f"{'':34}{'with affinity':>15}{'without':>15}")
    rows = [
        ("jobs drained", lambda p: f"{p.jobs}"),
        ("model loads (all workers)", lambda p: f"{p.loads}"),
        ("  per worker", lambda p: "/".join(str(n) for n in p.per_worker_loads)),
        ("cache hits", lambda p: f"{p.hits}"),
        ("hit rate", lambda p: f"{p.hits / (p.hits + p.misses):.1%}"),
        ("peak RAM held (MiB)", lambda p: f"{p.ram_peak / mb:.2f}"),
        ("RAM budget (MiB)", lambda p: f"{budget / mb:.2f}"),
        ("peak accelerator held / budget", lambda p: f"{p.accelerator_peak} / 0"),
        ("wall time of the drain (s)", lambda p: f"{p.seconds:.1f}"),
    ]
    for label, cell in rows:
        print(f"{label:34}{cell(with_affinity):>15}{cell(without):>15}")
    print("peak bytes never above the budget: checked after every use and inside the cache")
    print(f"loads without / with affinity: {without.loads / max(with_affinity.loads, 1):.2f}")


if __name__ == "__main__":
    main()
