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
import numpy.typing as npt


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
    if not items or size <= 0:
        return []
    topic_ids: dict[Hashable, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, it in enumerate(items):
        for t in it.topics:
            rows.append(i)
            cols.append(topic_ids.setdefault(t, len(topic_ids)))
    chosen = choose(
        scores=np.array([it.score for it in items], dtype=np.float64),
        creators=np.array([it.creator for it in items], dtype=np.int64),
        topic_rows=np.array(rows, dtype=np.int64),
        topic_cols=np.array(cols, dtype=np.int64),
        small=np.array([it.small_creator for it in items], dtype=bool),
        fresh=np.array([it.fresh for it in items], dtype=bool),
        exposure=np.array([it.creator_exposure for it in items], dtype=np.float64),
        other=np.array([it.other_language for it in items], dtype=bool),
        size=size,
        config=config,
    )
    return [items[i] for i in chosen]


def choose(
    *,
    scores: npt.NDArray[np.float64],
    creators: npt.NDArray[np.int64],
    topic_rows: npt.NDArray[np.int64],
    topic_cols: npt.NDArray[np.int64],
    small: npt.NDArray[np.bool_],
    fresh: npt.NDArray[np.bool_],
    exposure: npt.NDArray[np.float64],
    other: npt.NDArray[np.bool_],
    size: int,
    config: Config = Config(),
) -> list[int]:
    """:func:`rerank` over parallel arrays (one entry per candidate, best first): the
    indices of the chosen candidates in page order. The feed's read path calls this
    directly, so a page builds no per-candidate Python objects.

    A candidate's topics are the ``topic_cols`` entries whose ``topic_rows`` is its index,
    its main topic the first of them (entries grouped by candidate, in topic order).
    """
    n = len(scores)
    if n == 0 or size <= 0:
        return []
    relevance = _scaled(np.asarray(scores, dtype=np.float64))
    exposure = np.log1p(np.maximum(exposure, 0.0))
    fresh = fresh & small
    base = relevance - config.exposure_weight * exposure + config.small_creator_boost * small
    per_row = np.bincount(topic_rows, minlength=n)
    topics = np.zeros((n, max(int(topic_cols.max()) + 1 if len(topic_cols) else 0, 1)), dtype=np.float64)
    if len(topic_rows):
        topics[topic_rows, topic_cols] = 1.0 / per_row[topic_rows]
    main_topic = np.full(n, -1, dtype=np.int64)
    firsts = np.flatnonzero(np.r_[True, topic_rows[1:] != topic_rows[:-1]]) if len(topic_rows) else topic_rows
    main_topic[topic_rows[firsts]] = topic_cols[firsts]
    has_topics = topics > 0
    shown_topics = np.zeros(topics.shape[1])
    per_creator: dict[int, int] = {}
    per_topic: dict[int, int] = {}
    available = np.ones(n, dtype=bool)
    # Hard caps, relaxed in this order when nothing else is left: topic share, then creator cap.
    creator_ok = np.ones(n, dtype=bool)
    topic_ok = np.ones(n, dtype=bool)
    # The candidates no cap rules out, as their base score (-inf for the rest), kept up to date
    # as slots fill: almost every slot picks among these, with one argmax and no mask building.
    # Only when none of them is left, or none fits the slot's language turn, do the caps relax.
    strict_base = base.copy()
    strict_count, strict_other = n, int(np.count_nonzero(other))
    not_other = ~other
    topic_cap = max(2, math.ceil(config.topic_share * min(size, n)))
    page: list[int] = []
    other_count = 0
    share = config.other_language_share
    every = config.exploration_every
    while len(page) < min(size, n):
        slot = len(page)
        # Dividing by the slot (at least 1) keeps the penalty a share of the page so far.
        penalty = config.topic_penalty * (topics @ shown_topics) / slot if slot else 0.0
        want: npt.NDArray[np.bool_] | None = None
        wanted = strict_count
        if share is not None:
            target = share * (slot + 1)
            if other_count < target - 0.5:
                want, wanted = other, strict_other
            elif other_count + 1 > target + 0.5:
                want, wanted = not_other, strict_count - strict_other
        exploring = every > 0 and slot % every == every - 1
        if wanted > 0:
            adjusted = strict_base - penalty
            if want is not None:
                adjusted = np.where(want, adjusted, -np.inf)
        else:
            adjusted = np.where(_relaxed(available, creator_ok, topic_ok, want), base - penalty, -np.inf)
        pick = -1
        if exploring:
            among_fresh = np.where(fresh, adjusted, -np.inf)
            pick = int(np.argmax(among_fresh))
            if among_fresh[pick] == -np.inf:
                pick = -1
        if pick < 0:
            pick = int(np.argmax(adjusted))
            if adjusted[pick] == -np.inf:
                break
        page.append(pick)
        if strict_base[pick] != -np.inf:
            strict_count -= 1
            strict_other -= bool(other[pick])
        strict_base[pick] = -np.inf
        available[pick] = False
        shown_topics += has_topics[pick]
        capped = False
        creator = int(creators[pick])
        per_creator[creator] = per_creator.get(creator, 0) + 1
        if per_creator[creator] >= config.creator_cap:
            creator_ok &= creators != creator
            capped = True
        main = int(main_topic[pick])
        if main >= 0:
            per_topic[main] = per_topic.get(main, 0) + 1
            if per_topic[main] >= topic_cap:
                topic_ok &= main_topic != main
                capped = True
        if capped:
            strict = available & creator_ok & topic_ok
            strict_base = np.where(strict, base, -np.inf)
            strict_count, strict_other = int(np.count_nonzero(strict)), int(np.count_nonzero(strict & other))
        other_count += bool(other[pick])
    return page


def _relaxed(
    available: npt.NDArray[np.bool_],
    creator_ok: npt.NDArray[np.bool_],
    topic_ok: npt.NDArray[np.bool_],
    want: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.bool_]:
    """The slot's candidates when no candidate within the caps will do: drop the topic share,
    then the creator cap, until some are left; the language turn outranks the topic share."""
    open_ = available & creator_ok
    if not open_.any():
        open_ = available
    allowed = open_ & topic_ok
    if not allowed.any():
        allowed = open_
    if want is not None:
        if (allowed & want).any():
            return allowed & want
        if (open_ & want).any():
            return open_ & want
    return allowed
