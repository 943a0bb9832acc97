"""Feeds page by opaque cursors: no duplicates, no gaps, and a clear end."""

from __future__ import annotations

import base64
import json

import pytest

from bridgenote.core.runtime import Runtime
from bridgenote.notes import service
from bridgenote.notes.schemas import NoteCreate
from tests.notes.conftest import Person, PersonFactory, walk


async def many_notes(runtime: Runtime, author: Person, n: int, body: str = "") -> list[str]:
    """``n`` notes through the service (faster than the API), oldest first."""
    ids = []
    async with runtime.db.transaction() as session:
        for i in range(n):
            note = await service.create_note(
                session, viewer=author.viewer, data=NoteCreate(title=f"note {i}", body=body)
            )
            ids.append(str(note.id))
    return ids


def newest_first(ids: list[str]) -> list[str]:
    return sorted(ids, key=int, reverse=True)


def check_pages(pages: list[list[dict[str, object]]], expected: list[str], sizes: list[int]) -> None:
    assert [len(p) for p in pages] == sizes
    seen = [str(n["id"]) for p in pages for n in p]
    assert len(seen) == len(set(seen)), "a note appeared twice"
    assert seen == expected


async def test_latest_feed_pages(runtime: Runtime, person: PersonFactory, client) -> None:  # type: ignore[no-untyped-def]
    alice, bob = await person("alice"), await person("bob")
    ids = await many_notes(runtime, alice, 25) + await many_notes(runtime, bob, 20)
    pages = await walk(client, "/api/v1/feeds/latest", limit=20)
    check_pages(pages, newest_first(ids), [20, 20, 5])
    # The default page size is 20 as well.
    first = (await client.get("/api/v1/feeds/latest")).json()
    assert len(first["items"]) == 20 and first["next_cursor"] is not None


async def test_exact_multiple_ends_without_an_empty_page(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    ids = await many_notes(runtime, alice, 40)
    pages = await walk(alice.client, "/api/v1/feeds/latest", limit=20)
    check_pages(pages, newest_first(ids), [20, 20])


async def test_notes_posted_while_paging_do_not_shift_pages(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    ids = await many_notes(runtime, alice, 30)
    first = (await alice.client.get("/api/v1/feeds/latest", params={"limit": 20})).json()
    await many_notes(runtime, alice, 5)
    second = (
        await alice.client.get("/api/v1/feeds/latest", params={"limit": 20, "cursor": first["next_cursor"]})
    ).json()
    assert [n["id"] for n in first["items"] + second["items"]] == newest_first(ids)
    assert second["next_cursor"] is None


async def test_following_feed(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob, carol, dave = await person("alice"), await person("bob"), await person("carol"), await person("dave")
    ids = await many_notes(runtime, bob, 30) + await many_notes(runtime, carol, 15)
    await many_notes(runtime, dave, 10)
    await many_notes(runtime, alice, 3)  # not one's own
    for name in ("bob", "carol"):
        assert (await alice.client.post(f"/api/v1/users/{name}/follow")).status_code == 200
    pages = await walk(alice.client, "/api/v1/feeds/following", limit=20)
    check_pages(pages, newest_first(ids), [20, 20, 5])


async def test_following_feed_needs_login(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/api/v1/feeds/following")).status_code == 401


async def test_user_notes(runtime: Runtime, person: PersonFactory, client) -> None:  # type: ignore[no-untyped-def]
    alice, bob = await person("alice"), await person("bob")
    ids = await many_notes(runtime, alice, 45)
    await many_notes(runtime, bob, 7)
    pages = await walk(client, "/api/v1/users/alice/notes", limit=20)
    check_pages(pages, newest_first(ids), [20, 20, 5])
    # Usernames match case-insensitively; unknown users are 404.
    assert len((await client.get("/api/v1/users/ALICE/notes")).json()["items"]) == 20
    assert (await client.get("/api/v1/users/nobody/notes")).status_code == 404


async def test_hashtag_notes(runtime: Runtime, person: PersonFactory, client) -> None:  # type: ignore[no-untyped-def]
    alice, bob = await person("alice"), await person("bob")
    ids = await many_notes(runtime, alice, 25, body="#旅遊") + await many_notes(runtime, bob, 20, body="#旅游 #美食")
    await many_notes(runtime, bob, 5, body="#旅行")
    pages = await walk(client, "/api/v1/hashtags/旅遊/notes", limit=20)
    check_pages(pages, newest_first(ids), [20, 20, 5])
    header = (await client.get("/api/v1/hashtags/旅游")).json()
    assert header["note_count"] == 45 and header["name"] == "旅遊"
    assert (await client.get("/api/v1/hashtags/nothing_here/notes")).status_code == 404


async def test_board_notes(runtime: Runtime, person: PersonFactory, client) -> None:  # type: ignore[no-untyped-def]
    alice, bob = await person("alice"), await person("bob")
    ids = await many_notes(runtime, alice, 45)
    async with runtime.db.transaction() as session:
        for nid in ids:
            board = await service.save_note(session, viewer=bob.viewer, note_id=int(nid))
    pages = await walk(client, f"/api/v1/boards/{board.id}/notes", limit=20)
    check_pages(pages, list(reversed(ids)), [20, 20, 5])


async def test_empty_feed(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/api/v1/feeds/latest")
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        cursor_of({"id": 1}),
        cursor_of([1, 2]),
        cursor_of(["abc"]),
        cursor_of([1.5]),
        cursor_of([-5]),
        cursor_of([2**64]),
        cursor_of([10**30]),
    ],
)
@pytest.mark.parametrize(
    "url",
    ["/api/v1/feeds/latest", "/api/v1/users/alice/notes", "/api/v1/hashtags/旅行/notes", "/api/v1/users/alice/boards"],
)
async def test_invalid_cursor_is_a_400(runtime: Runtime, person: PersonFactory, url: str, cursor: str) -> None:
    alice = await person("alice")
    await many_notes(runtime, alice, 1, body="#旅行")
    r = await alice.client.get(url, params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_cursor"


async def test_invalid_cursor_on_board_and_comment_lists(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    [nid] = await many_notes(runtime, alice, 1)
    board = (await alice.client.post(f"/api/v1/notes/{nid}/save")).json()
    root = (await alice.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "hi"})).json()
    for url in (
        f"/api/v1/boards/{board['id']}/notes",
        f"/api/v1/notes/{nid}/comments",
        f"/api/v1/comments/{root['id']}/replies",
        "/api/v1/feeds/following",
    ):
        for cursor in (cursor_of(["abc"]), cursor_of([2**64]), "garbage!"):
            r = await alice.client.get(url, params={"cursor": cursor})
            assert r.status_code == 400, (url, cursor, r.text)


@pytest.mark.parametrize("limit", ["101", "0", "-1", "ten"])
async def test_bad_limits_are_422(client, limit: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/api/v1/feeds/latest", params={"limit": limit})
    assert r.status_code == 422, r.text


async def test_limit_100_is_allowed(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    ids = await many_notes(runtime, alice, 101)
    pages = await walk(alice.client, "/api/v1/feeds/latest", limit=100)
    check_pages(pages, newest_first(ids), [100, 1])
