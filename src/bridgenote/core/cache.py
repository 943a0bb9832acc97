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


class TTLCache:
    def __init__(self, *, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < self._clock():
            if entry is not None:
                del self._data[key]
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, Any]:
        found = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                found[key] = value
        return found

    def set(self, key: Hashable, value: Any) -> None:
        self._data[key] = (self._clock() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
