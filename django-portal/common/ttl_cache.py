"""Pure: a small in-process TTL cache (authorisation decisions, principals, immutable lookups)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


class TTLCache(Generic[V]):
    def __init__(
        self, ttl_s: float, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._data: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        expires, value = hit
        if expires < self._clock():
            self._data.pop(key, None)
            return None
        return value

    def put(self, key: Hashable, value: V, ttl_s: float | None = None) -> None:
        if len(self._data) >= self._max:
            self._data.clear()  # crude but bounded; a refill costs one lookup per key
        self._data[key] = (self._clock() + (self._ttl if ttl_s is None else ttl_s), value)

    def pop(self, key: Hashable) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
