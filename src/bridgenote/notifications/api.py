from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.core.pagination import Page
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import ErrorResponse
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep
from bridgenote.notifications import service
from bridgenote.notifications.models import Notification
from bridgenote.notifications.schemas import MarkRead, MarkReadResult, NotificationRead, UnreadCount

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorResponse} for code in (400, 401, 403, 422)}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, tags=["notifications"], responses=ERRORS)


async def notification_reads(
    session: AsyncSession, runtime: Runtime, viewer: Viewer, notifications: Sequence[Notification]
) -> list[NotificationRead]:
    """Response items with their actors' cards, loaded in one query for the whole page."""
    actor_ids = sorted({n.actor_id for n in notifications if n.actor_id is not None})
    actors = await accounts_service.briefs(session, storage=runtime.storage, user_ids=actor_ids)
    items = []
    for n in notifications:
        actor = actors.get(n.actor_id) if n.actor_id is not None else None
        name = (actor.display_name or actor.username) if actor else None
        items.append(
            NotificationRead(
                id=n.id,
                kind=n.kind,
                actor=actor,
                note_id=n.note_id,
                comment_id=n.comment_id,
                data=n.data or {},
                read=n.read_at is not None,
                created_at=n.created_at,
                text=service.summary(n, actor_name=name, language=viewer.ui_language),
            )
        )
    return items


@router.get("/notifications", response_model=Page[NotificationRead])
async def list_notifications(
    viewer: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    unread_only: bool = False,
) -> Page[NotificationRead]:
    """The viewer's notifications, newest first. Reading the list does not mark them read."""
    page = await service.list_notifications(session, viewer=viewer, cursor=cursor, limit=limit, unread_only=unread_only)
    items = await notification_reads(session, runtime, viewer, page.items)
    return Page[NotificationRead](items=items, next_cursor=page.next_cursor)


@router.get("/notifications/unread_count", response_model=UnreadCount)
async def unread_count(viewer: UserDep, session: SessionDep) -> UnreadCount:
    return UnreadCount(unread=await service.unread_count(session, viewer=viewer))


@router.post("/notifications/read", response_model=MarkReadResult)
async def mark_read(data: MarkRead, viewer: UserDep, session: SessionDep) -> MarkReadResult:
    """Mark the given notifications (or all) read. Ids that are not the viewer's are ignored."""
    updated = await service.mark_read(session, viewer=viewer, ids=data.ids, all=data.all)
    return MarkReadResult(updated=updated)
