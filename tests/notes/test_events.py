"""The events the notes domain publishes (docs/events.md), only after commit."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from bridgenote.core import events
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service
from bridgenote.notes.schemas import NoteCreate
from tests.notes.conftest import PersonFactory, post_note

NAMES = ("note.created", "note.updated", "note.deleted", "comment.created", "comment.deleted", "interaction.recorded")


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every notes event committed during the test, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def record(name: str, payload: dict[str, Any]) -> None:
        seen.append((name, payload))

    listeners: defaultdict[str, list[Any]] = defaultdict(list)
    for name in NAMES:
        listeners[name].append(record)
    monkeypatch.setattr(events, "_listeners", listeners)
    return seen


async def test_note_events(person: PersonFactory, published: list[tuple[str, dict[str, Any]]]) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    note = await post_note(alice.client, body="hi @bob")
    nid = int(note["id"])
    assert published == [("note.created", {"note_id": nid, "author_id": alice.id, "mentioned_user_ids": [bob.id]})]
    published.clear()
    assert (await alice.client.patch(f"/api/v1/notes/{nid}", json={"body": "hi @bob @carol"})).status_code == 200
    assert published == [
        ("note.updated", {"note_id": nid, "author_id": alice.id, "new_mentioned_user_ids": [carol.id]})
    ]
    published.clear()
    assert (await alice.client.delete(f"/api/v1/notes/{nid}")).status_code == 200
    assert published == [("note.deleted", {"note_id": nid, "author_id": alice.id})]


async def test_interaction_and_comment_events(
    person: PersonFactory, published: list[tuple[str, dict[str, Any]]]
) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    nid = int((await post_note(alice.client))["id"])
    published.clear()
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    board = (await bob.client.post(f"/api/v1/notes/{nid}/save")).json()
    root = (await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "nice @carol"})).json()
    reply = (
        await carol.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "yes", "parent_id": root["id"]})
    ).json()
    assert (await alice.client.post(f"/api/v1/comments/{reply['id']}/like")).status_code == 200
    assert (await bob.client.delete(f"/api/v1/comments/{root['id']}")).status_code == 200
    rid, cid = int(root["id"]), int(reply["id"])
    base = {"actor_id": bob.id, "note_id": nid, "target_user_id": alice.id}
    assert published == [
        ("interaction.recorded", {"kind": "like", **base}),
        ("interaction.recorded", {"kind": "save", **base, "board_id": int(board["id"])}),
        (
            "comment.created",
            {
                "comment_id": rid,
                "note_id": nid,
                "author_id": bob.id,
                "root_id": None,
                "parent_id": None,
                "reply_to_user_id": None,
                "note_author_id": alice.id,
                "mentioned_user_ids": [carol.id],
            },
        ),
        ("interaction.recorded", {"kind": "comment", **base, "comment_id": rid}),
        (
            "comment.created",
            {
                "comment_id": cid,
                "note_id": nid,
                "author_id": carol.id,
                "root_id": rid,
                "parent_id": rid,
                "reply_to_user_id": bob.id,
                "note_author_id": alice.id,
                "mentioned_user_ids": [],
            },
        ),
        (
            "interaction.recorded",
            {"kind": "reply", "actor_id": carol.id, "note_id": nid, "comment_id": cid, "target_user_id": bob.id},
        ),
        (
            "interaction.recorded",
            {
                "kind": "comment_like",
                "actor_id": alice.id,
                "note_id": nid,
                "comment_id": cid,
                "target_user_id": carol.id,
            },
        ),
        ("comment.deleted", {"comment_id": rid, "note_id": nid, "author_id": bob.id}),
    ]


async def test_failed_requests_publish_nothing(
    runtime: Runtime, person: PersonFactory, published: list[tuple[str, dict[str, Any]]]
) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = int((await post_note(alice.client))["id"])
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    published.clear()
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 409
    assert (await bob.client.post("/api/v1/notes", json={"title": "x", "media_ids": ["1"]})).status_code == 404
    # A transaction that rolls back after the service ran publishes nothing either.
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            await service.create_note(session, viewer=bob.viewer, data=NoteCreate(title="rolled back"))
            raise RuntimeError("abort")
    assert published == []
