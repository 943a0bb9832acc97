"""Login rate limits, on the in-process limiter and on the Redis one that web processes share."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from bridgenote.app import create_app
from bridgenote.config import RateLimit
from bridgenote.core.ratelimit import MemoryRateLimiter, RedisRateLimiter
from bridgenote.core.runtime import Runtime
from tests.conftest import TEST_REDIS_URL, make_settings
from tests.factories import PASSWORD, create_user

WINDOW = 60


async def start_of_window(clock: Callable[[], float]) -> None:
    """Fixed windows: if the current one ends in a few seconds, wait for the next, so that
    the attempts of a test all land in one window."""
    left = WINDOW - clock() % WINDOW
    if left < 5:
        await asyncio.sleep(left + 0.05)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limited(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    overrides: dict[str, object] = {"ratelimit_login": RateLimit(limit=3, window=WINDOW)}
    if request.param == "redis":
        overrides["redis_url"] = TEST_REDIS_URL
    runtime = Runtime.create(make_settings(database_url, tmp_path, **overrides))
    expected = RedisRateLimiter if request.param == "redis" else MemoryRateLimiter
    assert isinstance(runtime.limiter, expected)
    if request.param == "redis":
        # Other test runs may share this Redis database (make test runs two side by side):
        # reset and count only keys of our own.
        runtime.limiter = RedisRateLimiter(runtime.redis, prefix=f"bn:test:{time.time_ns()}:")
    await runtime.limiter.reset()
    yield runtime
    await runtime.close()


async def test_fourth_login_attempt_is_429_with_retry_after(limited: Runtime) -> None:
    user = await create_user(limited)
    app = create_app(limited.settings, runtime=limited)
    # A client address of its own, so that other test runs sharing the Redis server cannot
    # add to (or be counted in) this test's window.
    address, other_address = (f"198.51.100.{n}" for n in secrets.SystemRandom().sample(range(1, 255), 2))
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    clock = time.time if isinstance(limited.limiter, RedisRateLimiter) else time.monotonic
    await start_of_window(clock)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        wrong = {"login": user.username, "password": "not the password"}
        for _ in range(3):
            r = await c.post("/api/v1/auth/login", json=wrong)
            assert r.status_code == 401, r.text
        r = await c.post("/api/v1/auth/login", json={"login": user.username, "password": PASSWORD})
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "rate_limited"
        retry_after = r.headers["Retry-After"]
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= WINDOW
        assert retry_after in r.json()["error"]["message"]
        assert not c.cookies.get("bn_session")

    # The limit is per client address: another address may still log in.
    other = httpx.ASGITransport(app=app, client=(other_address, 50000))
    async with httpx.AsyncClient(transport=other, base_url="http://testserver") as c:
        r = await c.post("/api/v1/auth/login", json={"login": user.username, "password": PASSWORD})
        assert r.status_code == 200, r.text
