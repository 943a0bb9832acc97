"""The process-wide runtime: named caches and the view-count flush."""

from __future__ import annotations

from bridgenote.core.runtime import Runtime


async def test_a_view_count_flush_keeps_counter_free_caches(runtime: Runtime) -> None:
    counted = runtime.cache("test.counted", ttl=60)
    free = runtime.cache("test.free", ttl=60, holds_counters=False)
    counted.set(1, "card with counters")
    free.set(1, "ranked pages")
    runtime.views.add("note", 1)  # no such note: the flush still runs
    await runtime.flush_periodic()
    assert counted.get(1) is None
    assert free.get(1) == "ranked pages"
