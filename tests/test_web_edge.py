"""The shared HTTP edge (core/web.py): per-user rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bridgenote.app import create_app
from bridgenote.config import RateLimit
from bridgenote.core.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import api_token, create_user


@pytest.fixture
async def strict_runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(make_settings(database_url, tmp_path, ratelimit_like=RateLimit(limit=1, window=600)))
    yield runtime
    await runtime.close()


async def test_per_user_limits_count_each_user_separately_behind_one_ip(strict_runtime: Runtime) -> None:
    app = create_app(strict_runtime.settings, runtime=strict_runtime)
    alice, bob = await create_user(strict_runtime), await create_user(strict_runtime)

    async def like_as(user: object) -> int:
        token = await api_token(strict_runtime, user)
        transport = httpx.ASGITransport(app=app)  # every request comes from the same client address
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post("/api/v1/notes/1/like", headers={"Authorization": f"Bearer {token}"})
            return r.status_code

    assert await like_as(alice) != 429
    assert await like_as(alice) == 429
    # Bob shares Alice's address but not her allowance.
    assert await like_as(bob) != 429
