from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from bridgenote.accounts import service as accounts_service
from bridgenote.core.db import on_commit
from bridgenote.core.schemas import OK, ErrorResponse
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep
from bridgenote.notes import service as notes_service
from bridgenote.search import service
from bridgenote.search.schemas import (
    RecentSearchesRead,
    SearchRead,
    SuggestionRead,
    SuggestionsRead,
    TrendingRead,
    TrendRead,
)

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorResponse} for code in (400, 401, 422, 429)}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS, tags=["search"])

# A search box, not a document: longer input is refused rather than silently cut.
Q = Annotated[str, Query(max_length=500, description="what was typed; any text is a valid query")]


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@router.get("/search", response_model=SearchRead)
async def search(
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    q: Q = "",
    type: Annotated[str, Query(description="notes, users, hashtags or boards")] = "notes",
    kind: Annotated[str | None, Query(description="notes only: image, video or text")] = None,
    language: Annotated[str | None, Query(description="notes only: zh or en")] = None,
    time: Annotated[str | None, Query(description="day, week, month or year")] = None,
    sort: Annotated[str, Query(description="relevance, newest or most_liked")] = "relevance",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response:
    """Notes, accounts, hashtags or boards for a query, in Chinese, English or both: a note can
    match through its own words, a stored translation, or its meaning; a board through its title
    (also by pinyin) or description. Every type is paged with ``next_cursor``."""
    result = await service.search(
        session,
        runtime=runtime,
        viewer=viewer,
        q=q,
        type=type,
        note_kind=kind,
        language=language,
        time=time,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    payload: dict[str, object] = {
        "query": result.query.text,
        "type": result.type,
        "notes": [],
        "users": [],
        "hashtags": [],
        "boards": [],
        "next_cursor": result.next_cursor,
    }
    if result.notes:
        cards = await notes_service.render_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[h.note_id for h in result.notes]
        )
        by_id = {int(c["id"]): c for c in cards}
        reader = service.reader_languages(viewer)
        payload["notes"] = [
            {
                "note": by_id[h.note_id],
                "matched": h.matched,
                "language": h.language,
                "translation_offered": bool(h.language and reader and h.language not in reader),
            }
            for h in result.notes
            if h.note_id in by_id
        ]
    if result.users:
        briefs = await accounts_service.briefs(session, storage=runtime.storage, user_ids=[u.id for u in result.users])
        payload["users"] = [briefs[u.id].model_dump(mode="json") for u in result.users if u.id in briefs]
    payload["hashtags"] = [
        {"id": str(t.id), "name": t.display_name, "note_count": t.note_count} for t in result.hashtags
    ]
    if result.boards:
        payload["boards"] = [
            b.model_dump(mode="json")
            for b in await notes_service.board_reads(
                session, viewer=viewer, storage=runtime.storage, boards=result.boards
            )
        ]
    if result.query.text and cursor is None:

        async def record() -> None:
            service.record_search_after_commit(runtime, viewer=viewer, query=result.query)

        on_commit(session, record)
    return _json(payload)


@router.get("/search/suggestions", response_model=SuggestionsRead)
async def suggestions(viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep, q: Q = "") -> SuggestionsRead:
    """Completions as you type: popular searches, hashtags and accounts (also by pinyin)."""
    found = await service.suggest(session, runtime=runtime, viewer=viewer, q=q)
    return SuggestionsRead(items=[SuggestionRead(kind=s.kind, text=s.text, id=s.id) for s in found])  # type: ignore[arg-type]


@router.get("/search/recent", response_model=RecentSearchesRead)
async def recent(viewer: UserDep, session: SessionDep) -> RecentSearchesRead:
    return RecentSearchesRead(items=await service.recent_searches(session, viewer=viewer))


@router.delete("/search/recent", response_model=OK)
async def clear_recent(viewer: UserDep, session: SessionDep, q: Q | None = None) -> OK:
    """Forget your recent searches (all of them, or the one given as ``q``)."""
    await service.clear_recent_searches(session, viewer=viewer, q=q)
    return OK()


@router.get("/search/trending", response_model=TrendingRead)
async def trending(session: SessionDep) -> TrendingRead:
    """What people search for and tag lately; one trend per meaning across languages."""
    searches = await service.trending_searches(session)
    hashtags = await service.trending_hashtags(session)
    return TrendingRead(
        searches=[TrendRead(name=t.display, score=round(t.score, 4), variants=t.variants) for t in searches],
        hashtags=[TrendRead(name=t.display, score=round(t.score, 4), variants=t.variants) for t in hashtags],
    )
