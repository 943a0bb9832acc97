"""Candidate pools and the pure discover pipeline: candidates -> features -> rank -> re-rank.

A :class:`Pool` is a snapshot of the notes anyone may see from the last weeks, held as
numpy arrays (ids, authors, topics, languages, embeddings, engagement, creator size).
Building one reads the database (``service.py``); everything here is plain computation,
so the service, ``bench/feed_sim.py`` and the tests run exactly the same ranking code.

The pipeline for one page:

1. :func:`candidates` - union of the interest vector's nearest notes (exact dot products
   for a pool up to ``ANN_THRESHOLD`` notes, the usearch index of ``core.vectors``
   beyond), topic/hashtag affinity, an exploration draw of fresh notes by small
   creators, trending notes and notes of followed creators; minus notes already
   served in this scroll session, the reader's own notes and "not interested" fatigue.
2. The service keeps the candidates ``visible_to`` the reader (one query).
3. :func:`features` - one row of ``ranking.FEATURES`` per candidate.
4. :func:`pick` - ranker scores, then ``rerank.rerank`` for diversity and creator
   fairness, and a "Why this?" reason per note.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bridgenote.core.ids import EPOCH_MS
from bridgenote.core.vectors import VectorIndex
from bridgenote.feed import ranking, rerank
from bridgenote.feed.cursor import SeenFilter, bit_positions
from bridgenote.feed.profile import Profile

DIM = 512
FRESH_HOURS = 72.0
ANN_THRESHOLD = 20_000
SOURCES = {"similar": 150, "topic": 120, "explore": 40, "trending": 40, "following": 40, "popular": 60}


def note_ms(note_id: int) -> int:
    """Creation time of a note from its time-ordered id."""
    return (note_id >> 22) + EPOCH_MS


@dataclass(frozen=True)
class PoolRow:
    note_id: int
    author_id: int
    language: str | None
    region: str | None
    topics: tuple[str, ...]
    embedding: npt.NDArray[np.float32] | None
    likes: int = 0
    saves: int = 0
    comments: int = 0
    views: int = 0
    trend: float = 0.0  # weighted engagements in the last two days
    followers: int = 0
    impressions: int = 0  # discover impressions of the note so far


@dataclass
class Pool:
    ids: npt.NDArray[np.int64]
    authors: npt.NDArray[np.int64]
    created_ms: npt.NDArray[np.int64]
    languages: list[str | None]
    regions: list[str | None]
    topics: list[tuple[str, ...]]
    emb: npt.NDArray[np.float32]
    engagement: npt.NDArray[np.float32]
    trending: npt.NDArray[np.float32]
    followers: npt.NDArray[np.int64]
    built_ms: int
    weights: dict[str, float] = field(default_factory=lambda: dict(ranking.DEFAULT_WEIGHTS))
    # Discover impressions per creator: from the database at build time, plus what this
    # process served since (the fairness term of the re-rank reads both). Indexed by
    # ``creator_slot`` (per position) into the pool's distinct ``creator_ids``, so a page
    # reads its 200 candidates' exposure in one gather.
    creator_ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    creator_slot: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    creator_exposure: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    topic_index: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    position: dict[int, int] = field(default_factory=dict)
    trending_order: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    popular_order: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fresh_small: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ann: VectorIndex | None = None
    # Per region: positions moderation hid there (filled on first use by the service).
    region_hidden: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    # Derived once per build for vectorised reads.
    bloom: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    size_feature: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    language_codes: npt.NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))
    # Per set of reader languages: positions in one of them or of no known language (filled
    # on first use; a handful of sets cover nearly every reader).
    language_fit_masks: dict[frozenset[str], npt.NDArray[np.bool_]] = field(default_factory=dict)
    topic_vocab: dict[str, int] = field(default_factory=dict)
    topic_rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    topic_cols: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    topic_counts: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # ``topic_cols[topic_ptr[i]:topic_ptr[i + 1]]``: note ``i``'s topics, in order.
    topic_ptr: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, rows: Sequence[PoolRow], *, now_ms: int, weights: Mapping[str, float] | None = None) -> Pool:
        n = len(rows)
        emb = np.zeros((n, DIM), dtype=np.float32)
        for i, r in enumerate(rows):
            if r.embedding is not None:
                emb[i] = r.embedding
        trend = np.array([r.trend for r in rows], dtype=np.float64)
        top_trend = max(float(trend.max()) if n else 0.0, 1.0)
        pool = cls(
            ids=np.array([r.note_id for r in rows], dtype=np.int64),
            authors=np.array([r.author_id for r in rows], dtype=np.int64),
            created_ms=np.array([note_ms(r.note_id) for r in rows], dtype=np.int64),
            languages=[r.language for r in rows],
            regions=[r.region for r in rows],
            topics=[r.topics for r in rows],
            emb=emb,
            engagement=np.array(
                [
                    ranking.engagement_rate(likes=r.likes, saves=r.saves, comments=r.comments, views=r.views)
                    for r in rows
                ],
                dtype=np.float32,
            ),
            trending=(np.log1p(trend) / math.log1p(top_trend)).astype(np.float32),
            followers=np.array([r.followers for r in rows], dtype=np.int64),
            built_ms=now_ms,
            weights=dict(weights or ranking.DEFAULT_WEIGHTS),
        )
        pool.creator_ids, slots = np.unique(pool.authors, return_inverse=True)
        pool.creator_slot = slots.astype(np.int64).reshape(-1)
        impressions = np.array([r.impressions for r in rows], dtype=np.float64)
        pool.creator_exposure = np.bincount(
            pool.creator_slot, weights=impressions, minlength=len(pool.creator_ids)
        ).astype(np.float64)
        index: dict[str, list[int]] = {}
        for i, topics in enumerate(pool.topics):
            for t in topics:
                index.setdefault(t, []).append(i)
        pool.topic_index = {t: np.array(v, dtype=np.int64) for t, v in index.items()}
        pool.position = {int(k): i for i, k in enumerate(pool.ids)}
        pool.bloom = bit_positions(int(k) for k in pool.ids)
        pool.size_feature = np.array([ranking.creator_size(float(f)) for f in pool.followers], dtype=np.float32)
        pool.language_codes = np.array([lang or "" for lang in pool.languages], dtype=object)
        pool.topic_vocab = {t: i for i, t in enumerate(index)}
        pairs = [(i, pool.topic_vocab[t]) for i, topics in enumerate(pool.topics) for t in topics]
        pool.topic_rows = np.array([r for r, _c in pairs], dtype=np.int64)
        pool.topic_cols = np.array([c for _r, c in pairs], dtype=np.int64)
        per_note = np.bincount(pool.topic_rows, minlength=n)
        pool.topic_counts = np.maximum(per_note, 1).astype(np.float64)
        pool.topic_ptr = np.concatenate([[0], np.cumsum(per_note)]).astype(np.int64)
        pool.trending_order = np.argsort(-pool.trending, kind="stable")[: SOURCES["trending"] * 5]
        pool.trending_order = pool.trending_order[pool.trending[pool.trending_order] > 0]
        pool.popular_order = np.argsort(-pool.engagement, kind="stable")[: SOURCES["popular"] * 5]
        age_h = (now_ms - pool.created_ms) / 3_600_000
        small = pool.followers < ranking.SMALL_CREATOR_FOLLOWERS
        pool.fresh_small = np.flatnonzero((age_h < FRESH_HOURS) & small)
        if n > ANN_THRESHOLD:
            pool.ann = VectorIndex(DIM)
            has = np.flatnonzero(np.any(emb != 0, axis=1))
            pool.ann.upsert([int(i) for i in has], emb[has])
        return pool

    def record_served(self, positions: Iterable[int] | npt.NDArray[np.int64]) -> None:
        served = positions if isinstance(positions, np.ndarray) else np.fromiter(positions, dtype=np.int64)
        np.add.at(self.creator_exposure, self.creator_slot[served], 1.0)

    def exposure(self) -> dict[int, float]:
        """Discover impressions per creator, as a mapping (for sharing the pool)."""
        return {int(k): float(v) for k, v in zip(self.creator_ids, self.creator_exposure, strict=True)}

    def set_exposure(self, exposure: Mapping[int, float]) -> None:
        self.creator_exposure = np.array([exposure.get(int(k), 0.0) for k in self.creator_ids], dtype=np.float64)

    def by_creators(self, creators: Collection[int]) -> npt.NDArray[np.bool_]:
        """Positions of notes by one of ``creators`` (matched over the pool's distinct
        creators, a fraction of its notes, then spread to the notes)."""
        if not creators:
            return np.zeros(len(self), dtype=bool)
        wanted = np.fromiter(creators, dtype=np.int64, count=len(creators))
        return np.isin(self.creator_ids, wanted)[self.creator_slot]

    def language_fit(self, languages: frozenset[str]) -> npt.NDArray[np.bool_]:
        """Positions in one of ``languages`` or of no known language (all, for no languages)."""
        mask = self.language_fit_masks.get(languages)
        if mask is None:
            mask = np.isin(self.language_codes, [*languages, ""]) if languages else np.ones(len(self), dtype=bool)
            self.language_fit_masks[languages] = mask
        return mask


@dataclass
class Reader:
    """Who the page is for, as the pipeline needs it."""

    profile: Profile
    languages: frozenset[str] = frozenset()  # feed language codes ("en", "zh"); empty: any
    followed: frozenset[int] = frozenset()
    user_id: int | None = None
    region: str | None = None
    # Authors the reader blocked, was blocked by or muted.
    hidden_authors: frozenset[int] = frozenset()
    seen: Container[int] = ()
    seed: int = 0
    page: int = 0
    now_ms: int = 0


@dataclass(frozen=True)
class Pick:
    note_id: int
    position: int
    score: float
    reason: str  # a code, see ``service.REASONS``
    topic: str | None
    exploration: bool


# ---------------------------------------------------------------- candidates


def interest_vector(pool: Pool, profile: Profile) -> npt.NDArray[np.float32] | None:
    """The profile's vector, or for a newcomer the weighted centroid of the notes tagged
    with their interests (cold start without running the encoder on a read)."""
    if profile.vector is not None:
        return profile.vector
    total = np.zeros(DIM, dtype=np.float32)
    for topic, weight in profile.top_topics(20):
        rows = pool.topic_index.get(topic)
        if rows is not None and len(rows):
            total += np.float32(weight) * pool.emb[rows].mean(axis=0)
    norm = float(np.linalg.norm(total))
    return (total / norm).astype(np.float32) if norm > 1e-6 else None


def _usable_mask(pool: Pool, reader: Reader) -> npt.NDArray[np.bool_]:
    """Pool positions that may be offered: not seen in this scroll session, not the
    reader's own, not a creator or topic they just said "not interested" to."""
    profile = reader.profile
    excluded = profile.fatigued_creators(reader.now_ms) | reader.hidden_authors
    if reader.user_id is not None:
        excluded.add(reader.user_id)
    ok = np.ones(len(pool), dtype=bool)
    if excluded:
        ok &= ~pool.by_creators(excluded)
    if isinstance(reader.seen, SeenFilter):
        ok &= ~reader.seen.contains_many(pool.bloom)
    else:
        ok &= np.fromiter((int(k) not in reader.seen for k in pool.ids), dtype=bool, count=len(pool))
    tired = profile.fatigued_topics(reader.now_ms)
    for topic in tired:
        rows = pool.topic_index.get(topic)
        if rows is not None:
            ok[rows] = False
    return ok


def _topic_scores(pool: Pool, profile: Profile) -> npt.NDArray[np.float64]:
    """Sum of the profile's topic weights over each note's topics, divided by their number."""
    weights = np.zeros(len(pool.topic_vocab) + 1)
    for topic, w in profile.topic_weights.items():
        col = pool.topic_vocab.get(topic)
        if col is not None:
            weights[col] = w
    if len(pool.topic_rows) == 0:
        return np.zeros(len(pool))
    total = np.bincount(pool.topic_rows, weights=weights[pool.topic_cols], minlength=len(pool))
    return np.asarray(total / pool.topic_counts, dtype=np.float64)


def candidates(pool: Pool, reader: Reader) -> npt.NDArray[np.int64]:
    """Positions of candidate notes (deduplicated, nothing already seen or fatigued)."""
    if len(pool) == 0:
        return np.zeros(0, dtype=np.int64)
    profile = reader.profile
    ok = _usable_mask(pool, reader)

    def usable(positions: npt.NDArray[np.int64] | Sequence[int], want: int) -> list[int]:
        arr = np.asarray(positions, dtype=np.int64)
        return [int(p) for p in arr[ok[arr]][:want]] if arr.size else []

    chosen: dict[int, None] = {}
    vector = interest_vector(pool, profile)
    if vector is not None:
        want = SOURCES["similar"]
        if pool.ann is not None:
            near = np.array([k for k, _ in pool.ann.search(vector, want * 3)], dtype=np.int64)
        else:
            sims = np.where(ok, pool.emb @ vector, -np.inf)
            top = np.argpartition(-sims, min(want, len(sims) - 1))[:want]
            near = top[np.argsort(-sims[top])]
        chosen.update(dict.fromkeys(usable(near, want)))
    if profile.top_topics(1):
        scores = np.where(ok, _topic_scores(pool, profile), 0.0)
        top = np.argsort(-scores, kind="stable")[: SOURCES["topic"]]
        chosen.update(dict.fromkeys(int(p) for p in top if scores[p] > 0))
    if len(pool.fresh_small):
        rng = np.random.default_rng((reader.seed, reader.page))
        chosen.update(dict.fromkeys(usable(rng.permutation(pool.fresh_small), SOURCES["explore"])))
    chosen.update(dict.fromkeys(usable(pool.trending_order, SOURCES["trending"])))
    if reader.followed:
        mine = np.flatnonzero(pool.by_creators(reader.followed) & ok)[::-1]
        chosen.update(dict.fromkeys(int(p) for p in mine[: SOURCES["following"]]))
    if len(chosen) < SOURCES["popular"]:
        chosen.update(dict.fromkeys(usable(pool.popular_order, SOURCES["popular"])))
        if len(chosen) < SOURCES["popular"]:  # a small community: everything recent
            chosen.update(dict.fromkeys(usable(np.arange(len(pool) - 1, -1, -1), SOURCES["popular"])))
    return np.fromiter(chosen, dtype=np.int64, count=len(chosen))


# ---------------------------------------------------------------- features and ranking


def features(pool: Pool, positions: npt.NDArray[np.int64], reader: Reader) -> npt.NDArray[np.float32]:
    """``(len(positions), len(ranking.FEATURES))``, columns in ``ranking.FEATURES`` order."""
    n = len(positions)
    x = np.zeros((n, len(ranking.FEATURES)), dtype=np.float32)
    if n == 0:
        return x
    col = {name: i for i, name in enumerate(ranking.FEATURES)}
    profile = reader.profile
    vector = interest_vector(pool, profile)
    if vector is not None:
        x[:, col["similarity"]] = np.clip(pool.emb[positions] @ vector, 0.0, 1.0)
    x[:, col["topic_affinity"]] = np.tanh(_topic_scores(pool, profile)[positions] / 2.0)
    if profile.creator_weights:
        keys = np.array([int(k) for k in profile.creator_weights], dtype=np.int64)
        values = np.array(list(profile.creator_weights.values()), dtype=np.float64)
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        authors = pool.authors[positions]
        at = np.clip(np.searchsorted(keys, authors), 0, len(keys) - 1)
        x[:, col["creator_affinity"]] = np.where(keys[at] == authors, np.tanh(values[at] / 2.0), 0.0)
    x[:, col["engagement"]] = pool.engagement[positions]
    age_h = (reader.now_ms - pool.created_ms[positions]) / 3_600_000
    x[:, col["freshness"]] = 0.5 ** (np.maximum(age_h, 0.0) / ranking.FRESHNESS_HALF_LIFE_HOURS)
    x[:, col["creator_size"]] = pool.size_feature[positions]
    x[:, col["language_fit"]] = pool.language_fit(reader.languages)[positions]
    if reader.followed:
        x[:, col["following"]] = pool.by_creators(reader.followed)[positions]
    x[:, col["trending"]] = pool.trending[positions]
    return x


def _best_topic(pool: Pool, position: int, profile: Profile) -> str | None:
    topics = pool.topics[position]
    if not topics:
        return None
    best = max(topics, key=lambda t: profile.topic_weights.get(t, 0.0))
    return best if profile.topic_weights.get(best, 0.0) > 0 else None


def _reason(pool: Pool, position: int, top: str, reader: Reader, *, exploring: bool) -> tuple[str, str | None]:
    """The "Why this?" of a chosen note; ``top`` is the feature that added most to its score."""
    profile = reader.profile
    topic = _best_topic(pool, position, profile)
    small = int(pool.followers[position]) < ranking.SMALL_CREATOR_FOLLOWERS
    if exploring:
        return "new_creator", topic or (pool.topics[position][0] if pool.topics[position] else None)
    if top in ("similarity", "topic_affinity", "language_fit"):
        if topic is not None:
            source = profile.topic_sources.get(topic, "like")
            code = {
                "save": "saved_topic",
                "interest": "interest_topic",
                "more_like_this": "more_like_this",
                "comment": "commented_topic",
                "reply": "commented_topic",
            }.get(source, "liked_topic")
            return code, topic
        return "similar", None
    if top == "creator_affinity":
        return "creator_you_like", None
    if top == "following":
        return "following", None
    if top == "trending":
        region = pool.regions[position]
        return ("popular_region" if region and region == reader.region else "trending"), None
    if top == "freshness":
        return ("new_creator", topic) if small else ("fresh", None)
    return "popular", None


def pick(
    pool: Pool,
    positions: npt.NDArray[np.int64],
    reader: Reader,
    *,
    size: int,
    config: rerank.Config = rerank.Config(),
) -> list[Pick]:
    """Rank the (visible) candidates and choose one page, with a reason for each note."""
    pages = pick_pages(pool, positions, reader, size=size, pages=1, config=config)
    return pages[0] if pages else []


def pick_pages(
    pool: Pool,
    positions: npt.NDArray[np.int64],
    reader: Reader,
    *,
    size: int,
    pages: int,
    config: rerank.Config = rerank.Config(),
) -> list[list[Pick]]:
    """Up to ``pages`` consecutive pages from one scoring of the candidates: each page is
    re-ranked (creator cap, topic spread, exploration slots, language mix) from what the
    pages before it left, as if the reader had scrolled to it."""
    if len(positions) == 0 or size <= 0:
        return []
    x = features(pool, positions, reader)
    scores = ranking.score(x, pool.weights)
    if reader.profile.other_language_share is not None:
        config = rerank.Config(**{**config.__dict__, "other_language_share": reader.profile.other_language_share})
    left = np.ones(len(positions), dtype=bool)
    out: list[list[Pick]] = []
    for _page in range(pages):
        page = _pick_one(pool, positions, x, scores, left, reader, size=size, config=config)
        if not page:
            break
        out.append(page)
    return out


def _pick_one(
    pool: Pool,
    positions: npt.NDArray[np.int64],
    x: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    left: npt.NDArray[np.bool_],
    reader: Reader,
    *,
    size: int,
    config: rerank.Config,
) -> list[Pick]:
    """One page from the candidates still ``left`` (which it clears for the notes chosen)."""
    remaining = np.flatnonzero(left)
    if len(remaining) == 0:
        return []
    order = remaining[np.argsort(-scores[remaining], kind="stable")[: min(config.candidates, max(size * 10, 60))]]
    ranked = positions[order]
    small = pool.followers[ranked] < ranking.SMALL_CREATOR_FOLLOWERS
    age_h = (reader.now_ms - pool.created_ms[ranked]) / 3_600_000
    authors = pool.authors[ranked]
    other = ~pool.language_fit(reader.languages)[ranked]
    rows, cols = _topic_entries(pool, ranked)
    fresh = small & (age_h < FRESH_HOURS)
    chosen = rerank.choose(
        scores=scores[order].astype(np.float64),
        creators=authors,
        topic_rows=rows,
        topic_cols=cols,
        small=small,
        fresh=fresh,
        exposure=pool.creator_exposure[pool.creator_slot[ranked]],
        other=other,
        size=size,
        config=config,
    )
    if not chosen:
        return []
    picked = order[chosen]
    left[picked] = False
    tops = ranking.top_features(x[picked], pool.weights)
    at = positions[picked]
    every = config.exploration_every
    out = []
    for slot, (p, note_id, score, is_fresh) in enumerate(
        zip(at.tolist(), pool.ids[at].tolist(), scores[picked].tolist(), fresh[chosen].tolist(), strict=True)
    ):
        exploring = (
            every > 0 and slot % every == every - 1 and is_fresh and tops[slot] not in ("similarity", "topic_affinity")
        )
        reason, topic = _reason(pool, p, tops[slot], reader, exploring=exploring)
        out.append(Pick(note_id, p, score, reason, topic, exploring))
    return out


def _topic_entries(pool: Pool, positions: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(candidate index, topic id) pairs for ``positions``, grouped by candidate with each
    note's topics in order (``rerank.choose``'s layout)."""
    starts = pool.topic_ptr[positions]
    counts = pool.topic_ptr[positions + 1] - starts
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(positions), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    # Renumbered densely: the re-rank's topic matrix is candidates × distinct topics.
    _distinct, cols = np.unique(pool.topic_cols[np.repeat(starts, counts) + offsets], return_inverse=True)
    return rows, cols.astype(np.int64)


def rank(
    pool: Pool, reader: Reader, *, size: int, visible: Any = None, config: rerank.Config | None = None
) -> list[Pick]:
    """The whole pipeline without a database (``visible``: an optional predicate on note ids)."""
    cand = candidates(pool, reader)
    if visible is not None:
        cand = np.array([p for p in cand if visible(int(pool.ids[p]))], dtype=np.int64)
    return pick(pool, cand, reader, size=size, config=config or rerank.Config())
