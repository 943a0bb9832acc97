"""Interest profiles: pure, in-memory updates (the service loads and stores the row).

A profile is a handful of decayed weights (topics, creators) plus an interest vector in
the multilingual embedding space. Every signal moves it at once: the old weights are
multiplied by ``DECAY`` and the new signal is added, so the last few dozen signals
dominate and a change of interests shows within a few sessions (measured by
``bench/feed_sim.py``: time to adapt).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bridgenote.core.text import fold

# How much each signal says about the user's interest in a note's topics (saves weigh most).
SIGNAL_WEIGHTS: dict[str, float] = {
    "view": 0.3,  # a long view (the client reports it)
    "like": 1.0,
    "comment": 1.5,
    "reply": 1.0,
    "comment_like": 0.3,
    "save": 3.0,
    "more_like_this": 3.0,
    "not_interested": -3.0,
}
FOLLOW_WEIGHT = 2.0
# Taken from a note's topics (split between them) each time Discover shows it: engagement
# (+1 for a like) outweighs it, so only what is shown again and again without a response
# fades. Without it the profile hears only positive signals and never lets go of interests
# a user has left (bench/feed_sim.py's time to adapt).
IMPRESSION_PENALTY = 0.1
# ... and a share of what the topics hold (split the same way), so that a strong interest
# fades in proportion, as a weak one does, once it stops drawing responses: the fixed
# penalty alone took dozens of sessions to wear down an interest built from weeks of likes.
# Interests that still draw a like every few impressions hold steady well above the others.
IMPRESSION_FADE = 0.04
INTEREST_WEIGHT = 2.0
DECAY = 0.93
MAX_TOPICS = 200
MAX_CREATORS = 200
# "Not interested" keeps the creator away for three days and the note's topics for one.
CREATOR_FATIGUE_MS = 3 * 86_400_000
TOPIC_FATIGUE_MS = 86_400_000

# Onboarding interests (the web app's topic keys) and the hashtags that stand for them
# in both languages. An interest that is not listed is taken as a hashtag itself.
INTEREST_TAGS: dict[str, tuple[str, ...]] = {
    "food": ("foodie", "美食", "food", "hotpot", "火锅", "探店", "recipe", "食谱"),
    "travel": ("travel", "旅行", "旅游", "citywalk", "攻略"),
    "pets": ("cattax", "猫税", "pets", "宠物", "猫", "dog", "狗"),
    "beauty": ("skincare", "护肤", "beauty", "美妆", "makeup"),
    "study": ("studywithme", "学习打卡", "study", "学习", "english", "中文"),
    "fashion": ("ootd", "穿搭", "fashion", "时尚"),
    "newcomers": ("tiktokrefugee", "欢迎新朋友", "newhere"),
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def now_ms() -> int:
    return int(time.time() * 1000)


def language_of(code: str | None) -> str | None:
    """A content language tag reduced to what the feed compares: ``zh-Hans`` -> ``zh``."""
    if not code:
        return None
    return code.split("-")[0].lower() or None


def guess_language(text: str) -> str | None:
    """Chinese if at least a fifth of the letters are Han characters, else English (the
    platform's two languages); ``None`` for text without letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    han = sum(1 for c in letters if _CJK.match(c))
    return "zh" if han / len(letters) >= 0.2 else "en"


def interest_topics(interests: Iterable[str]) -> list[str]:
    """The folded hashtag keys that onboarding interests stand for."""
    out: list[str] = []
    for interest in interests:
        for tag in INTEREST_TAGS.get(interest, (interest,)):
            key = fold(tag.lstrip("#").strip())
            if key and key not in out:
                out.append(key)
    return out


@dataclass
class Profile:
    interests: list[str] = field(default_factory=list)
    topic_weights: dict[str, float] = field(default_factory=dict)
    topic_sources: dict[str, str] = field(default_factory=dict)
    creator_weights: dict[str, float] = field(default_factory=dict)
    vector: npt.NDArray[np.float32] | None = None
    fatigue: dict[str, Any] = field(default_factory=dict)
    other_language_share: float | None = None
    signals: int = 0

    # ------------------------------------------------------------ reading

    def topic_affinity(self, topics: Sequence[str]) -> float:
        """Mean weight of a note's topics, squashed to ``(-1, 1)``."""
        if not topics:
            return 0.0
        total = sum(self.topic_weights.get(t, 0.0) for t in topics) / len(topics)
        return float(np.tanh(total / 2.0))

    def creator_affinity(self, creator: int) -> float:
        return float(np.tanh(self.creator_weights.get(str(creator), 0.0) / 2.0))

    def fatigued_creators(self, at_ms: int) -> set[int]:
        return {int(c) for c, until in self.fatigue.get("creators", {}).items() if int(until) > at_ms}

    def fatigued_topics(self, at_ms: int) -> set[str]:
        return {t for t, until in self.fatigue.get("topics", {}).items() if int(until) > at_ms}

    def top_topics(self, n: int = 20) -> list[tuple[str, float]]:
        ranked = sorted(self.topic_weights.items(), key=lambda kv: -kv[1])
        return [(t, w) for t, w in ranked[:n] if w > 0]

    # ------------------------------------------------------------ writing

    def seed_interests(self, interests: Sequence[str]) -> None:
        """Onboarding choices: each interest's hashtags get a starting weight (cold start)."""
        self.interests = list(dict.fromkeys(interests))
        for topic in interest_topics(self.interests):
            if self.topic_weights.get(topic, 0.0) < INTEREST_WEIGHT:
                self.topic_weights[topic] = INTEREST_WEIGHT
                self.topic_sources.setdefault(topic, "interest")

    def _decay(self) -> None:
        for weights in (self.topic_weights, self.creator_weights):
            for key in list(weights):
                weights[key] *= DECAY
                if abs(weights[key]) < 0.02:
                    del weights[key]
                    if weights is self.topic_weights:
                        self.topic_sources.pop(key, None)

    @staticmethod
    def _trim(weights: dict[str, float], limit: int) -> None:
        if len(weights) > limit:
            keep = sorted(weights, key=lambda k: -abs(weights[k]))[:limit]
            for key in set(weights) - set(keep):
                del weights[key]

    def record(
        self,
        kind: str,
        *,
        creator: int,
        topics: Sequence[str],
        embedding: npt.NDArray[np.float32] | None,
        at_ms: int | None = None,
    ) -> None:
        """Apply one signal about one note (see :data:`SIGNAL_WEIGHTS`)."""
        weight = SIGNAL_WEIGHTS.get(kind)
        if weight is None:
            raise ValueError(f"unknown signal {kind!r}")
        at_ms = now_ms() if at_ms is None else at_ms
        self._decay()
        self.signals += 1
        share = weight / max(len(topics), 1)
        for topic in topics:
            self.topic_weights[topic] = self.topic_weights.get(topic, 0.0) + share
            current = self.topic_sources.get(topic)
            if weight > 0 and (current is None or SIGNAL_WEIGHTS.get(current, INTEREST_WEIGHT) <= weight):
                self.topic_sources[topic] = kind
        key = str(creator)
        self.creator_weights[key] = self.creator_weights.get(key, 0.0) + weight * 0.5
        if embedding is not None and np.any(embedding):
            step = np.asarray(embedding, dtype=np.float32) * np.float32(weight if weight > 0 else weight / 2)
            base = self.vector if self.vector is not None else np.zeros_like(step)
            vector = base * np.float32(DECAY) + step * np.float32(0.35)
            norm = float(np.linalg.norm(vector))
            self.vector = (vector / norm).astype(np.float32) if norm > 1e-6 else None
        if kind == "not_interested":
            fatigue = {
                "creators": dict(self.fatigue.get("creators", {})),
                "topics": dict(self.fatigue.get("topics", {})),
            }
            fatigue["creators"][key] = at_ms + CREATOR_FATIGUE_MS
            for topic in topics:
                fatigue["topics"][topic] = at_ms + TOPIC_FATIGUE_MS
            # Expired entries leave, so the column stays small.
            for part in fatigue.values():
                for k in [k for k, until in part.items() if int(until) <= at_ms]:
                    del part[k]
            self.fatigue = fatigue
        self._trim(self.topic_weights, MAX_TOPICS)
        self._trim(self.creator_weights, MAX_CREATORS)
        for topic in [t for t in self.topic_sources if t not in self.topic_weights]:
            del self.topic_sources[topic]

    def discount_shown(self, shown: Iterable[Sequence[str]]) -> None:
        """Discover showed notes with these topics: each note takes
        :data:`IMPRESSION_FADE` of what its topics' weights hold and then
        :data:`IMPRESSION_PENALTY` (both split between its topics), never below zero (being
        shown something is no sign of disliking it, only of not being drawn to it)."""
        for topics in shown:
            if not topics:
                continue
            share = IMPRESSION_PENALTY / len(topics)
            fade = IMPRESSION_FADE / len(topics)
            for topic in topics:
                weight = self.topic_weights.get(topic)
                if weight is not None and weight > 0:
                    self.topic_weights[topic] = max(0.0, weight * (1.0 - fade) - share)

    def record_follow(self, creator: int, *, following: bool = True) -> None:
        key = str(creator)
        delta = FOLLOW_WEIGHT if following else -FOLLOW_WEIGHT
        self.creator_weights[key] = self.creator_weights.get(key, 0.0) + delta
        self._trim(self.creator_weights, MAX_CREATORS)
