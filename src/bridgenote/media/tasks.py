"""Background work of the media pipeline: one durable job per upload, after commit."""

from __future__ import annotations

from typing import Any

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, job
from bridgenote.media import service

MAX_ATTEMPTS = 4


@job("media.process", queue="interactive", max_attempts=MAX_ATTEMPTS)
async def process(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Variants of a photo, or the renditions of a video. A run after a crash (or a
    second delivery) finds the upload finished and does nothing."""
    await service.process_media(
        ctx.session,
        runtime=ctx.services,
        media_id=int(payload["media_id"]),
        final_attempt=ctx.attempt >= MAX_ATTEMPTS,
    )


events.subscribe("media.uploaded", "media.process")
