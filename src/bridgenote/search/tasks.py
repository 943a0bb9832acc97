"""Search indexing: event subscriptions and the jobs they run.

Every handler is idempotent (it rebuilds a document from the current rows), so
retries and duplicate events are harmless. Embedding is CPU work done in batches
in its own job, so a note is keyword-searchable as soon as its event is handled
and semantically searchable a moment later.
"""

from __future__ import annotations

from typing import Any

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, job
from bridgenote.search import service


@job("search.index_note", queue="default")
async def index_note(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.index_notes(ctx.session, settings=ctx.services.settings, note_ids=[int(payload["note_id"])])


@job("search.embed_notes", queue="default", max_attempts=3)
async def embed_notes(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.embed_notes(ctx.session, note_ids=[int(i) for i in payload["note_ids"]])


@job("search.index_user", queue="default")
async def index_user(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.index_users(ctx.session, user_ids=[int(payload["user_id"])])


@job("search.index_board", queue="default")
async def index_board(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.index_boards(ctx.session, board_ids=[int(payload["board_id"])])


@job("search.index_translation", queue="backfill")
async def index_translation(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.index_translation(
        ctx.session, settings=ctx.services.settings, kind=str(payload["kind"]), object_id=int(payload["object_id"])
    )


for _event in ("note.created", "note.updated", "note.deleted", "comment.created", "comment.deleted"):
    events.subscribe(_event, "search.index_note")
for _event in ("user.created", "user.updated", "user.deleted"):
    events.subscribe(_event, "search.index_user")
for _event in ("board.created", "board.updated", "board.deleted"):
    events.subscribe(_event, "search.index_board")
# Published by the translation domain after it stores a translation: {kind, object_id, source, target}.
events.subscribe("translation.stored", "search.index_translation")
