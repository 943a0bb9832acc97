"""Small in-process TTL caches for hot read paths.

Entries are per process and expire quickly, so the scale tier (many processes)
sees at most ``ttl`` seconds of staleness; a process invalidates its own entries
after it commits a change. Values must be treated as immutable.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from prometheus_client import Counter

from bridgenote.core.metrics import registry

LOOKUPS = Counter("bridgenote_cache_lookups_total", "In-process cache look-ups", ["cache", "result"], registry=registry)


class TTLCache:
    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        self.ttl = ttl
        # Named caches report hits and misses in /metrics (a hit rate is what tells whether
        # a TTL is worth its staleness).
        self._hit_counter = LOOKUPS.labels(name, "hit") if name else None
        self._miss_counter = LOOKUPS.labels(name, "miss") if name else None
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _get(self, key: Hashable) -> Any | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < self._clock():
            if entry is not None:
                del self._data[key]
            return None
        return entry[1]

    def get(self, key: Hashable) -> Any | None:
        value = self._get(key)
        self._count(hits=int(value is not None), total=1)
        return value

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, Any]:
        found = {}
        total = 0
        for key in keys:
            total += 1
            value = self._get(key)
            if value is not None:
                found[key] = value
        self._count(hits=len(found), total=total)
        return found

    def _count(self, *, hits: int, total: int) -> None:
        self.hits += hits
        self.misses += total - hits
        if self._hit_counter is not None and self._miss_counter is not None:
            if hits:
                self._hit_counter.inc(hits)
            if total - hits:
                self._miss_counter.inc(total - hits)

    def set(self, key: Hashable, value: Any) -> None:
        self._data[key] = (self._clock() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def due(self, keys: Iterable[Hashable], *, within: float) -> list[Hashable]:
        """The ``keys`` that are missing or expire within ``within`` seconds (for warming a
        cache ahead of the reads; not counted as look-ups)."""
        horizon = self._clock() + within
        return [k for k in keys if (entry := self._data.get(k)) is None or entry[0] < horizon]

    def pop(self, key: Hashable) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
