"""The search page: one box for notes, people, hashtags and boards (``search.service.search``), with
recent and trending searches before anything is typed and suggestions while typing.

Written by the web app (issue 3) on the search domain's service; the JSON API is ``api.py``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from bridgenote.accounts import service as accounts_service
from bridgenote.core import i18n
from bridgenote.core.db import on_commit
from bridgenote.core.web import RuntimeDep, SessionDep
from bridgenote.notes import service as notes_service
from bridgenote.search import service
from bridgenote.web.routing import PageUser, PageViewer, is_htmx, next_page_url, redirect, views_router
from bridgenote.web.templating import render, tag_url, user_url

router = views_router()

PAGE = 20
TYPES = {
    "notes": i18n.N_("Notes"),
    "users": i18n.N_("People"),
    "hashtags": i18n.N_("Hashtags"),
    "boards": i18n.N_("Boards"),
}
SORTS = {"relevance": i18n.N_("Best match"), "newest": i18n.N_("Newest"), "most_liked": i18n.N_("Most liked")}
Text = Annotated[str, Query(max_length=500)]


def _trend_name(trend: service.Trend) -> str:
    """A trend as written in the reader's language when people wrote it that way too."""
    short = "zh" if i18n.current_language().startswith("zh") else "en"
    return trend.variants.get(short) or trend.display


@router.get("/search")
async def search(
    request: Request,
    viewer: PageViewer,
    session: SessionDep,
    runtime: RuntimeDep,
    q: Text = "",
    type: Annotated[str, Query(max_length=20)] = "notes",
    sort: Annotated[str, Query(max_length=20)] = "relevance",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    q = q.strip()
    type = type if type in TYPES else "notes"
    sort = sort if sort in SORTS else "relevance"
    context: dict[str, Any] = {"q": q, "type": type, "sort": sort, "types": TYPES, "sorts": SORTS}
    if not q:
        searches = await service.trending_searches(session, limit=10)
        hashtags = await service.trending_hashtags(session, limit=10)
        context.update(
            recent=await service.recent_searches(session, viewer=viewer),
            trending=[_trend_name(t) for t in searches],
            trending_tags=[_trend_name(t) for t in hashtags],
            notes=[],
            people=[],
            hashtags=[],
            boards=[],
            next_url=None,
        )
        return await render(request, "search.html", context, viewer=viewer, session=session)

    result = await service.search(
        session, runtime=runtime, viewer=viewer, q=q, type=type, sort=sort, cursor=cursor, limit=PAGE
    )
    if cursor is None:
        query = result.query

        async def record() -> None:
            service.record_search_after_commit(runtime, viewer=viewer, query=query)

        on_commit(session, record)
    notes: list[dict[str, Any]] = []
    if result.notes:
        notes = await notes_service.render_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[h.note_id for h in result.notes]
        )
    people: list[dict[str, Any]] = []
    if result.users:
        briefs = await accounts_service.briefs(session, storage=runtime.storage, user_ids=[u.id for u in result.users])
        for user in result.users:
            if user.id in briefs:
                relations = await accounts_service.relations(session, viewer=viewer, user_id=user.id)
                people.append(
                    {"user": briefs[user.id], "following": relations["is_following"], "me": user.id == viewer.id}
                )
    boards: list[dict[str, Any]] = []
    if result.boards:
        owners = await accounts_service.briefs(
            session, storage=runtime.storage, user_ids=list({b.owner_id for b in result.boards})
        )
        covers = await notes_service.board_covers(session, storage=runtime.storage, boards=result.boards, viewer=viewer)
        boards = [
            {"board": b, "owner": owners[b.owner_id], "cover": covers.get(b.id)}
            for b in result.boards
            if b.owner_id in owners
        ]
    next_url = next_page_url(request, result.next_cursor)
    context.update(
        notes=notes, people=people, hashtags=result.hashtags, boards=boards, next_url=next_url, recent=[], trending=[]
    )
    if is_htmx(request) and cursor:
        if type == "boards":
            page = {"boards": boards, "next_url": next_url, "with_loader": True}
            return await render(request, "_search_boards.html", page, viewer=viewer)
        return await render(request, "_grid_page.html", {"notes": notes, "next_url": next_url}, viewer=viewer)
    return await render(request, "search.html", context, viewer=viewer, session=session)


@router.get("/search/suggest")
async def suggest(
    request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep, q: Text = ""
) -> Response:
    """Completions under the search box while typing (searches, #tags, people; also by pinyin)."""
    found = await service.suggest(session, runtime=runtime, viewer=viewer, q=q.strip()) if q.strip() else []
    items = []
    for s in found:
        if s.kind == "hashtag":
            items.append({"label": f"#{s.text}", "href": tag_url(s.text)})
        elif s.kind == "user":
            items.append({"label": f"@{s.text}", "href": user_url(s.text)})
        else:
            items.append({"label": s.text, "href": "/search?" + urlencode({"q": s.text})})
    return await render(request, "_search_suggest.html", {"items": items}, viewer=viewer)


@router.post("/search/recent/clear")
async def clear_recent(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    await service.clear_recent_searches(session, viewer=viewer)
    return redirect(request, "/search")
