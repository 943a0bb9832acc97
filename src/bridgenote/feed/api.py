from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from bridgenote.core.auth import Viewer
from bridgenote.core.pagination import Window
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import OK, ErrorResponse
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep
from bridgenote.feed import service
from bridgenote.feed.schemas import (
    FeedbackCreate,
    FeedPageRead,
    FeedSettingsRead,
    FeedSettingsUpdate,
    TopicWeightRead,
)
from bridgenote.notes import service as notes_service

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorResponse} for code in (400, 401, 404, 422, 429)}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS, tags=["feeds"])

Cursor = Annotated[str | None, Query(max_length=3000, description="opaque cursor from the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=100)]


async def _page(session: Any, runtime: Runtime, viewer: Viewer, window: Window[service.FeedEntry]) -> Response:
    by_id = {e.id: e.card for e in window.items if e.card is not None}
    if missing := [e.id for e in window.items if e.card is None]:
        cards = await notes_service.render_cards(session, runtime=runtime, viewer=viewer, note_ids=missing)
        by_id.update((int(c["id"]), c) for c in cards)
    items = [
        {
            "note": by_id[e.id],
            "reason": {"code": e.reason, "text": service.explain(e), "topic": e.topic},
            "exploration": e.exploration,
        }
        for e in window.items
        if e.id in by_id
    ]
    return Response(orjson.dumps({"items": items, "next_cursor": window.next_cursor}), media_type="application/json")


@router.get("/feeds/discover", response_model=FeedPageRead)
async def discover(
    viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = None
) -> Response:
    """Discover: notes ranked for the reader's interests (anonymous readers get the general
    ranking), with a "Why this?" reason on each. Infinite: keep passing ``next_cursor``."""
    window = await service.discover(session, runtime=runtime, viewer=viewer, cursor=cursor, limit=limit)
    return await _page(session, runtime, viewer, window)


@router.get("/feeds/nearby", response_model=FeedPageRead)
async def nearby(
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = None,
    region: Annotated[str | None, Query(max_length=2, description="ISO 3166 code; default: your region")] = None,
) -> Response:
    """Newest notes from a region (the reader's own unless ``region`` is given)."""
    window = await service.nearby(session, viewer=viewer, cursor=cursor, limit=limit, region=region)
    return await _page(session, runtime, viewer, window)


@router.post("/feeds/discover/feedback", response_model=OK)
async def feedback(data: FeedbackCreate, viewer: UserDep, session: SessionDep) -> OK:
    """ "Not interested", "more like this" or a long view: the next page reflects it."""
    await service.feedback(session, viewer=viewer, note_id=data.note_id, kind=data.kind)
    return OK()


def _settings(found: service.FeedSettings) -> FeedSettingsRead:
    return FeedSettingsRead(
        interests=found.interests,
        other_language_share=found.other_language_share,
        top_topics=[TopicWeightRead(topic=t, weight=w) for t, w in found.top_topics],
    )


@router.get("/feeds/discover/settings", response_model=FeedSettingsRead)
async def get_settings(viewer: UserDep, session: SessionDep) -> FeedSettingsRead:
    """Your interests, language mix and the topics Discover currently thinks you like."""
    return _settings(await service.get_settings(session, viewer=viewer))


@router.put("/feeds/discover/settings", response_model=FeedSettingsRead)
async def update_settings(data: FeedSettingsUpdate, viewer: UserDep, session: SessionDep) -> FeedSettingsRead:
    return _settings(
        await service.update_settings(session, viewer=viewer, other_language_share=data.other_language_share)
    )
