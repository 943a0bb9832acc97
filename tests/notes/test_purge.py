"""Soft delete, then the purge jobs: rows and files go, counters elsewhere stay exact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridgenote.accounts.models import User
from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service
from bridgenote.notes.models import (
    Board,
    BoardNote,
    Comment,
    CommentLike,
    Hashtag,
    Like,
    MediaAttachment,
    Mention,
    Note,
    NoteHashtag,
)
from tests.factories import PASSWORD
from tests.notes.conftest import Person, PersonFactory, count, jpeg, post_note, row, scalar, upload


def file_exists(runtime: Runtime, key: str) -> bool:
    return bool(runtime.storage.path(key).is_file())  # type: ignore[attr-defined]


async def media_keys(runtime: Runtime, media_ids: list[str]) -> list[str]:
    return [(await row(runtime, MediaAttachment, int(m))).storage_key for m in media_ids]


async def failed_jobs(runtime: Runtime) -> list[tuple[str, str | None]]:
    async with runtime.db.transaction(write=False) as session:
        return [(j.name, j.last_error) for j in await session.scalars(select(Job).where(Job.state != "done"))]


async def test_purge_after_delete(runtime: Runtime, person: PersonFactory, drain: Any) -> None:
    alice, bob = await person("alice"), await person("bob")
    shared_bytes = jpeg(colour=(9, 9, 9))
    media = [await upload(alice.client), await upload(alice.client, shared_bytes)]
    bobs_copy = await upload(bob.client, shared_bytes)  # the same photo, uploaded by someone else
    bobs_note = await post_note(bob.client, title="same photo", media_ids=[bobs_copy])
    note = await post_note(alice.client, title="doomed", body="#旅行 @bob", media_ids=media)
    keep = await post_note(alice.client, title="kept", body="#旅行")
    nid = int(note["id"])
    board = (await bob.client.post("/api/v1/boards", json={"title": "B"})).json()
    for n in (note, keep):
        assert (
            await bob.client.post(f"/api/v1/notes/{n['id']}/save", json={"board_id": board["id"]})
        ).status_code == 200
        assert (await bob.client.post(f"/api/v1/notes/{n['id']}/like")).status_code == 200
    root = (await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "c"})).json()
    reply = (
        await alice.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "r", "parent_id": root["id"]})
    ).json()
    assert (await alice.client.post(f"/api/v1/comments/{reply['id']}/like")).status_code == 200
    keys = await media_keys(runtime, media)
    assert all(file_exists(runtime, k) for k in keys)
    assert (await row(runtime, User, alice.id)).likes_received == 4

    assert (await alice.client.delete(f"/api/v1/notes/{nid}")).status_code == 200
    # Soft-deleted: the row is still there until the job runs.
    assert (await row(runtime, Note, nid)).deleted_at is not None
    assert await drain() >= 1
    assert await failed_jobs(runtime) == []

    assert await row(runtime, Note, nid) is None
    for model, where in (
        (Like, Like.note_id == nid),
        (BoardNote, BoardNote.note_id == nid),
        (Comment, Comment.note_id == nid),
        (CommentLike, CommentLike.comment_id == int(reply["id"])),
        (MediaAttachment, MediaAttachment.note_id == nid),
        (NoteHashtag, NoteHashtag.note_id == nid),
        (Mention, Mention.note_id == nid),
    ):
        assert await count(runtime, model, where) == 0, model.__name__
    assert not file_exists(runtime, keys[0])
    assert file_exists(runtime, keys[1]), "a file another upload still uses must stay"
    assert (await alice.client.get(bobs_note["media"][0]["url"])).status_code == 200
    assert (await row(runtime, Board, int(board["id"]))).note_count == 1 == await count(runtime, BoardNote)
    assert (await row(runtime, User, alice.id)).likes_received == 2
    assert (await row(runtime, User, alice.id)).note_count == 1
    tag = await scalar(runtime, "SELECT note_count FROM hashtags WHERE key = '旅行'")
    assert tag == 1

    # Running the purge again changes nothing.
    async with runtime.db.transaction() as session:
        await service.purge_note(session, storage=runtime.storage, note_id=nid)
    assert (await row(runtime, Board, int(board["id"]))).note_count == 1
    assert (await row(runtime, User, alice.id)).likes_received == 2


async def test_purge_skips_live_notes(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="alive")
    async with runtime.db.transaction() as session:
        await service.purge_note(session, storage=runtime.storage, note_id=int(note["id"]))
    assert await row(runtime, Note, int(note["id"])) is not None


async def exact_counters(runtime: Runtime, users: list[Person]) -> None:
    """Every denormalised counter of the remaining content equals its rows."""
    async with runtime.db.transaction(write=False) as session:
        for note in await session.scalars(select(Note)):
            likes = await scalar(runtime, "SELECT count(*) FROM likes WHERE note_id = :n", n=note.id)
            saves = await scalar(runtime, "SELECT count(*) FROM board_notes WHERE note_id = :n", n=note.id)
            comments = await scalar(
                runtime, "SELECT count(*) FROM comments WHERE note_id = :n AND deleted_at IS NULL", n=note.id
            )
            assert (note.like_count, note.save_count, note.comment_count) == (likes, saves, comments), note.title
        for c in await session.scalars(select(Comment).where(Comment.deleted_at.is_(None))):
            likes = await scalar(runtime, "SELECT count(*) FROM comment_likes WHERE comment_id = :c", c=c.id)
            replies = await scalar(
                runtime, "SELECT count(*) FROM comments WHERE root_id = :c AND deleted_at IS NULL", c=c.id
            )
            assert (c.like_count, c.reply_count) == (likes, replies), c.body
        for b in await session.scalars(select(Board)):
            assert b.note_count == await scalar(runtime, "SELECT count(*) FROM board_notes WHERE board_id = :b", b=b.id)
        for tag in await session.scalars(select(Hashtag)):
            live = await scalar(
                runtime,
                "SELECT count(*) FROM note_hashtags nh JOIN notes n ON n.id = nh.note_id "
                "WHERE nh.hashtag_id = :t AND n.deleted_at IS NULL",
                t=tag.id,
            )
            assert tag.note_count == live, tag.key
        for p in users:
            user = await session.get(User, p.id)
            assert user is not None
            received = await scalar(
                runtime,
                "SELECT (SELECT count(*) FROM likes l JOIN notes n ON n.id = l.note_id WHERE n.author_id = :u)"
                " + (SELECT count(*) FROM board_notes b JOIN notes n ON n.id = b.note_id WHERE n.author_id = :u)",
                u=p.id,
            )
            notes = await scalar(
                runtime, "SELECT count(*) FROM notes WHERE author_id = :u AND deleted_at IS NULL", u=p.id
            )
            assert (user.likes_received, user.note_count) == (received, notes), user.username


async def test_account_deletion_purges_content_and_keeps_other_counters_exact(
    runtime: Runtime, person: PersonFactory, drain: Any
) -> None:
    victim, alice, bob = await person("victim"), await person("alice"), await person("bob")
    # The victim's own content, with other people's interactions on it.
    v_media = [await upload(victim.client), await upload(victim.client)]
    v_note = await post_note(victim.client, title="mine", body="#旅行 #victimonly @alice", media_ids=v_media)
    v_old = await post_note(victim.client, title="already deleted")
    assert (await victim.client.delete(f"/api/v1/notes/{v_old['id']}")).status_code == 200
    unattached = await upload(victim.client)
    assert (await alice.client.post(f"/api/v1/notes/{v_note['id']}/like")).status_code == 200
    assert (await alice.client.post(f"/api/v1/notes/{v_note['id']}/save")).status_code == 200
    a_on_v = (await alice.client.post(f"/api/v1/notes/{v_note['id']}/comments", json={"body": "hi v"})).json()

    # Other people's content, with the victim's interactions on it.
    a_note = await post_note(alice.client, title="alice's", body="#旅行 @victim")
    b_note = await post_note(bob.client, title="bob's")
    for n in (a_note, b_note):
        assert (await victim.client.post(f"/api/v1/notes/{n['id']}/like")).status_code == 200
        assert (await victim.client.post(f"/api/v1/notes/{n['id']}/save")).status_code == 200
        assert (await bob.client.post(f"/api/v1/notes/{n['id']}/like")).status_code == 200
    v_board = (await victim.client.post("/api/v1/boards", json={"title": "victim's"})).json()
    assert (
        await victim.client.post(f"/api/v1/notes/{a_note['id']}/save", json={"board_id": v_board["id"]})
    ).status_code == 200
    b_board = (await bob.client.post("/api/v1/boards", json={"title": "bob's"})).json()
    assert (
        await bob.client.post(f"/api/v1/notes/{a_note['id']}/save", json={"board_id": b_board["id"]})
    ).status_code == 200

    aid = a_note["id"]
    a_root = (await alice.client.post(f"/api/v1/notes/{aid}/comments", json={"body": "alice root"})).json()
    v_reply = (
        await victim.client.post(
            f"/api/v1/notes/{aid}/comments", json={"body": "victim reply", "parent_id": a_root["id"]}
        )
    ).json()
    b_re_v = (
        await bob.client.post(
            f"/api/v1/notes/{aid}/comments", json={"body": "bob answers victim", "parent_id": v_reply["id"]}
        )
    ).json()
    v_root = (await victim.client.post(f"/api/v1/notes/{aid}/comments", json={"body": "victim root"})).json()
    b_under_v = (
        await bob.client.post(f"/api/v1/notes/{aid}/comments", json={"body": "under victim", "parent_id": v_root["id"]})
    ).json()
    v_deleted = (await victim.client.post(f"/api/v1/notes/{aid}/comments", json={"body": "said and regretted"})).json()
    assert (await victim.client.delete(f"/api/v1/comments/{v_deleted['id']}")).status_code == 200
    assert (await victim.client.post(f"/api/v1/comments/{a_root['id']}/like")).status_code == 200
    assert (await bob.client.post(f"/api/v1/comments/{a_root['id']}/like")).status_code == 200
    assert (await alice.client.post(f"/api/v1/comments/{v_reply['id']}/like")).status_code == 200
    assert (await row(runtime, Note, int(aid))).comment_count == 5
    await drain()
    await exact_counters(runtime, [alice, bob, victim])
    v_keys = await media_keys(runtime, [*v_media, unattached])

    r = await victim.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert await drain() >= 1
    assert await failed_jobs(runtime) == []

    vid = victim.id
    for model, where in (
        (Note, Note.author_id == vid),
        (Comment, Comment.author_id == vid),
        (Like, Like.user_id == vid),
        (BoardNote, BoardNote.user_id == vid),
        (Board, Board.owner_id == vid),
        (CommentLike, CommentLike.user_id == vid),
        (MediaAttachment, MediaAttachment.owner_id == vid),
        (Mention, Mention.user_id == vid),
    ):
        assert await count(runtime, model, where) == 0, model.__name__
    assert not any(file_exists(runtime, k) for k in v_keys)

    await exact_counters(runtime, [alice, bob])
    a_after = await row(runtime, Note, int(aid))
    assert (a_after.like_count, a_after.save_count) == (1, 1)
    # alice's root and bob's answer to the victim's reply remain; the victim's thread went with its root.
    assert a_after.comment_count == 2
    assert (await row(runtime, Comment, int(a_root["id"]))).reply_count == 1
    assert (await row(runtime, Comment, int(a_root["id"]))).like_count == 1
    assert (await row(runtime, Comment, int(b_re_v["id"]))).deleted_at is None
    assert await row(runtime, Comment, int(b_under_v["id"])) is None
    assert await row(runtime, Comment, int(a_on_v["id"])) is None  # it was on the victim's note
    assert (await row(runtime, User, alice.id)).likes_received == 2
    assert (await row(runtime, Note, int(b_note["id"]))).like_count == 1
    assert await scalar(runtime, "SELECT note_count FROM hashtags WHERE key = '旅行'") == 1
    assert await scalar(runtime, "SELECT note_count FROM hashtags WHERE key = 'victimonly'") == 0

    # What other people see now.
    shown = (await alice.client.get(f"/api/v1/notes/{aid}")).json()
    assert shown["mentions"] == [] and shown["like_count"] == 1 and shown["comment_count"] == 2
    items = (await alice.client.get(f"/api/v1/notes/{aid}/comments")).json()["items"]
    assert [(c["body"], [r["body"] for r in c["replies"]]) for c in items] == [("alice root", ["bob answers victim"])]
    assert (await alice.client.get(f"/api/v1/notes/{v_note['id']}")).status_code == 404

    # The purge is idempotent.
    async with runtime.db.transaction() as session:
        await service.purge_user_content(session, user_id=vid, storage=runtime.storage)
    await exact_counters(runtime, [alice, bob])


async def test_export_user_data(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    media = await upload(alice.client)
    note = await post_note(alice.client, title="t", body="#旅遊 b", media_ids=[media])
    bobs = await post_note(bob.client, title="bob")
    assert (await alice.client.post(f"/api/v1/notes/{bobs['id']}/like")).status_code == 200
    board = (await alice.client.post(f"/api/v1/notes/{bobs['id']}/save")).json()
    c = (await alice.client.post(f"/api/v1/notes/{bobs['id']}/comments", json={"body": "hey"})).json()
    async with runtime.db.transaction(write=False) as session:
        data = await service.export_user_data(session, user_id=alice.id)
        keys = await service.user_media_keys(session, user_id=alice.id)
    [n] = data["notes"]
    assert (n["id"], n["title"], n["body"], n["hashtags"]) == (note["id"], "t", "#旅遊 b", ["旅遊"])
    assert n["media"] == [{"file": f"media/{keys[0]}", "kind": "image", "alt_text": ""}]
    assert [(x["id"], x["note_id"], x["body"]) for x in data["comments"]] == [(c["id"], bobs["id"], "hey")]
    assert [x["note_id"] for x in data["likes"]] == [bobs["id"]]
    assert [(b["id"], b["note_ids"]) for b in data["boards"]] == [(board["id"], [bobs["id"]])]
    assert len(keys) == 1
