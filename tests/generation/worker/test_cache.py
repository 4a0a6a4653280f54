"""The two-tier model cache: LRU bounded by measured bytes, accelerator -> RAM -> dropped.

This machine has no accelerator. These tests hand the cache their own ``move``: the tensors stay on
the CPU but each stand-in pipeline records the tier it was moved to, and every move checks the
budgets at that instant (both copies exist while a pipeline moves). In production the cache moves
pipelines with the real ``pipe.to(device)``."""

from __future__ import annotations

import logging
import random
import threading
import weakref

import pytest
import torch

from generation.worker.engine.cache import (
    ACCELERATOR,
    RAM,
    ModelCache,
    ModelCacheBusy,
    ModelTooLarge,
    pipeline_nbytes,
)

GPU = "cuda"  # only a name here: ``TierMover`` never touches a device


class TierPipe:
    """A stand-in for a diffusers pipeline: one real torch module of ``nbytes`` and the device
    the cache last moved it to."""

    def __init__(self, name: str, nbytes: int) -> None:
        assert nbytes % 4 == 0
        self.name = name
        self.components = {"unet": torch.nn.Linear(nbytes // 4, 1, bias=False)}  # float32
        self.device = "cpu"


class TierMover:
    """The test ``move``: records moves and checks, at the instant of each one, that the cache
    has already counted the pipeline on its destination and that no tier is over budget."""

    def __init__(self) -> None:
        self.cache: ModelCache | None = None
        self.moves: list[tuple[str, str]] = []
        self.live: weakref.WeakSet[TierPipe] = weakref.WeakSet()

    def load(self, name: str, nbytes: int) -> TierPipe:
        pipe = TierPipe(name, nbytes)
        self.live.add(pipe)
        return pipe

    def physical_bytes(self, device: str) -> int:
        return sum(pipeline_nbytes(p) for p in list(self.live) if p.device == device)

    def check_budgets(self) -> None:
        cache = self.cache
        assert cache is not None
        stats = cache.stats
        assert 0 <= stats.accelerator_bytes <= cache.accelerator_budget_bytes
        assert 0 <= stats.ram_bytes <= cache.ram_budget_bytes
        # Working memory of running calls shares each budget with the models.
        accelerator_used = stats.accelerator_bytes + stats.accelerator_working_bytes
        assert accelerator_used <= cache.accelerator_budget_bytes
        assert stats.ram_bytes + stats.ram_working_bytes <= cache.ram_budget_bytes
        # Nothing lives on a tier without being counted there.
        assert self.physical_bytes(GPU) <= stats.accelerator_bytes
        assert self.physical_bytes("cpu") <= stats.ram_bytes

    def __call__(self, pipe: TierPipe, device: str) -> TierPipe:
        cache = self.cache
        assert cache is not None
        self.check_budgets()
        counted = cache.stats.accelerator_bytes if device == GPU else cache.stats.ram_bytes
        # While it moves, the pipeline occupies its destination as well as its source.
        assert self.physical_bytes(device) + pipeline_nbytes(pipe) <= counted
        self.moves.append((pipe.name, device))
        pipe.device = device
        return pipe


def two_tier(*, accelerator: int, ram: int) -> tuple[ModelCache, TierMover]:
    mover = TierMover()
    cache = ModelCache(
        ram_budget_bytes=ram,
        accelerator_budget_bytes=accelerator,
        accelerator_device=GPU,
        move=mover,
    )
    mover.cache = cache
    return cache, mover


def get(cache: ModelCache, mover: TierMover, name: str, nbytes: int = 40) -> str:
    """Use ``name`` and return the device it was ready on (holding no reference to it)."""
    with cache.use(name, lambda: mover.load(name, nbytes)) as pipe:
        device: str = pipe.device
    mover.check_budgets()
    return device


def tiers(cache: ModelCache) -> dict[str, str | None]:
    return {key: cache.tier_of(key) for key in cache.held_keys()}


def test_used_models_are_ready_on_the_accelerator():
    cache, mover = two_tier(accelerator=80, ram=120)
    assert get(cache, mover, "a") == GPU
    assert cache.tier_of("a") == ACCELERATOR
    assert mover.moves == [("a", GPU)]


def test_held_keys_are_in_least_recently_used_order_across_tiers():
    cache, mover = two_tier(accelerator=80, ram=120)
    for name in ("a", "b", "c", "a", "d", "b"):
        get(cache, mover, name)
    assert cache.held_keys() == ["c", "a", "d", "b"]
    assert tiers(cache) == {"c": RAM, "a": RAM, "d": ACCELERATOR, "b": ACCELERATOR}


def test_eviction_goes_accelerator_then_ram_then_dropped():
    cache, mover = two_tier(accelerator=80, ram=120)  # two models up, three down (one loading)
    get(cache, mover, "a")
    get(cache, mover, "b")
    get(cache, mover, "c")  # a comes down to RAM
    assert tiers(cache) == {"a": RAM, "b": ACCELERATOR, "c": ACCELERATOR}
    get(cache, mover, "d")  # b comes down; RAM holds a, b (and had room for d while it loaded)
    assert tiers(cache) == {"a": RAM, "b": RAM, "c": ACCELERATOR, "d": ACCELERATOR}
    get(cache, mover, "e")  # c comes down to RAM, which drops a, its least recently used
    assert tiers(cache) == {"b": RAM, "c": RAM, "d": ACCELERATOR, "e": ACCELERATOR}
    assert mover.moves == [
        ("a", GPU),
        ("b", GPU),
        ("a", "cpu"),
        ("c", GPU),
        ("b", "cpu"),
        ("d", GPU),
        ("c", "cpu"),
        ("e", GPU),
    ]
    assert (cache.stats.demotions, cache.stats.drops) == (3, 1)


def test_a_hit_in_ram_promotes_the_model_to_the_accelerator():
    cache, mover = two_tier(accelerator=80, ram=120)
    for name in ("a", "b", "c"):
        get(cache, mover, name)
    assert cache.tier_of("a") == RAM
    assert get(cache, mover, "a") == GPU  # b, least recently used there, makes room
    assert tiers(cache) == {"b": RAM, "c": ACCELERATOR, "a": ACCELERATOR}
    assert mover.moves[-2:] == [("b", "cpu"), ("a", GPU)]
    assert (cache.stats.ram_hits, cache.stats.accelerator_hits, cache.stats.promotions) == (1, 0, 1)


def test_a_model_demoted_when_ram_holds_only_newer_ones_is_dropped_instead():
    cache, mover = two_tier(accelerator=40, ram=120)
    get(cache, mover, "big-for-gpu", 60)  # runs from RAM: larger than the accelerator budget
    get(cache, mover, "a")
    get(cache, mover, "big-for-gpu", 60)  # used after a
    get(cache, mover, "b")  # a must leave the accelerator; RAM would have to drop a newer model
    assert tiers(cache) == {"big-for-gpu": RAM, "b": ACCELERATOR}
    assert (cache.stats.demotions, cache.stats.drops) == (0, 1)


def test_per_tier_budgets_hold_under_a_random_mix_of_requests():
    rng = random.Random(11)
    sizes = {f"m{i}": 4 * rng.randint(10, 120) for i in range(12)}  # 40..480 bytes
    cache, mover = two_tier(accelerator=400, ram=600)
    for _ in range(300):
        name = rng.choice(list(sizes))
        device = get(cache, mover, name, sizes[name])
        assert device == (GPU if sizes[name] <= 400 else "cpu")
    stats = cache.stats
    assert stats.accelerator_peak_bytes <= 400
    assert stats.ram_peak_bytes <= 600
    assert stats.hits + stats.misses == 300
    assert stats.demotions > 0 and stats.drops > 0 and stats.ram_hits > 0
    assert len(mover.moves) > 100  # each one checked the budgets at its instant
    held = {key: (cache.tier_of(key), sizes[key]) for key in cache.held_keys()}
    assert stats.accelerator_bytes == sum(n for tier, n in held.values() if tier == ACCELERATOR)
    assert stats.ram_bytes == sum(n for tier, n in held.values() if tier == RAM)


def test_model_too_large_for_the_accelerator_runs_from_ram(caplog):
    cache, mover = two_tier(accelerator=40, ram=200)
    with caplog.at_level(logging.WARNING, logger="generation.worker.engine.cache"):
        assert get(cache, mover, "big", 100) == "cpu"
    assert cache.tier_of("big") == RAM
    assert "larger than the accelerator budget" in caplog.text
    assert mover.moves == []


def test_model_larger_than_every_budget_fails_with_a_clear_message():
    cache, mover = two_tier(accelerator=2048, ram=1024)
    get(cache, mover, "small")
    with pytest.raises(ModelTooLarge) as raised:
        get(cache, mover, "huge", 4096)
    message = str(raised.value)
    assert "the model needs 4.0 KiB" in message
    assert "cache budget for host RAM" in message and "1.0 KiB" in message
    assert "accelerator: 2.0 KiB" in message
    assert "huge" not in cache and "small" in cache
    assert cache.stats.bytes_held == 40


def test_model_larger_than_ram_fails_even_if_the_accelerator_could_hold_it():
    # Loads read into host RAM first: the RAM budget could not hold it for that instant.
    cache, mover = two_tier(accelerator=4096, ram=1024)
    with pytest.raises(ModelTooLarge, match="loaded through"):
        get(cache, mover, "huge", 2048)
    assert cache.stats.bytes_held == 0


def test_stats_count_hits_per_tier_misses_loads_and_evictions():
    cache, mover = two_tier(accelerator=80, ram=120)
    for name in ("a", "b", "a", "c", "d", "e", "b", "e", "c"):
        get(cache, mover, name)
    s = cache.stats
    assert (s.accelerator_hits, s.ram_hits, s.hits) == (2, 1, 3)
    assert (s.misses, s.loads) == (6, 6)
    assert (s.promotions, s.demotions, s.drops, s.evictions) == (1, 5, 2, 7)
    assert (s.accelerator_bytes, s.ram_bytes, s.bytes_held) == (80, 80, 160)
    assert s.accelerator_peak_bytes == 80 and s.ram_peak_bytes == 120
    snapshot = cache.stats_snapshot()
    assert snapshot["hits"] == 3 and snapshot["evictions"] == 7
    assert snapshot["accelerator_models"] == 2 and snapshot["ram_models"] == 2
    assert snapshot["models"] == 4 and snapshot["accelerator_device"] == GPU
    assert snapshot["budget_bytes"] == 200


def test_threads_acquiring_at_once_keep_the_books_straight():
    rng = random.Random(3)
    sizes = {f"m{i}": 4 * rng.randint(10, 40) for i in range(8)}
    cache, mover = two_tier(accelerator=300, ram=400)
    errors: list[BaseException] = []

    busy = 0

    def work(seed: int) -> None:
        nonlocal busy
        local = random.Random(seed)
        try:
            for _ in range(60):
                name = local.choice(list(sizes))
                while True:
                    try:
                        get(cache, mover, name, sizes[name])
                        break
                    except ModelCacheBusy:
                        # The other threads' calls pin every model in the way at this instant:
                        # the call is refused, nothing moves; try again as a worker's job would.
                        busy += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = cache.stats
    assert stats.hits + stats.misses >= 240
    assert stats.accelerator_peak_bytes <= 300 and stats.ram_peak_bytes <= 400
    assert stats.bytes_held == sum(sizes[key] for key in cache.held_keys())


class Sized:
    def __init__(self, size: int) -> None:
        self.size = size


def test_without_an_accelerator_it_is_a_single_lru_in_ram():
    moves: list[str] = []

    def move(pipe: Sized, device: str) -> Sized:
        moves.append(device)
        return pipe

    def measure(pipe: Sized) -> int:
        return pipe.size

    for cache in (
        ModelCache(ram_budget_bytes=100, measure=measure, move=move),
        ModelCache(
            ram_budget_bytes=100,
            accelerator_budget_bytes=100,
            accelerator_device="cpu",
            measure=measure,
            move=move,
        ),
        ModelCache(ram_budget_bytes=100, accelerator_device=GPU, measure=measure, move=move),
    ):
        assert cache.accelerator_device is None and cache.budget_bytes == 100
        for key in ("a", "b", "a", "c"):
            with cache.use(key, lambda: Sized(40)):
                pass
        assert cache.held_keys() == ["a", "c"]
        assert {cache.tier_of(key) for key in cache.held_keys()} == {RAM}
        assert (cache.stats.hits, cache.stats.misses, cache.stats.evictions) == (1, 3, 1)
        assert cache.stats.bytes_held == cache.stats.ram_bytes == 80
        with (
            pytest.raises(ModelTooLarge, match="cache budget is 100 bytes"),
            cache.use("big", lambda: Sized(101)),
        ):
            pass
    assert moves == []


def test_real_pipeline_is_measured_and_moved_on_the_cpu(tiny_model_dir):
    from generation.worker.engine.loading import pipeline_load

    cache = ModelCache(ram_budget_bytes=1024**3)
    with cache.use("tiny", lambda: pipeline_load(tiny_model_dir)) as pipe:
        assert cache.stats.ram_bytes == pipeline_nbytes(pipe) > 0
        assert pipe.unet.device.type == "cpu"


@pytest.fixture
def fresh_worker_cache():
    from generation.worker import runtime as worker

    worker.model_cache.cache_clear()
    yield worker
    worker.model_cache.cache_clear()


def _cuda_of(monkeypatch, total: int) -> None:
    properties = type("Properties", (), {"total_memory": total})()
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: properties)


def test_worker_cache_on_cuda_takes_the_device_less_a_safety_margin_by_default(
    fresh_worker_cache, settings, monkeypatch
):
    settings.GENERATION_DEVICE = "cuda"
    settings.MODEL_CACHE_GPU_BYTES = 0
    settings.MODEL_CACHE_RAM_BYTES = 4096
    _cuda_of(monkeypatch, 10 * 1024**3)
    cache = fresh_worker_cache.model_cache()
    assert cache.accelerator_device == "cuda"
    # Working memory is reserved per call inside the budget: only CUDA's own share stays out.
    assert cache.accelerator_budget_bytes == 8 * 1024**3
    assert fresh_worker_cache.CUDA_SAFETY_MARGIN_BYTES == 2 * 1024**3
    assert cache.ram_budget_bytes == 4096
    fresh_worker_cache.model_cache.cache_clear()
    _cuda_of(monkeypatch, 80 * 1024**3)
    assert fresh_worker_cache.model_cache().accelerator_budget_bytes == 78 * 1024**3


def test_worker_cache_on_a_device_smaller_than_the_margin_needs_its_budget(
    fresh_worker_cache, settings, monkeypatch
):
    from django.core.exceptions import ImproperlyConfigured

    settings.GENERATION_DEVICE = "cuda"
    settings.MODEL_CACHE_GPU_BYTES = 0
    _cuda_of(monkeypatch, 2 * 1024**3)
    with pytest.raises(ImproperlyConfigured, match="MODEL_CACHE_GPU_BYTES"):
        fresh_worker_cache.model_cache()


def test_worker_cache_follows_the_budget_settings(fresh_worker_cache, settings):
    settings.GENERATION_DEVICE = "cuda:1"
    settings.MODEL_CACHE_GPU_BYTES = 2048
    settings.MODEL_CACHE_RAM_BYTES = 4096
    cache = fresh_worker_cache.model_cache()
    assert (cache.accelerator_device, cache.accelerator_budget_bytes) == ("cuda:1", 2048)
    fresh_worker_cache.model_cache.cache_clear()
    settings.GENERATION_DEVICE = "cpu"
    cache = fresh_worker_cache.model_cache()
    assert (cache.accelerator_device, cache.budget_bytes) == (None, 4096)


def test_worker_cache_on_another_accelerator_needs_its_budget(fresh_worker_cache, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.GENERATION_DEVICE = "mps"
    settings.MODEL_CACHE_GPU_BYTES = 0
    with pytest.raises(ImproperlyConfigured, match="MODEL_CACHE_GPU_BYTES"):
        fresh_worker_cache.model_cache()


@pytest.mark.django_db
def test_admin_job_list_shows_both_tiers_of_each_worker(client, monkeypatch):
    from generation import worker_stats
    from generation.worker import runtime as worker
    from tests.accounts.factories import UserFactory

    cache, mover = two_tier(accelerator=80, ram=120)
    for name in ("a", "b", "c", "c"):
        get(cache, mover, name)
    monkeypatch.setattr(worker, "model_cache", lambda: cache)
    worker.model_cache_stats_publish()
    (published,) = worker_stats.model_cache_stats_all()
    assert published["accelerator_hits"] == 1 and published["ram_models"] == 1
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get("/admin/generation/generationjob/").content.decode()
    assert "Host RAM" in html and "Moved to RAM" in html
    assert "80\xa0bytes (cuda)" in html  # the accelerator budget and its device
