"""Boards and saves: the lazy default board, named and private boards, counters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Board, BoardNote, Note
from tests.notes.conftest import PersonFactory, count, post_note, row, upload, walk


async def boards_of(runtime: Runtime, user_id: int) -> list[Board]:
    async with runtime.db.transaction(write=False) as session:
        return list(await session.scalars(select(Board).where(Board.owner_id == user_id).order_by(Board.id)))


async def make_board(client: Any, title: str, **extra: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/boards", json={"title": title, **extra})
    assert r.status_code == 201, r.text
    board: dict[str, Any] = r.json()
    return board


async def test_save_creates_the_default_board_lazily(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    n1 = (await post_note(alice.client, title="one"))["id"]
    n2 = (await post_note(alice.client, title="two"))["id"]
    assert await boards_of(runtime, bob.id) == []
    r = await bob.client.post(f"/api/v1/notes/{n1}/save")
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["title"] == "Saved" and board["is_default"] is True and board["is_private"] is False
    assert board["note_count"] == 1 and board["owner"]["username"] == "bob"
    r = await bob.client.post(f"/api/v1/notes/{n2}/save", json={})
    assert r.status_code == 200 and r.json()["id"] == board["id"] and r.json()["note_count"] == 2
    assert [b.is_default for b in await boards_of(runtime, bob.id)] == [True]
    seen = (await bob.client.get(f"/api/v1/notes/{n1}")).json()
    assert seen["saved"] is True and seen["save_count"] == 1
    assert (await row(runtime, User, alice.id)).likes_received == 2


async def test_save_to_named_board_and_duplicates(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    trips = await make_board(bob.client, "  Trips  ", description="places")
    assert trips["title"] == "Trips" and trips["is_default"] is False and trips["note_count"] == 0
    r = await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": trips["id"]})
    assert r.status_code == 200 and r.json()["id"] == trips["id"] and r.json()["note_count"] == 1
    r = await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": trips["id"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_saved"
    # The same note in a second board is a second save.
    assert (await bob.client.post(f"/api/v1/notes/{nid}/save")).status_code == 200
    assert (await row(runtime, Note, int(nid))).save_count == 2 == await count(runtime, BoardNote)
    assert (await row(runtime, Board, int(trips["id"]))).note_count == 1


async def test_saving_into_someone_elses_board_is_not_found(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    alices = await make_board(alice.client, "Mine")
    r = await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": alices["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "board_not_found"
    r = await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": "99999999"})
    assert r.status_code == 404
    assert await count(runtime, BoardNote) == 0
    assert (await row(runtime, Note, int(nid))).save_count == 0


async def test_unsave_from_one_board_or_all(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    a = await make_board(bob.client, "A")
    b = await make_board(bob.client, "B")
    for board in (a, b):
        assert (await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": board["id"]})).status_code == 200
    assert (await bob.client.post(f"/api/v1/notes/{nid}/save")).status_code == 200
    assert (await row(runtime, Note, int(nid))).save_count == 3
    assert (await row(runtime, User, alice.id)).likes_received == 3

    r = await bob.client.delete(f"/api/v1/notes/{nid}/save", params={"board_id": a["id"]})
    assert r.status_code == 200, r.text
    assert (await row(runtime, Note, int(nid))).save_count == 2
    assert (await row(runtime, Board, int(a["id"]))).note_count == 0
    assert (await row(runtime, Board, int(b["id"]))).note_count == 1
    r = await bob.client.delete(f"/api/v1/notes/{nid}/save", params={"board_id": a["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_saved"

    assert (await bob.client.delete(f"/api/v1/notes/{nid}/save")).status_code == 200
    assert (await row(runtime, Note, int(nid))).save_count == 0 == await count(runtime, BoardNote)
    assert [b.note_count for b in await boards_of(runtime, bob.id)] == [0, 0, 0]
    assert (await row(runtime, User, alice.id)).likes_received == 0
    assert (await bob.client.delete(f"/api/v1/notes/{nid}/save")).status_code == 404
    assert (await bob.client.get(f"/api/v1/notes/{nid}")).json()["saved"] is False


async def test_private_boards_are_invisible_to_others(person: PersonFactory, client: Any) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    public = await make_board(bob.client, "Public")
    secret = await make_board(bob.client, "Secret", is_private=True)
    assert secret["is_private"] is True
    assert (await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": secret["id"]})).status_code == 200

    for other in (alice.client, client):
        assert (await other.get(f"/api/v1/boards/{secret['id']}")).status_code == 404
        assert (await other.get(f"/api/v1/boards/{secret['id']}/notes")).status_code == 404
        listed = (await other.get("/api/v1/users/bob/boards")).json()["items"]
        assert [b["id"] for b in listed] == [public["id"]]
        assert (await other.get(f"/api/v1/boards/{public['id']}")).status_code == 200

    own = (await bob.client.get("/api/v1/users/bob/boards")).json()["items"]
    assert [b["id"] for b in own] == [secret["id"], public["id"]]
    assert (await bob.client.get(f"/api/v1/boards/{secret['id']}")).json()["note_count"] == 1
    notes = (await bob.client.get(f"/api/v1/boards/{secret['id']}/notes")).json()["items"]
    assert [n["id"] for n in notes] == [nid]

    # Making it public shows it.
    r = await bob.client.patch(f"/api/v1/boards/{secret['id']}", json={"is_private": False})
    assert r.status_code == 200 and r.json()["is_private"] is False
    assert (await alice.client.get(f"/api/v1/boards/{secret['id']}")).status_code == 200


async def test_only_the_owner_changes_a_board(runtime: Runtime, person: PersonFactory) -> None:
    _alice, bob = await person("alice"), await person("bob")
    board = await make_board(bob.client, "Mine")
    r = await _alice.client.patch(f"/api/v1/boards/{board['id']}", json={"title": "Ours"})
    assert r.status_code == 403
    assert (await _alice.client.delete(f"/api/v1/boards/{board['id']}")).status_code == 403
    assert (await row(runtime, Board, int(board["id"]))).title == "Mine"
    r = await bob.client.patch(f"/api/v1/boards/{board['id']}", json={"title": "  "})
    assert r.status_code == 422
    r = await bob.client.patch(f"/api/v1/boards/{board['id']}", json={"title": "Renamed", "description": "d"})
    assert r.status_code == 200 and (r.json()["title"], r.json()["description"]) == ("Renamed", "d")


async def test_delete_board_fixes_save_counts(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    n1 = (await post_note(alice.client, title="1"))["id"]
    n2 = (await post_note(alice.client, title="2"))["id"]
    doomed = await make_board(bob.client, "Doomed")
    for nid in (n1, n2):
        assert (await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": doomed["id"]})).status_code == 200
    assert (await bob.client.post(f"/api/v1/notes/{n1}/save")).status_code == 200
    assert (await row(runtime, Note, int(n1))).save_count == 2
    assert (await row(runtime, User, alice.id)).likes_received == 3

    assert (await bob.client.delete(f"/api/v1/boards/{doomed['id']}")).status_code == 200
    assert await row(runtime, Board, int(doomed["id"])) is None
    assert (await row(runtime, Note, int(n1))).save_count == 1
    assert (await row(runtime, Note, int(n2))).save_count == 0
    assert await count(runtime, BoardNote) == 1
    assert (await row(runtime, User, alice.id)).likes_received == 1
    assert (await bob.client.get(f"/api/v1/boards/{doomed['id']}")).status_code == 404


async def test_default_board_cannot_be_deleted(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    board = (await bob.client.post(f"/api/v1/notes/{nid}/save")).json()
    r = await bob.client.delete(f"/api/v1/boards/{board['id']}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "default_board"
    assert (await row(runtime, Board, int(board["id"]))).note_count == 1


async def test_board_notes_paginate_newest_save_first(person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    ids = [(await post_note(alice.client, title=f"n{i}"))["id"] for i in range(7)]
    board = await make_board(bob.client, "All")
    # Saved in a different order from posting: the board lists by save time.
    order = [ids[3], ids[0], ids[6], ids[1], ids[5], ids[2], ids[4]]
    for nid in order:
        assert (await bob.client.post(f"/api/v1/notes/{nid}/save", json={"board_id": board["id"]})).status_code == 200
    pages = await walk(alice.client, f"/api/v1/boards/{board['id']}/notes", limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [n["id"] for p in pages for n in p] == list(reversed(order))


async def test_board_list_pages_default_board_once(person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    older = await make_board(bob.client, "Older")
    default = (await bob.client.post(f"/api/v1/notes/{nid}/save")).json()
    newer = [await make_board(bob.client, f"B{i}") for i in range(4)]
    for limit in (1, 2, 3, 10):
        pages = await walk(alice.client, "/api/v1/users/bob/boards", limit=limit)
        ids = [b["id"] for p in pages for b in p]
        assert ids == [default["id"], *[b["id"] for b in reversed(newer)], older["id"]], limit


async def test_board_cover_is_the_latest_saved_image(person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    first = await post_note(alice.client, title="first", media_ids=[await upload(alice.client)])
    await post_note(alice.client, title="text only")
    second = await post_note(
        alice.client, title="second", media_ids=[await upload(alice.client), await upload(alice.client)]
    )
    board = await make_board(bob.client, "Pics")
    empty = await make_board(bob.client, "Empty")
    for n in (first, second):
        assert (
            await bob.client.post(f"/api/v1/notes/{n['id']}/save", json={"board_id": board["id"]})
        ).status_code == 200
    listed = {b["id"]: b for b in (await alice.client.get("/api/v1/users/bob/boards")).json()["items"]}
    assert listed[board["id"]]["cover_url"] == second["media"][0]["url"]
    assert listed[empty["id"]]["cover_url"] is None
    # A deleted note no longer provides the cover.
    assert (await alice.client.delete(f"/api/v1/notes/{second['id']}")).status_code == 200
    shown = (await bob.client.get(f"/api/v1/boards/{board['id']}")).json()
    assert shown["cover_url"] == first["media"][0]["url"]
