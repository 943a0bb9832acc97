"""Notifications: write them (from event subscribers), list them, count and mark them read.

Other domains use this module, never ``notifications.models``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import BadRequest, Unauthorized
from bridgenote.core.ids import new_id
from bridgenote.core.jobs import insert_ignore
from bridgenote.core.pagination import Window, clamp_limit, decode_id_cursor, next_cursor_for
from bridgenote.notifications import policy
from bridgenote.notifications.models import KINDS, Notification

__all__ = ["KINDS", "Notification"]


def N_(message: str) -> str:
    """Marks a message id for extraction; translated later, when rendered."""
    return message


# One line per kind; a mention names where it happened.
TEMPLATES: dict[str, str] = {
    "like": N_("{name} liked your note"),
    "save": N_("{name} saved your note"),
    "comment": N_("{name} commented on your note"),
    "reply": N_("{name} replied to your comment"),
    "comment_like": N_("{name} liked your comment"),
    "follow": N_("{name} started following you"),
    "mention": N_("{name} mentioned you in a note"),
}
MENTION_IN_COMMENT = N_("{name} mentioned you in a comment")
FALLBACK = N_("You have a new notification")
SOMEONE = N_("Someone")


def summary(notification: Notification, *, actor_name: str | None, language: str) -> str:
    """The one-line text of a notification in ``language`` (a UI language tag)."""
    template = TEMPLATES.get(notification.kind)
    if notification.kind == "mention" and notification.comment_id is not None:
        template = MENTION_IN_COMMENT
    if notification.kind == "moderation":
        return _system_text(notification.data or {}, language=language)
    if template is None:
        return i18n.gettext(FALLBACK, language=language)
    name = actor_name or i18n.gettext(SOMEONE, language=language)
    return i18n.gettext(template, language=language, name=name)


def _system_text(data: dict[str, Any], *, language: str) -> str:
    """A system notice stores its message id and parameters (``data["message"]``,
    ``data["params"]``) so it is rendered in the reader's language when read. A parameter may
    itself be a message id (``{"msgid": ...}``) or a text per language (``{"en": ..., "zh-Hans": ...}``)."""
    message = data.get("message")
    if not isinstance(message, str):
        return i18n.gettext(FALLBACK, language=language)
    params: dict[str, str] = {}
    for key, value in (data.get("params") or {}).items():
        message_id = value.get("msgid") if isinstance(value, dict) else None
        if isinstance(message_id, str):
            params[key] = i18n.gettext(message_id, language=language)
        elif isinstance(value, dict):
            params[key] = str(value.get(language) or value.get("en") or next(iter(value.values()), ""))
        else:
            params[key] = str(value)
    try:
        return i18n.gettext(message, language=language, **params)
    except (KeyError, IndexError, ValueError):
        return i18n.gettext(FALLBACK, language=language)


async def notify(
    session: AsyncSession,
    *,
    user_id: int,
    actor_id: int | None,
    kind: str,
    note_id: int | None = None,
    comment_id: int | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    supersedes: Collection[str] = (),
) -> bool:
    """Notify ``user_id`` that ``actor_id`` did ``kind``; returns whether a row was written.

    Applies :func:`policy.can_notify` (self, blocks, mutes, deleted accounts), so callers
    need not. With ``dedupe_key`` a second call with the same key writes nothing, which is
    what makes the event subscribers safe to re-run; if the existing row's kind is in
    ``supersedes`` it takes this ``kind`` instead (a reply that also @mentions its
    recipient reads as a reply, whichever job ran first). A note or comment that was
    purged before the job ran is not an error: nothing is written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not await policy.can_notify(session, recipient_id=user_id, actor_id=actor_id):
        return False
    values = {
        "id": new_id(),
        "user_id": user_id,
        "actor_id": actor_id,
        "kind": kind,
        "note_id": note_id,
        "comment_id": comment_id,
        "data": data or {},
        "dedupe_key": dedupe_key,
        "read_at": None,
        "created_at": utcnow(),
    }
    try:
        # A savepoint, because on PostgreSQL a failed statement poisons the whole
        # transaction and the job still has to commit its own completion.
        async with session.begin_nested():
            inserted = await insert_ignore(session, Notification, values)
    except IntegrityError:
        return False  # the note or comment no longer exists
    if not inserted and dedupe_key is not None and supersedes:
        await session.execute(
            update(Notification)
            .where(Notification.dedupe_key == dedupe_key, Notification.kind.in_(tuple(supersedes)))
            .values(kind=kind)
        )
    return inserted


def _require_id(viewer: Viewer) -> int:
    if viewer.id is None:
        raise Unauthorized()
    return viewer.id


async def list_notifications(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None, unread_only: bool = False
) -> Window[Notification]:
    """The viewer's notifications, newest first, one cursor page (keyset on id)."""
    _require_id(viewer)
    n = clamp_limit(limit)
    stmt = select(Notification).where(policy.visible_to(viewer))
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Notification.id < after)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = (await session.scalars(stmt.order_by(Notification.id.desc()).limit(n + 1))).all()
    return Window[Notification](items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda row: row.id))


async def unread_count(session: AsyncSession, *, viewer: Viewer) -> int:
    """Unread notifications the viewer would see in :func:`list_notifications`."""
    _require_id(viewer)
    count = await session.scalar(
        select(func.count()).select_from(Notification).where(policy.visible_to(viewer), Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(session: AsyncSession, *, viewer: Viewer, ids: Sequence[int] | None, all: bool) -> int:
    """Mark the viewer's notifications read: the given ``ids``, or every one with ``all``.

    Ids of other users' notifications are ignored silently (not an error, so their
    existence does not leak). Returns how many went from unread to read.
    """
    me = _require_id(viewer)
    if all == (ids is not None):
        raise BadRequest('Send a list of "ids" or "all": true, but not both.', code="invalid_mark_read")
    stmt = update(Notification).where(Notification.user_id == me, Notification.read_at.is_(None))
    if not all:
        wanted = sorted(set(ids or ()))
        if not wanted:
            return 0
        stmt = stmt.where(Notification.id.in_(wanted))
    result = await session.execute(stmt.values(read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_for_user(session: AsyncSession, *, user_id: int) -> int:
    """Erase every notification ``user_id`` received or caused (account purge).

    Returns how many rows were deleted.
    """
    result = await session.execute(
        delete(Notification).where(or_(Notification.user_id == user_id, Notification.actor_id == user_id))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_for_note(session: AsyncSession, *, note_id: int) -> int:
    """Drop the notifications about a note that was deleted (they would lead nowhere)."""
    result = await session.execute(delete(Notification).where(Notification.note_id == note_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_for_comment(session: AsyncSession, *, comment_id: int) -> int:
    """Drop the notifications about a comment that was deleted."""
    result = await session.execute(delete(Notification).where(Notification.comment_id == comment_id))
    return int(getattr(result, "rowcount", 0) or 0)
