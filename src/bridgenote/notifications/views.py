"""Pages of the notifications domain: the list, marking read, and the unread badge that
every page's header shows (registered as page chrome)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.core.web import RuntimeDep, SessionDep
from bridgenote.notifications import service
from bridgenote.web.routing import PageUser, is_htmx, redirect, views_router
from bridgenote.web.templating import register_chrome, render

router = views_router()


async def _unread(session: AsyncSession, viewer: Viewer) -> int:
    return await service.unread_count(session, viewer=viewer)


register_chrome("unread", _unread)


@router.get("/notifications")
async def notifications(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Newest first. Reading is a GET, so it never writes: the page marks the shown items
    read with a POST once it has loaded (htmx), and a button does the same without script."""
    page = await service.list_notifications(session, viewer=viewer, cursor=cursor, limit=30)
    actor_ids = sorted({n.actor_id for n in page.items if n.actor_id is not None})
    actors = await accounts_service.briefs(session, storage=runtime.storage, user_ids=actor_ids)
    items = []
    for n in page.items:
        actor = actors.get(n.actor_id) if n.actor_id is not None else None
        name = (actor.display_name or actor.username) if actor else None
        items.append(
            {
                "id": n.id,
                "kind": n.kind,
                "actor": actor,
                "note_id": n.note_id,
                "comment_id": n.comment_id,
                "read": n.read_at is not None,
                "created_at": n.created_at,
                "text": service.summary(n, actor_name=name, language=viewer.ui_language),
            }
        )
    context = {
        "items": items,
        "next_url": f"/notifications?cursor={page.next_cursor}" if page.next_cursor else None,
        "unread_ids": [str(i["id"]) for i in items if not i["read"]],
    }
    if is_htmx(request) and cursor:
        return await render(request, "_notification_items.html", context, viewer=viewer)
    return await render(request, "notifications.html", context, viewer=viewer, session=session)


@router.post("/notifications/read")
async def mark_read(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("id") if isinstance(v, str) and v.isdigit()]
    if ids:
        await service.mark_read(session, viewer=viewer, ids=ids[:500], all=False)
    else:
        await service.mark_read(session, viewer=viewer, ids=None, all=True)
    if is_htmx(request):
        unread = await service.unread_count(session, viewer=viewer)
        return await render(request, "_badge.html", {"unread": unread, "oob": True}, viewer=viewer)
    return redirect(request, "/notifications")


@router.get("/notifications/badge")
async def badge(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    unread = await service.unread_count(session, viewer=viewer)
    return await render(request, "_badge.html", {"unread": unread, "oob": False}, viewer=viewer)
