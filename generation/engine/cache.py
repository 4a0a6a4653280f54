"""The worker's model cache: loaded pipelines in an LRU bounded by bytes measured from tensors.

This is the host-RAM tier; the accelerator tier (evict accelerator -> RAM -> dropped) arrives with
the generation issue's GPU work. Never bounded by count."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)


class ModelTooLarge(RuntimeError):
    """The model alone is bigger than the whole cache budget."""


def pipeline_nbytes(pipe: Any) -> int:
    """Bytes held by every torch module of a diffusers pipeline (parameters and buffers)."""
    total = 0
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            total += sum(t.numel() * t.element_size() for t in component.parameters())
            total += sum(t.numel() * t.element_size() for t in component.buffers())
    return total


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    bytes_held: int = 0
    peak_bytes: int = 0


class ModelCache:
    def __init__(self, *, budget_bytes: int, measure: Callable[[Any], int] = pipeline_nbytes):
        self.budget_bytes = budget_bytes
        self._measure = measure
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def held_keys(self) -> list[str]:
        return list(self._entries)

    def acquire(self, key: str, load: Callable[[], Any]) -> Any:
        """The pipeline for ``key``, loading it (and evicting least recently used ones) if needed."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return self._entries[key][0]
            self.stats.misses += 1
            pipe = load()
            size = self._measure(pipe)
            if size > self.budget_bytes:
                del pipe
                raise ModelTooLarge(
                    f"the model needs {size / 1024**2:.0f} MiB but the cache budget is "
                    f"{self.budget_bytes / 1024**2:.0f} MiB"
                )
            while self.stats.bytes_held + size > self.budget_bytes:
                evicted, (_, evicted_size) = self._entries.popitem(last=False)
                self.stats.bytes_held -= evicted_size
                self.stats.evictions += 1
                logger.info("model evicted", extra={"model": evicted, "bytes": evicted_size})
            self._entries[key] = (pipe, size)
            self.stats.bytes_held += size
            self.stats.peak_bytes = max(self.stats.peak_bytes, self.stats.bytes_held)
            return pipe

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.stats.bytes_held = 0
