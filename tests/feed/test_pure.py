"""The pure parts of the pipeline: cursor, profile updates, ranking model, re-ranking."""

from __future__ import annotations

import numpy as np
import pytest

from bridgenote.core.errors import BadRequest
from bridgenote.core.ids import id_floor_for_ms
from bridgenote.feed import ranking, rerank
from bridgenote.feed.cursor import SeenFilter, bit_positions
from bridgenote.feed.pools import Pool, PoolRow, Reader, rank
from bridgenote.feed.profile import Profile, guess_language, interest_topics, language_of


def test_cursor_round_trip_and_bad_cursors_are_400() -> None:
    seen = SeenFilter(seed=1234, page=3)
    seen.add(range(1, 500))
    back = SeenFilter.decode(seen.encode())
    assert back.seed == 1234 and back.page == 3
    assert all(i in back for i in range(1, 500))
    assert sum(i in back for i in range(10_000, 11_000)) < 20  # few false positives
    assert len(seen.encode()) < 3000
    for bad in ("", "abc", "!!!!", seen.encode()[:-10], "A" * 5000):
        with pytest.raises(BadRequest):
            SeenFilter.decode(bad)


def test_cursor_membership_of_a_whole_pool_agrees_with_single_lookups() -> None:
    keys = list(range(10**12, 10**12 + 3000, 7))
    positions = bit_positions(keys)
    empty = SeenFilter(seed=1)
    assert empty.contains_many(positions).shape == (len(keys),) and not empty.contains_many(positions).any()
    seen = SeenFilter(seed=1)
    seen.add(keys[:100])
    many = seen.contains_many(positions)
    assert many.tolist() == [k in seen for k in keys]
    assert many[:100].all()


def test_languages() -> None:
    assert language_of("zh-Hans") == "zh" and language_of("en") == "en" and language_of(None) is None
    assert guess_language("今天去吃火锅 hotpot") == "zh"
    assert guess_language("A long hike near Beijing") == "en"
    assert guess_language("123 !!") is None


def test_interests_map_to_tags_in_both_languages() -> None:
    topics = interest_topics(["food", "knitting"])
    assert "美食" in topics and "foodie" in topics and "knitting" in topics


def test_profile_moves_with_signals_and_fatigue_expires() -> None:
    p = Profile()
    p.seed_interests(["food"])
    assert p.topic_sources["美食"] == "interest"
    vec = np.zeros(512, dtype=np.float32)
    vec[0] = 1.0
    p.record("save", creator=7, topics=["travel"], embedding=vec, at_ms=1_000)
    assert p.topic_weights["travel"] == pytest.approx(3.0)
    assert p.topic_sources["travel"] == "save"
    assert p.vector is not None and p.vector[0] == pytest.approx(1.0)
    assert p.topic_weights["美食"] < 2.0  # older weights decay
    p.record("like", creator=7, topics=["travel"], embedding=None, at_ms=2_000)
    assert p.topic_sources["travel"] == "save"  # the strongest signal stays the explanation
    p.record("not_interested", creator=9, topics=["gossip"], embedding=None, at_ms=3_000)
    assert p.fatigued_creators(4_000) == {9}
    assert p.fatigued_topics(4_000) == {"gossip"}
    assert p.fatigued_creators(3_000 + 4 * 86_400_000) == set()
    with pytest.raises(ValueError):
        p.record("poke", creator=1, topics=[], embedding=None)


def test_logistic_fit_recovers_the_useful_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((2000, len(ranking.FEATURES))).astype(np.float32)
    y = (x[:, 0] + 0.1 * rng.standard_normal(2000) > 0.5).astype(np.float64)
    w = ranking.fit_logistic(x, y)
    assert max(w, key=lambda k: abs(w[k])) == "similarity"
    assert ranking.log_loss(x, y, w) < ranking.log_loss(x, y, ranking.DEFAULT_WEIGHTS)
    with pytest.raises(ValueError):
        ranking.fit_logistic(x, np.ones(2000))


def test_engagement_weighs_saves_above_likes() -> None:
    saves = ranking.engagement_rate(likes=0, saves=10, comments=0, views=100)
    likes = ranking.engagement_rate(likes=10, saves=0, comments=0, views=100)
    assert saves > likes


def test_rerank_caps_creators_and_keeps_exploration_slots() -> None:
    items = [rerank.Item(key=i, score=100 - i, creator=1, topics=("a",)) for i in range(10)]
    items += [rerank.Item(key=100 + i, score=10 - i, creator=2 + i, topics=(f"t{i}",)) for i in range(10)]
    items += [rerank.Item(key=200, score=-100, creator=50, topics=("new",), small_creator=True, fresh=True)]
    page = rerank.rerank(items, size=8, config=rerank.Config(creator_cap=2, exploration_every=4))
    assert sum(1 for it in page if it.creator == 1) == 2
    assert page[3].key == 200  # the fourth slot explores


def test_rerank_over_arrays_is_the_rerank_over_items() -> None:
    # The read path calls ``choose`` on arrays; the evaluations call ``rerank`` on items.
    rng = np.random.default_rng(5)
    items = [
        rerank.Item(
            key=i,
            score=float(rng.random()),
            creator=int(rng.integers(0, 12)),
            topics=tuple(str(t) for t in rng.choice(6, size=int(rng.integers(0, 3)), replace=False)),
            small_creator=bool(rng.random() < 0.4),
            fresh=bool(rng.random() < 0.3),
            creator_exposure=float(rng.random() * 40),
            other_language=bool(rng.random() < 0.3),
        )
        for i in range(80)
    ]
    config = rerank.Config(other_language_share=0.25)
    rows = [i for i, it in enumerate(items) for _t in it.topics]
    vocab: dict[str, int] = {}
    cols = [vocab.setdefault(str(t), len(vocab)) for it in items for t in it.topics]
    chosen = rerank.choose(
        scores=np.array([it.score for it in items]),
        creators=np.array([it.creator for it in items]),
        topic_rows=np.array(rows, dtype=np.int64),
        topic_cols=np.array(cols, dtype=np.int64),
        small=np.array([it.small_creator for it in items]),
        fresh=np.array([it.fresh for it in items]),
        exposure=np.array([it.creator_exposure for it in items]),
        other=np.array([it.other_language for it in items]),
        size=20,
        config=config,
    )
    page = rerank.rerank(items, size=20, config=config)
    assert chosen == [it.key for it in page]
    assert len(set(chosen)) == 20
    assert max(sum(1 for k in chosen if items[k].creator == c) for c in range(12)) <= config.creator_cap
    assert sum(items[k].other_language for k in chosen) == 5


def test_rerank_follows_the_language_mix() -> None:
    items = [rerank.Item(key=i, score=100 - i, creator=i, other_language=i % 5 == 0) for i in range(100)]
    page = rerank.rerank(items, size=20, config=rerank.Config(other_language_share=0.3, exploration_every=0))
    assert sum(it.other_language for it in page) == 6


def _vec(i: int) -> np.ndarray:
    v = np.zeros(512, dtype=np.float32)
    v[i] = 1.0
    return v


def test_pipeline_prefers_the_interest_and_gives_small_creators_room() -> None:
    now = 1_800_000_000_000
    base = id_floor_for_ms(now - 3_600_000)
    rows = []
    for i in range(60):
        food = i % 2 == 0
        rows.append(
            PoolRow(
                note_id=base + i * 10_000,
                author_id=1000 + i % 12,
                language="en",
                region="US",
                topics=("food",) if food else ("cars",),
                embedding=_vec(0 if food else 1),
                likes=50 if not food else 5,
                views=200,
                followers=50_000 if i % 12 < 3 else 100,
            )
        )
    pool = Pool.build(rows, now_ms=now)
    profile = Profile()
    profile.seed_interests(["food"])
    page = rank(pool, Reader(profile=profile, now_ms=now), size=10)
    topics = [pool.topics[p.position] for p in page]
    # The interest first, up to the topic share of a page (4 of 10) while other topics are left.
    assert [t == ("food",) for t in topics[:4]] == [True] * 4
    assert 4 <= sum(t == ("food",) for t in topics) <= 6
    authors = [int(pool.authors[p.position]) for p in page]
    assert max(authors.count(a) for a in set(authors)) <= 2
    assert sum(int(pool.followers[p.position]) < 1000 for p in page) >= 5
    assert page[0].reason in ("interest_topic", "similar")
