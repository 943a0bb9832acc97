"""Cards read with their visibility check (``visible_cards``, what ranked feeds use): the
shared part is kept for ``SHARED_TTL``, yet edits, counters, labels, liked/saved and
visibility are never older than the page."""

from __future__ import annotations

from sqlalchemy import update

from bridgenote.core.runtime import Runtime
from bridgenote.notes import cards
from bridgenote.notes import service as notes_service
from bridgenote.notes.models import Note
from bridgenote.notes.schemas import NoteCreate, NoteUpdate
from tests.factories import create_user, viewer


async def test_visible_cards_keep_what_changes_current_while_the_rest_is_cached(runtime: Runtime) -> None:
    author, reader, fan = [await create_user(runtime, region="US") for _ in range(3)]
    async with runtime.db.transaction() as session:
        ids = [
            (await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title=f"Note {i}"))).id
            for i in range(5)
        ]

    async def page(who: object = reader) -> dict[int, dict[str, object]]:
        async with runtime.db.transaction(write=False) as session:
            return await notes_service.visible_cards(session, runtime=runtime, viewer=viewer(who), note_ids=ids)

    before = await page()
    assert set(before) == set(ids)
    assert cards.shared_cache(runtime).get(ids[0]) is not None
    edited, liked, saved, labelled, limited = ids
    # Changes made without passing through the API, so nothing drops the cached cards.
    async with runtime.db.transaction() as session:
        await notes_service.update_note(session, viewer=viewer(author), note_id=edited, data=NoteUpdate(title="New"))
        await notes_service.like_note(session, viewer=viewer(fan), note_id=liked)
        await notes_service.save_note(session, viewer=viewer(reader), note_id=saved)
        await notes_service.set_visibility(session, note_id=labelled, labels=["alcohol"])
        await notes_service.set_visibility(session, note_id=limited, limited_regions=["US"])
        await session.execute(update(Note).where(Note.id == saved).values(view_count=Note.view_count + 7))
    after = await page()
    assert limited not in after  # limited in the reader's region since the last page
    assert after[edited]["title"] == "New"
    assert after[liked]["like_count"] == 1 and after[liked]["liked"] is False
    assert after[saved]["saved"] is True and after[saved]["save_count"] == 1 and after[saved]["view_count"] == 7
    assert after[labelled]["labels"] == ["alcohol"]
    # The fan's liked flag is theirs alone; the author sees the moderation details.
    assert (await page(fan))[liked]["liked"] is True
    assert (await page(author))[limited]["limited_regions"] == ["US"]
    assert after[edited]["limited_regions"] is None
