"""Likes on notes: idempotence is explicit (409 / 404), counters follow the rows."""

from __future__ import annotations

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Like, Note
from tests.notes.conftest import PersonFactory, count, post_note, row


async def test_like_unlike(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    note = await post_note(alice.client, title="like me")
    nid = note["id"]
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    assert (await carol.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    seen = (await bob.client.get(f"/api/v1/notes/{nid}")).json()
    assert seen["like_count"] == 2 and seen["liked"] is True
    assert (await alice.client.get(f"/api/v1/notes/{nid}")).json()["liked"] is False
    assert (await row(runtime, User, alice.id)).likes_received == 2

    r = await bob.client.post(f"/api/v1/notes/{nid}/like")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_liked"
    assert (await row(runtime, Note, int(nid))).like_count == 2

    assert (await bob.client.delete(f"/api/v1/notes/{nid}/like")).status_code == 200
    r = await bob.client.delete(f"/api/v1/notes/{nid}/like")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_liked"
    seen = (await bob.client.get(f"/api/v1/notes/{nid}")).json()
    assert seen["like_count"] == 1 and seen["liked"] is False
    assert (await row(runtime, Note, int(nid))).like_count == 1 == await count(runtime, Like)
    assert (await row(runtime, User, alice.id)).likes_received == 1

    # Liking again after unliking is a fresh like.
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    assert (await row(runtime, Note, int(nid))).like_count == 2 == await count(runtime, Like)


async def test_liking_own_note_counts(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    nid = (await post_note(alice.client))["id"]
    assert (await alice.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    assert (await row(runtime, Note, int(nid))).like_count == 1


async def test_anonymous_and_missing(client, person: PersonFactory) -> None:  # type: ignore[no-untyped-def]
    alice = await person("alice")
    nid = (await post_note(alice.client))["id"]
    assert (await client.post(f"/api/v1/notes/{nid}/like")).status_code == 401
    assert (await alice.client.post("/api/v1/notes/424242/like")).status_code == 404
    assert (await alice.client.delete("/api/v1/notes/424242/like")).status_code == 404
