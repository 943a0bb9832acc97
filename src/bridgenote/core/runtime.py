"""Process-wide services, built once from :class:`Settings` and shared by requests and jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bridgenote.config import Settings
from bridgenote.core import ids
from bridgenote.core.cache import TTLCache
from bridgenote.core.counters import ViewCounter
from bridgenote.core.db import Database
from bridgenote.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bridgenote.core.storage import Storage, storage_from_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    limiter: RateLimiter
    redis: Any = None
    views: ViewCounter = field(default_factory=ViewCounter)
    caches: dict[str, TTLCache] = field(default_factory=dict)
    # Caches that hold no counters, so a flush of view counts leaves them alone.
    kept_on_flush: set[str] = field(default_factory=set)

    def cache(self, name: str, *, ttl: float, max_entries: int = 10_000, holds_counters: bool = True) -> TTLCache:
        """A named in-process cache, created on first use (see core/cache.py). One that
        ``holds_counters`` (rows with view counts in them) is emptied when they are flushed."""
        found = self.caches.get(name)
        if found is None:
            found = self.caches[name] = TTLCache(ttl=ttl, max_entries=max_entries, name=name)
            if not holds_counters:
                self.kept_on_flush.add(name)
        return found

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        if settings.worker_id is not None:
            ids.set_worker_id(settings.worker_id)
        redis = None
        limiter: RateLimiter
        if settings.redis_url:
            import redis.asyncio as aioredis

            redis = aioredis.from_url(settings.redis_url, decode_responses=False)
            limiter = RedisRateLimiter(redis)
        else:
            limiter = MemoryRateLimiter()
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            storage=storage_from_settings(settings),
            limiter=limiter,
            redis=redis,
        )

    async def flush_periodic(self) -> None:
        if self.views.pending():
            async with self.db.transaction() as session:
                await self.views.flush(session)
            # Flushed counters live in rows that read caches may hold.
            for name, cache in self.caches.items():
                if name not in self.kept_on_flush:
                    cache.clear()

    async def close(self) -> None:
        try:
            await self.flush_periodic()
        except Exception:
            log.exception("could not flush view counters at shutdown")
        await self.db.dispose()
        if self.redis is not None:
            await self.redis.aclose()
