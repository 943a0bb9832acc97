"""Screening after commit: notes, comments and profile text as they are written, then images.

``moderation.on_event`` receives the subscribed events and screens the target they name;
``moderation.screen_images`` runs the nudity detector over a note's images (slower, so it is
a job of its own) and screens the note again with those hits. Both are idempotent: the
service keys automatic decisions by content and policy versions.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, enqueue, job
from bridgenote.moderation import classifiers, engine, service
from bridgenote.notes import service as notes_service

log = logging.getLogger(__name__)

JOB_NAME = "moderation.on_event"
IMAGES_JOB = "moderation.screen_images"
PROFILE_FIELDS = frozenset({"display_name", "bio"})


def _target(payload: dict[str, Any]) -> tuple[str, int] | None:
    event = payload.get("event")
    try:
        if event in ("note.created", "note.updated"):
            return "note", int(payload["note_id"])
        if event == "comment.created":
            return "comment", int(payload["comment_id"])
        if event == "user.created":
            return "user", int(payload["user_id"])
        if event == "user.updated" and PROFILE_FIELDS & set(payload.get("fields") or ()):
            return "user", int(payload["user_id"])
    except (KeyError, TypeError, ValueError):
        log.warning("moderation: malformed %s payload %r", event, payload)
    return None


@job(JOB_NAME)
async def on_event(ctx: JobContext, payload: dict[str, Any]) -> None:
    target = _target(payload)
    if target is None:
        return
    settings = ctx.services.settings.moderation
    await service.screen(ctx.session, target_type=target[0], target_id=target[1], settings=settings)
    if target[0] == "note" and settings.screen_images:
        keys = await notes_service.note_image_keys(ctx.session, note_id=target[1])
        if keys:
            await enqueue(
                ctx.session,
                IMAGES_JOB,
                {"note_id": target[1], "keys": keys},
                dedupe_key=f"moderation-images:{target[1]}:{hashlib.sha1('|'.join(keys).encode()).hexdigest()[:16]}",
            )


@job(IMAGES_JOB, max_attempts=3)
async def screen_images(ctx: JobContext, payload: dict[str, Any]) -> None:
    note_id = int(payload["note_id"])
    current = await notes_service.note_image_keys(ctx.session, note_id=note_id)
    hits: list[engine.Hit] = []
    for key in current:
        try:
            data = await ctx.services.storage.get(key)
        except (FileNotFoundError, KeyError, OSError):
            continue  # the note lost that image since; nothing to judge
        score, parts = await asyncio.to_thread(classifiers.nudity_score, data)
        if score > 0:
            hits.append(engine.Hit("image", "nudity", "nudenet", score, ", ".join(parts)))
    if hits:
        best = max(hits, key=lambda h: h.score)
        await service.screen(
            ctx.session,
            target_type="note",
            target_id=note_id,
            settings=ctx.services.settings.moderation,
            extra_hits=[best],
        )


for _event in ("note.created", "note.updated", "comment.created", "user.created", "user.updated"):
    events.subscribe(_event, JOB_NAME)
