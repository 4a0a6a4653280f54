"""The worker's model cache: loaded pipelines in an LRU bounded by bytes measured from the tensors,
with one budget for accelerator memory and one for host RAM. Never bounded by count.

A model entering the accelerator pushes the accelerator's least recently used models down to RAM,
which pushes RAM's least recently used ones out (evict accelerator -> RAM -> dropped); a hit on a
model in RAM promotes it back. Every byte is counted against a tier before it moves there, so no
budget is exceeded at any instant, moves included. Loads read into host RAM first, so a model must
fit the RAM budget to be loaded at all (its size is known only once ``load()`` returns: it is
counted against RAM at once, before anything else happens).

A call runs its model inside ``use()``: the model is pinned (never moved or dropped) until the
call ends, and the call's working memory (activations) is reserved on the model's tier from the
same budget, evicting other unpinned models to make room and given back when the call ends."""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

ACCELERATOR = "accelerator"
RAM = "ram"
HOST_DEVICE = "cpu"

# Working memory of one call, from the loaded pipeline and its measured bytes.
WorkingBytes = Callable[[Any, int], int]


class ModelTooLarge(RuntimeError):
    """The model alone is bigger than the cache's budget, so no job can run it here."""


class WorkingMemoryTooLarge(ModelTooLarge):
    """The model and one call's working memory together exceed the budget of the tier it runs on:
    no call of that size can run here, whatever else is evicted."""


class ModelCacheBusy(RuntimeError):
    """Room for this call is taken by models other calls are running (pinned).

    Fails at once rather than waiting: a worker process runs one call at a time, so this means
    calls overlap with no memory for both, and a thread waiting while it holds a pin of its own
    could wait forever. The job fails with a reason, which beats a silent stall."""


def pipeline_nbytes(pipe: Any) -> int:
    """Bytes held by every torch module of a diffusers pipeline (parameters and buffers)."""
    total = 0
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            total += sum(t.numel() * t.element_size() for t in component.parameters())
            total += sum(t.numel() * t.element_size() for t in component.buffers())
    return total


def pipeline_move(pipe: Any, device: str) -> Any:
    """Move every module of a pipeline to ``device`` (diffusers moves in place and returns it)."""
    return pipe.to(device)


def _human(nbytes: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def _weak(obj: Any) -> weakref.ref[Any] | None:
    try:
        return weakref.ref(obj)
    except TypeError:
        return None


def _collect_unless_freed(survivor: weakref.ref[Any] | None) -> None:
    """Reference counting frees a dropped pipeline at once; a full collection (a third of a
    second in a worker) runs only when a cycle, or an object without weak references, may still
    hold its tensors."""
    if survivor is None or survivor() is not None:
        gc.collect()


@dataclass
class CacheStats:
    accelerator_hits: int = 0
    ram_hits: int = 0
    misses: int = 0
    loads: int = 0  # pipelines read from disk
    promotions: int = 0  # RAM hits moved up to the accelerator
    demotions: int = 0  # accelerator -> RAM
    drops: int = 0  # out of the cache altogether
    accelerator_bytes: int = 0  # models
    ram_bytes: int = 0
    accelerator_working_bytes: int = 0  # reserved for the calls running now
    ram_working_bytes: int = 0
    accelerator_peak_bytes: int = 0  # models and working memory
    ram_peak_bytes: int = 0
    peak_bytes: int = 0  # both tiers together

    @property
    def hits(self) -> int:
        return self.accelerator_hits + self.ram_hits

    @property
    def evictions(self) -> int:
        return self.demotions + self.drops

    @property
    def bytes_held(self) -> int:
        return self.accelerator_bytes + self.ram_bytes

    @property
    def working_bytes(self) -> int:
        return self.accelerator_working_bytes + self.ram_working_bytes


@dataclass
class _Entry:
    pipe: Any
    size: int
    tier: str
    pins: int = 0  # calls running it now: it is neither moved nor dropped while above 0


class ModelCache:
    """Pipelines by key, least recently used first, each in one tier.

    With no accelerator (budget 0 or device "cpu") it is a single LRU in host RAM. ``move`` is how
    a pipeline changes device; tests pass their own to exercise both tiers on a CPU-only machine."""

    def __init__(
        self,
        *,
        ram_budget_bytes: int | None = None,
        accelerator_budget_bytes: int = 0,
        accelerator_device: str | None = None,
        measure: Callable[[Any], int] = pipeline_nbytes,
        move: Callable[[Any, str], Any] = pipeline_move,
        budget_bytes: int | None = None,
    ) -> None:
        # ``budget_bytes`` is the single-tier (host RAM only) spelling older callers use.
        if (ram_budget_bytes is None) == (budget_bytes is None):
            raise TypeError("give the cache ram_budget_bytes (or budget_bytes), not both")
        ram_budget = ram_budget_bytes if ram_budget_bytes is not None else budget_bytes
        assert ram_budget is not None
        self.ram_budget_bytes = ram_budget
        accelerated = accelerator_budget_bytes > 0 and accelerator_device not in (None, HOST_DEVICE)
        self.accelerator_device = accelerator_device if accelerated else None
        self.accelerator_budget_bytes = accelerator_budget_bytes if accelerated else 0
        self._measure = measure
        self._move = move
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Reentrant: measure/move/load callbacks may read the cache (tests check budgets there).
        self._lock = threading.RLock()
        self.stats = CacheStats()

    @property
    def budget_bytes(self) -> int:
        return self.accelerator_budget_bytes + self.ram_budget_bytes

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def held_keys(self) -> list[str]:
        """Keys of every held model, least recently used first."""
        with self._lock:
            return list(self._entries)

    def tier_of(self, key: str) -> str | None:
        """ACCELERATOR, RAM, or None when the model is not held."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.tier if entry else None

    def pins_of(self, key: str) -> int:
        """How many calls are running the model now."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.pins if entry else 0

    def stats_snapshot(self) -> dict[str, Any]:
        """The figures at one instant, as plain values, for publishing."""
        with self._lock:
            tiers = [entry.tier for entry in self._entries.values()]
            return {
                **asdict(self.stats),
                "hits": self.stats.hits,
                "evictions": self.stats.evictions,
                "bytes_held": self.stats.bytes_held,
                "working_bytes": self.stats.working_bytes,
                "accelerator_device": self.accelerator_device or "",
                "accelerator_budget_bytes": self.accelerator_budget_bytes,
                "ram_budget_bytes": self.ram_budget_bytes,
                "budget_bytes": self.budget_bytes,
                "models": len(tiers),
                "accelerator_models": tiers.count(ACCELERATOR),
                "ram_models": tiers.count(RAM),
                "pinned_models": sum(1 for e in self._entries.values() if e.pins),
            }

    @contextmanager
    def use(
        self, key: str, load: Callable[[], Any], *, working_bytes: int | WorkingBytes = 0
    ) -> Iterator[Any]:
        """The pipeline for ``key``, pinned on its tier for the duration of the ``with`` block,
        with ``working_bytes`` (a number, or a function of the pipeline and its measured bytes)
        reserved beside it on that tier. ``load`` returns a new pipeline in host RAM.

        Raises WorkingMemoryTooLarge when the model and its working memory exceed the tier's
        budget, and ModelCacheBusy when only pinned models stand in the way."""
        with self._lock:
            entry, tier, working = self._ready(key, load, working_bytes)
            # A promotion already made room for the working memory; a hit must make it now.
            if not self._make_room(tier, working, keep=key):
                raise self._busy(tier, working)
            self._reserve_working(tier, working)
            entry.pins += 1
        try:
            yield entry.pipe
        finally:
            with self._lock:
                entry.pins -= 1
                self._release_working(tier, working)

    def clear(self) -> None:
        """Forget every model. Calls still running keep their pipeline and their working memory
        until they end."""
        with self._lock:
            self._entries.clear()
            self.stats.accelerator_bytes = self.stats.ram_bytes = 0
            gc.collect()

    def _ready(
        self, key: str, load: Callable[[], Any], working_bytes: int | WorkingBytes
    ) -> tuple[_Entry, str, int]:
        """The entry for ``key`` on the tier it will run on, with room there for its working
        memory (returned with the tier); loads it on a miss, promotes it on a RAM hit."""
        entry = self._entries.get(key)
        fresh = entry is None
        if entry is None:
            self.stats.misses += 1
            entry = self._load(key, load)
        else:
            self._entries.move_to_end(key)
            if entry.tier == ACCELERATOR:
                self.stats.accelerator_hits += 1
            else:
                self.stats.ram_hits += 1
        working = (
            working_bytes(entry.pipe, entry.size) if callable(working_bytes) else working_bytes
        )
        tier = self._tier_for(entry)
        if entry.size + working > self._budget(tier):
            raise WorkingMemoryTooLarge(self._working_too_large_message(entry.size, working, tier))
        if tier == ACCELERATOR and entry.tier == RAM:
            self._promote(key, entry, room_for=working)
            if not fresh:
                self.stats.promotions += 1
        return entry, tier, working

    def _tier_for(self, entry: _Entry) -> str:
        if entry.tier == ACCELERATOR:
            return ACCELERATOR
        if entry.pins:
            return RAM  # a model runs where its running calls hold it: moving it would pull it away
        return ACCELERATOR if self._fits_accelerator(entry.size) else RAM

    def _fits_accelerator(self, size: int) -> bool:
        return self.accelerator_device is not None and size <= self.accelerator_budget_bytes

    def _budget(self, tier: str) -> int:
        return self.accelerator_budget_bytes if tier == ACCELERATOR else self.ram_budget_bytes

    def _used(self, tier: str) -> int:
        stats = self.stats
        if tier == ACCELERATOR:
            return stats.accelerator_bytes + stats.accelerator_working_bytes
        return stats.ram_bytes + stats.ram_working_bytes

    def _load(self, key: str, load: Callable[[], Any]) -> _Entry:
        pipe = load()
        self.stats.loads += 1
        size = self._measure(pipe)
        too_large = size > self.ram_budget_bytes
        # Freshly loaded, it sits in host RAM: count it there before anything else moves.
        if too_large or not self._make_room(RAM, size):
            survivor = _weak(pipe)
            del pipe
            _collect_unless_freed(survivor)
            if too_large:
                raise ModelTooLarge(self._too_large_message(size))
            raise self._busy(RAM, size)
        self._reserve(RAM, size)
        if self.accelerator_device is not None and not self._fits_accelerator(size):
            logger.warning(
                "model larger than the accelerator budget runs from RAM on the CPU",
                extra={"model": key, "bytes": size, "budget": self.accelerator_budget_bytes},
            )
        entry = _Entry(pipe, size, RAM)
        self._entries[key] = entry
        return entry

    def _too_large_message(self, size: int) -> str:
        if self.accelerator_device is None:
            return (
                f"the model needs {_human(size)} but the cache budget is "
                f"{_human(self.ram_budget_bytes)}"
            )
        return (
            f"the model needs {_human(size)} but the cache budget for host RAM, which every model "
            f"is loaded through, is {_human(self.ram_budget_bytes)} "
            f"(accelerator: {_human(self.accelerator_budget_bytes)})"
        )

    def _working_too_large_message(self, size: int, working: int, tier: str) -> str:
        where = "accelerator" if tier == ACCELERATOR else "host RAM"
        return (
            f"this picture size and batch need about {_human(working)} of working memory beside "
            f"the model's {_human(size)}, more than the {where} budget of "
            f"{_human(self._budget(tier))}: try a smaller size or fewer pictures"
        )

    def _busy(self, tier: str, size: int) -> ModelCacheBusy:
        where = "accelerator" if tier == ACCELERATOR else "host RAM"
        return ModelCacheBusy(
            f"no room for {_human(size)} more in {where} (budget {_human(self._budget(tier))}): "
            "the models other calls are running hold it"
        )

    def _promote(self, key: str, entry: _Entry, *, room_for: int = 0) -> None:
        """RAM -> accelerator, pushing the accelerator's least recently used models down until
        the model and ``room_for`` more bytes fit."""
        assert self.accelerator_device is not None
        if not self._make_room(ACCELERATOR, entry.size + room_for, keep=key):
            raise self._busy(ACCELERATOR, entry.size + room_for)
        self._reserve(ACCELERATOR, entry.size)
        try:
            entry.pipe = self._move(entry.pipe, self.accelerator_device)
        except BaseException:
            # Half moved, its place is unknown: drop it, freeing what it holds on both tiers.
            self._drop(key)
            self._release(ACCELERATOR, entry.size)
            raise
        self._release(RAM, entry.size)
        entry.tier = ACCELERATOR

    def _demote(self, key: str) -> None:
        """Accelerator -> RAM, or out of the cache when RAM cannot take it."""
        # A model coming down only pushes out models used before it (a model being promoted was
        # just used, so it is never among them).
        if not self._make_room(RAM, self._entries[key].size, used_before=key):
            self._drop(key)
            return
        entry = self._entries[key]
        self._reserve(RAM, entry.size)
        try:
            entry.pipe = self._move(entry.pipe, HOST_DEVICE)
        except BaseException:
            self._release(RAM, entry.size)
            self._drop(key)
            raise
        self._release(ACCELERATOR, entry.size)
        entry.tier = RAM
        self.stats.demotions += 1
        logger.info("model moved to RAM", extra={"model": key, "bytes": entry.size})

    def _make_room(
        self, tier: str, size: int, *, keep: str | None = None, used_before: str | None = None
    ) -> bool:
        """Evict the tier's least recently used unpinned models (never ``keep``; with
        ``used_before``, only models used before that one) until ``size`` more bytes fit; False,
        having evicted nothing, when evicting all of them would not do. Evicting from the
        accelerator moves down to RAM; from RAM, drops."""
        candidates = list(self._victims(tier, keep=keep, used_before=used_before))
        evictable = sum(self._entries[name].size for name in candidates)
        if self._used(tier) - evictable + size > self._budget(tier):
            return False
        for victim in candidates:
            if self._used(tier) + size <= self._budget(tier):
                break
            if tier == ACCELERATOR:
                self._demote(victim)
            else:
                self._drop(victim)
        return True

    def _victims(
        self, tier: str, *, keep: str | None = None, used_before: str | None = None
    ) -> Iterator[str]:
        # Yields keys, never entries: a dropped pipeline must have no reference left in a
        # caller's frame when gc runs, or its memory outlives its place in the budget.
        for key, entry in self._entries.items():
            if key == used_before:
                return
            if entry.tier == tier and not entry.pins and key != keep:
                yield key

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        assert not entry.pins, "a pinned model is never dropped"
        self._release(entry.tier, entry.size)
        self.stats.drops += 1
        logger.info("model dropped from the cache", extra={"model": key, "bytes": entry.size})
        survivor = _weak(entry.pipe)
        del entry
        _collect_unless_freed(survivor)

    def _reserve(self, tier: str, size: int) -> None:
        if tier == ACCELERATOR:
            self.stats.accelerator_bytes += size
        else:
            self.stats.ram_bytes += size
        self._check_and_note_peaks(tier)

    def _release(self, tier: str, size: int) -> None:
        if tier == ACCELERATOR:
            self.stats.accelerator_bytes -= size
        else:
            self.stats.ram_bytes -= size

    def _reserve_working(self, tier: str, size: int) -> None:
        if tier == ACCELERATOR:
            self.stats.accelerator_working_bytes += size
        else:
            self.stats.ram_working_bytes += size
        self._check_and_note_peaks(tier)

    def _release_working(self, tier: str, size: int) -> None:
        if tier == ACCELERATOR:
            self.stats.accelerator_working_bytes -= size
        else:
            self.stats.ram_working_bytes -= size

    def _check_and_note_peaks(self, tier: str) -> None:
        stats = self.stats
        assert self._used(tier) <= self._budget(tier)
        if tier == ACCELERATOR:
            stats.accelerator_peak_bytes = max(stats.accelerator_peak_bytes, self._used(tier))
        else:
            stats.ram_peak_bytes = max(stats.ram_peak_bytes, self._used(tier))
        stats.peak_bytes = max(stats.peak_bytes, self._used(ACCELERATOR) + self._used(RAM))
