"""Buffered view counters."""

from __future__ import annotations

from typing import Any

from bridgenote.core import counters
from bridgenote.core.counters import ViewCounter


async def test_add_many_counts_each_key_as_often_as_it_is_listed() -> None:
    got: dict[Any, int] = {}

    async def sink(_session: Any, counts: dict[Any, int]) -> None:
        got.update(counts)

    counters.register_sink("test-add-many", sink)
    views = ViewCounter()
    views.add_many("test-add-many", [(1, 10), (1, 11), (1, 10)])
    views.add("test-add-many", (1, 11), 2)
    assert views.pending() == 5
    assert await views.flush(None) == 5  # type: ignore[arg-type]  # the sink takes no session
    assert got == {(1, 10): 2, (1, 11): 3}
