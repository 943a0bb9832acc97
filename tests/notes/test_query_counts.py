"""No N+1: a page costs a fixed number of SQL statements, whatever its size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from bridgenote.core.runtime import Runtime
from tests.notes.conftest import Person, PersonFactory, post_note, upload


@contextmanager
def statements(runtime: Runtime, params: list[Any] | None = None) -> Iterator[list[str]]:
    """Every SQL statement either engine runs inside the block (and into ``params``, if
    given, their parameters, in the same order)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_args: Any) -> None:
        seen.append(sql)
        if params is not None:
            params.append(parameters)

    engines = {id(e.sync_engine): e.sync_engine for e in (runtime.db.read_engine, runtime.db.write_engine)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", record)


async def measure(runtime: Runtime, client: httpx.AsyncClient, url: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """Statements for one request on a cold cache (the worst case, and the one that could grow)."""
    for cache in runtime.caches.values():
        cache.clear()
    with statements(runtime) as seen:
        r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return len(seen), body


async def rich_notes(authors: list[Person], n: int) -> list[dict[str, Any]]:
    """Notes with images, hashtags and mentions, from several authors."""
    notes = []
    for i in range(n):
        author = authors[i % len(authors)]
        others = [a.username for a in authors if a is not author]
        media = [await upload(author.client) for _ in range(1 + i % 3)]
        body = f"#tag{i} #common #旅行 @{others[0]} @{others[1]} number {i}"
        notes.append(await post_note(author.client, title=f"note {i}", body=body, media_ids=media))
    return notes


async def test_latest_feed_costs_the_same_for_5_or_20_notes(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient
) -> None:
    authors = [await person(f"author{i}") for i in range(3)]
    viewer = await person("viewer")
    notes = await rich_notes(authors, 22)
    for n in notes[::3]:
        assert (await viewer.client.post(f"/api/v1/notes/{n['id']}/like")).status_code == 200
        assert (await viewer.client.post(f"/api/v1/notes/{n['id']}/save")).status_code == 200

    small, page5 = await measure(runtime, viewer.client, "/api/v1/feeds/latest", limit=5)
    large, page20 = await measure(runtime, viewer.client, "/api/v1/feeds/latest", limit=20)
    assert len(page5["items"]) == 5 and len(page20["items"]) == 20
    assert all(n["media"] and n["hashtags"] and len(n["mentions"]) == 2 for n in page20["items"])
    assert any(n["liked"] and n["saved"] for n in page20["items"])
    assert small == large, f"{small} statements for 5 notes, {large} for 20"
    # Anonymous readers too.
    a5, _ = await measure(runtime, client, "/api/v1/feeds/latest", limit=5)
    a20, _ = await measure(runtime, client, "/api/v1/feeds/latest", limit=20)
    assert a5 == a20
    # The author's own notes add the moderation details, still at a fixed cost.
    own5, _ = await measure(runtime, authors[0].client, "/api/v1/users/author0/notes", limit=2)
    own20, _ = await measure(runtime, authors[0].client, "/api/v1/users/author0/notes", limit=7)
    assert own5 == own20


async def test_hashtag_user_and_board_pages_cost_the_same_for_any_size(runtime: Runtime, person: PersonFactory) -> None:
    authors = [await person(f"author{i}") for i in range(3)]
    viewer = await person("viewer")
    notes = await rich_notes(authors, 21)
    board = None
    for n in notes:
        board = (await viewer.client.post(f"/api/v1/notes/{n['id']}/save")).json()
    assert board is not None
    for url in ("/api/v1/hashtags/common/notes", "/api/v1/users/author1/notes", f"/api/v1/boards/{board['id']}/notes"):
        small, _ = await measure(runtime, viewer.client, url, limit=2)
        large, body = await measure(runtime, viewer.client, url, limit=7)
        assert len(body["items"]) == 7
        assert small == large, url


async def test_note_detail_cost_does_not_grow_with_its_content(runtime: Runtime, person: PersonFactory) -> None:
    authors = [await person(f"author{i}") for i in range(6)]
    viewer = await person("viewer")
    plain = await post_note(authors[0].client, title="plain", body="#one @author1")
    full = await post_note(
        authors[0].client,
        title="full",
        body="#a #b #c #d #e #f @author1 @author2 @author3 @author4 @author5",
        media_ids=[await upload(authors[0].client) for _ in range(9)],
    )
    small, _ = await measure(runtime, viewer.client, f"/api/v1/notes/{plain['id']}")
    large, body = await measure(runtime, viewer.client, f"/api/v1/notes/{full['id']}")
    assert len(body["media"]) == 9 and len(body["hashtags"]) == 6 and len(body["mentions"]) == 5
    assert small == large


async def test_comment_list_cost_does_not_grow_with_threads(runtime: Runtime, person: PersonFactory) -> None:
    people = [await person(f"person{i}") for i in range(5)]
    viewer = await person("viewer")
    few = (await post_note(people[0].client, title="few"))["id"]
    many = (await post_note(people[0].client, title="many"))["id"]
    r = await people[1].client.post(f"/api/v1/notes/{few}/comments", json={"body": "one"})
    assert r.status_code == 201
    for i in range(12):
        root = (await people[i % 5].client.post(f"/api/v1/notes/{many}/comments", json={"body": f"root {i}"})).json()
        for j in range(3):
            replier = people[(i + j + 1) % 5]
            r = await replier.client.post(
                f"/api/v1/notes/{many}/comments", json={"body": f"reply {j}", "parent_id": root["id"]}
            )
            assert r.status_code == 201
            if j == 1:
                await people[(i + 3) % 5].client.post(
                    f"/api/v1/notes/{many}/comments", json={"body": "deeper", "parent_id": r.json()["id"]}
                )
        await viewer.client.post(f"/api/v1/comments/{root['id']}/like")
    small, _ = await measure(runtime, viewer.client, f"/api/v1/notes/{few}/comments")
    large, body = await measure(runtime, viewer.client, f"/api/v1/notes/{many}/comments", limit=12)
    assert len(body["items"]) == 12 and all(len(c["replies"]) == 2 for c in body["items"])
    assert small == large
    root_id = body["items"][0]["id"]
    r1, _ = await measure(runtime, viewer.client, f"/api/v1/comments/{root_id}/replies", limit=1)
    r4, replies = await measure(runtime, viewer.client, f"/api/v1/comments/{root_id}/replies", limit=4)
    assert len(replies["items"]) == 4
    assert r1 == r4


async def test_board_list_cost_does_not_grow_with_boards(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob, viewer = await person("alice"), await person("bob"), await person("viewer")
    notes = [await post_note(alice.client, title=f"n{i}", media_ids=[await upload(alice.client)]) for i in range(6)]
    first = (await bob.client.post("/api/v1/boards", json={"title": "first"})).json()
    await bob.client.post(f"/api/v1/notes/{notes[0]['id']}/save", json={"board_id": first["id"]})
    small, _ = await measure(runtime, viewer.client, "/api/v1/users/bob/boards")
    for i in range(1, 6):
        board = (await bob.client.post("/api/v1/boards", json={"title": f"b{i}"})).json()
        await bob.client.post(f"/api/v1/notes/{notes[i]['id']}/save", json={"board_id": board["id"]})
    large, body = await measure(runtime, viewer.client, "/api/v1/users/bob/boards")
    assert len(body["items"]) == 6 and all(b["cover_url"] for b in body["items"])
    assert small == large


async def test_cached_cards_skip_the_card_queries(runtime: Runtime, person: PersonFactory) -> None:
    authors = [await person(f"cached{i}") for i in range(3)]
    viewer = await person("cachedviewer")
    await rich_notes(authors, 6)
    cold, body = await measure(runtime, viewer.client, "/api/v1/feeds/latest", limit=6)
    with statements(runtime) as seen:
        r = await viewer.client.get("/api/v1/feeds/latest", params={"limit": 6})
    assert r.json() == body
    # Warm: BEGIN, auth, the page ids and the viewer's liked/saved flags only.
    assert len(seen) < cold and len(seen) <= 4, seen


async def test_liking_refreshes_the_cached_card(runtime: Runtime, person: PersonFactory) -> None:
    authors = [await person(f"cardauthor{i}") for i in range(3)]
    fan = await person("cardfan")
    note = (await rich_notes(authors, 1))[0]
    first = (await fan.client.get("/api/v1/feeds/latest")).json()["items"][0]
    assert first["like_count"] == 0
    assert (await fan.client.post(f"/api/v1/notes/{note['id']}/like")).status_code == 200
    again = (await fan.client.get("/api/v1/feeds/latest")).json()["items"][0]
    assert again["like_count"] == 1 and again["liked"] is True
