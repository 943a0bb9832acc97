"""The media pipeline: responsive image variants, video renditions, subtitle tracks.

Uploads are validated and stored by notes (``notes_service.store_upload``), which
publishes ``media.uploaded``; ``media.process`` (tasks.py) then runs
:func:`process_media` after commit. The attachment row stays notes' own: the pipeline
reports its results through ``notes_service.record_media_processing``.

A job is one transaction, but a minute of transcoding must not hold SQLite's write
lock: the pipeline reads what it needs in a separate read transaction, does the CPU
work in a thread without touching the job's session, and only then writes the result
into the job's transaction (which starts at that first write). Progress goes to
``media_progress`` in short transactions of its own, so the author sees it move.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import images
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import AppError, BadRequest, NotFound, Unauthorized
from bridgenote.core.i18n import N_, gettext
from bridgenote.core.jobs import insert_ignore
from bridgenote.core.storage import Storage
from bridgenote.media import policy, subtitles, video
from bridgenote.media.models import MediaProgress, MediaSubtitle
from bridgenote.media.schemas import SubtitleCreate
from bridgenote.notes import service as notes_service

log = logging.getLogger(__name__)

PIPELINE_VERSION = images.PIPELINE_VERSION
FINAL_STATES = ("ready", "failed")


class Rejected(Exception):
    """The upload can never be processed. ``reason`` is a message id, shown translated."""

    def __init__(self, reason: str, code: str, **params: Any) -> None:
        super().__init__(reason.format(**params) if params else reason)
        self.reason, self.code, self.params = reason, code, params


def content_key(data: bytes, extension: str) -> str:
    """A public, content-addressed key: the same bytes always get the same name."""
    digest = hashlib.sha256(data).hexdigest()
    return f"m/{digest[:2]}/{digest[2:4]}/{digest}.{extension}"


def variant_settings(settings: Any) -> images.VariantSettings:
    conf = settings.media
    return images.VariantSettings(
        widths=tuple(conf.image_widths),
        avif_quality=conf.avif_quality,
        avif_speed=conf.avif_speed,
        webp_quality=conf.webp_quality,
        jpeg_quality=conf.jpeg_quality,
    )


# ---------------------------------------------------------------- processing


@dataclass(frozen=True)
class _Upload:
    id: int
    kind: str
    storage_key: str
    sha256: str
    state: str
    version: int | None


async def process_media(session: AsyncSession, *, runtime: Any, media_id: int, final_attempt: bool) -> str:
    """Build every variant of one upload and record the outcome in ``session`` (the job's
    transaction). Idempotent: a finished upload of the current pipeline version is left
    alone. Bad input ends in ``failed`` with a reason at once; other errors propagate (the
    job is retried) until ``final_attempt``, which records ``failed`` instead.
    Returns what happened: ``gone``, ``skipped``, ``ready`` or ``failed``."""
    async with runtime.db.transaction(write=False) as read:
        media = await notes_service.get_media(read, media_id=media_id)
        if media is None:
            return "gone"
        upload = _Upload(
            media.id, media.kind, media.storage_key, media.sha256, media.state, (media.variants or {}).get("version")
        )
    if upload.state in FINAL_STATES and upload.version == PIPELINE_VERSION:
        return "skipped"
    await _set_progress(runtime, media_id, "processing" if upload.kind == "image" else "probing", 0.0, start=True)
    try:
        if upload.kind == "image":
            fields = await _process_image(runtime, upload)
        else:
            fields = await _process_video(runtime, upload)
    except Rejected as exc:
        await _fail(session, runtime, upload, exc.reason, exc.code, exc.params)
        return "failed"
    except Exception:
        if not final_attempt:
            raise
        log.exception("media %s: processing failed for good", media_id)
        await _fail(session, runtime, upload, N_("We could not process this file."), "processing_failed", {})
        return "failed"
    await notes_service.record_media_processing(session, media_id=media_id, state="ready", runtime=runtime, **fields)
    await _progress_row(session, media_id, "done", 1.0)
    return "ready"


async def _fail(
    session: AsyncSession, runtime: Any, upload: _Upload, reason: str, code: str, params: dict[str, Any]
) -> None:
    error = {"code": code, "message": reason, "params": params}
    await notes_service.record_media_processing(
        session,
        media_id=upload.id,
        state="failed",
        failure_reason=reason.format(**params) if params else reason,
        variants={"version": PIPELINE_VERSION, "error": error},
        runtime=runtime,
    )
    await _progress_row(session, upload.id, "failed", 1.0)


async def _process_image(runtime: Any, upload: _Upload) -> dict[str, Any]:
    storage: Storage = runtime.storage
    data = await storage.get(upload.storage_key)
    conf = variant_settings(runtime.settings)
    max_bytes = runtime.settings.max_upload_bytes * 4  # the master is re-encoded; never trust it unbounded

    def build() -> images.ImageVariants:
        images.probe_image(data, max_bytes=max_bytes)  # the same checks as at upload, in case of a foreign key
        return images.build_variants(data, conf)

    try:
        built = await asyncio.to_thread(build)
    except AppError as exc:
        raise Rejected(exc.message, exc.code, **exc.params) from exc
    stored = []
    for variant in built.variants:
        key = content_key(variant.data, variant.extension)
        await storage.put(key, variant.data, content_type=variant.content_type)
        stored.append(
            {
                "format": variant.format,
                "width": variant.width,
                "height": variant.height,
                "key": key,
                "bytes": len(variant.data),
            }
        )
    return {
        "width": built.width,
        "height": built.height,
        "blurhash": built.blurhash,
        "dominant_color": built.dominant_color,
        "variants": {"version": PIPELINE_VERSION, "animated": built.animated, "images": stored},
    }


async def _process_video(runtime: Any, upload: _Upload) -> dict[str, Any]:
    storage: Storage = runtime.storage
    conf = runtime.settings.media
    loop = asyncio.get_running_loop()
    pending: list[concurrent.futures.Future[None]] = []

    def progress(share: float) -> None:  # called from the transcoding thread
        pending.append(asyncio.run_coroutine_threadsafe(_set_progress(runtime, upload.id, "transcoding", share), loop))

    data = await storage.get(upload.storage_key)
    with tempfile.TemporaryDirectory(prefix="bridgenote-video-") as tmp:
        source = Path(tmp) / "source"
        await asyncio.to_thread(source.write_bytes, data)
        del data
        try:
            result = await asyncio.to_thread(
                video.transcode,
                source,
                Path(tmp) / "out",
                max_seconds=conf.max_video_seconds,
                max_height=conf.video_max_height,
                hls_heights=tuple(conf.hls_heights),
                crf=conf.video_crf,
                preset=conf.video_preset,
                progress=progress,
            )
        except video.VideoRejected as exc:
            raise Rejected(exc.reason, exc.code, **exc.params) from exc
        finally:
            for future in pending:
                await asyncio.wrap_future(future)
        await _set_progress(runtime, upload.id, "storing", 0.96)
        mp4 = await asyncio.to_thread(result.mp4.read_bytes)
        mp4_key = content_key(mp4, "mp4")
        await storage.put(mp4_key, mp4, content_type="video/mp4")
        poster = await asyncio.to_thread(result.poster.read_bytes)
        poster_key = content_key(poster, "webp")
        await storage.put(poster_key, poster, content_type="image/webp")
        blurhash, colour = await asyncio.to_thread(_poster_placeholder, poster)
        # Playlists name their segments relatively, so the set lives under one folder
        # named after the source and the pipeline version (it never changes either).
        folder = f"m/v/{upload.sha256[:2]}/{upload.sha256}-{PIPELINE_VERSION}"
        master = "master.m3u8"
        files = sorted(p for p in result.hls_dir.rglob("*") if p.is_file() and p.name != master)
        # Segments first, then playlists, the master last: no reader sees a playlist before its files.
        files.sort(key=lambda p: p.suffix == ".m3u8")
        for path in [*files, result.hls_dir / master]:
            key = f"{folder}/{path.relative_to(result.hls_dir).as_posix()}"
            content_type = {
                ".m3u8": "application/vnd.apple.mpegurl",
                ".m4s": "video/iso.segment",
                ".mp4": "video/mp4",
            }.get(path.suffix, "application/octet-stream")
            await storage.put(key, await asyncio.to_thread(path.read_bytes), content_type=content_type)
        renditions = [
            {"width": r.width, "height": r.height, "bandwidth": r.bandwidth, "playlist": f"{folder}/{r.playlist}"}
            for r in result.renditions
        ]
    return {
        "width": result.width,
        "height": result.height,
        "duration_ms": result.duration_ms,
        "blurhash": blurhash,
        "dominant_color": colour,
        "variants": {
            "version": PIPELINE_VERSION,
            "mp4": mp4_key,
            "mp4_bytes": len(mp4),
            "poster": poster_key,
            "hls": f"{folder}/{master}",
            "renditions": renditions,
        },
    }


def _poster_placeholder(poster: bytes) -> tuple[str, str]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(poster)) as img:
        return images.placeholder(img.convert("RGB"))


async def _progress_row(session: AsyncSession, media_id: int, stage: str, share: float) -> None:
    values = {"media_id": media_id, "stage": stage, "progress": share, "updated_at": utcnow()}
    if not await insert_ignore(session, MediaProgress, values):
        await session.execute(
            update(MediaProgress)
            .where(MediaProgress.media_id == media_id)
            .values(stage=stage, progress=share, updated_at=values["updated_at"])
        )


async def _set_progress(runtime: Any, media_id: int, stage: str, share: float, *, start: bool = False) -> None:
    """Progress in a short transaction of its own (visible before the job commits). Best effort."""
    try:
        async with runtime.db.transaction() as session:
            if start:
                media = await notes_service.record_media_processing(session, media_id=media_id, state="processing")
                if media is None:
                    return
            await _progress_row(session, media_id, stage, round(share, 3))
    except Exception:  # progress is a courtesy; the job's own result is what counts
        log.warning("media %s: could not record progress", media_id, exc_info=True)


# ---------------------------------------------------------------- reading and serving


async def access_media(session: AsyncSession, *, viewer: Viewer, media_id: int) -> Any:
    """An upload ``viewer`` may see: their own, or one attached to a note they may see.
    Anything else is a 404 (its existence does not leak)."""
    media = await notes_service.get_media(session, media_id=media_id)
    if media is None:
        raise NotFound("That upload does not exist.", code="media_not_found")
    if policy.is_owner(viewer, media):
        return media
    if media.note_id is None:
        raise NotFound("That upload does not exist.", code="media_not_found")
    try:
        await notes_service.access_note(session, viewer=viewer, note_id=media.note_id)
    except NotFound as exc:
        raise NotFound("That upload does not exist.", code="media_not_found") from exc
    return media


async def _own_media(session: AsyncSession, *, viewer: Viewer, media_id: int) -> Any:
    if viewer.id is None:
        raise Unauthorized()
    media = await notes_service.get_media(session, media_id=media_id)
    if media is None or not policy.is_owner(viewer, media):
        raise NotFound("That upload does not exist.", code="media_not_found")
    return media


async def media_status(session: AsyncSession, *, storage: Storage, viewer: Viewer, media_id: int) -> dict[str, Any]:
    """What clients render for one upload, plus its processing progress and failure reason."""
    media = await access_media(session, viewer=viewer, media_id=media_id)
    row = await session.get(MediaProgress, media_id)
    stored = media.variants or {}
    error = stored.get("error") or {}
    public = images.public_variants(stored, storage.url)
    tracks = (await subtitle_tracks(session, storage=storage, media_ids=[media_id])).get(media_id, [])
    done = media.state in FINAL_STATES
    return {
        "id": media.id,
        "kind": media.kind,
        "state": media.state,
        "stage": row.stage if row else None,
        "progress": 1.0 if done else (row.progress if row else 0.0),
        "failure_code": error.get("code"),
        "failure_reason": gettext(error["message"], **error.get("params", {})) if error.get("message") else None,
        "width": media.width,
        "height": media.height,
        "duration_ms": media.duration_ms,
        "blurhash": media.blurhash,
        "dominant_color": media.dominant_color,
        "url": notes_service.media_url(storage, media),
        "picture": public["picture"],
        "video": public["video"],
        "subtitles": tracks,
    }


_ACCEPT_ORDER = (("avif", "image/avif"), ("webp", "image/webp"))


def pick_image(stored: dict[str, Any] | None, *, accept: str, width: int) -> str | None:
    """Storage key of the best image variant for an ``Accept`` header and a display width:
    AVIF, then WebP, then JPEG; the smallest width that covers ``width``, else the largest."""
    variants = (stored or {}).get("images") or []
    accept = accept.lower()
    formats = [fmt for fmt, mime in _ACCEPT_ORDER if mime in accept] + ["jpeg"]
    for fmt in formats:
        sizes = sorted((v for v in variants if v["format"] == fmt), key=lambda v: v["width"])
        if sizes:
            chosen = next((v for v in sizes if v["width"] >= width), sizes[-1])
            return str(chosen["key"])
    return None


async def image_for(
    session: AsyncSession, *, viewer: Viewer, media_id: int, accept: str, width: int
) -> tuple[str, bool]:
    """(storage key, whether it is a variant) of the image to show ``viewer``; the master
    until the variants exist. A video gives its poster."""
    media = await access_media(session, viewer=viewer, media_id=media_id)
    stored = media.variants or {}
    if media.kind == "video":
        if not stored.get("poster"):
            raise NotFound("This video is still being processed.", code="media_not_ready")
        return str(stored["poster"]), True
    key = pick_image(stored, accept=accept, width=width)
    return (key, True) if key else (str(media.storage_key), False)


async def original_file(session: AsyncSession, *, storage: Storage, viewer: Viewer, media_id: int) -> tuple[bytes, str]:
    """The stored upload itself, for its owner only (a video before processing is private)."""
    media = await _own_media(session, viewer=viewer, media_id=media_id)
    try:
        return await storage.get(media.storage_key), str(media.content_type)
    except FileNotFoundError as exc:
        raise NotFound("That upload does not exist.", code="media_not_found") from exc


# ---------------------------------------------------------------- subtitles


async def add_subtitles(
    session: AsyncSession, *, runtime: Any, viewer: Viewer, media_id: int, data: SubtitleCreate
) -> MediaSubtitle:
    """The author adds (or replaces) the subtitle track of one language on their video."""
    media = await _own_media(session, viewer=viewer, media_id=media_id)
    if media.kind != "video":
        raise BadRequest("Subtitles can only be added to a video.", code="not_a_video")
    return await store_subtitle_track(
        session, runtime=runtime, media_id=media_id, language=data.language, label=data.label, text=data.text
    )


async def store_subtitle_track(
    session: AsyncSession,
    *,
    runtime: Any,
    media_id: int,
    language: str,
    label: str,
    text: str,
    source: str = "author",
) -> MediaSubtitle:
    """Sanitise and store one track. The hook for machine-translated tracks as well
    (``source="translation"``): a translated track never replaces the author's own."""
    conf = runtime.settings.media
    if len(text.encode("utf-8")) > conf.max_subtitle_bytes:
        raise BadRequest(
            "That subtitle file is larger than {limit} KB.",
            code="subtitles_too_large",
            limit=conf.max_subtitle_bytes // 1024,
        )
    try:
        cues = subtitles.parse(text)
    except subtitles.SubtitleError as exc:
        raise BadRequest("That is not a valid SRT or WebVTT subtitle file.", code="invalid_subtitles") from exc
    existing = (await session.scalars(select(MediaSubtitle).where(MediaSubtitle.media_id == media_id))).all()
    replaced = next((t for t in existing if t.language == language and t.source == source), None)
    if replaced is None and len(existing) >= conf.max_subtitle_tracks:
        raise BadRequest(
            "A video has at most {n} subtitle tracks.", code="too_many_subtitles", n=conf.max_subtitle_tracks
        )
    body = subtitles.to_webvtt(cues).encode("utf-8")
    key = content_key(body, "vtt")
    await runtime.storage.put(key, body, content_type="text/vtt")
    if replaced is not None:
        replaced.label, replaced.storage_key = label, key
        await session.flush()
        return replaced
    track = MediaSubtitle(media_id=media_id, language=language, label=label, source=source, storage_key=key)
    session.add(track)
    await session.flush()
    return track


async def delete_subtitles(session: AsyncSession, *, viewer: Viewer, media_id: int, language: str) -> None:
    await _own_media(session, viewer=viewer, media_id=media_id)
    result = await session.execute(
        delete(MediaSubtitle).where(
            MediaSubtitle.media_id == media_id, MediaSubtitle.language == language, MediaSubtitle.source == "author"
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("That subtitle track does not exist.", code="subtitles_not_found")


async def subtitle_tracks(
    session: AsyncSession, *, storage: Storage, media_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """``<track>`` data per upload, in one query (for note cards and the status endpoint)."""
    tracks: dict[int, list[dict[str, Any]]] = {}
    if not media_ids:
        return tracks
    rows = await session.scalars(
        select(MediaSubtitle)
        .where(MediaSubtitle.media_id.in_(media_ids))
        .order_by(MediaSubtitle.media_id, MediaSubtitle.source, MediaSubtitle.language)
    )
    for t in rows:
        tracks.setdefault(t.media_id, []).append(
            {
                "id": str(t.id),
                "language": t.language,
                "label": t.label,
                "source": t.source,
                "kind": "subtitles",
                "url": storage.url(t.storage_key),
            }
        )
    return tracks
