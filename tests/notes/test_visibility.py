"""``visible_to`` on every read path: detail, latest feed, user notes, board notes,
hashtag notes and comments. Blocks (either way), mutes (feeds only), region limits,
moderation states and suspended authors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bridgenote.accounts import service as accounts_service
from bridgenote.core.errors import BadRequest, NotFound
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service
from bridgenote.notes.models import Note
from tests.notes.conftest import Person, PersonFactory, post_note, row


@dataclass
class Scene:
    author: Person
    note: dict[str, Any]
    board_id: str
    comment_id: str


async def scene(person: PersonFactory, *, author_overrides: dict[str, Any] | None = None) -> Scene:
    """alice posts a tagged note; curator saves it into a public board; alice comments on it."""
    alice = await person("alice", **(author_overrides or {}))
    curator = await person("curator")
    note = await post_note(alice.client, title="seen?", body="#旅行 hello")
    board = (await curator.client.post(f"/api/v1/notes/{note['id']}/save")).json()
    comment = (await alice.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "mine"})).json()
    return Scene(author=alice, note=note, board_id=board["id"], comment_id=comment["id"])


async def reads(client: httpx.AsyncClient, s: Scene) -> dict[str, bool]:
    """Which read paths show the note (and, for comments, alice's comment)."""
    nid = s.note["id"]

    async def listed(url: str) -> bool:
        r = await client.get(url)
        if r.status_code == 404:
            return False
        assert r.status_code == 200, (url, r.text)
        return nid in [n["id"] for n in r.json()["items"]]

    detail = await client.get(f"/api/v1/notes/{nid}")
    assert detail.status_code in (200, 404), detail.text
    comments = await client.get(f"/api/v1/notes/{nid}/comments")
    assert comments.status_code in (200, 404), comments.text
    return {
        "detail": detail.status_code == 200,
        "latest": await listed("/api/v1/feeds/latest"),
        "user": await listed("/api/v1/users/alice/notes"),
        "board": await listed(f"/api/v1/boards/{s.board_id}/notes"),
        "hashtag": await listed("/api/v1/hashtags/旅行/notes"),
        "comments": comments.status_code == 200 and s.comment_id in [c["id"] for c in comments.json()["items"]],
    }


EVERYWHERE = dict.fromkeys(("detail", "latest", "user", "board", "hashtag", "comments"), True)
NOWHERE = dict.fromkeys(EVERYWHERE, False)


async def test_baseline_everyone_sees_a_published_note(person: PersonFactory, client: httpx.AsyncClient) -> None:
    s = await scene(person)
    viewer = await person("viewer")
    assert await reads(client, s) == EVERYWHERE
    assert await reads(viewer.client, s) == EVERYWHERE
    assert await reads(s.author.client, s) == EVERYWHERE


async def test_blocking_hides_both_ways(person: PersonFactory) -> None:
    s = await scene(person)
    blocker = await person("blocker")
    blocked = await person("blocked")
    assert (await blocker.client.post("/api/v1/users/alice/block")).status_code == 200
    assert (await s.author.client.post("/api/v1/users/blocked/block")).status_code == 200
    assert await reads(blocker.client, s) == NOWHERE
    assert await reads(blocked.client, s) == NOWHERE
    # Unblocking brings everything back.
    assert (await blocker.client.delete("/api/v1/users/alice/block")).status_code == 200
    assert await reads(blocker.client, s) == EVERYWHERE


async def test_blocked_users_cannot_interact(person: PersonFactory) -> None:
    s = await scene(person)
    blocked = await person("blocked")
    assert (await s.author.client.post("/api/v1/users/blocked/block")).status_code == 200
    nid = s.note["id"]
    assert (await blocked.client.post(f"/api/v1/notes/{nid}/like")).status_code == 404
    assert (await blocked.client.post(f"/api/v1/notes/{nid}/save")).status_code == 404
    assert (await blocked.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "hi"})).status_code == 404
    assert (await blocked.client.post(f"/api/v1/comments/{s.comment_id}/like")).status_code == 404


async def test_muting_hides_from_feeds_but_not_from_direct_reads(person: PersonFactory) -> None:
    s = await scene(person)
    muter = await person("muter")
    assert (await muter.client.post("/api/v1/users/alice/mute")).status_code == 200
    seen = await reads(muter.client, s)
    assert seen == {**EVERYWHERE, "latest": False, "hashtag": False, "comments": False}


async def test_comments_of_blocked_or_muted_people_are_hidden(person: PersonFactory) -> None:
    s = await scene(person)
    bob, carol = await person("bob"), await person("carol")
    nid = s.note["id"]
    bobs = (await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "bob"})).json()
    bobs_reply = (
        await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "re", "parent_id": s.comment_id})
    ).json()

    async def ids() -> tuple[list[str], list[str]]:
        items = (await carol.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
        replies = (await carol.client.get(f"/api/v1/comments/{s.comment_id}/replies")).json()["items"]
        return [c["id"] for c in items] + [r["id"] for c in items for r in c["replies"]], [r["id"] for r in replies]

    assert await ids() == ([s.comment_id, bobs["id"], bobs_reply["id"]], [bobs_reply["id"]])
    assert (await carol.client.post("/api/v1/users/bob/block")).status_code == 200
    assert await ids() == ([s.comment_id], [])
    assert (await carol.client.get(f"/api/v1/comments/{bobs['id']}/replies")).status_code == 404
    assert (await carol.client.delete("/api/v1/users/bob/block")).status_code == 200
    assert (await carol.client.post("/api/v1/users/bob/mute")).status_code == 200
    assert await ids() == ([s.comment_id], [])
    # Bob still sees his own comments.
    items = (await bob.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert [c["id"] for c in items] == [s.comment_id, bobs["id"]]


async def test_region_limits(runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient) -> None:
    s = await scene(person, author_overrides={"region": "CN"})
    cn = await person("incn", region="CN")
    us = await person("inus", region="US")
    async with runtime.db.transaction() as session:
        await service.set_visibility(session, note_id=int(s.note["id"]), limited_regions=["CN"])
    assert await reads(cn.client, s) == NOWHERE
    assert await reads(us.client, s) == EVERYWHERE
    assert await reads(client, s) == EVERYWHERE
    # The author (even in the limited region) sees the note, and sees the limit.
    assert await reads(s.author.client, s) == EVERYWHERE
    own = (await s.author.client.get(f"/api/v1/notes/{s.note['id']}")).json()
    assert own["limited_regions"] == ["CN"] and own["state"] == "published"
    # Others never see the moderation fields.
    theirs = (await us.client.get(f"/api/v1/notes/{s.note['id']}")).json()
    assert theirs["limited_regions"] is None and theirs["state"] is None
    # Lifting the limit.
    async with runtime.db.transaction() as session:
        await service.set_visibility(session, note_id=int(s.note["id"]), limited_regions=[])
    assert await reads(cn.client, s) == EVERYWHERE
    # Region codes are normalised as users' regions are (upper case, deduplicated).
    async with runtime.db.transaction() as session:
        await service.set_visibility(session, note_id=int(s.note["id"]), limited_regions=[" cn ", "CN", "us"])
    assert await reads(cn.client, s) == NOWHERE
    assert await reads(us.client, s) == NOWHERE
    assert (await s.author.client.get(f"/api/v1/notes/{s.note['id']}")).json()["limited_regions"] == ["CN", "US"]


async def test_held_and_removed_notes(runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient) -> None:
    s = await scene(person)
    viewer = await person("viewer")
    for state, reason in (("held", "Waiting for review"), ("removed", "Breaks rule 3")):
        async with runtime.db.transaction() as session:
            await service.set_visibility(session, note_id=int(s.note["id"]), state=state, reason=reason)
        assert await reads(viewer.client, s) == NOWHERE, state
        assert await reads(client, s) == NOWHERE, state
        assert await reads(s.author.client, s) == EVERYWHERE, state
        own = (await s.author.client.get(f"/api/v1/notes/{s.note['id']}")).json()
        assert (own["state"], own["state_reason"]) == (state, reason)
    async with runtime.db.transaction() as session:
        await service.set_visibility(session, note_id=int(s.note["id"]), state="published")
    assert await reads(viewer.client, s) == EVERYWHERE


async def test_suspended_authors_disappear(runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient) -> None:
    s = await scene(person)
    viewer = await person("viewer")
    async with runtime.db.transaction() as session:
        await accounts_service.set_account_state(session, user_id=s.author.id, state="suspended")
    assert await reads(viewer.client, s) == NOWHERE
    assert await reads(client, s) == NOWHERE
    async with runtime.db.transaction() as session:
        await accounts_service.set_account_state(session, user_id=s.author.id, state="active")
    assert await reads(viewer.client, s) == EVERYWHERE


async def test_suspended_users_cannot_post(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    async with runtime.db.transaction() as session:
        await accounts_service.set_account_state(session, user_id=alice.id, state="suspended")
    r = await alice.client.post("/api/v1/notes", json={"title": "still here"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"


async def test_private_board_notes_need_the_owner(person: PersonFactory) -> None:
    s = await scene(person)
    curator = await person("curator2")
    board = (await curator.client.post("/api/v1/boards", json={"title": "secret", "is_private": True})).json()
    saved = await curator.client.post(f"/api/v1/notes/{s.note['id']}/save", json={"board_id": board["id"]})
    assert saved.status_code == 200
    assert (await s.author.client.get(f"/api/v1/boards/{board['id']}/notes")).status_code == 404
    items = (await curator.client.get(f"/api/v1/boards/{board['id']}/notes")).json()["items"]
    assert [n["id"] for n in items] == [s.note["id"]]


async def test_set_visibility_rejects_unknown_state(runtime: Runtime, person: PersonFactory) -> None:
    s = await scene(person)
    with pytest.raises(BadRequest):
        async with runtime.db.transaction() as session:
            await service.set_visibility(session, note_id=int(s.note["id"]), state="vanished")
    with pytest.raises(NotFound):
        async with runtime.db.transaction() as session:
            await service.set_visibility(session, note_id=424242, state="held")
    assert (await row(runtime, Note, int(s.note["id"]))).state == "published"
