"""Background jobs of the accounts domain: the data export archive, and clean-up of
files an account no longer uses (replaced avatars, everything after deletion).

The archive is one zip file: the account's own documents (``profile.json``,
``follows.json``, ``blocks.json``, ``mutes.json``), the notes domain's documents
(``notes.json``, ``comments.json``, ``likes.json``, ``boards.json``), every file
under ``media/<storage key>``, and a ``manifest.json`` that lists them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import select

from bridgenote.accounts import service
from bridgenote.core import events
from bridgenote.core.db import utcnow
from bridgenote.core.i18n import N_
from bridgenote.core.jobs import Job, JobContext, job
from bridgenote.core.storage import Storage
from bridgenote.notes import service as notes_service

log = logging.getLogger(__name__)

BUILD_EXPORT = "accounts.build_export"
PURGE_DELETED = "accounts.purge_deleted_account"
DROP_AVATAR = "accounts.drop_avatar_file"

ARCHIVE_FORMAT = 1
_DOCUMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}\Z")
_RESERVED_DOCUMENTS = frozenset({"manifest"})
# Stored on the export and shown to its owner (translated by the API); the cause goes to the log.
FAILED_REASON = N_("Something went wrong on our side. Please try again.")


@dataclass(frozen=True)
class BuiltArchive:
    storage_key: str
    size_bytes: int


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_bytes(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, default=_json_default).encode()


def _safe_media_key(key: str) -> bool:
    path = PurePosixPath(key)
    return bool(path.parts) and not path.is_absolute() and ".." not in path.parts


async def _write_zip(
    fh: IO[bytes], storage: Storage, *, documents: dict[str, Any], media_keys: list[str], user_id: int
) -> None:
    files: list[str] = []
    missing: list[str] = []
    with zipfile.ZipFile(fh, "w") as archive:
        for stem, document in documents.items():
            name = f"{stem}.json"
            await asyncio.to_thread(archive.writestr, name, _json_bytes(document), zipfile.ZIP_DEFLATED)
            files.append(name)
        for key in dict.fromkeys(media_keys):
            if not _safe_media_key(key):
                log.warning("export for user %s skips unsafe storage key %r", user_id, key)
                missing.append(key)
                continue
            try:
                data = await storage.get(key)
            except FileNotFoundError:
                # A file that is already gone must not make the whole export fail forever.
                missing.append(key)
                continue
            name = f"media/{key}"
            # Photos and videos are already compressed; deflating them again only costs time.
            await asyncio.to_thread(archive.writestr, name, data, zipfile.ZIP_STORED)
            files.append(name)
        manifest = {
            "format": ARCHIVE_FORMAT,
            "user_id": str(user_id),
            "generated_at": utcnow().isoformat(),
            "files": files,
            "missing_media": missing,
        }
        await asyncio.to_thread(archive.writestr, "manifest.json", _json_bytes(manifest), zipfile.ZIP_DEFLATED)


def _merge_documents(account: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    documents = dict(account)
    for stem, document in content.items():
        if not _DOCUMENT_NAME.match(stem) or stem in documents or stem in _RESERVED_DOCUMENTS:
            raise ValueError(f"export document name {stem!r} is not usable")
        documents[stem] = document
    return documents


async def _build_archive(services: Any, export_id: int) -> BuiltArchive | None:
    # Everything slow (queries, reading media, zipping) happens outside the job's own
    # transaction: on SQLite that transaction holds the database's single write lock.
    async with services.db.transaction(write=False) as session:
        export = await service.pending_export(session, export_id=export_id)
        if export is None:
            return None
        user_id = export.user_id
        account = await service.account_archive(session, user_id=user_id)
        content = await notes_service.export_user_data(session, user_id=user_id)
        media_keys = account.media_keys + await notes_service.user_media_keys(session, user_id=user_id)
    documents = _merge_documents(account.documents, content)
    storage: Storage = services.storage
    # Written to a temporary file and stored from it: an archive of many videos never has to
    # fit in memory (one media file at a time does).
    key = f"exports/{user_id}/{export_id}-{secrets.token_hex(8)}.zip"
    with tempfile.TemporaryDirectory(prefix="bridgenote-export-") as scratch:
        path = Path(scratch) / "archive.zip"
        with path.open("wb") as fh:
            await _write_zip(fh, storage, documents=documents, media_keys=media_keys, user_id=user_id)
        size = path.stat().st_size
        await storage.put_file(key, path, content_type="application/zip")
    return BuiltArchive(storage_key=key, size_bytes=size)


async def _is_last_attempt(ctx: JobContext) -> bool:
    max_attempts = await ctx.session.scalar(select(Job.max_attempts).where(Job.id == ctx.job_id))
    return max_attempts is None or ctx.attempt >= max_attempts


@job(BUILD_EXPORT, queue="interactive")
async def build_export(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Build the archive of a pending export and mark it ready. Does nothing if the export
    is gone or no longer pending. A failure is retried; the last attempt marks the export
    failed instead, so its owner sees an answer rather than "pending" for ever."""
    export_id = int(payload["export_id"])
    try:
        built = await _build_archive(ctx.services, export_id)
    except Exception:
        if not await _is_last_attempt(ctx):
            raise
        log.exception("export %s failed on its last attempt", export_id)
        await service.fail_export(ctx.session, export_id=export_id, reason=FAILED_REASON)
        return
    if built is None:
        return
    outcome = await service.finish_export(
        ctx.session, export_id=export_id, storage_key=built.storage_key, size_bytes=built.size_bytes
    )
    if not outcome.finished:  # a concurrent run won, or the export was deleted meanwhile
        await ctx.services.storage.delete(built.storage_key)
    # As in the purge below, files go before the commit: a retry after a failed commit finds
    # them gone (delete is idempotent), while the other order could strand them.
    for key in outcome.replaced_keys:
        await ctx.services.storage.delete(key)


@job(PURGE_DELETED)
async def purge_deleted_account(ctx: JobContext, payload: dict[str, Any]) -> None:
    """After account deletion: drop export archives, tokens and the avatar file."""
    keys = await service.purge_deleted_account(
        ctx.session, user_id=int(payload["user_id"]), avatar_key=payload.get("avatar_key")
    )
    # Files go before the commit: if the commit then fails, the retry finds them gone (delete
    # is idempotent); the other order could leave files that nothing points to any more.
    for key in keys:
        await ctx.services.storage.delete(key)


@job(DROP_AVATAR)
async def drop_avatar_file(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Delete a replaced avatar file unless some account (still or again) uses it."""
    key = str(payload["storage_key"])
    if not await service.file_in_use(ctx.session, storage_key=key):
        await ctx.services.storage.delete(key)


events.subscribe("user.deleted", PURGE_DELETED)
