from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bridgenote.core.errors import RateLimited
from bridgenote.core.ratelimit import Decision, MemoryRateLimiter, RedisRateLimiter, enforce
from tests.conftest import TEST_REDIS_URL


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_memory_fixed_window() -> None:
    clock = Clock(1_000.0)  # bucket 16 of a 60 s window: [960, 1020)
    limiter = MemoryRateLimiter(clock=clock)
    assert await limiter.hit("k", limit=2, window=60) == Decision(True, 1, 20)
    assert await limiter.hit("k", limit=2, window=60) == Decision(True, 0, 20)
    clock.now = 1_019.5
    assert await limiter.hit("k", limit=2, window=60) == Decision(False, 0, 1)
    assert (await limiter.hit("other", limit=2, window=60)).allowed
    clock.now = 1_020.0  # a new window starts afresh
    assert await limiter.hit("k", limit=2, window=60) == Decision(True, 1, 60)
    await limiter.reset()
    clock.now = 1_021.0
    assert (await limiter.hit("k", limit=1, window=60)).allowed


async def test_enforce_raises_rate_limited_with_retry_after() -> None:
    limiter = MemoryRateLimiter(clock=Clock(30.0))
    await enforce(limiter, "x", limit=1, window=60)
    with pytest.raises(RateLimited) as info:
        await enforce(limiter, "x", limit=1, window=60)
    assert info.value.status_code == 429
    assert info.value.code == "rate_limited"
    assert info.value.headers == {"Retry-After": "30"}


@pytest.fixture
async def redis_limiter() -> AsyncIterator[RedisRateLimiter]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(TEST_REDIS_URL)
    # A prefix of its own: other test runs may share this Redis database.
    limiter = RedisRateLimiter(client, prefix=f"bn:test:rl:{time.time_ns()}:")
    await limiter.reset()
    yield limiter
    await limiter.reset()
    await client.aclose()


@pytest.mark.redis
async def test_memory_and_redis_give_the_same_decisions(redis_limiter: RedisRateLimiter) -> None:
    """Given the same clock, both back ends agree on every decision of a mixed sequence."""
    window = 3600
    # Stay clear of a window boundary, so both sides see one bucket whatever the timing.
    if window - time.time() % window < 30:
        pytest.skip("too close to a window boundary")
    memory = MemoryRateLimiter(clock=time.time)
    sequence = [("a", 3), ("a", 3), ("b", 1), ("a", 3), ("a", 3), ("b", 1), ("c", 5), ("a", 3), ("b", 1)]
    for key, limit in sequence:
        m = await memory.hit(key, limit=limit, window=window)
        r = await redis_limiter.hit(key, limit=limit, window=window)
        assert (m.allowed, m.remaining) == (r.allowed, r.remaining), (key, m, r)
        assert abs(m.retry_after - r.retry_after) <= 1
    assert [(await redis_limiter.hit("a", limit=3, window=window)).allowed] == [False]


@pytest.mark.redis
async def test_redis_window_expires_and_reset_clears(redis_limiter: RedisRateLimiter) -> None:
    assert (await redis_limiter.hit("k", limit=1, window=1)).allowed
    denied = await redis_limiter.hit("k", limit=1, window=1)
    assert not denied.allowed and denied.retry_after == 1
    await redis_limiter.reset()
    assert (await redis_limiter.hit("k", limit=1, window=3600)).allowed
    assert not (await redis_limiter.hit("k", limit=1, window=3600)).allowed
    await redis_limiter.reset()
    assert (await redis_limiter.hit("k", limit=1, window=3600)).allowed
