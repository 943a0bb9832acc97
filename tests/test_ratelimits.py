"""Rate limits on posting, commenting, liking and signing up, with the in-process and
the Redis limiter: the request over the limit is a 429 with an integer Retry-After,
it writes nothing, and one user's limit does not touch another user."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bridgenote.app import create_app
from bridgenote.config import RateLimit
from bridgenote.core.ratelimit import MemoryRateLimiter, RedisRateLimiter
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import CommentCreate, NoteCreate
from tests.conftest import TEST_REDIS_URL, make_settings
from tests.factories import api_token, create_user, viewer
from tests.test_bad_input import assert_nothing_written, table_snapshot

LIMIT = 2
# Fixed windows: a long one, so that a test never straddles a window boundary.
WINDOW = 86_400
_signups = itertools.count(1)


@dataclass
class Limited:
    runtime: Runtime
    app: FastAPI

    def client(self, token: str | None = None, *, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=(ip, 40000)),
            base_url="http://testserver",
            headers=headers,
        )

    async def user_client(self) -> httpx.AsyncClient:
        user = await create_user(self.runtime)
        return self.client(await api_token(self.runtime, user))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limited(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> AsyncIterator[Limited]:
    rule = RateLimit(limit=LIMIT, window=WINDOW)
    overrides: dict[str, object] = {
        "ratelimit_post": rule,
        "ratelimit_comment": rule,
        "ratelimit_like": rule,
        "ratelimit_signup": rule,
        "ratelimit_export": rule,
    }
    if request.param == "redis":
        overrides["redis_url"] = TEST_REDIS_URL
    settings = make_settings(database_url, tmp_path, **overrides)
    runtime = Runtime.create(settings)
    if request.param == "redis":
        assert isinstance(runtime.limiter, RedisRateLimiter)
        # Other test runs may share this Redis database: keep to keys of our own.
        runtime.limiter = RedisRateLimiter(runtime.redis, prefix=f"bn:test:{time.time_ns()}:")
    else:
        assert isinstance(runtime.limiter, MemoryRateLimiter)
        runtime.limiter = MemoryRateLimiter(clock=lambda: 1_000.0 * WINDOW + 5)  # frozen mid-window
    await runtime.limiter.reset()
    try:
        yield Limited(runtime, create_app(settings, runtime=runtime))
    finally:
        await runtime.limiter.reset()
        await runtime.close()


async def assert_limited(limited: Limited, r: httpx.Response, before: dict[str, object]) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= WINDOW
    assert retry_after in r.json()["error"]["message"]
    assert_nothing_written(before, await table_snapshot(limited.runtime), "the rate-limited request")


async def test_third_post_is_limited(limited: Limited) -> None:
    async with await limited.user_client() as c:
        for n in range(LIMIT):
            assert (await c.post("/api/v1/notes", json={"title": f"post {n}"})).status_code == 201
        before = await table_snapshot(limited.runtime)
        await assert_limited(limited, await c.post("/api/v1/notes", json={"title": "one too many"}), before)


async def test_third_comment_is_limited(limited: Limited) -> None:
    author = await create_user(limited.runtime)
    async with limited.runtime.db.transaction() as session:
        note = await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title="talk to me"))
    async with await limited.user_client() as c:
        url = f"/api/v1/notes/{note.id}/comments"
        for n in range(LIMIT):
            assert (await c.post(url, json={"body": f"comment {n}"})).status_code == 201
        before = await table_snapshot(limited.runtime)
        await assert_limited(limited, await c.post(url, json={"body": "one too many"}), before)


async def test_third_like_is_limited(limited: Limited) -> None:
    author = await create_user(limited.runtime)
    async with limited.runtime.db.transaction() as session:
        notes = [
            await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title=f"n{n}"))
            for n in range(LIMIT + 1)
        ]
        comment = await notes_service.create_comment(
            session, viewer=viewer(author), note_id=notes[0].id, data=CommentCreate(body="like me")
        )
    async with await limited.user_client() as c:
        for note in notes[:LIMIT]:
            assert (await c.post(f"/api/v1/notes/{note.id}/like")).status_code == 200
        before = await table_snapshot(limited.runtime)
        await assert_limited(limited, await c.post(f"/api/v1/notes/{notes[LIMIT].id}/like"), before)
        # Liking a comment and saving share the budget of likes.
        await assert_limited(limited, await c.post(f"/api/v1/comments/{comment.id}/like"), before)
        await assert_limited(limited, await c.post(f"/api/v1/notes/{notes[LIMIT].id}/save"), before)


async def test_third_export_request_is_limited(limited: Limited) -> None:
    """Each archive copies all the account's media; asking again and again is refused."""
    async with await limited.user_client() as c:
        for _ in range(LIMIT):
            assert (await c.post("/api/v1/me/exports")).status_code == 202
        before = await table_snapshot(limited.runtime)
        await assert_limited(limited, await c.post("/api/v1/me/exports"), before)


def _signup(n: int) -> dict[str, str]:
    return {"username": f"signup{n}", "email": f"signup{n}@example.com", "password": "a long password"}


async def test_third_signup_from_one_address_is_limited(limited: Limited) -> None:
    async with limited.client(ip="203.0.113.7") as c:
        for _ in range(LIMIT):
            r = await c.post("/api/v1/auth/signup", json=_signup(next(_signups)))
            assert r.status_code == 201, r.text
            c.cookies.clear()
        before = await table_snapshot(limited.runtime)
        await assert_limited(limited, await c.post("/api/v1/auth/signup", json=_signup(next(_signups))), before)
    async with limited.client(ip="198.51.100.9") as other:
        assert (await other.post("/api/v1/auth/signup", json=_signup(next(_signups)))).status_code == 201


async def test_limits_are_per_user(limited: Limited) -> None:
    """Two accounts behind one address (a campus, a mobile carrier's NAT, our own proxy)
    have a budget each."""
    author = await create_user(limited.runtime)
    async with limited.runtime.db.transaction() as session:
        note = await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title="popular"))
    async with await limited.user_client() as alice, await limited.user_client() as bob:
        for n in range(LIMIT):
            assert (await alice.post("/api/v1/notes", json={"title": f"a{n}"})).status_code == 201
            assert (await alice.post(f"/api/v1/notes/{note.id}/comments", json={"body": f"a{n}"})).status_code == 201
        assert (await alice.post("/api/v1/notes", json={"title": "a"})).status_code == 429
        assert (await alice.post(f"/api/v1/notes/{note.id}/comments", json={"body": "a"})).status_code == 429
        r = await bob.post("/api/v1/notes", json={"title": "bob's first"})
        assert r.status_code == 201, r.text
        r = await bob.post(f"/api/v1/notes/{note.id}/comments", json={"body": "bob's first"})
        assert r.status_code == 201, r.text
        assert (await bob.post(f"/api/v1/notes/{note.id}/like")).status_code == 200


async def test_anonymous_requests_do_not_spend_a_users_budget(limited: Limited) -> None:
    """Unauthenticated calls are refused (401, or 429 once their address is over the
    limit) and must not use up the limit of the accounts behind the same address."""
    async with limited.client() as anonymous:
        for _ in range(LIMIT + 1):
            assert (await anonymous.post("/api/v1/notes", json={"title": "x"})).status_code in (401, 429)
    async with await limited.user_client() as c:
        assert (await c.post("/api/v1/notes", json={"title": "still fine"})).status_code == 201


async def test_limit_resets_after_the_window(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, ratelimit_post=RateLimit(limit=1, window=WINDOW))
    runtime = Runtime.create(settings)
    now = [10_000.0 * WINDOW + 15]
    runtime.limiter = MemoryRateLimiter(clock=lambda: now[0])
    limited = Limited(runtime, create_app(settings, runtime=runtime))
    try:
        async with await limited.user_client() as c:
            assert (await c.post("/api/v1/notes", json={"title": "1"})).status_code == 201
            r = await c.post("/api/v1/notes", json={"title": "2"})
            assert r.status_code == 429 and r.headers["Retry-After"] == str(WINDOW - 15)
            now[0] += WINDOW - 15
            assert (await c.post("/api/v1/notes", json={"title": "3"})).status_code == 201
    finally:
        await runtime.close()


async def test_disabled_limits_do_not_apply(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path, ratelimit_post=RateLimit(limit=1, window=WINDOW), ratelimit_enabled=False
    )
    runtime = Runtime.create(settings)
    limited = Limited(runtime, create_app(settings, runtime=runtime))
    try:
        async with await limited.user_client() as c:
            for n in range(3):
                assert (await c.post("/api/v1/notes", json={"title": str(n)})).status_code == 201
    finally:
        await runtime.close()
