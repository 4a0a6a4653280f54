"""The worker's model cache: loaded pipelines in an LRU bounded by bytes measured from the tensors,
with one budget for accelerator memory and one for host RAM. Never bounded by count.

A model entering the accelerator pushes the accelerator's least recently used models down to RAM,
which pushes RAM's least recently used ones out (evict accelerator -> RAM -> dropped); a hit on a
model in RAM promotes it back. Every byte is counted against a tier before it moves there, so no
budget is exceeded at any instant, moves included. Loads read into host RAM first, so a model must
fit the RAM budget to be loaded at all (its size is known only once ``load()`` returns: it is
counted against RAM at once, before anything else happens)."""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

ACCELERATOR = "accelerator"
RAM = "ram"
HOST_DEVICE = "cpu"


class ModelTooLarge(RuntimeError):
    """The model alone is bigger than the cache's budget, so no job can run it here."""


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
    accelerator_bytes: int = 0
    ram_bytes: int = 0
    accelerator_peak_bytes: int = 0
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


@dataclass
class _Entry:
    pipe: Any
    size: int
    tier: str


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

    def stats_snapshot(self) -> dict[str, Any]:
        """The figures at one instant, as plain values, for publishing."""
        with self._lock:
            tiers = [entry.tier for entry in self._entries.values()]
            return {
                **asdict(self.stats),
                "hits": self.stats.hits,
                "evictions": self.stats.evictions,
                "bytes_held": self.stats.bytes_held,
                "accelerator_device": self.accelerator_device or "",
                "accelerator_budget_bytes": self.accelerator_budget_bytes,
                "ram_budget_bytes": self.ram_budget_bytes,
                "budget_bytes": self.budget_bytes,
                "models": len(tiers),
                "accelerator_models": tiers.count(ACCELERATOR),
                "ram_models": tiers.count(RAM),
            }

    def acquire(self, key: str, load: Callable[[], Any]) -> Any:
        """The pipeline for ``key``, ready to run: on the accelerator when one is configured and
        the model fits it, else in RAM. ``load`` returns a new pipeline in host RAM.

        The pipeline stays the caller's to run only until the next acquire: one worker runs one
        job at a time, and a later acquire may move or drop it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return self._load(key, load)
            self._entries.move_to_end(key)
            if entry.tier == ACCELERATOR:
                self.stats.accelerator_hits += 1
            else:
                self.stats.ram_hits += 1
                if self._fits_accelerator(entry.size):
                    self._promote(key, entry)
                    self.stats.promotions += 1
            return entry.pipe

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.stats.accelerator_bytes = self.stats.ram_bytes = 0
            gc.collect()

    def _fits_accelerator(self, size: int) -> bool:
        return self.accelerator_device is not None and size <= self.accelerator_budget_bytes

    def _load(self, key: str, load: Callable[[], Any]) -> Any:
        pipe = load()
        self.stats.loads += 1
        size = self._measure(pipe)
        if size > self.ram_budget_bytes:
            survivor = _weak(pipe)
            del pipe
            _collect_unless_freed(survivor)
            raise ModelTooLarge(self._too_large_message(size))
        # Freshly loaded, it sits in host RAM: count it there before anything else moves.
        self._make_room_in_ram(size)
        self._reserve(RAM, size)
        if not self._fits_accelerator(size):
            if self.accelerator_device is not None:
                logger.warning(
                    "model larger than the accelerator budget runs from RAM on the CPU",
                    extra={"model": key, "bytes": size, "budget": self.accelerator_budget_bytes},
                )
            self._entries[key] = _Entry(pipe, size, RAM)
            return pipe
        entry = _Entry(pipe, size, RAM)
        self._entries[key] = entry
        self._promote(key, entry)
        return entry.pipe

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

    def _promote(self, key: str, entry: _Entry) -> None:
        """RAM -> accelerator, pushing the accelerator's least recently used models down."""
        assert self.accelerator_device is not None
        while self.stats.accelerator_bytes + entry.size > self.accelerator_budget_bytes:
            victim = self._least_recent(ACCELERATOR)
            assert victim is not None  # bytes are held, so a model holds them
            self._demote(victim)
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
        if not self._make_room_in_ram(self._entries[key].size, demoting=key):
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

    def _make_room_in_ram(self, size: int, *, demoting: str | None = None) -> bool:
        """Drop RAM's least recently used models until ``size`` more bytes fit; False if they
        cannot. A model coming down from the accelerator only pushes out models used before it
        (a model being promoted was just used, so it is never among them)."""
        if size > self.ram_budget_bytes:
            return False
        while self.stats.ram_bytes + size > self.ram_budget_bytes:
            victim = self._least_recent(RAM, used_before=demoting)
            if victim is None:
                return False
            self._drop(victim)
        return True

    def _least_recent(self, tier: str, *, used_before: str | None = None) -> str | None:
        # Returns a key, never an entry: a dropped pipeline must have no reference left in a
        # caller's frame when gc runs, or its memory outlives its place in the budget.
        for key, entry in self._entries.items():
            if key == used_before:
                return None
            if entry.tier == tier:
                return key
        return None

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._release(entry.tier, entry.size)
        self.stats.drops += 1
        logger.info("model dropped from the cache", extra={"model": key, "bytes": entry.size})
        survivor = _weak(entry.pipe)
        del entry
        _collect_unless_freed(survivor)

    def _reserve(self, tier: str, size: int) -> None:
        stats = self.stats
        if tier == ACCELERATOR:
            stats.accelerator_bytes += size
            assert stats.accelerator_bytes <= self.accelerator_budget_bytes
            stats.accelerator_peak_bytes = max(
                stats.accelerator_peak_bytes, stats.accelerator_bytes
            )
        else:
            stats.ram_bytes += size
            assert stats.ram_bytes <= self.ram_budget_bytes
            stats.ram_peak_bytes = max(stats.ram_peak_bytes, stats.ram_bytes)
        stats.peak_bytes = max(stats.peak_bytes, stats.bytes_held)

    def _release(self, tier: str, size: int) -> None:
        if tier == ACCELERATOR:
            self.stats.accelerator_bytes -= size
        else:
            self.stats.ram_bytes -= size
