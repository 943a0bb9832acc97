"""Follows, blocks and mutes, and the follower / following lists."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import Block, Follow, Mute, User
from bridgenote.core.runtime import Runtime
from tests.accounts.helpers import count, load_user
from tests.factories import create_user, viewer


async def counters(runtime: Runtime, user: User) -> tuple[int, int]:
    stored = await load_user(runtime, user.id)
    return stored.follower_count, stored.following_count


async def test_follow_and_unfollow_keep_counters_exact(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    a = await client_for(alice)
    b = await client_for(bob)

    assert (await a.post(f"/api/v1/users/{bob.username}/follow")).status_code == 200
    assert (await a.post(f"/api/v1/users/{carol.username}/follow")).status_code == 200
    assert (await b.post(f"/api/v1/users/{carol.username}/follow")).status_code == 200
    assert await counters(runtime, alice) == (0, 2)
    assert await counters(runtime, bob) == (1, 1)
    assert await counters(runtime, carol) == (2, 0)

    profile = (await a.get(f"/api/v1/users/{bob.username}")).json()
    assert profile["is_following"] is True and profile["follows_you"] is False
    assert profile["follower_count"] == 1
    assert (await b.get(f"/api/v1/users/{alice.username}")).json()["follows_you"] is True

    r = await a.post(f"/api/v1/users/{bob.username}/follow")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_following"
    assert await counters(runtime, bob) == (1, 1)
    assert await count(runtime, Follow) == 3

    assert (await a.delete(f"/api/v1/users/{bob.username}/follow")).status_code == 200
    assert await counters(runtime, alice) == (0, 1)
    assert await counters(runtime, bob) == (0, 1)
    r = await a.delete(f"/api/v1/users/{bob.username}/follow")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_following"
    assert await counters(runtime, bob) == (0, 1)


async def test_follow_self_and_unknown(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    a = await client_for(alice)
    r = await a.post(f"/api/v1/users/{alice.username.upper()}/follow")
    assert r.status_code == 400 and r.json()["error"]["code"] == "follow_self"
    assert (await a.post("/api/v1/users/nobody/follow")).status_code == 404
    assert await counters(runtime, alice) == (0, 0)
    assert await count(runtime, Follow) == 0


async def test_relations_need_a_login(client: httpx.AsyncClient, runtime: Runtime) -> None:
    bob = await create_user(runtime)
    for verb in ("follow", "block", "mute"):
        assert (await client.post(f"/api/v1/users/{bob.username}/{verb}")).status_code == 401


async def test_block_removes_follows_both_ways_and_hides_profiles(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    a = await client_for(alice)
    b = await client_for(bob)
    c = await client_for(carol)
    await a.post(f"/api/v1/users/{bob.username}/follow")
    await b.post(f"/api/v1/users/{alice.username}/follow")
    await c.post(f"/api/v1/users/{alice.username}/follow")
    assert await counters(runtime, alice) == (2, 1)

    r = await a.post(f"/api/v1/users/{bob.username}/block")
    assert r.status_code == 200, r.text
    assert await counters(runtime, alice) == (1, 0)
    assert await counters(runtime, bob) == (0, 0)
    assert await count(runtime, Follow) == 1  # only carol -> alice is left
    assert await count(runtime, Block) == 1

    # Neither sees the other, and neither can follow the other back.
    assert (await a.get(f"/api/v1/users/{bob.username}")).status_code == 404
    assert (await b.get(f"/api/v1/users/{alice.username}")).status_code == 404
    assert (await b.post(f"/api/v1/users/{alice.username}/follow")).status_code == 404
    assert (await a.post(f"/api/v1/users/{bob.username}/follow")).status_code == 404
    assert (await b.get(f"/api/v1/users/{alice.username}/followers")).status_code == 404
    # Everyone else still sees both.
    assert (await c.get(f"/api/v1/users/{bob.username}")).status_code == 200
    assert (await c.get(f"/api/v1/users/{alice.username}")).status_code == 200

    r = await a.post(f"/api/v1/users/{bob.username}/block")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_blocked"
    r = await a.post(f"/api/v1/users/{alice.username}/block")
    assert r.status_code == 400 and r.json()["error"]["code"] == "block_self"

    assert (await a.delete(f"/api/v1/users/{bob.username}/block")).status_code == 200
    profile = await a.get(f"/api/v1/users/{bob.username}")
    assert profile.status_code == 200
    assert profile.json()["is_following"] is False  # unblocking does not restore follows
    assert (await a.delete(f"/api/v1/users/{bob.username}/block")).status_code == 404


async def test_blocked_users_are_left_out_of_other_peoples_lists(
    client_for, client: httpx.AsyncClient, runtime: Runtime
) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    b = await client_for(bob)
    a = await client_for(alice)
    await b.post(f"/api/v1/users/{carol.username}/follow")
    await a.post(f"/api/v1/users/{carol.username}/follow")
    await a.post(f"/api/v1/users/{bob.username}/block")

    def names(r: httpx.Response) -> set[str]:
        assert r.status_code == 200, r.text
        return {u["username"] for u in r.json()["items"]}

    assert names(await a.get(f"/api/v1/users/{carol.username}/followers")) == {alice.username}
    assert names(await b.get(f"/api/v1/users/{carol.username}/followers")) == {bob.username}
    assert names(await client.get(f"/api/v1/users/{carol.username}/followers")) == {alice.username, bob.username}


async def test_mute_shows_in_relations(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    a = await client_for(alice)
    await a.post(f"/api/v1/users/{bob.username}/follow")
    assert (await a.post(f"/api/v1/users/{bob.username}/mute")).status_code == 200
    profile = (await a.get(f"/api/v1/users/{bob.username}")).json()
    assert profile["is_muted"] is True
    assert profile["is_following"] is True  # muting is quiet: the follow stays
    assert profile["is_blocked"] is False
    # Bob cannot tell.
    b = await client_for(bob)
    assert (await b.get(f"/api/v1/users/{alice.username}")).json()["is_muted"] is False

    r = await a.post(f"/api/v1/users/{bob.username}/mute")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_muted"
    r = await a.post(f"/api/v1/users/{alice.username}/mute")
    assert r.status_code == 400 and r.json()["error"]["code"] == "mute_self"
    assert await count(runtime, Mute) == 1

    assert (await a.delete(f"/api/v1/users/{bob.username}/mute")).status_code == 200
    assert (await a.get(f"/api/v1/users/{bob.username}")).json()["is_muted"] is False
    assert (await a.delete(f"/api/v1/users/{bob.username}/mute")).status_code == 404


async def test_blocked_is_listed_in_relations(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    a = await client_for(alice)
    await a.post(f"/api/v1/users/{bob.username}/block")
    async with runtime.db.transaction(write=False) as session:
        assert await accounts_service.relations(session, viewer=viewer(alice), user_id=bob.id) == {
            "is_following": False,
            "follows_you": False,
            "is_muted": False,
            "is_blocked": True,
        }
        assert await accounts_service.is_blocked_either_way(session, a=bob.id, b=alice.id)


@pytest.mark.parametrize("kind", ["followers", "following"])
async def test_lists_paginate_with_cursors(client_for, client: httpx.AsyncClient, runtime: Runtime, kind: str) -> None:  # type: ignore[no-untyped-def]
    star = await create_user(runtime)
    others = [await create_user(runtime) for _ in range(5)]
    star_api = await client_for(star)
    for other in others:
        other_api = await client_for(other)
        if kind == "followers":
            assert (await other_api.post(f"/api/v1/users/{star.username}/follow")).status_code == 200
        else:
            assert (await star_api.post(f"/api/v1/users/{other.username}/follow")).status_code == 200

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"/api/v1/users/{star.username}/{kind}", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [u["username"] for u in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    # Each account exactly once, newest account first.
    assert seen == [u.username for u in sorted(others, key=lambda u: u.id, reverse=True)]
    # A full page that happens to be the last one has no cursor.
    r = await client.get(f"/api/v1/users/{star.username}/{kind}", params={"limit": 5})
    assert len(r.json()["items"]) == 5 and r.json()["next_cursor"] is None


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        _cursor(["abc"]),
        _cursor([2**70]),
        _cursor([-5]),
        _cursor([1, 2]),
        _cursor({"a": 1}),
        _cursor([True]),
        _cursor([0]),
    ],  # type: ignore[list-item]
)
async def test_bad_cursor_is_400(client: httpx.AsyncClient, runtime: Runtime, cursor: str) -> None:
    star = await create_user(runtime)
    r = await client.get(f"/api/v1/users/{star.username}/followers", params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_cursor"


async def test_lists_of_unknown_user_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users/nobody/followers")).status_code == 404
    assert (await client.get("/api/v1/users/nobody/following")).status_code == 404


@pytest.mark.parametrize("name", ["ｂｏｂ\u200b", "b\u200bob", "bob\u00ad", "%00", "..", "b" * 200])
async def test_names_no_account_could_have_are_404(client_for, runtime: Runtime, name: str) -> None:  # type: ignore[no-untyped-def]
    """Folding ignores zero-width characters (for hashtags and search); a username can
    never contain one, so such a name must not reach an account through folding."""
    await create_user(runtime, username="bob")
    alice = await client_for(await create_user(runtime))
    assert (await alice.get(f"/api/v1/users/{name}")).status_code == 404
    for verb in ("follow", "block", "mute"):
        assert (await alice.post(f"/api/v1/users/{name}/{verb}")).status_code == 404
    assert await count(runtime, Follow) + await count(runtime, Block) + await count(runtime, Mute) == 0
    # Full-width letters are letters: that name folds to bob's, as it does at sign-up.
    assert (await alice.get("/api/v1/users/ｂｏｂ")).status_code == 200
