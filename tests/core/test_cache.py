"""The in-process TTL cache: expiry, bounds and the hit/miss counts /metrics reports."""

from __future__ import annotations

from bridgenote.core.cache import LOOKUPS, TTLCache


def _count(name: str, result: str) -> float:
    return LOOKUPS.labels(name, result)._value.get()


def test_entries_expire_and_the_cache_stays_bounded() -> None:
    now = [0.0]
    cache = TTLCache(ttl=2.0, max_entries=2, clock=lambda: now[0])
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3  # the oldest went
    now[0] = 2.5
    assert cache.get("c") is None and len(cache) == 1


def test_named_caches_count_hits_and_misses_for_metrics() -> None:
    cache = TTLCache(ttl=60.0, name="test.counted")
    hits, misses = _count("test.counted", "hit"), _count("test.counted", "miss")
    cache.set(1, "one")
    assert cache.get_many([1, 2, 3]) == {1: "one"}
    assert cache.get(1) == "one" and cache.get(4) is None
    assert _count("test.counted", "hit") - hits == 2
    assert _count("test.counted", "miss") - misses == 3
    assert (cache.hits, cache.misses) == (2, 3)


def test_due_lists_what_is_missing_or_about_to_expire_without_counting_lookups() -> None:
    now = [0.0]
    cache = TTLCache(ttl=10.0, name="test.due", clock=lambda: now[0])
    cache.set("old", 1)
    now[0] = 6.0
    cache.set("new", 2)
    hits, misses = _count("test.due", "hit"), _count("test.due", "miss")
    assert cache.due(["old", "new", "absent"], within=5.0) == ["old", "absent"]  # old expires at 10
    assert cache.due(["old", "new", "absent"], within=1.0) == ["absent"]
    assert (_count("test.due", "hit"), _count("test.due", "miss")) == (hits, misses)
