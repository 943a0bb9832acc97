"""Background work of translation: language detection after writes, eager note
translation (backfill queue) and on-demand translation (interactive queue)."""

from __future__ import annotations

import logging
from typing import Any

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, job
from bridgenote.translation import service
from bridgenote.translation.providers import ProviderUnavailable

log = logging.getLogger(__name__)


@job(service.TRANSLATE_JOB, queue="interactive", max_attempts=3)
async def translate(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Read, translate with no transaction open (a model takes seconds; on SQLite a held write
    transaction would block every writer), then store in the job's own transaction."""
    settings = ctx.services.settings
    async with ctx.services.db.transaction(write=False) as read:
        work = await service.plan_work(
            read,
            settings=settings,
            kind=str(payload["kind"]),
            object_id=int(payload["object_id"]),
            target=str(payload["target"]),
        )
    if work is None:
        return
    try:
        results = await service.perform(work, settings=settings)
    except ProviderUnavailable as exc:
        if exc.code != "model_missing":
            raise  # down, timing out or installing: the retry may well succeed
        # No model on this machine (`bridgenote models install` was never run): retrying
        # cannot help, and the API already answers 503 to on-demand requests. Nothing is
        # stored, so a later request translates once the model is there.
        log.warning("translation skipped, %s", exc.reason)
        return
    await service.store_results(ctx.session, work=work, results=results)


@job("translation.on_note_changed")
async def on_note_changed(ctx: JobContext, payload: dict[str, Any]) -> None:
    settings = ctx.services.settings
    await service.on_content_changed(
        ctx.session,
        settings=settings,
        kind="note",
        object_id=int(payload["note_id"]),
        eager=settings.translation.eager_notes,
    )


@job("translation.on_comment_created")
async def on_comment_created(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.on_content_changed(
        ctx.session, settings=ctx.services.settings, kind="comment", object_id=int(payload["comment_id"]), eager=False
    )


@job("translation.on_user_updated")
async def on_user_updated(ctx: JobContext, payload: dict[str, Any]) -> None:
    if "bio" in payload.get("fields", ()):
        await service.on_content_changed(
            ctx.session, settings=ctx.services.settings, kind="bio", object_id=int(payload["user_id"]), eager=False
        )


@job("translation.forget")
async def forget(ctx: JobContext, payload: dict[str, Any]) -> None:
    event = payload.get("event")
    if event == "note.deleted":
        await service.forget_subject(ctx.session, kind="note", object_id=int(payload["note_id"]))
    elif event == "comment.deleted":
        await service.forget_subject(ctx.session, kind="comment", object_id=int(payload["comment_id"]))
    elif event == "user.deleted":
        await service.forget_subject(ctx.session, kind="bio", object_id=int(payload["user_id"]))


events.subscribe("note.created", "translation.on_note_changed")
events.subscribe("note.updated", "translation.on_note_changed")
events.subscribe("comment.created", "translation.on_comment_created")
events.subscribe("user.updated", "translation.on_user_updated")
events.subscribe("note.deleted", "translation.forget")
events.subscribe("comment.deleted", "translation.forget")
events.subscribe("user.deleted", "translation.forget")
