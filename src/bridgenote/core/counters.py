"""Buffered view counters.

A page view must not turn a read into a write transaction, so views are summed
in memory and flushed in one write by the worker every few seconds. Sums
commute, so every web process can keep its own buffer, on either tier.
Domains register a sink per kind (``"note"``, ``"hashtag"``) that applies the
increments. Keys are usually object ids; a kind may use tuples (the feed counts
``(user_id, note_id)`` pairs of what Discover showed whom).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Sink = Callable[[AsyncSession, dict[Any, int]], Awaitable[None]]

_sinks: dict[str, Sink] = {}


def register_sink(kind: str, sink: Sink) -> None:
    _sinks[kind] = sink


class ViewCounter:
    def __init__(self) -> None:
        self._pending: dict[str, Counter[Hashable]] = {}

    def add(self, kind: str, object_id: Hashable, n: int = 1) -> None:
        self._pending.setdefault(kind, Counter())[object_id] += n

    def add_many(self, kind: str, object_ids: Iterable[Hashable]) -> None:
        """One view of each of ``object_ids`` (a key listed twice counts twice)."""
        self._pending.setdefault(kind, Counter()).update(object_ids)

    def pending(self) -> int:
        return sum(sum(c.values()) for c in self._pending.values())

    async def flush(self, session: AsyncSession) -> int:
        """Apply the buffered increments inside ``session``'s transaction."""
        pending, self._pending = self._pending, {}
        applied = 0
        try:
            for kind, counts in pending.items():
                sink = _sinks.get(kind)
                if sink is not None and counts:
                    await sink(session, dict(counts))
                    applied += sum(counts.values())
        except BaseException:
            # Put the counts back so a failed flush loses nothing.
            for kind, counts in pending.items():
                self._pending.setdefault(kind, Counter()).update(counts)
            raise
        return applied
