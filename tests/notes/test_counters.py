"""Denormalised counters stay equal to the rows they count, also under concurrent requests.

On SQLite, write transactions queue on ``BEGIN IMMEDIATE`` and the busy timeout; on
PostgreSQL they run concurrently, so these tests are where lost updates and races show.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Board, BoardNote, Comment, Hashtag, Like, MediaAttachment, Note
from tests.notes.conftest import Person, PersonFactory, count, post_note, row, scalar, upload


async def crowd(person: PersonFactory, n: int) -> list[Person]:
    return [await person(f"fan{i}") for i in range(n)]


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def assert_all(responses: list[httpx.Response], status: int) -> None:
    failed = [(r.status_code, r.text) for r in responses if r.status_code != status]
    assert not failed, f"{len(failed)} of {len(responses)} requests failed: {failed[:3]}"


async def check_note_counters(runtime: Runtime, note_id: int) -> Note:
    note = await row(runtime, Note, note_id)
    assert note.like_count == await count(runtime, Like, Like.note_id == note_id)
    assert note.save_count == await count(runtime, BoardNote, BoardNote.note_id == note_id)
    assert note.comment_count == await count(runtime, Comment, Comment.note_id == note_id, Comment.deleted_at.is_(None))
    return note  # type: ignore[no-any-return]


async def likes_received_in_rows(runtime: Runtime, user_id: int) -> int:
    likes = await scalar(
        runtime,
        "SELECT count(*) FROM likes JOIN notes ON notes.id = likes.note_id WHERE notes.author_id = :u",
        u=user_id,
    )
    saves = await scalar(
        runtime,
        "SELECT count(*) FROM board_notes JOIN notes ON notes.id = board_notes.note_id WHERE notes.author_id = :u",
        u=user_id,
    )
    return int(likes) + int(saves)


async def test_concurrent_likes_saves_and_comments(runtime: Runtime, person: PersonFactory) -> None:
    author = await person("author")
    fans = await crowd(person, 20)
    nid = (await post_note(author.client, title="popular"))["id"]
    other = (await post_note(author.client, title="also popular"))["id"]

    calls: list[Any] = []
    for i, fan in enumerate(fans):
        calls.append(fan.client.post(f"/api/v1/notes/{nid}/like"))
        calls.append(fan.client.post(f"/api/v1/notes/{nid}/save"))
        calls.append(fan.client.post(f"/api/v1/notes/{nid}/comments", json={"body": f"wow {i}"}))
        calls.append(fan.client.post(f"/api/v1/notes/{other}/like"))
    responses = await asyncio.gather(*calls)
    assert statuses(responses) == Counter({200: 60, 201: 20}), [r.text for r in responses if r.status_code >= 300][:3]

    note = await check_note_counters(runtime, int(nid))
    assert (note.like_count, note.save_count, note.comment_count) == (20, 20, 20)
    assert (await row(runtime, Note, int(other))).like_count == 20
    assert (
        (await row(runtime, User, author.id)).likes_received == 60 == await likes_received_in_rows(runtime, author.id)
    )
    # Each fan got exactly one default board, holding one note.
    assert await count(runtime, Board) == 20
    assert await scalar(runtime, "SELECT count(*) FROM boards WHERE note_count != 1") == 0

    # Everyone takes it back at once.
    calls = []
    for fan in fans:
        calls.append(fan.client.delete(f"/api/v1/notes/{nid}/like"))
        calls.append(fan.client.delete(f"/api/v1/notes/{nid}/save"))
    assert_all(await asyncio.gather(*calls), 200)
    note = await check_note_counters(runtime, int(nid))
    assert (note.like_count, note.save_count, note.comment_count) == (0, 0, 20)
    assert (
        (await row(runtime, User, author.id)).likes_received == 20 == await likes_received_in_rows(runtime, author.id)
    )


async def test_concurrent_replies_and_comment_likes(runtime: Runtime, person: PersonFactory) -> None:
    author = await person("author")
    fans = await crowd(person, 12)
    nid = (await post_note(author.client))["id"]
    root = (await author.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "root"})).json()
    calls: list[Any] = []
    for fan in fans:
        calls.append(fan.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "re", "parent_id": root["id"]}))
        calls.append(fan.client.post(f"/api/v1/comments/{root['id']}/like"))
    responses = await asyncio.gather(*calls)
    assert statuses(responses) == Counter({201: 12, 200: 12}), [r.text for r in responses if r.status_code >= 300][:3]
    stored = await row(runtime, Comment, int(root["id"]))
    assert stored.reply_count == 12 == await count(runtime, Comment, Comment.root_id == int(root["id"]))
    assert stored.like_count == 12
    await check_note_counters(runtime, int(nid))


async def test_the_same_like_sent_many_times_at_once_counts_once(runtime: Runtime, person: PersonFactory) -> None:
    author, fan = await person("author"), await person("fan")
    nid = (await post_note(author.client))["id"]
    responses = await asyncio.gather(*[fan.client.post(f"/api/v1/notes/{nid}/like") for _ in range(10)])
    assert statuses(responses) == Counter({200: 1, 409: 9})
    assert (await check_note_counters(runtime, int(nid))).like_count == 1
    assert (await row(runtime, User, author.id)).likes_received == 1
    responses = await asyncio.gather(*[fan.client.delete(f"/api/v1/notes/{nid}/like") for _ in range(10)])
    assert statuses(responses) == Counter({200: 1, 404: 9})
    assert (await check_note_counters(runtime, int(nid))).like_count == 0
    assert (await row(runtime, User, author.id)).likes_received == 0


async def test_first_saves_at_once_make_one_default_board(runtime: Runtime, person: PersonFactory) -> None:
    author, fan = await person("author"), await person("fan")
    ids = [(await post_note(author.client, title=f"n{i}"))["id"] for i in range(8)]
    responses = await asyncio.gather(*[fan.client.post(f"/api/v1/notes/{nid}/save") for nid in ids])
    assert_all(responses, 200)
    assert await count(runtime, Board, Board.owner_id == fan.id) == 1
    board = (await fan.client.get("/api/v1/users/fan/boards")).json()["items"]
    assert len(board) == 1 and board[0]["is_default"] and board[0]["note_count"] == 8


async def test_deleting_one_comment_twice_at_once_counts_once(runtime: Runtime, person: PersonFactory) -> None:
    author, fan = await person("author"), await person("fan")
    nid = (await post_note(author.client))["id"]
    root = (await fan.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "root"})).json()
    for i in range(3):
        r = await author.client.post(f"/api/v1/notes/{nid}/comments", json={"body": f"r{i}", "parent_id": root["id"]})
        assert r.status_code == 201
    reply = r.json()
    keep = (await fan.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "keep"})).json()
    assert keep["id"]
    # The reply's author and the note's author both delete it at the same moment, twice over.
    responses = await asyncio.gather(
        *[c.delete(f"/api/v1/comments/{reply['id']}") for c in (author.client, author.client, author.client)]
    )
    assert statuses(responses) == Counter({200: 1, 404: 2})
    assert (await row(runtime, Comment, int(root["id"]))).reply_count == 2
    responses = await asyncio.gather(
        *[c.delete(f"/api/v1/comments/{root['id']}") for c in (author.client, fan.client, author.client, fan.client)]
    )
    assert statuses(responses) == Counter({200: 1, 404: 3})
    note = await check_note_counters(runtime, int(nid))
    assert note.comment_count == 1


async def test_deleting_one_note_twice_at_once_counts_once(runtime: Runtime, person: PersonFactory) -> None:
    author = await person("author")
    mod = await person("mod", role="moderator")
    doomed = (await post_note(author.client, body="#旅行 #美食"))["id"]
    await post_note(author.client, body="#旅行")
    responses = await asyncio.gather(
        *[c.delete(f"/api/v1/notes/{doomed}") for c in (author.client, mod.client, author.client, mod.client)]
    )
    assert statuses(responses) == Counter({200: 1, 404: 3})
    assert (await row(runtime, User, author.id)).note_count == 1
    tags = dict(
        (k, n)
        for k, n in [
            (t, await scalar(runtime, "SELECT note_count FROM hashtags WHERE key = :k", k=t)) for t in ("旅行", "美食")
        ]
    )
    assert tags == {"旅行": 1, "美食": 0}
    assert await count(runtime, Hashtag) == 2


async def test_one_upload_posted_twice_at_once_goes_to_one_note(runtime: Runtime, person: PersonFactory) -> None:
    author = await person("author")
    media = await upload(author.client)
    responses = await asyncio.gather(
        *[author.client.post("/api/v1/notes", json={"title": f"n{i}", "media_ids": [media]}) for i in range(4)]
    )
    assert statuses(responses) == Counter({201: 1, 409: 3}), [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert (await row(runtime, MediaAttachment, int(media))).note_id == int(winner["id"])
    assert await count(runtime, Note) == 1
    assert (await row(runtime, User, author.id)).note_count == 1
