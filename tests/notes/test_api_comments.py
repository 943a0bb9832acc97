"""Comments: two levels like RedNote, preview replies, "more replies", deletes, likes."""

from __future__ import annotations

from typing import Any

import httpx

from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Comment, CommentLike, Note
from tests.notes.conftest import PersonFactory, count, post_note, row, walk


async def comment(client: httpx.AsyncClient, note_id: str, body: str, parent_id: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"body": body}
    if parent_id is not None:
        payload["parent_id"] = parent_id
    r = await client.post(f"/api/v1/notes/{note_id}/comments", json=payload)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def live_comments(runtime: Runtime, note_id: str) -> int:
    return await count(runtime, Comment, Comment.note_id == int(note_id), Comment.deleted_at.is_(None))


async def test_replies_flatten_to_two_levels(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    nid = (await post_note(alice.client))["id"]
    root = await comment(bob.client, nid, "  first!  ")
    assert root["body"] == "first!"
    assert root["root_id"] is None and root["parent_id"] is None and root["reply_to"] is None
    reply = await comment(alice.client, nid, "thanks", parent_id=root["id"])
    assert reply["root_id"] == root["id"] and reply["parent_id"] == root["id"]
    # A direct reply to the top-level comment needs no "reply to @name".
    assert reply["reply_to"] is None
    deeper = await comment(carol.client, nid, "me too", parent_id=reply["id"])
    assert deeper["root_id"] == root["id"], "a reply to a reply hangs under the top-level comment"
    assert deeper["parent_id"] == reply["id"]
    assert deeper["reply_to"]["username"] == "alice"

    listed = (await bob.client.get(f"/api/v1/notes/{nid}/comments")).json()
    assert listed["next_cursor"] is None
    [thread] = listed["items"]
    assert thread["id"] == root["id"] and thread["reply_count"] == 2
    assert [(r["id"], (r["reply_to"] or {}).get("username")) for r in thread["replies"]] == [
        (reply["id"], None),
        (deeper["id"], "alice"),
    ]
    assert (await row(runtime, Note, int(nid))).comment_count == 3


async def test_reply_to_a_comment_of_another_note_is_not_found(person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    n1 = (await post_note(alice.client, title="1"))["id"]
    n2 = (await post_note(alice.client, title="2"))["id"]
    root = await comment(bob.client, n1, "on one")
    r = await bob.client.post(f"/api/v1/notes/{n2}/comments", json={"body": "x", "parent_id": root["id"]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "comment_not_found"


async def test_comment_validation(person: PersonFactory) -> None:
    alice = await person("alice")
    nid = (await post_note(alice.client))["id"]
    for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 1001}, {}, {"body": "x", "extra": 1}):
        r = await alice.client.post(f"/api/v1/notes/{nid}/comments", json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await alice.client.post("/api/v1/notes/424242/comments", json={"body": "x"})).status_code == 404


async def test_preview_replies_and_more_replies(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    roots = [await comment(bob.client, nid, f"root {i}") for i in range(3)]
    replies = [await comment(alice.client, nid, f"reply {i}", parent_id=roots[0]["id"]) for i in range(5)]
    one = await comment(alice.client, nid, "only reply", parent_id=roots[2]["id"])

    items = (await bob.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert [c["id"] for c in items] == [r["id"] for r in roots]  # oldest first
    assert items[0]["reply_count"] == 5
    assert [r["id"] for r in items[0]["replies"]] == [replies[0]["id"], replies[1]["id"]]
    assert items[1]["reply_count"] == 0 and items[1]["replies"] == []
    assert items[2]["reply_count"] == 1 and [r["id"] for r in items[2]["replies"]] == [one["id"]]

    pages = await walk(bob.client, f"/api/v1/comments/{roots[0]['id']}/replies", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c["id"] for p in pages for c in p] == [r["id"] for r in replies]
    assert all(c["replies"] == [] for p in pages for c in p)
    # Asking with a reply's id lists the same thread.
    same = (await bob.client.get(f"/api/v1/comments/{replies[3]['id']}/replies")).json()["items"]
    assert [c["id"] for c in same] == [r["id"] for r in replies]

    top = await walk(bob.client, f"/api/v1/notes/{nid}/comments", limit=2)
    assert [[c["id"] for c in p] for p in top] == [[roots[0]["id"], roots[1]["id"]], [roots[2]["id"]]]
    assert (await row(runtime, Note, int(nid))).comment_count == 9


async def test_who_may_delete_a_comment(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    nid = (await post_note(alice.client))["id"]
    bobs = await comment(bob.client, nid, "bob's")
    carols = await comment(carol.client, nid, "carol's")
    davids = await comment(carol.client, nid, "another of carol's")

    r = await carol.client.delete(f"/api/v1/comments/{bobs['id']}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_author"
    assert await live_comments(runtime, nid) == 3

    assert (await bob.client.delete(f"/api/v1/comments/{bobs['id']}")).status_code == 200  # own
    assert (await alice.client.delete(f"/api/v1/comments/{carols['id']}")).status_code == 200  # on my note
    assert (await bob.client.delete(f"/api/v1/comments/{bobs['id']}")).status_code == 404  # already gone
    assert await live_comments(runtime, nid) == 1
    assert (await row(runtime, Note, int(nid))).comment_count == 1
    items = (await alice.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert [c["id"] for c in items] == [davids["id"]]


async def test_deleting_a_root_removes_its_replies(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    root = await comment(bob.client, nid, "root")
    other = await comment(bob.client, nid, "other root")
    r1 = await comment(alice.client, nid, "r1", parent_id=root["id"])
    r2 = await comment(bob.client, nid, "r2", parent_id=r1["id"])
    await comment(alice.client, nid, "r3", parent_id=root["id"])
    keep = await comment(alice.client, nid, "kept", parent_id=other["id"])
    assert (await row(runtime, Note, int(nid))).comment_count == 6

    # Deleting a reply first: the root's reply_count and the note's comment_count drop by one.
    assert (await bob.client.delete(f"/api/v1/comments/{r2['id']}")).status_code == 200
    assert (await row(runtime, Comment, int(root["id"]))).reply_count == 2
    assert (await row(runtime, Note, int(nid))).comment_count == 5

    assert (await bob.client.delete(f"/api/v1/comments/{root['id']}")).status_code == 200
    assert (await row(runtime, Note, int(nid))).comment_count == 2 == await live_comments(runtime, nid)
    items = (await alice.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert [c["id"] for c in items] == [other["id"]]
    assert [c["id"] for c in items[0]["replies"]] == [keep["id"]]
    assert (await alice.client.get(f"/api/v1/comments/{root['id']}/replies")).status_code == 404
    r = await alice.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "x", "parent_id": r1["id"]})
    assert r.status_code == 404


async def test_comment_like_unlike(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = (await post_note(alice.client))["id"]
    c = await comment(bob.client, nid, "like this")
    assert (await alice.client.post(f"/api/v1/comments/{c['id']}/like")).status_code == 200
    assert (await bob.client.post(f"/api/v1/comments/{c['id']}/like")).status_code == 200
    r = await alice.client.post(f"/api/v1/comments/{c['id']}/like")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_liked"
    items = (await alice.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert items[0]["like_count"] == 2 and items[0]["liked"] is True
    assert (await row(runtime, Comment, int(c["id"]))).like_count == 2 == await count(runtime, CommentLike)

    assert (await alice.client.delete(f"/api/v1/comments/{c['id']}/like")).status_code == 200
    r = await alice.client.delete(f"/api/v1/comments/{c['id']}/like")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_liked"
    items = (await alice.client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert items[0]["like_count"] == 1 and items[0]["liked"] is False
    assert (await row(runtime, Comment, int(c["id"]))).like_count == 1 == await count(runtime, CommentLike)


async def test_anonymous_reads_but_cannot_write(client: httpx.AsyncClient, person: PersonFactory) -> None:
    alice = await person("alice")
    nid = (await post_note(alice.client))["id"]
    c = await comment(alice.client, nid, "hello")
    items = (await client.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert [x["id"] for x in items] == [c["id"]] and items[0]["liked"] is False
    assert (await client.post(f"/api/v1/notes/{nid}/comments", json={"body": "x"})).status_code == 401
    assert (await client.post(f"/api/v1/comments/{c['id']}/like")).status_code == 401
    assert (await client.delete(f"/api/v1/comments/{c['id']}")).status_code == 401
