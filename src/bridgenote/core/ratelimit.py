"""Fixed-window rate limits: in process by default, Redis when configured.

Both implementations give the same answers, so a limit behaves the same on one
web process or on many behind a proxy (the Redis one is shared between them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bridgenote.core.errors import RateLimited


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: int) -> Decision: ...

    async def reset(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, *, limit: int, window: int) -> Decision:
        now = self._clock()
        bucket = int(now // window)
        stored_bucket, count = self._windows.get(key, (bucket, 0))
        if stored_bucket != bucket:
            count = 0
        count += 1
        self._windows[key] = (bucket, count)
        if len(self._windows) > 100_000:
            self._evict(bucket, window)
        retry_after = max(1, math.ceil((bucket + 1) * window - now))
        return Decision(count <= limit, max(0, limit - count), retry_after)

    def _evict(self, bucket: int, window: int) -> None:
        stale = [k for k, (b, _c) in self._windows.items() if b != bucket]
        for k in stale:
            del self._windows[k]

    async def reset(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    def __init__(self, redis: object, prefix: str = "bn:rl:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window: int) -> Decision:
        now = time.time()
        bucket = int(now // window)
        redis_key = f"{self._prefix}{key}:{window}:{bucket}"
        pipe = self._redis.pipeline(transaction=True)  # type: ignore[attr-defined]
        pipe.incr(redis_key)
        pipe.expire(redis_key, window + 1)
        count, _ = await pipe.execute()
        retry_after = max(1, math.ceil((bucket + 1) * window - now))
        return Decision(int(count) <= limit, max(0, limit - int(count)), retry_after)

    async def reset(self) -> None:
        cursor = 0
        while True:
            cursor, keys = await self._redis.scan(cursor, match=f"{self._prefix}*", count=500)  # type: ignore[attr-defined]
            if keys:
                await self._redis.delete(*keys)  # type: ignore[attr-defined]
            if cursor == 0:
                break


async def enforce(limiter: RateLimiter, key: str, *, limit: int, window: int) -> None:
    """Raise :class:`RateLimited` (429 with Retry-After) when ``key`` is over its limit."""
    decision = await limiter.hit(key, limit=limit, window=window)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
