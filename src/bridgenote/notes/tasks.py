"""Background work of the notes domain: purges and view counters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, update
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


def _add_views(table: Any) -> Any:
    return (
        update(table)
        .where(table.c.id == bindparam("counted_id"))
        .values(view_count=table.c.view_count + bindparam("counted_n", type_=BigInteger))
    )


_ADD_NOTE_VIEWS = _add_views(Note.__table__)
_ADD_HASHTAG_VIEWS = _add_views(Hashtag.__table__)


async def _note_views(session: AsyncSession, counts: dict[int, int]) -> None:
    # One executemany per flush, in key order (the same lock order in every process).
    if counts:
        await session.execute(_ADD_NOTE_VIEWS, [{"counted_id": k, "counted_n": n} for k, n in sorted(counts.items())])


async def _hashtag_views(session: AsyncSession, counts: dict[int, int]) -> None:
    if counts:
        await session.execute(
            _ADD_HASHTAG_VIEWS, [{"counted_id": k, "counted_n": n} for k, n in sorted(counts.items())]
        )


counters.register_sink("note", _note_views)
counters.register_sink("hashtag", _hashtag_views)
