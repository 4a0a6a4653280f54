"""``ModelCache.use``: a model is pinned on its tier while a call runs it, and the call's working
memory is reserved beside it from the same budget; the working-memory estimate; the worker's
``model_cache_use``. Stand-in pipelines and moves as in test_cache (no accelerator here)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from generation.worker.engine.cache import (
    ACCELERATOR,
    RAM,
    ModelCache,
    ModelCacheBusy,
    ModelTooLarge,
    WorkingMemoryTooLarge,
    pipeline_nbytes,
)
from generation.worker.engine.memory import working_memory_bytes
from tests.generation.worker.test_cache import GPU, TierMover, get, tiers, two_tier

MiB = 1024**2


def use(cache: ModelCache, mover: TierMover, name: str, nbytes: int = 40, working: int = 0):
    return cache.use(name, lambda: mover.load(name, nbytes), working_bytes=working)


def assert_within_budgets(cache: ModelCache) -> None:
    stats = cache.stats
    assert stats.accelerator_peak_bytes <= cache.accelerator_budget_bytes
    assert stats.ram_peak_bytes <= cache.ram_budget_bytes


def test_a_pinned_model_is_not_evicted_or_moved_while_another_thread_needs_its_room():
    cache, mover = two_tier(accelerator=80, ram=120)
    inside, leave = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    seen_by_b: dict[str, object] = {}

    def thread_a() -> None:
        try:
            with use(cache, mover, "x") as pipe:
                inside.set()
                assert leave.wait(10)
                assert pipe.device == GPU  # where it was when the call began
        except BaseException as exc:
            errors.append(exc)

    def thread_b() -> None:
        # x is the accelerator's least recently used model: unpinned, each of these evicts it.
        try:
            for name in ("a", "b", "c"):
                get(cache, mover, name)
                seen_by_b[f"x after {name}"] = cache.tier_of("x")
            # d needs all 80 bytes of the accelerator; x holds 40 of them.
            busy = pytest.raises(ModelCacheBusy, match="other calls are running")
            with busy, use(cache, mover, "d", working=40):
                pass
            with use(cache, mover, "x") as shared:  # the same model, a second call
                seen_by_b["pins"] = cache.pins_of("x")
                seen_by_b["shared device"] = shared.device
            seen_by_b["pins after"] = cache.pins_of("x")
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=thread_a)
    a.start()
    assert inside.wait(10)
    b = threading.Thread(target=thread_b)
    b.start()
    b.join(10)
    assert not b.is_alive()
    assert seen_by_b == {
        "x after a": ACCELERATOR,
        "x after b": ACCELERATOR,
        "x after c": ACCELERATOR,
        "pins": 2,
        "shared device": GPU,
        "pins after": 1,
    }
    assert [move for move in mover.moves if move[0] == "x"] == [("x", GPU)]
    assert tiers(cache)["x"] == ACCELERATOR and cache.stats.demotions == 2  # a, then b
    leave.set()
    a.join(10)
    assert errors == []
    assert cache.pins_of("x") == 0
    # Released, x is evictable again: a call needing the whole accelerator moves it down.
    with use(cache, mover, "d", working=40):
        assert cache.tier_of("x") == RAM
    assert mover.moves[-3:] == [("c", "cpu"), ("x", "cpu"), ("d", GPU)]
    assert cache.stats.working_bytes == 0
    assert_within_budgets(cache)


def test_pins_are_counted_and_the_model_moves_only_after_the_last_call_ends():
    cache, mover = two_tier(accelerator=40, ram=120)
    with use(cache, mover, "x"):
        with use(cache, mover, "x"):
            assert cache.pins_of("x") == 2
        assert cache.pins_of("x") == 1
        with pytest.raises(ModelCacheBusy):
            get(cache, mover, "y")  # the accelerator holds only x, still running
        assert cache.tier_of("x") == ACCELERATOR and cache.tier_of("y") == RAM
    assert cache.pins_of("x") == 0
    assert get(cache, mover, "y") == GPU
    assert tiers(cache) == {"x": RAM, "y": ACCELERATOR}


def test_working_memory_evicts_other_models_and_is_given_back_after_the_call():
    cache, mover = two_tier(accelerator=120, ram=200)
    for name in ("a", "b", "c"):
        get(cache, mover, name)
    with use(cache, mover, "c", working=40):
        assert tiers(cache) == {"a": RAM, "b": ACCELERATOR, "c": ACCELERATOR}
        assert cache.stats.accelerator_working_bytes == 40
        assert cache.stats.accelerator_bytes == 80
        assert cache.stats_snapshot()["working_bytes"] == 40
        assert cache.stats_snapshot()["pinned_models"] == 1
    assert cache.stats.accelerator_working_bytes == 0
    assert cache.stats.accelerator_peak_bytes == 120
    assert get(cache, mover, "a") == GPU  # the room is the models' again: nothing moves down
    assert tiers(cache) == {"b": ACCELERATOR, "c": ACCELERATOR, "a": ACCELERATOR}


def test_a_ram_hit_promoted_for_a_call_makes_room_for_its_working_memory_first():
    cache, mover = two_tier(accelerator=120, ram=200)
    for name in ("a", "b", "c", "d"):  # a comes down to RAM
        get(cache, mover, name)
    with use(cache, mover, "a", working=40):
        assert tiers(cache) == {"b": RAM, "c": RAM, "d": ACCELERATOR, "a": ACCELERATOR}
    assert mover.moves[-3:] == [("b", "cpu"), ("c", "cpu"), ("a", GPU)]
    assert_within_budgets(cache)


def test_working_memory_is_reserved_on_the_tier_the_model_runs_on():
    cache, mover = two_tier(accelerator=40, ram=200)
    with use(cache, mover, "big", nbytes=80, working=60):  # too big for the accelerator
        assert cache.tier_of("big") == RAM
        assert (cache.stats.ram_working_bytes, cache.stats.accelerator_working_bytes) == (60, 0)
    assert cache.stats.working_bytes == 0


def test_working_bytes_may_be_computed_from_the_pipeline_and_its_measured_bytes():
    cache, mover = two_tier(accelerator=400, ram=400)
    asked: list[tuple[str, int]] = []

    def working(pipe, model_bytes: int) -> int:
        asked.append((pipe.name, model_bytes))
        return model_bytes // 2

    with cache.use("a", lambda: mover.load("a", 80), working_bytes=working):
        assert cache.stats.accelerator_working_bytes == 40
    assert asked == [("a", 80)]


def test_a_call_larger_than_the_budget_fails_clearly_and_keeps_the_model():
    cache, mover = two_tier(accelerator=1024, ram=4096)
    too_large = pytest.raises(WorkingMemoryTooLarge)
    with too_large as raised, use(cache, mover, "a", nbytes=512, working=1024):
        pass
    assert isinstance(raised.value, ModelTooLarge)  # shown to the member as it is
    message = str(raised.value)
    assert "about 1.0 KiB of working memory" in message and "512 bytes" in message
    assert "accelerator budget of 1.0 KiB" in message and "smaller size" in message
    assert cache.tier_of("a") == RAM and cache.pins_of("a") == 0
    assert cache.stats.working_bytes == 0


def test_a_load_that_pinned_models_leave_no_room_for_fails_and_frees_it():
    cache = ModelCache(ram_budget_bytes=100, measure=lambda pipe: 40, move=lambda p, d: p)
    loaded: list[weakref.ref[object]] = []

    def load() -> object:
        pipe = type("Pipe", (), {})()
        loaded.append(weakref.ref(pipe))
        return pipe

    with cache.use("a", load), cache.use("b", load):
        with pytest.raises(ModelCacheBusy, match="host RAM"), cache.use("c", load):
            pass
        assert cache.held_keys() == ["a", "b"]
        gc.collect()
        assert loaded[2]() is None
    with cache.use("c", load):
        pass
    assert cache.held_keys() == ["b", "c"]


def test_a_failing_call_gives_back_its_pin_and_working_memory():
    cache, mover = two_tier(accelerator=80, ram=120)
    with pytest.raises(RuntimeError, match="out of memory"), use(cache, mover, "a", working=40):
        raise RuntimeError("out of memory")
    assert cache.pins_of("a") == 0 and cache.stats.working_bytes == 0


# --- the estimate ---------------------------------------------------------------------------


def test_working_memory_grows_with_picture_area_and_batch():
    one = working_memory_bytes(model_bytes=0, width=512, height=512, batch=1, dtype_bytes=2)
    assert working_memory_bytes(
        model_bytes=0, width=1024, height=1024, batch=1, dtype_bytes=2
    ) == pytest.approx(4 * one, rel=1e-6)
    assert working_memory_bytes(
        model_bytes=0, width=512, height=512, batch=8, dtype_bytes=2
    ) == pytest.approx(8 * one, rel=1e-6)


def test_working_memory_counts_the_vae_in_the_dtype_it_decodes_in():
    fp16 = working_memory_bytes(model_bytes=0, width=1024, height=1024, batch=1, dtype_bytes=2)
    upcast = working_memory_bytes(
        model_bytes=0, width=1024, height=1024, batch=1, dtype_bytes=2, vae_dtype_bytes=4
    )
    assert upcast == 2 * fp16  # the VAE decode is the larger part
    fp32 = working_memory_bytes(model_bytes=0, width=1024, height=1024, batch=1, dtype_bytes=4)
    assert fp32 == upcast


def test_working_memory_includes_a_share_of_the_weights():
    base = working_memory_bytes(model_bytes=0, width=64, height=64, batch=1, dtype_bytes=4)
    with_model = working_memory_bytes(
        model_bytes=2 * 1024**3, width=64, height=64, batch=1, dtype_bytes=4
    )
    assert with_model - base == pytest.approx(0.05 * 2 * 1024**3, abs=1)


# SD 1.5's modules in fp32: UNet, VAE, text encoder (bytes of their parameters).
SD15_FP32_BYTES = 3_438_167_424 + 334_643_276 + 492_265_864


@pytest.mark.parametrize(
    ("part", "size", "dtype_bytes", "measured_mib"),
    [
        # Peak memory above the resident module while it ran once: SD 1.5's shipped configs,
        # random weights, on this CPU (torch 2.13, glibc's mmap threshold pinned at 128 KiB).
        ("vae decode", 384, 4, 556.4),
        ("vae decode", 512, 4, 976.4),
        ("vae decode", 512, 2, 532.0),
        ("unet, cfg", 512, 4, 297.9),
    ],
)
def test_working_memory_covers_each_part_measured_here(part, size, dtype_bytes, measured_mib):
    estimate = working_memory_bytes(
        model_bytes=SD15_FP32_BYTES * dtype_bytes // 4,
        width=size,
        height=size,
        batch=1,
        dtype_bytes=dtype_bytes,
    )
    assert estimate > measured_mib * MiB
    if part == "vae decode":  # the largest part: an estimate, not a blanket over-reservation
        assert estimate < 2 * measured_mib * MiB


def test_working_memory_of_sdxl_at_1024_in_fp16_is_gigabytes():
    # SDXL base 1.0 in fp16 (~6.9 GB), its VAE decoding in fp32: about 5.3 GiB per picture.
    sdxl = working_memory_bytes(
        model_bytes=6_938_000_000,
        width=1024,
        height=1024,
        batch=1,
        dtype_bytes=2,
        vae_dtype_bytes=4,
    )
    assert 5 * 1024**3 < sdxl < 6 * 1024**3


# --- the worker's cache ---------------------------------------------------------------------


@pytest.fixture
def worker_runtime():
    from generation.worker import runtime

    runtime.model_cache.cache_clear()
    runtime.model_dtype.cache_clear()
    yield runtime
    runtime.model_cache.cache_clear()
    runtime.model_dtype.cache_clear()


@pytest.mark.django_db
def test_a_job_call_pins_its_model_with_working_memory_for_its_pictures(
    worker_runtime, tiny_version, settings
):
    from generation import worker_stats
    from modelhub.selectors import version_primary_file

    settings.GENERATION_DEVICE = "cpu"
    settings.GENERATION_DTYPE = "auto"
    model_file = version_primary_file(version=tiny_version)
    cache = worker_runtime.model_cache()
    with worker_runtime.model_cache_use(model_file, width=64, height=96, batch=3) as pipe:
        (key,) = cache.held_keys()
        assert cache.pins_of(key) == 1
        model_bytes = pipeline_nbytes(pipe)
        assert cache.stats.ram_bytes == model_bytes
        assert cache.stats.ram_working_bytes == working_memory_bytes(
            model_bytes=model_bytes, width=64, height=96, batch=3, dtype_bytes=4
        )
        (published,) = worker_stats.model_cache_stats_all()
        assert published["working_bytes"] == cache.stats.ram_working_bytes
    assert cache.pins_of(key) == 0 and cache.stats.working_bytes == 0
    (published,) = worker_stats.model_cache_stats_all()
    assert published["working_bytes"] == 0 and published["ram_peak_bytes"] > model_bytes
