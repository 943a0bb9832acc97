from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bridgenote.accounts.models import User
from bridgenote.core import i18n
from bridgenote.core.pagination import encode_cursor
from bridgenote.core.runtime import Runtime
from bridgenote.notifications import service
from tests.factories import create_user
from tests.notifications.support import like, make_note, notifications_of, publish

Drain = Callable[[], Awaitable[int]]
ClientFor = Callable[[User], Awaitable[httpx.AsyncClient]]


async def _note_via_api(client: httpx.AsyncClient, body: str = "hello") -> str:
    r = await client.post("/api/v1/notes", json={"title": "t", "body": body})
    assert r.status_code == 201, r.text
    note_id: str = r.json()["id"]
    return note_id


async def _unread(client: httpx.AsyncClient) -> int:
    r = await client.get("/api/v1/notifications/unread_count")
    assert r.status_code == 200, r.text
    unread: int = r.json()["unread"]
    return unread


async def test_like_through_the_api_notifies_the_author(client_for: ClientFor, runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime, display_name="Bob B")
    a, b = await client_for(alice), await client_for(bob)
    note_id = await _note_via_api(a)
    assert (await b.post(f"/api/v1/notes/{note_id}/like")).status_code == 200
    assert await _unread(a) == 0  # nothing before the job ran
    await drain()
    assert await _unread(a) == 1
    r = await a.get("/api/v1/notifications")
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["kind"] == "like"
    assert item["actor"] == {"id": str(bob.id), "username": bob.username, "display_name": "Bob B", "avatar_url": None}
    assert item["note_id"] == note_id and item["comment_id"] is None
    assert item["read"] is False and item["data"] == {}
    assert item["text"] == "Bob B liked your note"
    assert isinstance(item["id"], str) and item["created_at"]
    assert r.json()["next_cursor"] is None
    assert (await b.get("/api/v1/notifications")).json()["items"] == []


async def test_self_like_through_the_api_is_silent(client_for: ClientFor, runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    a = await client_for(alice)
    note_id = await _note_via_api(a)
    assert (await a.post(f"/api/v1/notes/{note_id}/like")).status_code == 200
    await drain()
    assert await _unread(a) == 0
    assert (await a.get("/api/v1/notifications")).json()["items"] == []


async def test_block_before_the_job_runs_stops_the_notification(
    client_for: ClientFor, runtime: Runtime, drain: Drain
) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    a, b = await client_for(alice), await client_for(bob)
    note_id = await _note_via_api(a)
    assert (await b.post(f"/api/v1/notes/{note_id}/like")).status_code == 200
    assert (await a.post(f"/api/v1/users/{bob.username}/block")).status_code == 200
    await drain()
    assert await _unread(a) == 0
    assert await notifications_of(runtime, alice) == []


async def test_reply_mention_and_follow_texts(client_for: ClientFor, runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    a, b, c = await client_for(alice), await client_for(bob), await client_for(carol)
    note_id = await _note_via_api(a, body=f"hi @{carol.username}")
    r = await b.post(f"/api/v1/notes/{note_id}/comments", json={"body": "first"})
    assert r.status_code == 201, r.text
    top = r.json()["id"]
    r = await c.post(f"/api/v1/notes/{note_id}/comments", json={"body": f"me too @{alice.username}", "parent_id": top})
    assert r.status_code == 201, r.text
    reply = r.json()["id"]
    assert (await b.post(f"/api/v1/users/{carol.username}/follow")).status_code == 200
    assert (await a.post(f"/api/v1/comments/{top}/like")).status_code == 200
    await drain()

    def summary(items: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
        return [(i["kind"], i["comment_id"], i["text"]) for i in items]

    assert summary((await a.get("/api/v1/notifications")).json()["items"]) == [
        ("mention", reply, f"{carol.username} mentioned you in a comment"),
        ("comment", top, f"{bob.username} commented on your note"),
    ]
    assert summary((await b.get("/api/v1/notifications")).json()["items"]) == [
        ("comment_like", top, f"{alice.username} liked your comment"),
        ("reply", reply, f"{carol.username} replied to your comment"),
    ]
    assert summary((await c.get("/api/v1/notifications")).json()["items"]) == [
        ("follow", None, f"{bob.username} started following you"),
        ("mention", None, f"{alice.username} mentioned you in a note"),
    ]


async def test_save_text(client_for: ClientFor, runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    a, b = await client_for(alice), await client_for(bob)
    note_id = await _note_via_api(a)
    assert (await b.post(f"/api/v1/notes/{note_id}/save")).status_code == 200
    await drain()
    [item] = (await a.get("/api/v1/notifications")).json()["items"]
    assert (item["kind"], item["text"]) == ("save", f"{bob.username} saved your note")


async def test_mark_read_by_ids_leaves_other_users_alone(client_for: ClientFor, runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    a, b = await client_for(alice), await client_for(bob)
    alice_note = await make_note(runtime, alice)
    bob_note = await make_note(runtime, bob)
    await publish(runtime, "interaction.recorded", like(carol, alice, alice_note))
    await publish(runtime, "interaction.recorded", like(bob, alice, alice_note))
    await publish(runtime, "interaction.recorded", like(carol, bob, bob_note))
    await drain()
    alice_ids = [i["id"] for i in (await a.get("/api/v1/notifications")).json()["items"]]
    [bob_id] = [i["id"] for i in (await b.get("/api/v1/notifications")).json()["items"]]
    assert len(alice_ids) == 2

    r = await a.post("/api/v1/notifications/read", json={"ids": [alice_ids[0], bob_id]})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "updated": 1}
    assert await _unread(a) == 1
    assert await _unread(b) == 1
    items = (await a.get("/api/v1/notifications")).json()["items"]
    assert [i["read"] for i in items] == [True, False]
    unread = (await a.get("/api/v1/notifications", params={"unread_only": "true"})).json()["items"]
    assert [i["id"] for i in unread] == [alice_ids[1]]
    # Bob's notification cannot be marked by Alice, even with "all".
    r = await a.post("/api/v1/notifications/read", json={"all": True})
    assert r.json() == {"ok": True, "updated": 1}
    assert await _unread(a) == 0
    assert await _unread(b) == 1
    assert [i["read"] for i in (await b.get("/api/v1/notifications")).json()["items"]] == [False]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all": False},
        {"ids": ["1"], "all": True},
        {"ids": []},
        {"ids": [str(i) for i in range(1, 502)]},
        {"ids": ["abc"]},
        {"ids": ["-1"]},
        {"ids": "1"},
        {"ids": ["1"], "extra": 1},
    ],
)
async def test_mark_read_rejects_bad_bodies(client_for: ClientFor, runtime: Runtime, body: dict[str, Any]) -> None:
    a = await client_for(await create_user(runtime))
    r = await a.post("/api/v1/notifications/read", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and error["details"]


async def test_mark_read_accepts_500_ids_and_rejects_broken_json(client_for: ClientFor, runtime: Runtime) -> None:
    a = await client_for(await create_user(runtime))
    r = await a.post("/api/v1/notifications/read", json={"ids": [str(i) for i in range(1, 501)]})
    assert r.status_code == 200 and r.json() == {"ok": True, "updated": 0}
    r = await a.post("/api/v1/notifications/read", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


async def test_everything_needs_login(client: httpx.AsyncClient) -> None:
    for method, url, body in [
        ("GET", "/api/v1/notifications", None),
        ("GET", "/api/v1/notifications/unread_count", None),
        ("POST", "/api/v1/notifications/read", {"all": True}),
    ]:
        r = await client.request(method, url, json=body)
        assert r.status_code == 401, (url, r.text)


async def _follows(runtime: Runtime, recipient: User, n: int) -> list[User]:
    actors = [await create_user(runtime) for _ in range(n)]
    async with runtime.db.transaction() as session:
        for actor in actors:
            await service.notify(session, user_id=recipient.id, actor_id=actor.id, kind="follow")
    return actors


async def test_cursor_pagination_and_limits(client_for: ClientFor, runtime: Runtime) -> None:
    alice = await create_user(runtime)
    actors = await _follows(runtime, alice, 5)
    a = await client_for(alice)
    usernames: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await a.get("/api/v1/notifications", params=params)
        assert r.status_code == 200, r.text
        usernames += [i["actor"]["username"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    assert cursor is None
    assert usernames == [u.username for u in reversed(actors)]
    assert (await a.get("/api/v1/notifications", params={"limit": 101})).status_code == 422
    assert (await a.get("/api/v1/notifications", params={"limit": 0})).status_code == 422
    for bad in ("%%%", encode_cursor("x"), encode_cursor(2**64)):
        r = await a.get("/api/v1/notifications", params={"cursor": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"


@contextmanager
def count_queries(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = {runtime.db.read_engine.sync_engine, runtime.db.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


async def test_listing_does_not_query_per_actor(client_for: ClientFor, runtime: Runtime) -> None:
    alice = await create_user(runtime)
    a = await client_for(alice)
    await _follows(runtime, alice, 2)
    runtime.caches.clear()
    with count_queries(runtime) as few:
        assert len((await a.get("/api/v1/notifications")).json()["items"]) == 2
    await _follows(runtime, alice, 8)
    runtime.caches.clear()  # both requests pay the same authentication query
    with count_queries(runtime) as many:
        assert len((await a.get("/api/v1/notifications")).json()["items"]) == 10
    assert len(many) == len(few)
    assert len(few) <= 4, few


class _FakeChinese:
    """Stands in for the zh_Hans catalog, which another engineer owns."""

    def gettext(self, message: str) -> str:
        return {"{name} liked your note": "{name} 赞了你的笔记"}.get(message, message)


async def test_text_follows_each_viewers_ui_language(
    client_for: ClientFor, runtime: Runtime, drain: Drain, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_catalog = i18n.catalog
    monkeypatch.setattr(
        i18n, "catalog", lambda language: _FakeChinese() if language == "zh-Hans" else real_catalog(language)
    )
    lin = await create_user(runtime, username="lin", display_name="小林", ui_language="zh-Hans")
    ann = await create_user(runtime, username="ann", display_name="Ann")
    joe = await create_user(runtime, username="joe", display_name="Joe")
    lin_note = await make_note(runtime, lin)
    ann_note = await make_note(runtime, ann)
    await publish(runtime, "interaction.recorded", like(joe, lin, lin_note))
    await publish(runtime, "interaction.recorded", like(lin, ann, ann_note))
    await drain()
    # The request's Accept-Language does not matter: the account's setting does.
    lin_client = await client_for(lin)
    [item] = (await lin_client.get("/api/v1/notifications", headers={"Accept-Language": "en"})).json()["items"]
    assert item["text"] == "Joe 赞了你的笔记"
    ann_client = await client_for(ann)
    [item] = (await ann_client.get("/api/v1/notifications", headers={"Accept-Language": "zh-CN"})).json()["items"]
    assert item["text"] == "小林 liked your note"
