"""Background work of the media pipeline: one durable job per upload, after commit, and
the removal of files once uploads are deleted."""

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


@job(service.PURGE_JOB, max_attempts=10)
async def purge_files(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The files of deleted uploads (``media.deleted``: a purged note, an account purge, a
    deleted upload). Idempotent; files another upload uses stay."""
    await service.purge_files(ctx.session, storage=ctx.services.storage, media=list(payload["media"]))


@job(service.DROP_JOB, max_attempts=10)
async def drop_files(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Files a live upload no longer needs: a video's upload once its clean MP4 exists
    (unless originals are kept), replaced or deleted subtitle files."""
    await service.drop_files(
        ctx.session, storage=ctx.services.storage, media_id=int(payload["media_id"]), keys=list(payload["keys"])
    )


events.subscribe("media.uploaded", "media.process")
events.subscribe("media.deleted", service.PURGE_JOB)
