"""Background work of the notes domain: purges and view counters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import counters, events
from bridgenote.core.jobs import JobContext, job
from bridgenote.notes import service
from bridgenote.notes.models import Hashtag, Note


@job("notes.purge_note")
async def purge_note(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.purge_note(ctx.session, storage=ctx.services.storage, note_id=int(payload["note_id"]))


@job("notes.purge_user_content", max_attempts=10)
async def purge_user_content(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.purge_user_content(ctx.session, user_id=int(payload["user_id"]), storage=ctx.services.storage)


events.subscribe("user.deleted", "notes.purge_user_content")


async def _note_views(session: AsyncSession, counts: dict[int, int]) -> None:
    for note_id, n in counts.items():
        await session.execute(update(Note).where(Note.id == note_id).values(view_count=Note.view_count + n))


async def _hashtag_views(session: AsyncSession, counts: dict[int, int]) -> None:
    for tag_id, n in counts.items():
        await session.execute(update(Hashtag).where(Hashtag.id == tag_id).values(view_count=Hashtag.view_count + n))


counters.register_sink("note", _note_views)
counters.register_sink("hashtag", _hashtag_views)
