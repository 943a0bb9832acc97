"""DELETE /api/v1/me: personal data erased at once, the rest purged by jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pyotp
from sqlalchemy import select

from bridgenote.accounts.models import AuthToken, Block, DataExport, Follow, Mute
from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from tests.accounts.conftest import Browser
from tests.accounts.helpers import count, csrf, jpeg_with_gps, key_of, load_user, upload
from tests.factories import PASSWORD, create_user

Drain = Callable[[], Awaitable[int]]


async def test_delete_account(
    browser: Browser,
    client_for,  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient,
    runtime: Runtime,
    drain: Drain,
) -> None:
    lily = await create_user(runtime, username="lily", email="lily@example.com", display_name="Lily", region="CN")
    fan = await create_user(runtime)
    idol = await create_user(runtime)
    other = await create_user(runtime)
    lily_api = await client_for(lily)
    fan_api = await client_for(fan)
    await lily_api.patch("/api/v1/me", json={"bio": "about me"})
    await fan_api.post("/api/v1/users/lily/follow")
    await lily_api.post(f"/api/v1/users/{idol.username}/follow")
    await lily_api.post(f"/api/v1/users/{other.username}/mute")
    await (await client_for(other)).post("/api/v1/users/lily/block")
    avatar = key_of((await lily_api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))).json()["avatar_url"])
    export = (await lily_api.post("/api/v1/me/exports")).json()
    await drain()
    archive_key = (await _export_row(runtime, int(export["id"]))).storage_key
    assert archive_key and await runtime.storage.exists(archive_key)
    assert (await load_user(runtime, fan.id)).following_count == 1
    assert (await load_user(runtime, idol.id)).follower_count == 1

    web, token = await browser(lily)
    r = await web.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=csrf(token))
    assert r.status_code == 200, r.text

    stored = await load_user(runtime, lily.id)
    assert stored.username == f"deleted-{lily.id}"
    assert stored.username_key == f"deleted-{lily.id}"
    assert stored.email is None
    assert stored.password_hash is None
    assert stored.bio == ""
    assert stored.display_name == ""
    assert stored.region is None
    assert stored.avatar_key is None
    assert stored.state == "deleted"
    assert stored.deleted_at is not None
    assert (stored.follower_count, stored.following_count) == (0, 0)

    # Every session and token is dead.
    assert await count(runtime, AuthToken, AuthToken.user_id == lily.id, AuthToken.revoked_at.is_(None)) == 0
    assert (await web.get("/api/v1/me")).status_code == 401
    assert (await lily_api.get("/api/v1/me")).status_code == 401
    r = await client.post("/api/v1/auth/login", json={"login": "lily", "password": PASSWORD})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"login": "lily@example.com", "password": PASSWORD})
    assert r.status_code == 401
    # The profile is gone; follows are gone and the other side's counters are right.
    assert (await client.get("/api/v1/users/lily")).status_code == 404
    assert (await client.get(f"/api/v1/users/deleted-{lily.id}")).status_code == 404
    assert await count(runtime, Follow) == 0
    assert await count(runtime, Block) == 0
    assert await count(runtime, Mute) == 0
    assert (await load_user(runtime, fan.id)).following_count == 0
    assert (await load_user(runtime, idol.id)).follower_count == 0

    # Subscribers get user.deleted after commit.
    async with runtime.db.transaction(write=False) as session:
        jobs = (await session.scalars(select(Job).where(Job.state == "queued"))).all()
    deleted_events = [j for j in jobs if j.payload.get("event") == "user.deleted"]
    assert deleted_events
    assert {j.payload["user_id"] for j in deleted_events} == {lily.id}
    assert {j.payload["avatar_key"] for j in deleted_events} == {avatar}
    assert "accounts.purge_deleted_account" in {j.name for j in deleted_events}

    await drain()
    assert not await runtime.storage.exists(avatar)
    assert not await runtime.storage.exists(archive_key)
    assert await count(runtime, DataExport, DataExport.user_id == lily.id) == 0
    assert await count(runtime, AuthToken, AuthToken.user_id == lily.id) == 0
    async with runtime.db.transaction(write=False) as session:
        failed = (await session.scalars(select(Job).where(Job.state != "done"))).all()
    assert [(j.name, j.last_error) for j in failed] == []


async def _export_row(runtime: Runtime, export_id: int) -> DataExport:
    async with runtime.db.transaction(write=False) as session:
        row = await session.get(DataExport, export_id)
        assert row is not None
        return row


async def test_wrong_password_changes_nothing(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    lily = await create_user(runtime, username="lily")
    fan = await create_user(runtime)
    await (await client_for(fan)).post("/api/v1/users/lily/follow")
    api = await client_for(lily)
    before = await load_user(runtime, lily.id)
    jobs_before = await count(runtime, Job)

    r = await api.request("DELETE", "/api/v1/me", json={"password": "not my password"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "wrong_password"
    after = await load_user(runtime, lily.id)
    assert (after.username, after.email, after.password_hash, after.state, after.follower_count) == (
        before.username,
        before.email,
        before.password_hash,
        "active",
        1,
    )
    assert await count(runtime, Follow) == 1
    assert await count(runtime, Job) == jobs_before
    assert (await api.get("/api/v1/me")).status_code == 200


async def test_delete_needs_login_and_password(client: httpx.AsyncClient, client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    assert (await client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})).status_code == 401
    api = await client_for(await create_user(runtime))
    assert (await api.request("DELETE", "/api/v1/me", json={})).status_code == 422


async def test_delete_with_two_factor_needs_the_code(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    lily = await create_user(runtime)
    api = await client_for(lily)
    secret = (await api.post("/api/v1/auth/2fa/setup")).json()["secret"]
    assert (await api.post("/api/v1/auth/2fa/enable", json={"code": pyotp.TOTP(secret).now()})).status_code == 200

    r = await api.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "otp_required"
    assert (await load_user(runtime, lily.id)).state == "active"
    r = await api.request("DELETE", "/api/v1/me", json={"password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text
    assert (await load_user(runtime, lily.id)).state == "deleted"
