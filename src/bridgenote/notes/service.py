"""Notes: posting, media, hashtags, mentions, likes, boards (saves), comments and feeds.

Every read goes through ``policy.visible_to``. Counters (likes, saves, comments,
hashtag note counts, board sizes) change with atomic ``x = x + n`` updates in the
same transaction as the rows they count, so they always equal the rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, bindparam, cast, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bridgenote.accounts import service as accounts_service
from bridgenote.config import Settings
from bridgenote.core import images
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMedia,
)
from bridgenote.core.events import publish
from bridgenote.core.ids import new_id
from bridgenote.core.jobs import enqueue, insert_ignore
from bridgenote.core.pagination import Window, clamp_limit, decode_id_cursor, next_cursor_for
from bridgenote.core.schemas import MAX_ID
from bridgenote.core.storage import Storage
from bridgenote.notes import parsing, policy
from bridgenote.notes.models import (
    Board,
    BoardNote,
    Comment,
    CommentLike,
    CommentRegionLimit,
    Hashtag,
    Like,
    MediaAttachment,
    Mention,
    Note,
    NoteHashtag,
    NoteRegionLimit,
)
from bridgenote.notes.schemas import BoardCreate, BoardRead, BoardUpdate, CommentCreate, NoteCreate, NoteUpdate

DEFAULT_BOARD_TITLE = "Saved"
MAX_BOARDS = 200
# First key of the PostgreSQL advisory lock that serialises creating a user's default board.
_DEFAULT_BOARD_LOCK = 0x6E6F7465


def _require(viewer: Viewer) -> int:
    if viewer.id is None:
        raise Unauthorized()
    return viewer.id


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


# ---------------------------------------------------------------- media uploads


async def store_upload(
    session: AsyncSession, *, viewer: Viewer, storage: Storage, settings: Settings, data: bytes, alt_text: str = ""
) -> MediaAttachment:
    """Validate an upload by its content and store it as an unattached attachment.

    Images are re-encoded into an upright master without EXIF/GPS before anything
    is stored. Videos are kept privately until the media pipeline has processed them.
    """
    owner = _require(viewer)
    video_type = images.sniff_video(data[:64])
    if video_type is not None:
        if len(data) > settings.max_video_bytes:
            raise PayloadTooLarge(
                "That video is larger than {limit} MB.", limit=settings.max_video_bytes // (1024 * 1024)
            )
        payload, content_type, kind = data, video_type, "video"
        extension = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}[video_type]
        width = height = None
        prefix = "u"  # private until processed: originals can carry location metadata
    else:
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(
                "That image is larger than {limit} MB.", limit=settings.max_upload_bytes // (1024 * 1024)
            )
        try:
            master = await images.normalise_master(data, max_bytes=settings.max_upload_bytes)
        except UnsupportedMedia as exc:
            raise UnsupportedMedia(
                "Upload a photo (JPEG, PNG, WebP, GIF, AVIF) or a video (MP4, MOV, WebM).", code=exc.code
            ) from exc
        payload, content_type, kind, extension = master.data, master.content_type, "image", master.extension
        width, height = master.width, master.height
        prefix = "m"
    digest = hashlib.sha256(payload).hexdigest()
    key = f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}.{extension}"
    await storage.put(key, payload, content_type=content_type)
    attachment = MediaAttachment(
        owner_id=owner,
        kind=kind,
        storage_key=key,
        content_type=content_type,
        size_bytes=len(payload),
        sha256=digest,
        width=width,
        height=height,
        alt_text=alt_text[:1000],
        state="uploaded",
    )
    session.add(attachment)
    await session.flush()
    await publish(session, "media.uploaded", {"media_id": attachment.id, "owner_id": owner, "kind": kind})
    return attachment


async def update_media(session: AsyncSession, *, viewer: Viewer, media_id: int, alt_text: str) -> MediaAttachment:
    media = await session.get(MediaAttachment, media_id)
    if media is None or media.owner_id != viewer.id:
        raise NotFound("That upload does not exist.")
    media.alt_text = alt_text
    return media


async def _attach(session: AsyncSession, *, owner: int, note: Note, media_ids: Sequence[int], max_images: int) -> str:
    if len(set(media_ids)) != len(media_ids):
        raise BadRequest("The same upload is listed twice.", code="duplicate_media")
    if not media_ids:
        return "text"
    # Locked, so two notes posted at once cannot both claim one upload (PostgreSQL; SQLite
    # write transactions are serialised anyway).
    rows = (
        await session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.id.in_(media_ids))
            .order_by(MediaAttachment.id)
            .with_for_update()
        )
    ).all()
    found = {m.id: m for m in rows}
    for media_id in media_ids:
        media = found.get(media_id)
        if media is None or media.owner_id != owner:
            raise NotFound("One of the uploads does not exist.", code="media_not_found")
        if media.note_id is not None and media.note_id != note.id:
            raise Conflict("One of the uploads already belongs to another note.", code="media_in_use")
        if media.state == "failed":
            raise BadRequest("One of the uploads could not be processed; remove it and try again.", code="media_failed")
    kinds = {found[m].kind for m in media_ids}
    if "video" in kinds and len(media_ids) > 1:
        raise BadRequest("A note has either one video or up to {n} images.", code="too_many_media", n=max_images)
    if len(media_ids) > max_images:
        raise BadRequest("A note has either one video or up to {n} images.", code="too_many_media", n=max_images)
    for position, media_id in enumerate(media_ids):
        found[media_id].note_id = note.id
        found[media_id].position = position
    return "video" if "video" in kinds else "image"


# ---------------------------------------------------------------- hashtags and mentions


async def _tag_ids(session: AsyncSession, tags: Sequence[parsing.Tag]) -> dict[str, int]:
    if not tags:
        return {}
    # In key order, so two notes creating the same new tags cannot deadlock on the unique index.
    for tag in sorted(tags, key=lambda t: t.key):
        await insert_ignore(
            session,
            Hashtag,
            {
                "id": new_id(),
                "key": tag.key,
                "display_name": tag.display,
                "note_count": 0,
                "view_count": 0,
                "created_at": utcnow(),
            },
        )
    rows = await session.execute(select(Hashtag.key, Hashtag.id).where(Hashtag.key.in_([t.key for t in tags])))
    return {key: tag_id for key, tag_id in rows.all()}


async def _set_hashtags(session: AsyncSession, note: Note, text: str, *, count: bool) -> None:
    """Make the note's tags match ``text`` (written form and order included); keeps
    ``Hashtag.note_count`` exact when ``count``."""
    wanted = {t.key: t for t in parsing.hashtags(text)}
    ids = await _tag_ids(session, list(wanted.values()))
    rows = await session.execute(
        select(NoteHashtag.hashtag_id, NoteHashtag.display_name, NoteHashtag.position).where(
            NoteHashtag.note_id == note.id
        )
    )
    current = {tag_id: (display, position) for tag_id, display, position in rows.all()}
    wanted_ids = {ids[key]: (tag.display, position) for position, (key, tag) in enumerate(wanted.items())}
    removed = [tag_id for tag_id in current if tag_id not in wanted_ids]
    added = [tag_id for tag_id in wanted_ids if tag_id not in current]
    if removed:
        await session.execute(
            delete(NoteHashtag).where(NoteHashtag.note_id == note.id, NoteHashtag.hashtag_id.in_(removed))
        )
        if count:
            await session.execute(
                update(Hashtag).where(Hashtag.id.in_(removed)).values(note_count=Hashtag.note_count - 1)
            )
    for tag_id, (display, position) in wanted_ids.items():
        if tag_id in current and current[tag_id] != (display, position):
            await session.execute(
                update(NoteHashtag)
                .where(NoteHashtag.note_id == note.id, NoteHashtag.hashtag_id == tag_id)
                .values(display_name=display, position=position)
            )
    for tag_id in added:
        display, position = wanted_ids[tag_id]
        session.add(NoteHashtag(note_id=note.id, hashtag_id=tag_id, display_name=display, position=position))
    if added and count:
        await session.execute(update(Hashtag).where(Hashtag.id.in_(added)).values(note_count=Hashtag.note_count + 1))


async def _resolve_mentions(session: AsyncSession, *, author: int, text: str) -> list[int]:
    names = parsing.mentions(text)
    users = await accounts_service.find_by_usernames(session, usernames=names)
    ids = [u.id for u in users.values() if u.id != author]
    if not ids:
        return []
    blocked = set((await session.scalars(accounts_service.blocked_either_way(author))).all())
    return [i for i in ids if i not in blocked]


# ---------------------------------------------------------------- notes


async def create_note(session: AsyncSession, *, viewer: Viewer, data: NoteCreate, max_images: int = 18) -> Note:
    """Post a note. Must run inside the request transaction: attachments, tags,
    mentions, counters and the ``note.created`` event commit together."""
    author = _require(viewer)
    if viewer.state == "suspended":
        raise Forbidden("Your account is suspended.", code="account_suspended")
    if not (data.title or data.body or data.media_ids):
        raise BadRequest("A note needs a title, some text or at least one photo or video.", code="empty_note")
    note = Note(
        author_id=author, title=data.title, body=data.body, place_name=data.place_name or None, state="published"
    )
    session.add(note)
    await session.flush()
    note.kind = await _attach(session, owner=author, note=note, media_ids=data.media_ids, max_images=max_images)
    text = f"{note.title}\n{note.body}"
    await _set_hashtags(session, note, text, count=True)
    mentioned = await _resolve_mentions(session, author=author, text=text)
    for user_id in mentioned:
        session.add(Mention(note_id=note.id, user_id=user_id))
    await accounts_service.adjust_counters(session, user_id=author, note_count=1)
    await session.flush()
    await publish(session, "note.created", {"note_id": note.id, "author_id": author, "mentioned_user_ids": mentioned})
    return note


async def access_note(session: AsyncSession, *, viewer: Viewer, note_id: int) -> Note:
    """The note if ``viewer`` may see it; otherwise 404 (never reveal that it exists)."""
    note = await session.scalar(select(Note).where(Note.id == note_id, policy.visible_to(viewer)))
    if note is None:
        raise NotFound("That note does not exist or is not available.", code="note_not_found")
    return note


async def get_note(session: AsyncSession, *, note_id: int) -> Note | None:
    """Unfiltered look-up for background jobs and moderation (no viewer)."""
    return await session.get(Note, note_id)


async def update_note(session: AsyncSession, *, viewer: Viewer, note_id: int, data: NoteUpdate) -> Note:
    note = await access_note(session, viewer=viewer, note_id=note_id)
    if not policy.can_edit_note(viewer, note):
        raise Forbidden("Only the author can edit this note.", code="not_author")
    changes = data.model_dump(exclude_unset=True)
    for field in ("title", "body"):
        if changes.get(field) is not None:
            setattr(note, field, changes[field])
    if "place_name" in changes:
        note.place_name = changes["place_name"] or None
    if not (note.title or note.body or note.kind != "text"):
        raise BadRequest("A note needs a title, some text or at least one photo or video.", code="empty_note")
    note.updated_at = utcnow()
    text = f"{note.title}\n{note.body}"
    await _set_hashtags(session, note, text, count=True)
    before = set((await session.scalars(select(Mention.user_id).where(Mention.note_id == note.id))).all())
    mentioned = await _resolve_mentions(session, author=note.author_id, text=text)
    await session.execute(delete(Mention).where(Mention.note_id == note.id))
    for user_id in mentioned:
        session.add(Mention(note_id=note.id, user_id=user_id))
    await session.flush()
    new = [u for u in mentioned if u not in before]
    await publish(
        session, "note.updated", {"note_id": note.id, "author_id": note.author_id, "new_mentioned_user_ids": new}
    )
    return note


async def delete_note(session: AsyncSession, *, viewer: Viewer, note_id: int) -> None:
    """Soft delete now (the note disappears everywhere), purge rows and files in a job."""
    note = await access_note(session, viewer=viewer, note_id=note_id)
    if not policy.can_delete_note(viewer, note):
        raise Forbidden("Only the author can delete this note.", code="not_author")
    if not await _soft_delete(session, note):
        raise NotFound("That note does not exist or is not available.", code="note_not_found")


async def _soft_delete(session: AsyncSession, note: Note) -> bool:
    """Mark the note deleted and fix the counters; ``False`` if a concurrent request already did."""
    # Conditional, so two deletes of one note at once decrement the counters once.
    result = await session.execute(
        update(Note).where(Note.id == note.id, Note.deleted_at.is_(None)).values(deleted_at=utcnow())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    tag_ids = (await session.scalars(select(NoteHashtag.hashtag_id).where(NoteHashtag.note_id == note.id))).all()
    if tag_ids:
        await session.execute(update(Hashtag).where(Hashtag.id.in_(tag_ids)).values(note_count=Hashtag.note_count - 1))
    await accounts_service.adjust_counters(session, user_id=note.author_id, note_count=-1)
    await enqueue(session, "notes.purge_note", {"note_id": note.id}, dedupe_key=f"purge-note:{note.id}")
    await publish(session, "note.deleted", {"note_id": note.id, "author_id": note.author_id})
    return True


async def purge_note(session: AsyncSession, *, storage: Storage, note_id: int) -> None:
    """Hard-delete a soft-deleted note and everything hanging off it. Idempotent."""
    note = await session.get(Note, note_id)
    if note is None or note.deleted_at is None:
        return
    likes = await session.scalar(select(func.count()).select_from(Like).where(Like.note_id == note_id)) or 0
    saves = await session.scalar(select(func.count()).select_from(BoardNote).where(BoardNote.note_id == note_id)) or 0
    if likes or saves:
        await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=-(likes + saves))
    board_counts = (
        (await session.execute(select(BoardNote.board_id).where(BoardNote.note_id == note_id))).scalars().all()
    )
    for board_id in board_counts:
        await session.execute(update(Board).where(Board.id == board_id).values(note_count=Board.note_count - 1))
    # The attachments go with the note (foreign key cascade); their files go after commit.
    await _forget_media(session, MediaAttachment.note_id == note_id)
    # Replies point at their root: delete them first so foreign keys hold on both databases.
    await session.execute(delete(Comment).where(Comment.note_id == note_id, Comment.root_id.is_not(None)))
    await session.execute(delete(Note).where(Note.id == note_id))


async def _forget_media(session: AsyncSession, where: Any) -> None:
    """Attachments matching ``where`` are about to be deleted in this transaction: publish
    ``media.deleted`` so that the media domain removes their files (variants, HLS, posters,
    subtitles, kept originals; never one another upload still uses) after commit."""
    rows = (
        await session.execute(
            select(MediaAttachment.id, MediaAttachment.storage_key, MediaAttachment.variants)
            .where(where)
            .order_by(MediaAttachment.id)
        )
    ).all()
    for start in range(0, len(rows), 50):
        batch = rows[start : start + 50]
        media = [{"id": r.id, "storage_key": r.storage_key, "variants": r.variants or {}} for r in batch]
        await publish(session, "media.deleted", {"media": media})


async def media_file_in_use(session: AsyncSession, *, key: str) -> bool:
    """Whether an attachment still has ``key`` as its stored file (content-addressed keys
    are shared by identical uploads). For the media domain's purge."""
    return bool(await session.scalar(select(exists().where(MediaAttachment.storage_key == key))))


async def delete_upload(session: AsyncSession, *, viewer: Viewer, media_id: int) -> None:
    """The owner deletes an upload that is not (or no longer) on a note; its files go after commit."""
    media = await session.get(MediaAttachment, media_id)
    if media is None or media.owner_id != viewer.id:
        raise NotFound("That upload does not exist.", code="media_not_found")
    if media.note_id is not None:
        raise Conflict("This upload belongs to a note: delete the note instead.", code="media_attached")
    await _forget_media(session, MediaAttachment.id == media_id)
    await session.execute(delete(MediaAttachment).where(MediaAttachment.id == media_id))


async def set_visibility(
    session: AsyncSession,
    *,
    note_id: int,
    state: str | None = None,
    reason: str | None = None,
    limited_regions: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> Note:
    """For moderation and the media pipeline: change a note's state, region limits and labels."""
    note = await session.get(Note, note_id)
    if note is None:
        raise NotFound("That note does not exist or is not available.", code="note_not_found")
    if state is not None:
        if state not in ("published", "pending", "held", "removed"):
            raise BadRequest("Unknown note state.")
        note.state = state
        note.state_reason = reason
    if limited_regions is not None:
        await session.execute(delete(NoteRegionLimit).where(NoteRegionLimit.note_id == note_id))
        session.add_all(NoteRegionLimit(note_id=note_id, region=r) for r in _region_codes(limited_regions))
    if labels is not None:
        note.labels = sorted(set(labels))
    await session.flush()
    return note


def _region_codes(regions: Sequence[str]) -> list[str]:
    """Region codes as stored: trimmed, upper-case, each once."""
    return sorted({r.strip().upper() for r in regions if r.strip()})


async def note_regions(session: AsyncSession, *, note_id: int) -> list[str]:
    """The regions a note is currently hidden in (for moderation)."""
    rows = await session.scalars(select(NoteRegionLimit.region).where(NoteRegionLimit.note_id == note_id))
    return sorted(rows)


async def note_image_keys(session: AsyncSession, *, note_id: int) -> list[str]:
    """Storage keys of a note's images, in order (for image screening)."""
    rows = await session.scalars(
        select(MediaAttachment.storage_key)
        .where(MediaAttachment.note_id == note_id, MediaAttachment.kind == "image")
        .order_by(MediaAttachment.position)
    )
    return list(rows)


async def get_comment(session: AsyncSession, *, comment_id: int) -> Comment | None:
    """Unfiltered look-up for background jobs and moderation (no viewer)."""
    return await session.get(Comment, comment_id)


async def set_comment_state(
    session: AsyncSession,
    *,
    comment_id: int,
    state: str | None = None,
    reason: str | None = None,
    limited_regions: Sequence[str] | None = None,
) -> Comment:
    """For moderation: ``published``, ``held`` (hidden pending review) or ``removed``, and
    the regions the comment is hidden in (``limited_regions`` replaces them).

    Counters keep counting a hidden comment (it may come back); deletion is a separate path."""
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound("That comment does not exist.", code="comment_not_found")
    if state is not None:
        if state not in ("published", "held", "removed"):
            raise BadRequest("Unknown comment state.")
        comment.state = state
        comment.state_reason = reason
    if limited_regions is not None:
        await session.execute(delete(CommentRegionLimit).where(CommentRegionLimit.comment_id == comment_id))
        session.add_all(CommentRegionLimit(comment_id=comment_id, region=r) for r in _region_codes(limited_regions))
    await session.flush()
    return comment


async def comment_regions(session: AsyncSession, *, comment_id: int) -> list[str]:
    """The regions a comment is currently hidden in (for moderation)."""
    rows = await session.scalars(select(CommentRegionLimit.region).where(CommentRegionLimit.comment_id == comment_id))
    return sorted(rows)


# ---------------------------------------------------------------- likes


async def like_note(session: AsyncSession, *, viewer: Viewer, note_id: int) -> Note:
    me = _require(viewer)
    note = await access_note(session, viewer=viewer, note_id=note_id)
    if not await insert_ignore(
        session, Like, {"user_id": me, "note_id": note.id, "seq": new_id(), "created_at": utcnow()}
    ):
        raise Conflict("You already liked this note.", code="already_liked")
    await session.execute(update(Note).where(Note.id == note.id).values(like_count=Note.like_count + 1))
    await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=1)
    await publish(
        session,
        "interaction.recorded",
        {"kind": "like", "actor_id": me, "note_id": note.id, "target_user_id": note.author_id},
    )
    return note


async def unlike_note(session: AsyncSession, *, viewer: Viewer, note_id: int) -> None:
    me = _require(viewer)
    note = await access_note(session, viewer=viewer, note_id=note_id)
    result = await session.execute(delete(Like).where(Like.user_id == me, Like.note_id == note.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You have not liked this note.", code="not_liked")
    await session.execute(update(Note).where(Note.id == note.id).values(like_count=Note.like_count - 1))
    await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=-1)


# ---------------------------------------------------------------- boards and saves


async def default_board(session: AsyncSession, *, owner_id: int) -> Board:
    """The owner's "Saved" board, created on first use (exactly one, even under concurrent saves)."""
    query = select(Board).where(Board.owner_id == owner_id, Board.is_default.is_(True)).order_by(Board.id).limit(1)
    board = await session.scalar(query)
    if board is None and _is_postgres(session):
        # No unique index covers "one default board per owner": serialise the creators, then look
        # again (each statement sees what committed before it under READ COMMITTED). SQLite
        # write transactions are serialised by BEGIN IMMEDIATE already.
        key = (owner_id ^ (owner_id >> 31)) & 0x7FFFFFFF
        lock = func.pg_advisory_xact_lock(cast(literal(_DEFAULT_BOARD_LOCK), Integer), cast(literal(key), Integer))
        await session.execute(select(lock))
        board = await session.scalar(query)
    if board is None:
        board = Board(owner_id=owner_id, title=DEFAULT_BOARD_TITLE, is_default=True, is_private=False)
        session.add(board)
        await session.flush()
    return board


async def create_board(session: AsyncSession, *, viewer: Viewer, data: BoardCreate) -> Board:
    me = _require(viewer)
    count = await session.scalar(select(func.count()).select_from(Board).where(Board.owner_id == me)) or 0
    if count >= MAX_BOARDS:
        raise BadRequest("You can have at most {n} boards.", code="too_many_boards", n=MAX_BOARDS)
    board = Board(owner_id=me, title=data.title, description=data.description, is_private=data.is_private)
    session.add(board)
    await session.flush()
    await publish(session, "board.created", {"board_id": board.id, "owner_id": me})
    return board


async def access_board(session: AsyncSession, *, viewer: Viewer, board_id: int) -> Board:
    board = await session.scalar(select(Board).where(Board.id == board_id, policy.board_visible_to(viewer)))
    if board is None:
        raise NotFound("That board does not exist or is private.", code="board_not_found")
    return board


async def _own_board(session: AsyncSession, *, viewer: Viewer, board_id: int) -> Board:
    board = await access_board(session, viewer=viewer, board_id=board_id)
    if not policy.can_manage_board(viewer, board):
        raise Forbidden("Only the owner can change this board.", code="not_owner")
    return board


async def update_board(session: AsyncSession, *, viewer: Viewer, board_id: int, data: BoardUpdate) -> Board:
    board = await _own_board(session, viewer=viewer, board_id=board_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(board, field, value)
    board.updated_at = utcnow()
    await publish(session, "board.updated", {"board_id": board.id, "owner_id": board.owner_id})
    return board


async def delete_board(session: AsyncSession, *, viewer: Viewer, board_id: int) -> None:
    board = await _own_board(session, viewer=viewer, board_id=board_id)
    if board.is_default:
        raise BadRequest("The default board cannot be deleted.", code="default_board")
    note_ids = (await session.scalars(select(BoardNote.note_id).where(BoardNote.board_id == board.id))).all()
    await _remove_saves(session, board_id=board.id, note_ids=note_ids)
    await session.execute(delete(Board).where(Board.id == board.id))
    await publish(session, "board.deleted", {"board_id": board.id, "owner_id": board.owner_id})


async def _remove_saves(session: AsyncSession, *, board_id: int, note_ids: Sequence[int]) -> int:
    removed = 0
    for note_id in sorted(note_ids):  # a fixed lock order across concurrent removals
        result = await session.execute(
            delete(BoardNote).where(BoardNote.board_id == board_id, BoardNote.note_id == note_id)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            removed += 1
            note = await session.get(Note, note_id)
            await session.execute(update(Note).where(Note.id == note_id).values(save_count=Note.save_count - 1))
            if note is not None:
                await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=-1)
    if removed:
        await session.execute(update(Board).where(Board.id == board_id).values(note_count=Board.note_count - removed))
    return removed


async def save_note(session: AsyncSession, *, viewer: Viewer, note_id: int, board_id: int | None = None) -> Board:
    """Save a note into one of the viewer's boards (the default "Saved" board if none is given)."""
    me = _require(viewer)
    note = await access_note(session, viewer=viewer, note_id=note_id)
    if board_id is None:
        board = await default_board(session, owner_id=me)
    else:
        found = await session.get(Board, board_id)
        if found is None or found.owner_id != me:
            raise NotFound("That board does not exist or is private.", code="board_not_found")
        board = found
    values = {"board_id": board.id, "note_id": note.id, "user_id": me, "seq": new_id(), "created_at": utcnow()}
    if not await insert_ignore(session, BoardNote, values):
        raise Conflict("This note is already in that board.", code="already_saved")
    await session.execute(update(Note).where(Note.id == note.id).values(save_count=Note.save_count + 1))
    await session.execute(
        update(Board).where(Board.id == board.id).values(note_count=Board.note_count + 1, updated_at=utcnow())
    )
    await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=1)
    await publish(
        session,
        "interaction.recorded",
        {"kind": "save", "actor_id": me, "note_id": note.id, "target_user_id": note.author_id, "board_id": board.id},
    )
    return board


async def unsave_note(session: AsyncSession, *, viewer: Viewer, note_id: int, board_id: int | None = None) -> None:
    """Remove a note from one board, or from all of the viewer's boards when none is given."""
    me = _require(viewer)
    note = await access_note(session, viewer=viewer, note_id=note_id)
    stmt = select(BoardNote.board_id).where(BoardNote.note_id == note.id, BoardNote.user_id == me)
    if board_id is not None:
        stmt = stmt.where(BoardNote.board_id == board_id)
    boards = (await session.scalars(stmt)).all()
    if not boards:
        raise NotFound("This note is not in that board.", code="not_saved")
    for b in boards:
        await _remove_saves(session, board_id=b, note_ids=[note.id])


async def list_boards(
    session: AsyncSession, *, viewer: Viewer, username: str, cursor: str | None, limit: int | None
) -> Window[Board]:
    owner = await accounts_service.access_user(session, viewer=viewer, username=username)
    n = clamp_limit(limit)
    stmt = select(Board).where(Board.owner_id == owner.id, policy.board_visible_to(viewer))
    after = decode_id_cursor(cursor)
    if after is not None:
        # The default board sorts first whatever its id, so it is on the first page only.
        stmt = stmt.where(Board.id < after, Board.is_default.is_(False))
    rows = (await session.scalars(stmt.order_by(Board.is_default.desc(), Board.id.desc()).limit(n + 1))).all()
    # A page that ends with the default board continues with every other board.
    return Window[Board](
        items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda b: MAX_ID if b.is_default else b.id)
    )


async def board_reads(
    session: AsyncSession, *, viewer: Viewer, storage: Storage, boards: Sequence[Board]
) -> list[BoardRead]:
    """Boards as the API shows them (owner brief, the cover ``viewer`` may see), in order;
    a board whose owner has no brief any more (deleted meanwhile) is left out."""
    owners = await accounts_service.briefs(session, storage=storage, user_ids=list({b.owner_id for b in boards}))
    covers = await board_covers(session, storage=storage, boards=boards, viewer=viewer)
    return [
        BoardRead(
            id=b.id,
            owner=owners[b.owner_id],
            title=b.title,
            description=b.description,
            is_private=b.is_private,
            is_default=b.is_default,
            note_count=b.note_count,
            created_at=b.created_at,
            cover_url=covers.get(b.id),
        )
        for b in boards
        if b.owner_id in owners
    ]


async def board_covers(
    session: AsyncSession, *, storage: Storage, boards: Sequence[Board], viewer: Viewer
) -> dict[int, str]:
    """Cover URL per board: the first image of the most recently saved note the viewer may see.
    One query for the whole page of boards."""
    if not boards:
        return {}
    ranked = (
        select(
            BoardNote.board_id,
            MediaAttachment.storage_key,
            func.row_number()
            .over(partition_by=BoardNote.board_id, order_by=(BoardNote.seq.desc(), MediaAttachment.position))
            .label("rn"),
        )
        .join(MediaAttachment, MediaAttachment.note_id == BoardNote.note_id)
        .join(Note, Note.id == BoardNote.note_id)
        .where(
            BoardNote.board_id.in_([b.id for b in boards]), MediaAttachment.kind == "image", policy.visible_to(viewer)
        )
        .subquery()
    )
    rows = await session.execute(select(ranked.c.board_id, ranked.c.storage_key).where(ranked.c.rn == 1))
    return {board_id: storage.url(key) for board_id, key in rows.all()}


# ---------------------------------------------------------------- comments


async def create_comment(session: AsyncSession, *, viewer: Viewer, note_id: int, data: CommentCreate) -> Comment:
    """Comment on a note, or reply to a comment (replies flatten to two levels)."""
    me = _require(viewer)
    if viewer.state == "suspended":
        raise Forbidden("Your account is suspended.", code="account_suspended")
    note = await access_note(session, viewer=viewer, note_id=note_id)
    root_id = parent_id = reply_to = None
    if data.parent_id is not None:
        parent = await session.scalar(
            select(Comment).where(
                Comment.id == data.parent_id, Comment.note_id == note.id, policy.comment_visible_to(viewer)
            )
        )
        if parent is None:
            raise NotFound("That comment does not exist.", code="comment_not_found")
        root_id = parent.root_id or parent.id
        parent_id = parent.id
        reply_to = parent.author_id
    comment = Comment(
        note_id=note.id, author_id=me, root_id=root_id, parent_id=parent_id, reply_to_user_id=reply_to, body=data.body
    )
    session.add(comment)
    await session.flush()
    # Root comment before note: deletes take the same locks in the same order.
    if root_id is not None:
        await session.execute(update(Comment).where(Comment.id == root_id).values(reply_count=Comment.reply_count + 1))
    await session.execute(update(Note).where(Note.id == note.id).values(comment_count=Note.comment_count + 1))
    mentioned = await _resolve_mentions(session, author=me, text=data.body)
    await publish(
        session,
        "comment.created",
        {
            "comment_id": comment.id,
            "note_id": note.id,
            "author_id": me,
            "root_id": root_id,
            "parent_id": parent_id,
            "reply_to_user_id": reply_to,
            "note_author_id": note.author_id,
            "mentioned_user_ids": mentioned,
        },
    )
    await publish(
        session,
        "interaction.recorded",
        {
            "kind": "reply" if reply_to is not None else "comment",
            "actor_id": me,
            "note_id": note.id,
            "comment_id": comment.id,
            "target_user_id": reply_to if reply_to is not None else note.author_id,
        },
    )
    return comment


async def _access_comment(session: AsyncSession, *, viewer: Viewer, comment_id: int) -> tuple[Comment, Note]:
    comment = await session.scalar(select(Comment).where(Comment.id == comment_id, policy.comment_visible_to(viewer)))
    if comment is None:
        raise NotFound("That comment does not exist.", code="comment_not_found")
    note = await access_note(session, viewer=viewer, note_id=comment.note_id)
    return comment, note


async def access_comment(session: AsyncSession, *, viewer: Viewer, comment_id: int) -> Comment:
    """A comment ``viewer`` may see, on a note they may see; otherwise 404 (for other domains)."""
    comment, _note = await _access_comment(session, viewer=viewer, comment_id=comment_id)
    return comment


async def delete_comment(session: AsyncSession, *, viewer: Viewer, comment_id: int) -> int:
    """Soft-delete a comment (a top-level one takes its replies along); returns the note id."""
    comment, note = await _access_comment(session, viewer=viewer, comment_id=comment_id)
    if not policy.can_delete_comment(viewer, comment, note):
        raise Forbidden("You can only delete your own comments, or comments on your notes.", code="not_author")
    if not await _delete_comment_tree(session, comment):
        raise NotFound("That comment does not exist.", code="comment_not_found")
    await publish(
        session, "comment.deleted", {"comment_id": comment.id, "note_id": note.id, "author_id": comment.author_id}
    )
    return note.id


async def like_comment(session: AsyncSession, *, viewer: Viewer, comment_id: int) -> Comment:
    me = _require(viewer)
    comment, note = await _access_comment(session, viewer=viewer, comment_id=comment_id)
    if not await insert_ignore(session, CommentLike, {"user_id": me, "comment_id": comment.id, "created_at": utcnow()}):
        raise Conflict("You already liked this comment.", code="already_liked")
    await session.execute(update(Comment).where(Comment.id == comment.id).values(like_count=Comment.like_count + 1))
    await publish(
        session,
        "interaction.recorded",
        {
            "kind": "comment_like",
            "actor_id": me,
            "note_id": note.id,
            "comment_id": comment.id,
            "target_user_id": comment.author_id,
        },
    )
    return comment


async def unlike_comment(session: AsyncSession, *, viewer: Viewer, comment_id: int) -> None:
    me = _require(viewer)
    comment, _note = await _access_comment(session, viewer=viewer, comment_id=comment_id)
    result = await session.execute(
        delete(CommentLike).where(CommentLike.user_id == me, CommentLike.comment_id == comment.id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You have not liked this comment.", code="not_liked")
    await session.execute(update(Comment).where(Comment.id == comment.id).values(like_count=Comment.like_count - 1))


@dataclass
class CommentThread:
    comment: Comment
    replies: list[Comment]


async def list_comments(
    session: AsyncSession,
    *,
    viewer: Viewer,
    note_id: int,
    cursor: str | None,
    limit: int | None,
    preview_replies: int = 2,
) -> Window[CommentThread]:
    """Top-level comments, oldest first, each with its first replies (two levels, like RedNote)."""
    note = await access_note(session, viewer=viewer, note_id=note_id)
    n = clamp_limit(limit)
    stmt = select(Comment).where(
        Comment.note_id == note.id, Comment.root_id.is_(None), policy.comment_visible_to(viewer)
    )
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Comment.id > after)
    roots = (await session.scalars(stmt.order_by(Comment.id).limit(n + 1))).all()
    page_roots = list(roots[:n])
    replies: dict[int, list[Comment]] = defaultdict(list)
    if page_roots and preview_replies:
        ranked = (
            select(Comment.id, func.row_number().over(partition_by=Comment.root_id, order_by=Comment.id).label("rn"))
            .where(Comment.root_id.in_([r.id for r in page_roots]), policy.comment_visible_to(viewer))
            .subquery()
        )
        rows = await session.scalars(
            select(Comment)
            .join(ranked, ranked.c.id == Comment.id)
            .where(ranked.c.rn <= preview_replies)
            .order_by(Comment.id)
        )
        for reply in rows:
            replies[reply.root_id or 0].append(reply)
    items = [CommentThread(comment=r, replies=replies.get(r.id, [])) for r in page_roots]
    return Window[CommentThread](items=items, next_cursor=next_cursor_for(roots, n, lambda c: c.id))


async def list_replies(
    session: AsyncSession, *, viewer: Viewer, comment_id: int, cursor: str | None, limit: int | None
) -> Window[Comment]:
    root, _note = await _access_comment(session, viewer=viewer, comment_id=comment_id)
    n = clamp_limit(limit)
    stmt = select(Comment).where(Comment.root_id == (root.root_id or root.id), policy.comment_visible_to(viewer))
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Comment.id > after)
    rows = (await session.scalars(stmt.order_by(Comment.id).limit(n + 1))).all()
    return Window[Comment](items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda c: c.id))


async def comments_liked_by(session: AsyncSession, *, viewer: Viewer, comment_ids: Sequence[int]) -> set[int]:
    if viewer.id is None or not comment_ids:
        return set()
    rows = await session.scalars(
        select(CommentLike.comment_id).where(CommentLike.user_id == viewer.id, CommentLike.comment_id.in_(comment_ids))
    )
    return set(rows)


# ---------------------------------------------------------------- feeds


@dataclass(frozen=True, slots=True)
class NoteRef:
    """A note on a feed page: its id, and whether the viewer liked or saved it."""

    id: int
    liked: bool = False
    saved: bool = False


# Mutes hide people from feeds, not from their own profile or from boards.
_MUTED_SOURCES = frozenset({"latest", "following", "hashtag"})


# The liker's own like rows; ``Like`` itself is taken by the viewer's "liked" flag.
_LIKER = aliased(Like, name="liker")


@lru_cache(maxsize=1024)
def _feed_statement(source: str, *, signed_in: bool, regional: bool, paged: bool, limit: int) -> Select[Any]:
    """One page of ``source``, newest first, as ``(id, page_key[, liked, saved])`` rows.

    Built once per shape and reused: the viewer, the cursor and the source's own
    key (``author_id``, ``board_id``, ``hashtag_id``) are bound parameters, so
    the hot feeds skip building the visibility rule and its cache key on every
    request, and the viewer's like/save flags come back in the same query.
    """
    key = BoardNote.seq if source == "board" else _LIKER.seq if source == "liked" else Note.id
    columns: list[Any] = [Note.id, key.label("page_key")]
    if signed_in:
        viewer_id = bindparam("viewer_id", type_=BigInteger)
        saved_in = aliased(BoardNote)
        columns.append(exists().where(Like.note_id == Note.id, Like.user_id == viewer_id).label("liked"))
        columns.append(exists().where(saved_in.note_id == Note.id, saved_in.user_id == viewer_id).label("saved"))
    stmt = select(*columns)
    if source == "following":
        stmt = stmt.where(Note.author_id.in_(accounts_service.followed_by(bindparam("viewer_id", type_=BigInteger))))
    elif source == "user":
        stmt = stmt.where(Note.author_id == bindparam("author_id", type_=BigInteger))
    elif source == "board":
        stmt = stmt.join(BoardNote, BoardNote.note_id == Note.id).where(
            BoardNote.board_id == bindparam("board_id", type_=BigInteger)
        )
    elif source == "liked":
        stmt = stmt.join(_LIKER, _LIKER.note_id == Note.id).where(
            _LIKER.user_id == bindparam("liker_id", type_=BigInteger)
        )
    elif source == "hashtag":
        stmt = stmt.join(NoteHashtag, NoteHashtag.note_id == Note.id).where(
            NoteHashtag.hashtag_id == bindparam("hashtag_id", type_=BigInteger)
        )
    elif source != "latest":
        raise ValueError(f"unknown feed source {source!r}")
    stmt = stmt.where(policy.visible_template(signed_in=signed_in, regional=regional, feed=source in _MUTED_SOURCES))
    if paged:
        stmt = stmt.where(key < bindparam("after", type_=BigInteger))
    return stmt.order_by(key.desc()).limit(limit + 1)


async def _feed_page(
    session: AsyncSession, *, viewer: Viewer, source: str, cursor: str | None, limit: int | None, **keys: int
) -> Window[NoteRef]:
    """Newest first by note id (by save or like order for a board or a Liked list); cursors
    carry the last key."""
    n = clamp_limit(limit)
    after = decode_id_cursor(cursor)
    signed_in = viewer.id is not None
    stmt = _feed_statement(source, signed_in=signed_in, regional=bool(viewer.region), paged=after is not None, limit=n)
    params: dict[str, object] = {**policy.visible_params(viewer), **keys}
    if after is not None:
        params["after"] = after
    rows = (await session.execute(stmt, params)).all()
    if signed_in:
        items = [NoteRef(row.id, bool(row.liked), bool(row.saved)) for row in rows[:n]]
    else:
        items = [NoteRef(row.id) for row in rows[:n]]
    return Window[NoteRef](items=items, next_cursor=next_cursor_for([row.page_key for row in rows], n, lambda k: k))


async def latest_feed(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    return await _feed_page(session, viewer=viewer, source="latest", cursor=cursor, limit=limit)


async def following_feed(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    _require(viewer)
    return await _feed_page(session, viewer=viewer, source="following", cursor=cursor, limit=limit)


async def user_notes(
    session: AsyncSession, *, viewer: Viewer, username: str, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    author = await accounts_service.access_user(session, viewer=viewer, username=username)
    return await _feed_page(session, viewer=viewer, source="user", cursor=cursor, limit=limit, author_id=author.id)


async def liked_notes(
    session: AsyncSession, *, viewer: Viewer, username: str, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    """The notes ``username`` liked, most recent like first: for them, or for anyone when
    they made their likes public. Notes the viewer may not see are left out as everywhere."""
    owner = await accounts_service.access_user(session, viewer=viewer, username=username)
    if not policy.can_see_likes_of(viewer, user_id=owner.id, likes_public=owner.likes_public):
        raise Forbidden("@{username} keeps their likes private.", code="likes_private", username=owner.username)
    return await _feed_page(session, viewer=viewer, source="liked", cursor=cursor, limit=limit, liker_id=owner.id)


async def board_notes(
    session: AsyncSession, *, viewer: Viewer, board_id: int, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    board = await access_board(session, viewer=viewer, board_id=board_id)
    return await _feed_page(session, viewer=viewer, source="board", cursor=cursor, limit=limit, board_id=board.id)


async def get_hashtag(session: AsyncSession, *, name: str) -> Hashtag:
    tag = await session.scalar(select(Hashtag).where(Hashtag.key == parsing.tag_key(name)))
    if tag is None:
        raise NotFound("No notes use that hashtag yet.", code="hashtag_not_found")
    return tag


async def existing_hashtags(session: AsyncSession, *, names: Sequence[str]) -> set[str]:
    """Those of ``names`` that some note has used (whose hashtag page exists)."""
    keys = {name: parsing.tag_key(name) for name in names}
    if not keys:
        return set()
    found = set(await session.scalars(select(Hashtag.key).where(Hashtag.key.in_(set(keys.values())))))
    return {name for name, key in keys.items() if key in found}


async def hashtag_notes(
    session: AsyncSession, *, viewer: Viewer, name: str, cursor: str | None, limit: int | None
) -> Window[NoteRef]:
    tag = await get_hashtag(session, name=name)
    return await _feed_page(session, viewer=viewer, source="hashtag", cursor=cursor, limit=limit, hashtag_id=tag.id)


# ---------------------------------------------------------------- hydration for responses


def media_url(storage: Storage, media: MediaAttachment) -> str | None:
    """Public URL of an attachment's displayable file (``None`` while a video is private):
    a photo's master, a processed video's poster (its MP4 is in ``variants``)."""
    if media.kind == "image":
        return storage.url(media.storage_key)
    poster = (media.variants or {}).get("poster")
    return storage.url(poster) if isinstance(poster, str) else None


def record_view(views: Any, *, note_id: int) -> None:
    views.add("note", note_id)


def record_hashtag_view(views: Any, *, hashtag_id: int) -> None:
    views.add("hashtag", hashtag_id)


# ---------------------------------------------------------------- account export and deletion


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_user_data(session: AsyncSession, *, user_id: int) -> dict[str, Any]:
    """Everything the user wrote or did in this domain, JSON-serialisable."""
    notes = (
        await session.scalars(
            select(Note).where(Note.author_id == user_id, Note.deleted_at.is_(None)).order_by(Note.id)
        )
    ).all()
    note_ids = [n.id for n in notes]
    tags: dict[int, list[str]] = defaultdict(list)
    media: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if note_ids:
        for note_id, display in (
            await session.execute(
                select(NoteHashtag.note_id, NoteHashtag.display_name)
                .where(NoteHashtag.note_id.in_(note_ids))
                .order_by(NoteHashtag.note_id, NoteHashtag.position)
            )
        ).all():
            tags[note_id].append(display)
        for m in await session.scalars(
            select(MediaAttachment).where(MediaAttachment.note_id.in_(note_ids)).order_by(MediaAttachment.position)
        ):
            media[m.note_id or 0].append({"file": f"media/{m.storage_key}", "kind": m.kind, "alt_text": m.alt_text})
    comments = (
        await session.scalars(
            select(Comment).where(Comment.author_id == user_id, Comment.deleted_at.is_(None)).order_by(Comment.id)
        )
    ).all()
    likes = (
        await session.execute(select(Like.note_id, Like.created_at).where(Like.user_id == user_id).order_by(Like.seq))
    ).all()
    boards = (await session.scalars(select(Board).where(Board.owner_id == user_id).order_by(Board.id))).all()
    saves: dict[int, list[str]] = defaultdict(list)
    for board_id, note_id in (
        await session.execute(
            select(BoardNote.board_id, BoardNote.note_id).where(BoardNote.user_id == user_id).order_by(BoardNote.seq)
        )
    ).all():
        saves[board_id].append(str(note_id))
    return {
        "notes": [
            {
                "id": str(n.id),
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "place_name": n.place_name,
                "hashtags": tags.get(n.id, []),
                "media": media.get(n.id, []),
                "created_at": _iso(n.created_at),
                "updated_at": _iso(n.updated_at),
                "like_count": n.like_count,
                "save_count": n.save_count,
                "comment_count": n.comment_count,
            }
            for n in notes
        ],
        "comments": [
            {
                "id": str(c.id),
                "note_id": str(c.note_id),
                "parent_id": str(c.parent_id) if c.parent_id else None,
                "body": c.body,
                "created_at": _iso(c.created_at),
            }
            for c in comments
        ],
        "likes": [{"note_id": str(note_id), "created_at": _iso(created)} for note_id, created in likes],
        "boards": [
            {
                "id": str(b.id),
                "title": b.title,
                "description": b.description,
                "is_private": b.is_private,
                "note_ids": saves.get(b.id, []),
            }
            for b in boards
        ],
    }


async def user_media_keys(session: AsyncSession, *, user_id: int) -> list[str]:
    rows = await session.scalars(
        select(MediaAttachment.storage_key).where(MediaAttachment.owner_id == user_id).order_by(MediaAttachment.id)
    )
    return list(dict.fromkeys(rows))


async def purge_user_content(session: AsyncSession, *, user_id: int, storage: Storage) -> None:
    """After account deletion: remove the user's notes, comments, likes, saves, boards, mentions
    and media, keeping every counter on other people's content exact. Idempotent.

    Other people's replies under the user's top-level comments go with them (as when the user
    deletes such a comment); replies that answered one of the user's replies stay, under their
    top-level comment.
    """
    # Likes and saves the user gave.
    for note_id in sorted((await session.scalars(select(Like.note_id).where(Like.user_id == user_id))).all()):
        await session.execute(delete(Like).where(Like.user_id == user_id, Like.note_id == note_id))
        note = await session.get(Note, note_id)
        if note is not None:
            await session.execute(update(Note).where(Note.id == note_id).values(like_count=Note.like_count - 1))
            await accounts_service.adjust_counters(session, user_id=note.author_id, likes_received=-1)
    for board_id in (await session.scalars(select(Board.id).where(Board.owner_id == user_id))).all():
        note_ids = (await session.scalars(select(BoardNote.note_id).where(BoardNote.board_id == board_id))).all()
        await _remove_saves(session, board_id=board_id, note_ids=note_ids)
        await session.execute(delete(Board).where(Board.id == board_id))
        await publish(session, "board.deleted", {"board_id": board_id, "owner_id": user_id})
    # Comment likes the user gave.
    liked = (await session.scalars(select(CommentLike.comment_id).where(CommentLike.user_id == user_id))).all()
    for comment_id in sorted(liked):
        await session.execute(
            delete(CommentLike).where(CommentLike.user_id == user_id, CommentLike.comment_id == comment_id)
        )
        await session.execute(update(Comment).where(Comment.id == comment_id).values(like_count=Comment.like_count - 1))
    # Comments the user wrote: first soft-deleted with the counters fixed, then the rows go.
    live = select(Comment).where(Comment.author_id == user_id, Comment.deleted_at.is_(None)).order_by(Comment.id)
    for comment in (await session.scalars(live)).all():
        await _delete_comment_tree(session, comment)
    own_replies = select(Comment.id).where(Comment.author_id == user_id, Comment.root_id.is_not(None))
    # Answers to the user's replies hang on under their top-level comment (parent_id would cascade).
    await session.execute(
        update(Comment)
        .where(Comment.parent_id.in_(own_replies), Comment.author_id != user_id)
        .values(parent_id=Comment.root_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Comment)
        .where(Comment.author_id == user_id, Comment.root_id.is_not(None))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Comment).where(Comment.author_id == user_id).execution_options(synchronize_session=False)
    )
    # Where others @mentioned the user.
    await session.execute(delete(Mention).where(Mention.user_id == user_id))
    # The user's own notes.
    for note in (await session.scalars(select(Note).where(Note.author_id == user_id).order_by(Note.id))).all():
        if note.deleted_at is None:
            await _soft_delete(session, note)
        await purge_note(session, storage=storage, note_id=note.id)
    # Uploads never attached to a note; their files go after commit.
    await _forget_media(session, MediaAttachment.owner_id == user_id)
    await session.execute(delete(MediaAttachment).where(MediaAttachment.owner_id == user_id))


async def _delete_comment_tree(session: AsyncSession, comment: Comment) -> bool:
    """Soft-delete a comment (a top-level one with its replies) and fix reply and comment counts.

    Returns ``False`` if the comment was already deleted (e.g. by a concurrent request). Locks
    the top-level comment first, then the note: the same order as creating a reply.
    """
    now = utcnow()
    if comment.root_id is None:
        result = await session.execute(
            update(Comment)
            .where(Comment.id == comment.id, Comment.deleted_at.is_(None))
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        replies = await session.execute(
            update(Comment)
            .where(Comment.root_id == comment.id, Comment.deleted_at.is_(None))
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        removed = 1 + int(replies.rowcount or 0)  # type: ignore[attr-defined]
    else:
        await session.execute(
            update(Comment).where(Comment.id == comment.root_id).values(reply_count=Comment.reply_count - 1)
        )
        result = await session.execute(
            update(Comment)
            .where(Comment.id == comment.id, Comment.deleted_at.is_(None))
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            # Already gone: undo the decrement (the lock on the root comment is what mattered).
            await session.execute(
                update(Comment).where(Comment.id == comment.root_id).values(reply_count=Comment.reply_count + 1)
            )
            return False
        removed = 1
    await session.execute(
        update(Note).where(Note.id == comment.note_id).values(comment_count=Note.comment_count - removed)
    )
    return True


# ---------------------------------------------------------------- for search


@dataclass(frozen=True)
class NoteText:
    """What the search domain indexes of a note. ``live`` is False once it is deleted;
    whether a viewer may see it is decided at read time by :func:`visible_note_stats`."""

    id: int
    author_id: int
    kind: str
    title: str
    body: str
    place_name: str | None
    language: str | None
    hashtags: list[tuple[int, str, str]]  # (hashtag id, key, display name)
    comments: list[str]
    live: bool
    created_at: dt.datetime


async def note_texts(session: AsyncSession, *, note_ids: Sequence[int], comments: int = 20) -> list[NoteText]:
    """Text of notes for indexing, in a fixed number of queries (missing ids are skipped)."""
    if not note_ids:
        return []
    notes = (await session.scalars(select(Note).where(Note.id.in_(note_ids)))).all()
    tags: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    rows = await session.execute(
        select(NoteHashtag.note_id, Hashtag.id, Hashtag.key, NoteHashtag.display_name)
        .join(Hashtag, Hashtag.id == NoteHashtag.hashtag_id)
        .where(NoteHashtag.note_id.in_(note_ids))
        .order_by(NoteHashtag.note_id, NoteHashtag.position)
    )
    for note_id, tag_id, key, display in rows:
        tags[note_id].append((tag_id, key, display))
    bodies: dict[int, list[str]] = defaultdict(list)
    if comments:
        comment_rows = await session.execute(
            select(Comment.note_id, Comment.body)
            .where(
                Comment.note_id.in_(note_ids),
                Comment.deleted_at.is_(None),
                Comment.state == "published",
            )
            .order_by(Comment.note_id, Comment.like_count.desc(), Comment.id)
        )
        for note_id, body in comment_rows:
            if len(bodies[note_id]) < comments:
                bodies[note_id].append(body)
    return [
        NoteText(
            id=n.id,
            author_id=n.author_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            place_name=n.place_name,
            language=n.language,
            hashtags=tags.get(n.id, []),
            comments=bodies.get(n.id, []),
            live=n.deleted_at is None,
            created_at=n.created_at,
        )
        for n in notes
    ]


async def note_ids_after(session: AsyncSession, *, after_id: int, limit: int) -> list[int]:
    """Ids of notes that are not deleted, ascending, for rebuilding indexes in batches."""
    rows = await session.scalars(
        select(Note.id).where(Note.id > after_id, Note.deleted_at.is_(None)).order_by(Note.id).limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class VisibleNoteStats:
    """What search ranks a visible note by."""

    id: int
    like_count: int
    save_count: int
    comment_count: int
    created_at: dt.datetime


@lru_cache(maxsize=32)
def _visible_stats_statement(
    *, signed_in: bool, regional: bool, kind: bool, since: bool
) -> Select[int, int, int, int, dt.datetime]:
    stmt = select(Note.id, Note.like_count, Note.save_count, Note.comment_count, Note.created_at).where(
        Note.id.in_(bindparam("note_ids", expanding=True)),
        policy.visible_template(signed_in=signed_in, regional=regional, feed=False),
    )
    if kind:
        stmt = stmt.where(Note.kind == bindparam("note_kind"))
    if since:
        stmt = stmt.where(Note.created_at >= bindparam("since"))
    return stmt


async def visible_note_stats(
    session: AsyncSession,
    *,
    viewer: Viewer,
    note_ids: Sequence[int],
    kind: str | None = None,
    since: dt.datetime | None = None,
) -> list[VisibleNoteStats]:
    """The notes among ``note_ids`` that ``viewer`` may see (``visible_to``), optionally only of
    one ``kind`` or created since a time, with what search ranks them by; order is not
    preserved. Only the counters and creation time, in a statement built once per shape: a
    search checks about 200 ids, and full ORM rows and a freshly built condition cost more
    than the database does."""
    if not note_ids:
        return []
    stmt = _visible_stats_statement(
        signed_in=viewer.id is not None, regional=bool(viewer.region), kind=kind is not None, since=since is not None
    )
    params: dict[str, object] = {**policy.visible_params(viewer), "note_ids": [int(i) for i in note_ids]}
    if kind is not None:
        params["note_kind"] = kind
    if since is not None:
        params["since"] = since
    return [
        VisibleNoteStats(int(i), likes, saves, comments, at)
        for i, likes, saves, comments, at in await session.execute(stmt, params)
    ]


async def get_boards(session: AsyncSession, *, board_ids: Sequence[int]) -> list[Board]:
    """The boards among ``board_ids`` that exist, whoever may see them (for indexing)."""
    if not board_ids:
        return []
    return list((await session.scalars(select(Board).where(Board.id.in_(board_ids)))).all())


async def board_ids_after(session: AsyncSession, *, after_id: int, limit: int) -> list[int]:
    """Ids of all boards, ascending, for rebuilding indexes in batches."""
    rows = await session.scalars(select(Board.id).where(Board.id > after_id).order_by(Board.id).limit(limit))
    return list(rows)


async def visible_boards(session: AsyncSession, *, viewer: Viewer, board_ids: Sequence[int]) -> list[Board]:
    """The boards among ``board_ids`` that ``viewer`` may see (``board_visible_to``: public ones and
    the viewer's own private ones, never a blocked, deleted or suspended owner's). Order is not
    preserved."""
    if not board_ids:
        return []
    stmt = select(Board).where(Board.id.in_(board_ids), policy.board_visible_to(viewer))
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class HashtagInfo:
    id: int
    key: str
    display_name: str
    note_count: int


async def hashtags_after(session: AsyncSession, *, after_id: int, limit: int) -> list[HashtagInfo]:
    rows = await session.scalars(select(Hashtag).where(Hashtag.id > after_id).order_by(Hashtag.id).limit(limit))
    return [HashtagInfo(t.id, t.key, t.display_name, t.note_count) for t in rows]


async def get_hashtags(session: AsyncSession, *, hashtag_ids: Sequence[int]) -> list[HashtagInfo]:
    if not hashtag_ids:
        return []
    rows = await session.scalars(select(Hashtag).where(Hashtag.id.in_(hashtag_ids)))
    return [HashtagInfo(t.id, t.key, t.display_name, t.note_count) for t in rows]


async def hashtag_uses_since(
    session: AsyncSession, *, since: dt.datetime, limit: int = 50_000
) -> list[tuple[int, int, dt.datetime]]:
    """(hashtag id, author id, note time) of published, live notes since ``since``, newest first."""
    rows = await session.execute(
        select(NoteHashtag.hashtag_id, Note.author_id, Note.created_at)
        .join(Note, Note.id == NoteHashtag.note_id)
        .where(
            Note.created_at >= since,
            Note.deleted_at.is_(None),
            Note.state == "published",
            ~accounts_service.is_hidden(Note.author_id),
        )
        .order_by(Note.id.desc())
        .limit(limit)
    )
    return [(int(t), int(a), c) for t, a, c in rows]


async def render_cards(
    session: AsyncSession, *, runtime: Any, viewer: Viewer, note_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Note cards (``NoteRead`` JSON) for ``note_ids`` in order, for other domains' result pages
    (search). The caller has already filtered the ids with :func:`visible_note_stats`."""
    from bridgenote.notes import cards

    return await cards.render(session, runtime=runtime, viewer=viewer, note_ids=note_ids)


async def visible_cards(
    session: AsyncSession, *, runtime: Any, viewer: Viewer, note_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Cards of the notes among ``note_ids`` that ``viewer`` may see in a feed (the check of
    :func:`visible_note_ids`), by id, with live counters and liked/saved: a ranked feed's
    visibility check and its cards in one query while the cards are cached."""
    from bridgenote.notes import cards

    return await cards.visible_cards(session, runtime=runtime, viewer=viewer, note_ids=note_ids)


# ---------------------------------------------------------------- for the feed


async def warm_feed_cards(session: AsyncSession, *, runtime: Any, note_ids: Sequence[int], within: float) -> int:
    """Prepare the cards of notes a ranked feed is about to serve (those not cached, or whose
    cached card expires within ``within`` seconds), so that a page meeting a note for the
    first time does not pay for building its card; how many were built."""
    from bridgenote.notes import cards

    return await cards.warm_shared(session, runtime=runtime, note_ids=note_ids, within=within)


@dataclass(frozen=True)
class NoteStats:
    """Engagement counters of a note, for building discover candidate pools."""

    id: int
    author_id: int
    like_count: int
    save_count: int
    comment_count: int
    view_count: int


async def public_note_stats(session: AsyncSession, *, since_id: int, limit: int) -> list[NoteStats]:
    """Notes anyone may see (``visible_to`` an anonymous viewer, feed rules) with ids from
    ``since_id`` on, newest first. Per-viewer rules (blocks, mutes, region limits) are applied
    later, on the few notes of a page, with :func:`visible_note_ids`."""
    rows = await session.execute(
        select(Note.id, Note.author_id, Note.like_count, Note.save_count, Note.comment_count, Note.view_count)
        .where(Note.id >= since_id, policy.visible_to(Viewer(id=None), feed=True))
        .order_by(Note.id.desc())
        .limit(limit)
    )
    return [NoteStats(*(int(v) for v in row)) for row in rows]


async def region_limited_note_ids(session: AsyncSession, *, region: str, since_id: int) -> set[int]:
    """Notes with ids from ``since_id`` on that moderation hid in ``region``."""
    rows = await session.scalars(
        select(NoteRegionLimit.note_id).where(NoteRegionLimit.region == region, NoteRegionLimit.note_id >= since_id)
    )
    return {int(i) for i in rows}


@lru_cache(maxsize=8)
def _visible_ids_statement(*, signed_in: bool, regional: bool) -> Select[Any]:
    return select(Note.id).where(
        Note.id.in_(bindparam("note_ids", expanding=True)),
        policy.visible_template(signed_in=signed_in, regional=regional, feed=True),
    )


async def visible_note_ids(session: AsyncSession, *, viewer: Viewer, note_ids: Sequence[int]) -> set[int]:
    """The ids among ``note_ids`` that ``viewer`` may see in a feed (``visible_to(feed=True)``:
    muted authors are left out too), in one query (a statement built once per shape)."""
    if not note_ids:
        return set()
    stmt = _visible_ids_statement(signed_in=viewer.id is not None, regional=bool(viewer.region))
    params = {**policy.visible_params(viewer), "note_ids": [int(i) for i in note_ids]}
    return {int(i) for i in await session.scalars(stmt, params)}


# ---------------------------------------------------------------- for the media pipeline


async def get_media(session: AsyncSession, *, media_id: int) -> MediaAttachment | None:
    """Unfiltered look-up of an upload for the media pipeline's background jobs (no viewer)."""
    return await session.get(MediaAttachment, media_id)


async def media_changed(session: AsyncSession, *, runtime: Any, media_id: int) -> None:
    """For the media pipeline: something cards show of an upload changed outside its row
    (its subtitle tracks); the note's cached card goes once that commits."""
    note_id = await session.scalar(select(MediaAttachment.note_id).where(MediaAttachment.id == media_id))
    if note_id is not None:
        from bridgenote.notes import cards

        cards.forget_after_commit(session, runtime, note_id)


async def record_media_processing(
    session: AsyncSession,
    *,
    media_id: int,
    state: str,
    failure_reason: str | None = None,
    width: int | None = None,
    height: int | None = None,
    duration_ms: int | None = None,
    blurhash: str | None = None,
    dominant_color: str | None = None,
    variants: dict[str, Any] | None = None,
    runtime: Any = None,
    storage_key: str | None = None,
    content_type: str | None = None,
    size_bytes: int | None = None,
) -> MediaAttachment | None:
    """For the media pipeline: an attachment's processing state (``processing``, ``ready``,
    ``failed`` with a reason) and results. ``None`` leaves a field as it is. Returns ``None``
    when the attachment is gone (its note was purged meanwhile). ``storage_key`` (with its
    ``content_type`` and ``size_bytes``) replaces a video's private upload by its clean MP4."""
    if state not in ("uploaded", "processing", "ready", "failed"):
        raise BadRequest("Unknown media state.")
    media = await session.get(MediaAttachment, media_id)
    if media is None:
        return None
    media.state = state
    media.failure_reason = failure_reason
    for name, value in (
        ("width", width),
        ("height", height),
        ("duration_ms", duration_ms),
        ("blurhash", blurhash),
        ("dominant_color", dominant_color),
        ("variants", variants),
        ("storage_key", storage_key),
        ("content_type", content_type),
        ("size_bytes", size_bytes),
    ):
        if value is not None:
            setattr(media, name, value)
    await session.flush()
    if media.note_id is not None and runtime is not None:
        from bridgenote.notes import cards

        cards.forget_after_commit(session, runtime, media.note_id)
    return media
