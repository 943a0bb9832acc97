"""Re-ranking for diversity and creator fairness: turns ranked candidates into one page.

Greedy, one slot at a time, in the spirit of maximal marginal relevance. A slot goes
to the candidate with the best *adjusted* score:

    relevance (the ranker's score, scaled to [0, 1] over the candidates)
    - topic_penalty × how much of its topics the page already shows
    - exposure_weight × log(1 + the creator's recent impressions, platform-wide)
    + small_creator_boost if the creator has fewer than 1,000 followers

under hard rules: at most ``creator_cap`` notes per creator and ``topic_share`` of
the page per main topic; every
``exploration_every``-th slot is kept for a fresh note by a small creator when one
is available; with a language mix, the share of notes in languages the user does
not read follows the user's setting slot by slot.

Pure functions over plain values, so the MovieLens evaluation and the platform
simulation run exactly this code.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Item:
    key: int
    score: float
    creator: int
    topics: tuple[Hashable, ...] = ()
    small_creator: bool = False
    # Eligible for an exploration slot (a recent note by a small creator).
    fresh: bool = False
    creator_exposure: float = 0.0
    # In a language the user does not read (shown translated).
    other_language: bool = False


@dataclass(frozen=True)
class Config:
    candidates: int = 200
    creator_cap: int = 2
    # At most this share of a page (and never fewer than 2 notes) shares one main topic,
    # while notes of other topics are left.
    topic_share: float = 0.4
    topic_penalty: float = 0.35
    exploration_every: int = 4
    exposure_weight: float = 0.04
    small_creator_boost: float = 0.15
    # Share of the page in other languages; ``None`` leaves it to relevance.
    other_language_share: float | None = None


def _scaled(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    finite = np.isfinite(scores)
    lo = scores[finite].min() if finite.any() else 0.0
    hi = scores[finite].max() if finite.any() else 1.0
    out = (scores - lo) / max(hi - lo, 1e-9)
    out[~finite] = -1.0
    return out


def rerank(items: Sequence[Item], *, size: int, config: Config = Config()) -> list[Item]:
    """Pick ``size`` items (fewer only if there are fewer candidates) in page order."""
    n = len(items)
    if n == 0 or size <= 0:
        return []
    relevance = _scaled(np.array([it.score for it in items], dtype=np.float64))
    exposure = np.log1p(np.array([max(it.creator_exposure, 0.0) for it in items]))
    small = np.array([it.small_creator for it in items])
    fresh = np.array([it.fresh for it in items]) & small
    other = np.array([it.other_language for it in items])
    base = relevance - config.exposure_weight * exposure + config.small_creator_boost * small
    topic_ids: dict[Hashable, int] = {}
    rows: list[list[int]] = []
    for it in items:
        rows.append([topic_ids.setdefault(t, len(topic_ids)) for t in it.topics])
    topics = np.zeros((n, max(len(topic_ids), 1)), dtype=np.float64)
    for i, r in enumerate(rows):
        if r:
            topics[i, r] = 1.0 / len(r)
    creators = np.array([it.creator for it in items])
    main_topic = np.array([r[0] if r else -1 for r in rows])
    shown_topics = np.zeros(topics.shape[1])
    per_creator: dict[int, int] = {}
    per_topic: dict[int, int] = {}
    available = np.ones(n, dtype=bool)
    # Hard caps, relaxed in this order when nothing else is left: topic share, then creator cap.
    creator_ok = np.ones(n, dtype=bool)
    topic_ok = np.ones(n, dtype=bool)
    topic_cap = max(2, math.ceil(config.topic_share * min(size, n)))
    page: list[Item] = []
    other_count = 0
    share = config.other_language_share
    while len(page) < min(size, n):
        slot = len(page)
        open_ = available & creator_ok
        if not open_.any():
            open_ = available.copy()
        allowed = open_ & topic_ok
        if not allowed.any():
            allowed = open_
        if share is not None:
            target = share * (slot + 1)
            want = other if other_count < target - 0.5 else ~other if other_count + 1 > target + 0.5 else None
            if want is not None and (allowed & want).any():
                allowed = allowed & want
            elif want is not None and (open_ & want).any():  # the language mix outranks topic share
                allowed = open_ & want
        if config.exploration_every > 0 and slot % config.exploration_every == config.exploration_every - 1:
            explore = allowed & fresh
            if explore.any():
                allowed = explore
        adjusted = base - config.topic_penalty * (topics @ shown_topics) / max(slot, 1)
        adjusted = np.where(allowed, adjusted, -np.inf)
        pick = int(np.argmax(adjusted))
        if not np.isfinite(adjusted[pick]):
            break
        item = items[pick]
        page.append(item)
        available[pick] = False
        shown_topics += topics[pick] > 0
        per_creator[item.creator] = per_creator.get(item.creator, 0) + 1
        if per_creator[item.creator] >= config.creator_cap:
            creator_ok &= creators != item.creator
        if main_topic[pick] >= 0:
            per_topic[main_topic[pick]] = per_topic.get(main_topic[pick], 0) + 1
            if per_topic[main_topic[pick]] >= topic_cap:
                topic_ok &= main_topic != main_topic[pick]
        other_count += bool(other[pick])
    return page
