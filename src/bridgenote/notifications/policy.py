"""Who may be notified by whom, and which notifications a viewer sees."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.notifications.models import Notification

# Accounts whose actions no longer reach anyone (their content is hidden too).
SILENT_ACTOR_STATES = frozenset({"deleted", "suspended"})


async def can_notify(session: AsyncSession, *, recipient_id: int, actor_id: int | None) -> bool:
    """Whether ``actor_id`` doing something may produce a notification for ``recipient_id``.

    Never about one's own action; never to a deleted account; never from a deleted or
    suspended one; never across a block (either direction); never from someone the
    recipient muted. ``actor_id=None`` is a system notice and only needs a live recipient.
    """
    if actor_id == recipient_id:
        return False
    ids = [recipient_id] if actor_id is None else [recipient_id, actor_id]
    users = await accounts_service.get_users(session, user_ids=ids)
    recipient = users.get(recipient_id)
    if recipient is None or recipient.state == "deleted":
        return False
    if actor_id is None:
        return True
    actor = users.get(actor_id)
    if actor is None or actor.state in SILENT_ACTOR_STATES:
        return False
    if await accounts_service.is_blocked_either_way(session, a=recipient_id, b=actor_id):
        return False
    muted = accounts_service.muted_by(recipient_id).subquery()
    return not await session.scalar(select(exists().where(muted.c.muted_id == actor_id)))


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The viewer's own notifications, minus those from accounts that are now blocked
    (either way), deleted or suspended, so the list and the unread badge agree."""
    if viewer.id is None:
        return false()
    return and_(
        Notification.user_id == viewer.id,
        or_(
            Notification.actor_id.is_(None),
            and_(
                Notification.actor_id.not_in(accounts_service.blocked_either_way(viewer.id)),
                ~accounts_service.is_hidden(Notification.actor_id),
            ),
        ),
    )
