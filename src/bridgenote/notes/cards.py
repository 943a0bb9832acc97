"""Note cards: the JSON of a note as feeds and the detail page show it.

A card has a shared part (text, author, media, tags, counters) that is the same
for every viewer, and a per-viewer part (liked, saved; moderation details for
the author). The shared part is built for a whole page in a fixed number of
queries and cached for a couple of seconds per process, because the same hot
notes are read by everyone at once (the January 2025 surge). Which notes a
viewer may see is never cached: the page's ids always come from a fresh
``visible_to`` query. A process drops its cached card as soon as it commits a
change to that note; other processes see the change within ``CARD_TTL``.

Ranked feeds read cards through :func:`visible_cards`, which checks visibility and reads
what changes often (counters, labels, the edit time, the viewer's liked/saved) for the
page in one query, so the rest of the card can be kept for ``SHARED_TTL``: a card edited
since is rebuilt at once, while a change that is not an edit of the note (an author's new
name, a video finishing processing) reaches other processes within ``SHARED_TTL``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import orjson
from sqlalchemy import BigInteger, Select, bindparam, exists, false, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.core.cache import TTLCache
from bridgenote.core.db import on_commit
from bridgenote.core.images import public_variants
from bridgenote.core.storage import Storage
from bridgenote.media import service as media_service
from bridgenote.notes import policy
from bridgenote.notes.models import (
    BoardNote,
    Hashtag,
    Like,
    MediaAttachment,
    Mention,
    Note,
    NoteHashtag,
    NoteRegionLimit,
)

CARD_TTL = 2.0
CACHE_NAME = "notes.cards"
SHARED_TTL = 120.0
SHARED_CACHE_NAME = "notes.cards.shared"
_PRIVATE = "_private"


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def media_json(storage: Storage, m: MediaAttachment) -> dict[str, Any]:
    from bridgenote.notes.service import media_url

    return {
        "id": str(m.id),
        "kind": m.kind,
        "state": m.state,
        "url": media_url(storage, m),
        "content_type": m.content_type,
        "width": m.width,
        "height": m.height,
        "duration_ms": m.duration_ms,
        "alt_text": m.alt_text,
        "blurhash": m.blurhash,
        "dominant_color": m.dominant_color,
        "variants": m.variants or {},
        "failure_reason": m.failure_reason,
        # The media pipeline's variants as URLs: <picture> sources (AVIF, WebP) and the JPEG
        # <img> srcset; for a video its MP4, HLS and poster. None until they are ready.
        **{k: v for k, v in public_variants(m.variants, storage.url).items() if k != "variants"},
        "subtitles": [],  # a video's <track>s, filled in by build_cards
    }


async def build_cards(session: AsyncSession, *, storage: Storage, note_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Shared card parts for ``note_ids`` (no visibility check: callers pass visible ids)."""
    if not note_ids:
        return {}
    notes = (await session.scalars(select(Note).where(Note.id.in_(note_ids)))).all()
    ids = [n.id for n in notes]
    media: dict[int, list[dict[str, Any]]] = defaultdict(list)
    videos: dict[int, dict[str, Any]] = {}
    for m in await session.scalars(
        select(MediaAttachment).where(MediaAttachment.note_id.in_(ids)).order_by(MediaAttachment.position)
    ):
        item = media_json(storage, m)
        media[m.note_id or 0].append(item)
        if m.kind == "video":
            videos[m.id] = item
    if videos:  # one query per page, and none for a page of photos
        tracks = await media_service.subtitle_tracks(session, storage=storage, media_ids=list(videos))
        for media_id, item in videos.items():
            item["subtitles"] = tracks.get(media_id, [])
    tags: dict[int, list[dict[str, str]]] = defaultdict(list)
    rows = await session.execute(
        select(NoteHashtag.note_id, NoteHashtag.display_name, Hashtag.key)
        .join(Hashtag, Hashtag.id == NoteHashtag.hashtag_id)
        .where(NoteHashtag.note_id.in_(ids))
        .order_by(NoteHashtag.note_id, NoteHashtag.position)
    )
    for note_id, display, key in rows.all():
        tags[note_id].append({"name": display, "key": key})
    mentions: dict[int, list[int]] = defaultdict(list)
    for note_id, user_id in (
        await session.execute(select(Mention.note_id, Mention.user_id).where(Mention.note_id.in_(ids)))
    ).all():
        mentions[note_id].append(user_id)
    limited: dict[int, list[str]] = defaultdict(list)
    for note_id, region in (
        await session.execute(
            select(NoteRegionLimit.note_id, NoteRegionLimit.region).where(NoteRegionLimit.note_id.in_(ids))
        )
    ).all():
        limited[note_id].append(region)
    user_ids = {n.author_id for n in notes} | {u for us in mentions.values() for u in us}
    people = await accounts_service.briefs(session, storage=storage, user_ids=list(user_ids))
    cards: dict[int, dict[str, Any]] = {}
    for n in notes:
        author = people.get(n.author_id)
        if author is None:
            continue
        cards[n.id] = {
            "id": str(n.id),
            "author": author.model_dump(mode="json"),
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "place_name": n.place_name,
            "language": n.language,
            "hashtags": tags.get(n.id, []),
            "mentions": [people[u].username for u in mentions.get(n.id, []) if u in people],
            "media": media.get(n.id, []),
            "like_count": n.like_count,
            "save_count": n.save_count,
            "comment_count": n.comment_count,
            "view_count": n.view_count,
            "labels": list(n.labels or []),
            "created_at": _ts(n.created_at),
            "updated_at": _ts(n.updated_at),
            _PRIVATE: {
                "author_id": n.author_id,
                "state": n.state,
                "state_reason": n.state_reason,
                "limited_regions": sorted(limited.get(n.id, [])),
            },
        }
    return cards


def card_cache(runtime: Any) -> TTLCache:
    cache: TTLCache = runtime.cache(CACHE_NAME, ttl=CARD_TTL, max_entries=20_000)
    return cache


def shared_cache(runtime: Any) -> TTLCache:
    # Its cards' counters are overwritten from the page query, so flushed view counts leave it be.
    cache: TTLCache = runtime.cache(SHARED_CACHE_NAME, ttl=SHARED_TTL, max_entries=20_000, holds_counters=False)
    return cache


async def warm_shared(session: AsyncSession, *, runtime: Any, note_ids: Sequence[int], within: float) -> int:
    """Build the shared parts of the cards among ``note_ids`` that are not cached or expire
    within ``within`` seconds; how many were built. For notes a feed is about to serve
    (visibility is still checked per page by :func:`visible_cards`)."""
    cache = shared_cache(runtime)
    due = cache.due(note_ids, within=within)
    if not due:
        return 0
    return len(await _build_into(cache, session, runtime=runtime, note_ids=cast(list[int], due)))


async def _build_into(
    cache: TTLCache, session: AsyncSession, *, runtime: Any, note_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """:func:`build_cards`, keeping what it built in ``cache``."""
    built = await build_cards(session, storage=runtime.storage, note_ids=note_ids)
    for built_id, built_card in built.items():
        cache.set(built_id, built_card)
    return built


def forget_after_commit(session: AsyncSession, runtime: Any, *note_ids: int) -> None:
    """Drop cached cards once the change that made them stale has committed."""
    caches = (card_cache(runtime), shared_cache(runtime))

    async def drop() -> None:
        for note_id in note_ids:
            for cache in caches:
                cache.pop(note_id)

    on_commit(session, drop)


_FLAG_VIEWER = bindparam("viewer_id", type_=BigInteger)
_FLAG_NOTES: BindParameter[list[int]] = bindparam("note_ids", expanding=True)
# Built once: every page of cards reads it.
_VIEWER_FLAGS = union_all(
    select(Like.note_id, literal(1).label("liked")).where(Like.user_id == _FLAG_VIEWER, Like.note_id.in_(_FLAG_NOTES)),
    select(BoardNote.note_id, literal(0).label("liked")).where(
        BoardNote.user_id == _FLAG_VIEWER, BoardNote.note_id.in_(_FLAG_NOTES)
    ),
)


async def viewer_flags(session: AsyncSession, *, viewer: Viewer, note_ids: Sequence[int]) -> tuple[set[int], set[int]]:
    """(liked, saved) note ids for the viewer, in one query."""
    if viewer.id is None or not note_ids:
        return set(), set()
    liked: set[int] = set()
    saved: set[int] = set()
    params = {"viewer_id": viewer.id, "note_ids": [int(i) for i in note_ids]}
    for note_id, flag in (await session.execute(_VIEWER_FLAGS, params)).all():
        (liked if flag else saved).add(note_id)
    return liked, saved


async def render(
    session: AsyncSession,
    *,
    runtime: Any,
    viewer: Viewer,
    note_ids: Sequence[int],
    fresh: bool = False,
    flags: tuple[set[int], set[int]] | None = None,
) -> list[dict[str, Any]]:
    """JSON-ready notes (``NoteRead`` shape) for visible ``note_ids``, in order.

    ``fresh`` bypasses the cache (right after the caller changed the note).
    ``flags`` are the viewer's (liked, saved) ids when the caller already has
    them (feed pages read them in the page query).
    """
    cache = card_cache(runtime)
    cards: dict[int, dict[str, Any]] = {} if fresh else cache.get_many(note_ids)  # type: ignore[assignment]
    missing = [i for i in note_ids if i not in cards]
    if missing:
        cards.update(await _build_into(cache, session, runtime=runtime, note_ids=missing))
    # Authors and staff see moderation state, which changes without passing through the API.
    privileged = [
        i
        for i, c in cards.items()
        if i not in missing and policy.sees_moderation_details_of(viewer, author_id=c[_PRIVATE]["author_id"])
    ]
    if privileged:
        cards.update(await build_cards(session, storage=runtime.storage, note_ids=privileged))
    liked, saved = flags if flags is not None else await viewer_flags(session, viewer=viewer, note_ids=note_ids)
    result = []
    for note_id in note_ids:
        card = cards.get(note_id)
        if card is None:
            continue
        result.append(_for_viewer(card, viewer, liked=note_id in liked, saved=note_id in saved))
    return result


def _for_viewer(card: dict[str, Any], viewer: Viewer, *, liked: bool, saved: bool) -> dict[str, Any]:
    private = card[_PRIVATE]
    out = {k: v for k, v in card.items() if k != _PRIVATE}
    out["liked"] = liked
    out["saved"] = saved
    if policy.sees_moderation_details_of(viewer, author_id=private["author_id"]):
        out["state"] = private["state"]
        out["state_reason"] = private["state_reason"]
        out["limited_regions"] = private["limited_regions"]
    else:
        out["state"] = out["state_reason"] = out["limited_regions"] = None
    return out


@functools.cache
def _page_statement(
    *, signed_in: bool, regional: bool
) -> Select[int, int, int, int, int, list[str], dt.datetime | None, bool, bool]:
    """Built once per shape: the feed-visible notes among ``note_ids`` with their live fields."""
    viewer_id = bindparam("viewer_id", type_=BigInteger)
    liked = exists().where(Like.user_id == viewer_id, Like.note_id == Note.id) if signed_in else false()
    saved = exists().where(BoardNote.user_id == viewer_id, BoardNote.note_id == Note.id) if signed_in else false()
    return select(
        Note.id,
        Note.like_count,
        Note.save_count,
        Note.comment_count,
        Note.view_count,
        Note.labels,
        Note.updated_at,
        liked.label("liked"),
        saved.label("saved"),
    ).where(
        Note.id.in_(bindparam("note_ids", expanding=True)),
        policy.visible_template(signed_in=signed_in, regional=regional, feed=True),
    )


async def visible_cards(
    session: AsyncSession, *, runtime: Any, viewer: Viewer, note_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Cards (``NoteRead`` JSON) of the notes among ``note_ids`` that ``viewer`` may see in a
    feed (``visible_to(feed=True)``), by id: one query for visibility, counters, labels, the
    edit time and the viewer's liked/saved, and the rest of each card from ``SHARED_TTL``'s
    cache unless the note was edited since it was built."""
    if not note_ids:
        return {}
    stmt = _page_statement(signed_in=viewer.id is not None, regional=bool(viewer.region))
    params = {**policy.visible_params(viewer), "note_ids": [int(i) for i in note_ids]}
    # A Core statement on the session's connection: the ORM's execution layer adds about
    # a third to a statement that runs on every feed page.
    rows = (await (await session.connection()).execute(stmt, params)).all()
    cache = shared_cache(runtime)
    found: dict[int, dict[str, Any]] = cache.get_many([row.id for row in rows])  # type: ignore[assignment]
    stale = [
        row.id
        for row in rows
        if (card := found.get(row.id)) is None
        or card["updated_at"] != _ts(row.updated_at)
        # Authors and staff see moderation state, which changes without passing through the API.
        or policy.sees_moderation_details_of(viewer, author_id=card[_PRIVATE]["author_id"])
    ]
    if stale:
        found.update(await _build_into(cache, session, runtime=runtime, note_ids=stale))
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        card = found.get(row.id)
        if card is None:
            continue
        personal = _for_viewer(card, viewer, liked=bool(row.liked), saved=bool(row.saved))
        personal["like_count"] = row.like_count
        personal["save_count"] = row.save_count
        personal["comment_count"] = row.comment_count
        personal["view_count"] = row.view_count
        personal["labels"] = list(row.labels or [])
        out[int(row.id)] = personal
    return out


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload)
