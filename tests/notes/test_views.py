"""View counters are buffered in memory and written by the periodic flush."""

from __future__ import annotations

import httpx

from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Hashtag, Note
from tests.notes.conftest import PersonFactory, post_note, row, scalar


async def test_note_views(runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient) -> None:
    alice, bob = await person("alice"), await person("bob")
    note = await post_note(alice.client, title="watch me")
    other = await post_note(alice.client, title="ignored")
    for c in (client, bob.client, alice.client):
        assert (await c.get(f"/api/v1/notes/{note['id']}")).status_code == 200
    # Feeds and missing notes are not views.
    await client.get("/api/v1/feeds/latest")
    assert (await client.get("/api/v1/notes/424242")).status_code == 404
    # Buffered: a read is not a write.
    assert (await row(runtime, Note, int(note["id"]))).view_count == 0
    await runtime.flush_periodic()
    assert (await row(runtime, Note, int(note["id"]))).view_count == 3
    assert (await row(runtime, Note, int(other["id"]))).view_count == 0
    assert (await client.get(f"/api/v1/notes/{note['id']}")).json()["view_count"] == 3
    # Flushing again adds only the views since the last flush.
    await runtime.flush_periodic()
    assert (await row(runtime, Note, int(note["id"]))).view_count == 4
    await runtime.flush_periodic()
    assert (await row(runtime, Note, int(note["id"]))).view_count == 4


async def test_views_of_hidden_notes_are_not_counted(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    note = await post_note(alice.client, title="blocked")
    assert (await alice.client.post("/api/v1/users/bob/block")).status_code == 200
    assert (await bob.client.get(f"/api/v1/notes/{note['id']}")).status_code == 404
    await runtime.flush_periodic()
    assert (await row(runtime, Note, int(note["id"]))).view_count == 0


async def test_hashtag_page_views(runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient) -> None:
    alice = await person("alice")
    await post_note(alice.client, body="#旅遊")
    for name in ("旅遊", "旅游", "＃旅遊"):
        r = await client.get(f"/api/v1/hashtags/{name}")
        assert r.status_code == 200 and r.json()["view_count"] == 0
    assert (await client.get("/api/v1/hashtags/nothing")).status_code == 404
    await runtime.flush_periodic()
    assert await scalar(runtime, "SELECT view_count FROM hashtags WHERE key = '旅游'") == 3
    assert (await client.get("/api/v1/hashtags/旅游")).json()["view_count"] == 3
    async with runtime.db.transaction(write=False) as session:
        tag = await session.get(Hashtag, int(await scalar(runtime, "SELECT id FROM hashtags WHERE key = '旅游'")))
        assert tag is not None and tag.note_count == 1
