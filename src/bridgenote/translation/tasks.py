"""Background work of translation: language detection after writes, eager note
translation (backfill queue), on-demand translation (interactive queue) and the bilingual
subtitle tracks of videos (backfill queue)."""

from __future__ import annotations

import logging
from typing import Any

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, job
from bridgenote.media import service as media_service
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


@job("translation.subtitles", queue="backfill", max_attempts=8)
async def translate_subtitles(ctx: JobContext, payload: dict[str, Any]) -> None:
    """``media.subtitles_stored``: a bilingual track of the author's track into each other
    site language. Keyed by content: the payload names the stored file (content-addressed),
    and a job whose file is no longer the author's current one does nothing (the newer
    text has its own job); a run over text already done finds every cue stored and writes
    nothing. Every target is translated before anything is written, so a translator that
    goes down midway (retried, with backoff, like ``translation.translate``) never leaves
    a half track, and the model never runs inside the job's write transaction."""
    runtime = ctx.services
    settings = runtime.settings
    media_id, language = int(payload["media_id"]), str(payload["language"])
    source, targets = service.subtitle_plan(settings, language)
    if not targets:
        return
    async with runtime.db.transaction(write=False) as read:
        track = await media_service.author_track(read, storage=runtime.storage, media_id=media_id, language=language)
    if track is None or track.key != payload.get("key"):
        return
    translated = []
    try:
        for target in targets:
            texts = await service.translate_cues(
                runtime.db, settings=settings, texts=track.texts, target=target, source=source
            )
            translated.append((target, texts))
    except ProviderUnavailable as exc:
        if exc.code != "model_missing":
            raise
        log.warning("subtitles of media %s not translated, %s", media_id, exc.reason)
        return
    for target, texts in translated:
        await media_service.store_translated_track(
            ctx.session, runtime=runtime, track=track, target=target, translations=texts
        )


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
events.subscribe(media_service.SUBTITLES_STORED, "translation.subtitles")
