"""The media pipeline: upload checks, responsive image variants, video renditions,
subtitle tracks, and removing the files of deleted uploads.

``POST /api/v1/media`` runs :func:`accept_upload`: a video's container header is checked
here (size, length, a decodable video track) before anything is stored; the file itself
is validated and stored by notes (``notes_service.store_upload``), which publishes
``media.uploaded``; ``media.process`` (tasks.py) then runs :func:`process_media` after
commit. The attachment row stays notes' own: the pipeline reports its results through
``notes_service.record_media_processing``.

Every file that belongs to an upload is listed in ``media_files`` (written before the
file itself). When notes deletes attachments it publishes ``media.deleted``;
``media.purge_files`` (:func:`purge_files`) then deletes their files, except those
another upload still uses (content-addressed names are shared by identical files).

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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import images
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import AppError, BadRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMedia
from bridgenote.core.events import publish
from bridgenote.core.i18n import N_, gettext
from bridgenote.core.jobs import enqueue, insert_ignore
from bridgenote.core.storage import Storage, copy_to_file, opened
from bridgenote.media import policy, subtitles, video
from bridgenote.media.models import MediaFile, MediaProgress, MediaSubtitle
from bridgenote.media.schemas import SubtitleCreate
from bridgenote.notes import service as notes_service

log = logging.getLogger(__name__)

PIPELINE_VERSION = images.PIPELINE_VERSION
FINAL_STATES = ("ready", "failed")
PURGE_JOB = "media.purge_files"
DROP_JOB = "media.drop_files"


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


# ---------------------------------------------------------------- uploading

# HTTP status of each reason a video is refused at upload (the same reasons fail a job).
_REFUSALS: dict[str, type[AppError]] = {
    "invalid_video": UnsupportedMedia,
    "no_video_stream": UnsupportedMedia,
    "video_too_long": BadRequest,
    "video_too_large": BadRequest,
}
ORIGINAL_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}


async def accept_upload(session: AsyncSession, *, runtime: Any, viewer: Viewer, data: bytes, alt_text: str = "") -> Any:
    """``POST /api/v1/media``: refuse what can never be shown, store the upload, list its files.

    A video is refused here, with a 4xx that says why and nothing stored, when it is over
    ``BRIDGENOTE_MAX_VIDEO_BYTES``, when its container header says it is longer than
    ``MEDIA__MAX_VIDEO_SECONDS`` (a two-hour header costs a header read, not a decode), has
    no video track, or is not a decodable MP4, MOV or WebM (the header and the first
    picture are read, in a thread). Images are checked by notes (``store_upload``).

    With ``MEDIA__KEEP_ORIGINAL`` the untouched upload is also kept, privately (``o/`` for
    a photo; a video's private ``u/`` upload is simply not dropped after processing): only
    its owner can download it (``GET /media/{id}/original``), it is never public.
    """
    settings = runtime.settings
    keep_original = bool(settings.media.keep_original)
    video_type = images.sniff_video(data[:64])
    probed: video.Probe | None = None
    if video_type is not None:
        if len(data) > settings.max_video_bytes:
            raise PayloadTooLarge(
                "That video is larger than {limit} MB.", limit=settings.max_video_bytes // (1024 * 1024)
            )
        try:
            probed = await asyncio.to_thread(
                video.probe_upload, data, content_type=video_type, max_seconds=settings.media.max_video_seconds
            )
        except video.VideoRejected as exc:
            raise _REFUSALS.get(exc.code, BadRequest)(exc.reason, code=exc.code, **exc.params) from exc
    media = await notes_service.store_upload(
        session, viewer=viewer, storage=runtime.storage, settings=settings, data=data, alt_text=alt_text
    )
    files = [(str(media.storage_key), "master" if media.kind == "image" else "source")]
    if probed is not None:
        if keep_original:
            files = [(str(media.storage_key), "original")]
        # The header's size and length: cards can keep the right space before processing.
        await notes_service.record_media_processing(
            session,
            media_id=media.id,
            state=media.state,
            width=probed.width,
            height=probed.height,
            duration_ms=round(probed.duration * 1000) if probed.duration else None,
        )
    elif keep_original:
        fmt = await asyncio.to_thread(images.image_extension, data)
        digest = hashlib.sha256(data).hexdigest()
        key = f"o/{digest[:2]}/{digest[2:4]}/{digest}.{fmt}"
        await _remember(session, media.id, [(key, "original")])
        await runtime.storage.put(key, data, content_type=ORIGINAL_TYPES.get(fmt, "application/octet-stream"))
    await _remember(session, media.id, files)
    return media


async def delete_upload(session: AsyncSession, *, viewer: Viewer, media_id: int) -> None:
    """The owner deletes an upload that is on no note; its files go after commit."""
    if viewer.id is None:
        raise Unauthorized()
    await notes_service.delete_upload(session, viewer=viewer, media_id=media_id)


async def _remember(session: AsyncSession, media_id: int, files: list[tuple[str, str]]) -> None:
    """List files of an upload in ``media_files`` (idempotent)."""
    for key, role in files:
        await insert_ignore(session, MediaFile, {"media_id": media_id, "key": key, "role": role})


async def _remember_now(runtime: Any, media_id: int, files: list[tuple[str, str]]) -> None:
    """The same, committed at once: before the files are written, so that a crash (or the
    upload being deleted meanwhile) never leaves a file that nobody knows about."""
    async with runtime.db.transaction() as session:
        await _remember(session, media_id, files)


async def _file_role(session: AsyncSession, media_id: int, key: str) -> str | None:
    return await session.scalar(select(MediaFile.role).where(MediaFile.media_id == media_id, MediaFile.key == key))


# ---------------------------------------------------------------- processing


@dataclass(frozen=True)
class _Upload:
    id: int
    kind: str
    storage_key: str
    sha256: str
    state: str
    version: int | None
    # A video's private upload: "source" is dropped once the clean MP4 exists, "original" is kept.
    source_role: str = "source"


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
        role = await _file_role(read, media.id, media.storage_key)
        if role is None:  # stored before the files were listed (seed data, older uploads)
            role = "original" if runtime.settings.media.keep_original else "source"
        upload = _Upload(
            media.id,
            media.kind,
            media.storage_key,
            media.sha256,
            media.state,
            (media.variants or {}).get("version"),
            role,
        )
    if upload.state in FINAL_STATES and upload.version == PIPELINE_VERSION:
        return "skipped"
    await _set_progress(runtime, media_id, "processing" if upload.kind == "image" else "probing", 0.0, start=True)
    written: list[str] = []
    try:
        if upload.kind == "image":
            fields = await _process_image(runtime, upload, written)
        else:
            fields = await _process_video(runtime, upload, written)
    except Rejected as exc:
        await _fail(session, runtime, upload, exc.reason, exc.code, exc.params)
        return "failed"
    except Exception:
        if not final_attempt:
            raise
        log.exception("media %s: processing failed for good", media_id)
        await _fail(session, runtime, upload, N_("We could not process this file."), "processing_failed", {})
        return "failed"
    media = await notes_service.record_media_processing(
        session, media_id=media_id, state="ready", runtime=runtime, **fields
    )
    if media is None:
        # Deleted while it was processed: its purge may have run before these files existed.
        await enqueue(session, PURGE_JOB, {"media": [{"id": media_id, "keys": written}]})
        return "gone"
    if fields.get("storage_key") and upload.source_role == "source":
        # The clean MP4 is the video's master now; the upload (with its metadata) goes after commit.
        await enqueue(session, DROP_JOB, {"media_id": media_id, "keys": [upload.storage_key]})
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


async def _process_image(runtime: Any, upload: _Upload, written: list[str]) -> dict[str, Any]:
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
    keys = [content_key(variant.data, variant.extension) for variant in built.variants]
    await _remember_now(runtime, upload.id, [(upload.storage_key, "master")] + [(k, "variant") for k in keys])
    written.extend(keys)
    stored = []
    for variant, key in zip(built.variants, keys, strict=True):
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


async def _process_video(runtime: Any, upload: _Upload, written: list[str]) -> dict[str, Any]:
    storage: Storage = runtime.storage
    conf = runtime.settings.media
    loop = asyncio.get_running_loop()
    pending: list[concurrent.futures.Future[None]] = []

    def progress(share: float) -> None:  # called from the transcoding thread
        pending.append(asyncio.run_coroutine_threadsafe(_set_progress(runtime, upload.id, "transcoding", share), loop))

    with tempfile.TemporaryDirectory(prefix="bridgenote-video-") as tmp:
        source = Path(tmp) / "source"
        await copy_to_file(storage, upload.storage_key, source)
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
        poster = await asyncio.to_thread(result.poster.read_bytes)
        poster_key = content_key(poster, "webp")
        # Playlists name their segments relatively, so the set lives under one folder
        # named after the source and the pipeline version (it never changes either).
        folder = f"m/v/{upload.sha256[:2]}/{upload.sha256}-{PIPELINE_VERSION}"
        master = "master.m3u8"
        files = sorted(p for p in result.hls_dir.rglob("*") if p.is_file() and p.name != master)
        # Segments first, then playlists, the master last: no reader sees a playlist before its files.
        files.sort(key=lambda p: p.suffix == ".m3u8")
        hls = [
            (path, f"{folder}/{path.relative_to(result.hls_dir).as_posix()}")
            for path in [*files, result.hls_dir / master]
        ]
        keys = [mp4_key, poster_key, *(key for _path, key in hls)]
        await _remember_now(
            runtime, upload.id, [(upload.storage_key, upload.source_role)] + [(k, "variant") for k in keys]
        )
        written.extend(keys)
        await storage.put(mp4_key, mp4, content_type="video/mp4")
        await storage.put(poster_key, poster, content_type="image/webp")
        blurhash, colour = await asyncio.to_thread(_poster_placeholder, poster)
        for path, key in hls:
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
        # The clean MP4 becomes the stored file; the upload itself is dropped or kept (source_role).
        "storage_key": mp4_key,
        "content_type": "video/mp4",
        "size_bytes": len(mp4),
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


# ---------------------------------------------------------------- removing files


def _described_keys(entry: dict[str, Any]) -> set[str]:
    """The keys an attachment's own columns name (``media.deleted`` carries them): its stored
    file and the variants, for uploads processed before ``media_files`` listed them."""
    keys = {str(k) for k in entry.get("keys") or []}
    if entry.get("storage_key"):
        keys.add(str(entry["storage_key"]))
    stored = entry.get("variants") or {}
    keys.update(str(v["key"]) for v in stored.get("images") or [] if v.get("key"))
    for name in ("mp4", "poster", "hls"):
        if stored.get(name):
            keys.add(str(stored[name]))
    keys.update(str(r["playlist"]) for r in stored.get("renditions") or [] if r.get("playlist"))
    return keys


def _playlist_entries(key: str, text: str) -> set[str]:
    """The files an HLS playlist names (segments, init section, other playlists), as keys."""
    folder = key.rsplit("/", 1)[0]
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:") and 'URI="' in line:
            names.add(line.split('URI="', 1)[1].split('"', 1)[0])
        elif line and not line.startswith("#"):
            names.add(line)
    # Only names relative to the playlist's folder (ours are): nothing outside it is ever touched.
    return {f"{folder}/{name}" for name in names if "://" not in name and not name.startswith("/") and ".." not in name}


async def _with_hls_files(storage: Storage, keys: set[str]) -> set[str]:
    """Add the segments the playlists among ``keys`` name (for uploads without a file list)."""
    pending = [k for k in keys if k.endswith(".m3u8")]
    found = set(keys)
    while pending:
        key = pending.pop()
        try:
            text = (await storage.get(key)).decode("utf-8", "replace")
        except FileNotFoundError:
            continue
        for entry in _playlist_entries(key, text) - found:
            found.add(entry)
            if entry.endswith(".m3u8"):
                pending.append(entry)
    return found


def _deletion_order(keys: set[str]) -> list[str]:
    # Segments before playlists, master playlists last: a reader never finds a playlist without its files.
    return sorted(keys, key=lambda k: (k.endswith(".m3u8"), k.endswith("master.m3u8"), k))


async def _file_in_use(session: AsyncSession, key: str) -> bool:
    """Another upload still lists ``key`` (or stores it, or a subtitle track points at it)."""
    if await session.scalar(select(MediaFile.media_id).where(MediaFile.key == key).limit(1)) is not None:
        return True
    if await session.scalar(select(MediaSubtitle.id).where(MediaSubtitle.storage_key == key).limit(1)) is not None:
        return True
    return await notes_service.media_file_in_use(session, key=key)


async def _lock_keys(session: AsyncSession, keys: set[str]) -> None:
    """PostgreSQL: two purges of uploads that share a file must not both decide that the
    other still uses it. Lock every listing of these keys first (SQLite serialises writers)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql" and keys:
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            await session.execute(
                select(MediaFile.media_id).where(MediaFile.key.in_(chunk)).order_by(MediaFile.key).with_for_update()
            )


async def purge_files(session: AsyncSession, *, storage: Storage, media: list[dict[str, Any]]) -> int:
    """``media.deleted``: remove every file of these (already deleted) uploads: master or
    video upload, kept original, image variants, MP4, poster, HLS playlists and segments,
    subtitle files. A file another upload still uses stays. Idempotent: the file list goes
    in the same transaction, and deleting a missing file is not an error. Returns how many
    files were deleted."""
    ids = sorted({int(entry["id"]) for entry in media})
    listed = (await session.execute(select(MediaFile.media_id, MediaFile.key).where(MediaFile.media_id.in_(ids)))).all()
    keys = {key for _id, key in listed}
    unlisted = set(ids) - {media_id for media_id, _key in listed}
    for entry in media:
        described = _described_keys(entry)
        if int(entry["id"]) in unlisted:
            described = await _with_hls_files(storage, described)
        keys |= described
    await _lock_keys(session, keys)
    await session.execute(delete(MediaFile).where(MediaFile.media_id.in_(ids)))
    deleted = 0
    for key in _deletion_order(keys):
        if not await _file_in_use(session, key):
            await storage.delete(key)
            deleted += 1
    return deleted


async def drop_files(session: AsyncSession, *, storage: Storage, media_id: int, keys: list[str]) -> int:
    """Remove some files of a live upload (its video upload once the clean MP4 exists, a
    replaced or deleted subtitle file), unless the upload or another one still uses them."""
    media = await notes_service.get_media(session, media_id=media_id)
    own = {str(media.storage_key)} if media is not None else set()
    tracks = select(MediaSubtitle.storage_key).where(MediaSubtitle.media_id == media_id)
    own.update(await session.scalars(tracks))
    gone = sorted(set(keys) - own)
    await _lock_keys(session, set(gone))
    if gone:
        await session.execute(delete(MediaFile).where(MediaFile.media_id == media_id, MediaFile.key.in_(gone)))
    deleted = 0
    for key in _deletion_order(set(gone)):
        if not await _file_in_use(session, key):
            await storage.delete(key)
            deleted += 1
    return deleted


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


async def original_file(
    session: AsyncSession, *, storage: Storage, viewer: Viewer, media_id: int
) -> tuple[AsyncIterator[bytes], str]:
    """For its owner only: the untouched upload when it was kept (``MEDIA__KEEP_ORIGINAL``,
    with whatever metadata it carried: it is the owner's own file), else the stored master
    (a video's private upload until it is processed, then its clean MP4)."""
    media = await _own_media(session, viewer=viewer, media_id=media_id)
    original = await session.scalar(
        select(MediaFile.key).where(MediaFile.media_id == media.id, MediaFile.role == "original").limit(1)
    )
    key, content_type = str(media.storage_key), str(media.content_type)
    if original is not None:
        key, content_type = original, ORIGINAL_TYPES.get(original.rsplit(".", 1)[-1], "application/octet-stream")
    try:
        return await opened(storage, key), content_type  # a video may be 200 MB: streamed
    except FileNotFoundError as exc:
        raise NotFound("That upload does not exist.", code="media_not_found") from exc


# ---------------------------------------------------------------- subtitles

# Published after an author stores (or replaces) a track; translation subscribes and builds
# the bilingual tracks. Media never imports its subscriber.
SUBTITLES_STORED = "media.subtitles_stored"


@dataclass(frozen=True)
class AuthorTrack:
    """An author's stored track as cues, for building its translated tracks. ``key`` names
    the stored file, which is content-addressed: the same key means the same text."""

    media_id: int
    language: str
    key: str
    cues: tuple[subtitles.Cue, ...]

    @property
    def texts(self) -> list[str]:
        return [cue.text for cue in self.cues]


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
    (``source="translation"``): a translated track never replaces the author's own.

    An author's track publishes ``media.subtitles_stored`` (after commit, translation builds
    the bilingual tracks from it). When its text changed, the translated tracks made from
    the old text go at once: a bilingual track must never pair new lines with old ones."""
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
    before = await session.scalar(_author_track_key(media_id, language)) if source == "author" else None
    track = await _store_cues(
        session, runtime=runtime, media_id=media_id, language=language, label=label, cues=cues, source=source
    )
    if source == "author":
        dropped = before is not None and before != track.storage_key
        if dropped:
            dropped = await _drop_translations(session, media_id=media_id, language=language)
        # Every store publishes, even of the same text: re-sending a track is how an author
        # retries after the translator was down for good; the job then finds the stored
        # translations and writes nothing new.
        await _publish_stored(session, media_id=media_id, only=None if dropped else language)
    return track


def _author_track_key(media_id: int, language: str) -> Any:
    return select(MediaSubtitle.storage_key).where(
        MediaSubtitle.media_id == media_id, MediaSubtitle.language == language, MediaSubtitle.source == "author"
    )


async def _store_cues(
    session: AsyncSession,
    *,
    runtime: Any,
    media_id: int,
    language: str,
    label: str,
    cues: list[subtitles.Cue],
    source: str,
) -> MediaSubtitle:
    conf = runtime.settings.media
    existing = (await session.scalars(select(MediaSubtitle).where(MediaSubtitle.media_id == media_id))).all()
    replaced = next((t for t in existing if t.language == language and t.source == source), None)
    if replaced is None and len(existing) >= conf.max_subtitle_tracks:
        raise BadRequest(
            "A video has at most {n} subtitle tracks.", code="too_many_subtitles", n=conf.max_subtitle_tracks
        )
    body = subtitles.to_webvtt(cues).encode("utf-8")
    key = content_key(body, "vtt")
    if replaced is not None and replaced.storage_key == key and replaced.label == label:
        return replaced  # the same text again: nothing to write (a job run twice stays a no-op)
    await _remember(session, media_id, [(key, "subtitle")])
    await runtime.storage.put(key, body, content_type="text/vtt")
    await notes_service.media_changed(session, runtime=runtime, media_id=media_id)
    if replaced is not None:
        old, replaced.label, replaced.storage_key = replaced.storage_key, label, key
        await session.flush()
        if old != key:
            await enqueue(session, DROP_JOB, {"media_id": media_id, "keys": [old]})
        return replaced
    track = MediaSubtitle(media_id=media_id, language=language, label=label, source=source, storage_key=key)
    session.add(track)
    await session.flush()
    return track


async def _drop_translations(session: AsyncSession, *, media_id: int, language: str) -> bool:
    """Remove the translated tracks that may have been made from the author's ``language``
    track: those in any other language. A track does not record which author track it
    came from; with two author tracks this may take one made from the other, so the
    caller republishes the remaining author tracks and their translations come back."""
    stale = (
        MediaSubtitle.media_id == media_id,
        MediaSubtitle.source == "translation",
        MediaSubtitle.language != language,
    )
    keys = list(await session.scalars(select(MediaSubtitle.storage_key).where(*stale)))
    if not keys:
        return False
    await session.execute(delete(MediaSubtitle).where(*stale))
    await enqueue(session, DROP_JOB, {"media_id": media_id, "keys": keys})
    return True


async def _publish_stored(session: AsyncSession, *, media_id: int, only: str | None) -> None:
    """``media.subtitles_stored`` for the author's track in ``only``, or for each of them."""
    query = select(MediaSubtitle.language, MediaSubtitle.storage_key).where(
        MediaSubtitle.media_id == media_id, MediaSubtitle.source == "author"
    )
    if only is not None:
        query = query.where(MediaSubtitle.language == only)
    for language, key in (await session.execute(query.order_by(MediaSubtitle.language))).all():
        await publish(session, SUBTITLES_STORED, {"media_id": media_id, "language": language, "key": key})


async def delete_subtitles(
    session: AsyncSession, *, viewer: Viewer, media_id: int, language: str, runtime: Any = None
) -> None:
    """The author deletes their track of one language; the translated tracks made from it go
    with it, in the same transaction (their files after commit)."""
    await _own_media(session, viewer=viewer, media_id=media_id)
    track = (
        MediaSubtitle.media_id == media_id,
        MediaSubtitle.language == language,
        MediaSubtitle.source == "author",
    )
    keys = list(await session.scalars(select(MediaSubtitle.storage_key).where(*track)))
    result = await session.execute(delete(MediaSubtitle).where(*track))
    if not getattr(result, "rowcount", 0):
        raise NotFound("That subtitle track does not exist.", code="subtitles_not_found")
    await enqueue(session, DROP_JOB, {"media_id": media_id, "keys": keys})
    if await _drop_translations(session, media_id=media_id, language=language):
        await _publish_stored(session, media_id=media_id, only=None)
    if runtime is not None:
        await notes_service.media_changed(session, runtime=runtime, media_id=media_id)


async def author_track(session: AsyncSession, *, storage: Storage, media_id: int, language: str) -> AuthorTrack | None:
    """The author's track in ``language`` as cues (for translation's job); None when it is gone."""
    key = await session.scalar(_author_track_key(media_id, language))
    if key is None:
        return None
    try:
        data = await storage.get(key)
    except FileNotFoundError:
        return None
    try:
        cues = subtitles.parse(data.decode("utf-8", "replace"))
    except subtitles.SubtitleError:
        return None  # not a file this code wrote
    return AuthorTrack(media_id, language, key, tuple(cues))


def _autonym(tag: str) -> str:
    """A language named in itself ("中文", "English"): a stored label is the same for every
    viewer, so it cannot be in the viewer's language."""
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return tag
    name = locale.languages.get(locale.language) or tag
    return str(name)


def translated_label(source: str, target: str) -> str:
    """The label of a bilingual track: original first, as on screen ("中文 / English")."""
    return f"{_autonym(source)} / {_autonym(target)}"[:100]


async def store_translated_track(
    session: AsyncSession, *, runtime: Any, track: AuthorTrack, target: str, translations: Sequence[str | None]
) -> MediaSubtitle | None:
    """Store the bilingual track of ``track`` in ``target`` (``source="translation"``): each
    cue's original line over its translation, the same timings; a cue without a translation
    keeps its original alone. ``translations`` are ``translation_service.translate_cues``'s,
    in cue order. Call it in a write transaction (the job's).

    Nothing is stored when the author's track has changed or gone since ``track`` was read
    (the newer text has its own job), or when not one cue got a translation (a copy of the
    original labelled as bilingual would only mislead); a translated track from older text
    is then removed. Returns the stored track, or None."""
    # Locked on PostgreSQL: an author replacing the track waits for this store, or this
    # store sees the new key and gives way (SQLite serialises writers anyway).
    current = await session.scalar(_author_track_key(track.media_id, track.language).with_for_update())
    if current != track.key:
        return None
    cues = subtitles.bilingual(list(track.cues), translations)
    if cues == list(track.cues):
        await _drop_translated(session, runtime=runtime, media_id=track.media_id, target=target)
        return None
    try:
        return await _store_cues(
            session,
            runtime=runtime,
            media_id=track.media_id,
            language=target,
            label=translated_label(track.language, target),
            cues=cues,
            source="translation",
        )
    except BadRequest as exc:  # the video already has as many tracks as allowed
        log.warning("media %s: translated subtitles in %s not stored: %s", track.media_id, target, exc.code)
        return None


async def _drop_translated(session: AsyncSession, *, runtime: Any, media_id: int, target: str) -> None:
    where = (
        MediaSubtitle.media_id == media_id,
        MediaSubtitle.language == target,
        MediaSubtitle.source == "translation",
    )
    keys = list(await session.scalars(select(MediaSubtitle.storage_key).where(*where)))
    if keys:
        await session.execute(delete(MediaSubtitle).where(*where))
        await enqueue(session, DROP_JOB, {"media_id": media_id, "keys": keys})
        await notes_service.media_changed(session, runtime=runtime, media_id=media_id)


async def subtitle_tracks(
    session: AsyncSession, *, storage: Storage, media_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """``<track>`` data per upload, in one query (for note cards and the status endpoint):
    the author's tracks first, then the machine-translated ones (``source="translation"``)."""
    tracks: dict[int, list[dict[str, Any]]] = {}
    if not media_ids:
        return tracks
    rows = await session.scalars(
        select(MediaSubtitle)
        .where(MediaSubtitle.media_id.in_(list(media_ids)))
        .order_by(
            MediaSubtitle.media_id,
            case((MediaSubtitle.source == "author", 0), else_=1),
            MediaSubtitle.language,
        )
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
