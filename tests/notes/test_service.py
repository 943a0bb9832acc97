"""Service functions called directly, as other domains and jobs call them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from bridgenote.core.auth import ANONYMOUS
from bridgenote.core.errors import BadRequest, Forbidden, NotFound, Unauthorized
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service
from bridgenote.notes.models import MediaAttachment, Note
from bridgenote.notes.schemas import CommentCreate, NoteCreate
from tests.notes.conftest import PersonFactory, count, post_note, upload


async def test_anonymous_cannot_write(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    nid = int((await post_note(alice.client))["id"])
    async with runtime.db.transaction() as session:
        with pytest.raises(Unauthorized):
            await service.create_note(session, viewer=ANONYMOUS, data=NoteCreate(title="x"))
        with pytest.raises(Unauthorized):
            await service.like_note(session, viewer=ANONYMOUS, note_id=nid)
        # Reading needs no account.
        assert (await service.access_note(session, viewer=ANONYMOUS, note_id=nid)).id == nid


async def test_suspended_viewer_cannot_post_or_comment(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    nid = int((await post_note(alice.client))["id"])
    suspended = replace(alice.viewer, state="suspended")
    async with runtime.db.transaction() as session:
        with pytest.raises(Forbidden):
            await service.create_note(session, viewer=suspended, data=NoteCreate(title="x"))
        with pytest.raises(Forbidden):
            await service.create_comment(session, viewer=suspended, note_id=nid, data=CommentCreate(body="x"))


async def test_failed_upload_cannot_be_attached(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    media = await upload(alice.client)
    async with runtime.db.transaction() as session:
        await session.execute(update(MediaAttachment).where(MediaAttachment.id == int(media)).values(state="failed"))
    r = await alice.client.post("/api/v1/notes", json={"title": "x", "media_ids": [media]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "media_failed"
    assert await count(runtime, Note) == 0


async def test_get_note_sees_everything_access_note_does_not(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    nid = int((await post_note(alice.client))["id"])
    async with runtime.db.transaction() as session:
        await service.set_visibility(session, note_id=nid, state="removed", reason="spam")
    async with runtime.db.transaction(write=False) as session:
        note = await service.get_note(session, note_id=nid)
        assert note is not None and note.state == "removed" and note.state_reason == "spam"
        with pytest.raises(NotFound):
            await service.access_note(session, viewer=bob.viewer, note_id=nid)
        assert (await service.access_note(session, viewer=alice.viewer, note_id=nid)).state == "removed"


async def test_purging_an_unknown_user_or_note_is_a_no_op(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await service.purge_user_content(session, user_id=424242, storage=runtime.storage)
        await service.purge_note(session, storage=runtime.storage, note_id=424242)


async def test_max_images_setting_is_enforced_by_the_service(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    ids = [int(await upload(alice.client)) for _ in range(3)]
    # The request edge rolls back when the service raises; so does this transaction.
    with pytest.raises(BadRequest):
        async with runtime.db.transaction() as session:
            await service.create_note(
                session, viewer=alice.viewer, data=NoteCreate(title="x", media_ids=ids), max_images=2
            )
    assert await count(runtime, Note) == 0
