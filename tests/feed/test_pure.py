"""The pure parts of the pipeline: cursor, profile updates, ranking model, re-ranking."""

from __future__ import annotations

import math

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


def test_cursor_takes_a_pools_precomputed_positions_as_its_keys() -> None:
    keys = [10**12 + k for k in (5, 9, 5, 77, 123_456)]  # a key twice sets the same bits
    by_key, by_position = SeenFilter(seed=1), SeenFilter(seed=1)
    by_key.add(keys)
    by_position.add_positions(bit_positions(keys))
    assert by_key.bits.tobytes() == by_position.bits.tobytes()
    assert all(k in by_position for k in keys)
    assert by_key.bits.any() and int(np.unpackbits(by_key.bits).sum()) <= 3 * len(set(keys))


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


def test_an_interest_left_behind_fades_however_strong_it_was() -> None:
    p = Profile()
    p.topic_weights = {"hotpot": 20.0, "knitting": 2.0, "travel": 20.0}
    # Thirty impressions of each without a response...
    p.discount_shown([["hotpot"]] * 30 + [["knitting"]] * 30)
    # ... take most of a weight built from weeks of likes, not a fixed 3 points of it,
    assert p.topic_weights["hotpot"] < 0.35 * 20.0
    assert 0.0 <= p.topic_weights["knitting"] < 0.35 * 2.0
    assert p.topic_weights["travel"] == 20.0  # and leave what was not shown alone.
    # An interest that still draws a like every third impression holds (every signal also
    # decays all weights a little, so it settles below where it started, far above zero).
    kept = Profile()
    kept.topic_weights = {"hotpot": 5.0}
    for at in range(30):
        kept.discount_shown([["hotpot"]] * 3)
        kept.record("like", creator=1, topics=["hotpot"], embedding=None, at_ms=at)
    assert kept.topic_weights["hotpot"] > 0.75 * 5.0


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


def _choose_by_the_rules(
    scores: list[float],
    creators: list[int],
    topics: list[list[int]],
    small: list[bool],
    fresh: list[bool],
    exposure: list[float],
    other: list[bool],
    *,
    size: int,
    config: rerank.Config,
) -> list[int]:
    """The re-rank's rules written out one candidate at a time, as the module docstring
    states them: the oracle for the array implementation."""
    n = len(scores)
    lo, hi = min(scores), max(scores)
    base = [
        (s - lo) / max(hi - lo, 1e-9) - config.exposure_weight * math.log1p(e) + config.small_creator_boost * sm
        for s, e, sm in zip(scores, exposure, small, strict=True)
    ]
    weight = [{t: 1.0 / len(ts) for t in ts} for ts in topics]
    shown: dict[int, int] = {}
    per_creator: dict[int, int] = {}
    per_topic: dict[int, int] = {}
    topic_cap = max(2, math.ceil(config.topic_share * min(size, n)))
    page: list[int] = []
    while len(page) < min(size, n):
        slot = len(page)
        available = [i for i in range(n) if i not in page]
        open_ = [i for i in available if per_creator.get(creators[i], 0) < config.creator_cap] or available
        allowed = [i for i in open_ if not topics[i] or per_topic.get(topics[i][0], 0) < topic_cap] or open_
        if config.other_language_share is not None:
            target = config.other_language_share * (slot + 1)
            shown_other = sum(other[i] for i in page)
            want = True if shown_other < target - 0.5 else False if shown_other + 1 > target + 0.5 else None
            if want is not None:
                allowed = [i for i in allowed if other[i] == want] or [i for i in open_ if other[i] == want] or allowed
        if config.exploration_every > 0 and slot % config.exploration_every == config.exploration_every - 1:
            allowed = [i for i in allowed if fresh[i] and small[i]] or allowed
        penalty = {i: sum(w * shown.get(t, 0) for t, w in weight[i].items()) for i in allowed}
        pick = max(allowed, key=lambda i: (base[i] - config.topic_penalty * penalty[i] / max(slot, 1), -i))
        page.append(pick)
        for t in topics[pick]:
            shown[t] = shown.get(t, 0) + 1
        per_creator[creators[pick]] = per_creator.get(creators[pick], 0) + 1
        if topics[pick]:
            per_topic[topics[pick][0]] = per_topic.get(topics[pick][0], 0) + 1
    return page


@pytest.mark.parametrize("seed", range(80))
def test_rerank_over_arrays_follows_the_rules(seed: int) -> None:
    # Few creators and topics, so the caps bind and get relaxed; some seeds mix languages.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 90))
    creators = [int(c) for c in rng.integers(0, int(rng.integers(1, 10)), size=n)]
    vocabulary = int(rng.integers(1, 6))
    topics = [
        [int(t) for t in rng.choice(vocabulary, size=int(rng.integers(0, vocabulary + 1)), replace=False)]
        for _ in range(n)
    ]
    scores = [float(x) for x in rng.random(n)]
    small = [bool(x) for x in rng.random(n) < 0.4]
    fresh = [bool(x) for x in rng.random(n) < 0.4]
    exposure = [float(x) for x in rng.random(n) * 50]
    other = [bool(x) for x in rng.random(n) < rng.random()]
    config = rerank.Config(
        other_language_share=[None, 0.3, 0.7][seed % 3],
        creator_cap=1 + seed % 3,
        topic_share=[0.4, 0.2, 1.0][seed // 3 % 3],
        exploration_every=[4, 0, 2, 3][seed // 9 % 4],
    )
    size = int(rng.integers(1, 30))
    chosen = rerank.choose(
        scores=np.array(scores),
        creators=np.array(creators, dtype=np.int64),
        topic_rows=np.array([i for i, ts in enumerate(topics) for _t in ts], dtype=np.int64),
        topic_cols=np.array([t for ts in topics for t in ts], dtype=np.int64),
        small=np.array(small),
        fresh=np.array(fresh),
        exposure=np.array(exposure),
        other=np.array(other),
        size=size,
        config=config,
    )
    expected = _choose_by_the_rules(scores, creators, topics, small, fresh, exposure, other, size=size, config=config)
    assert chosen == expected


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


def test_pool_counts_exposure_per_creator_and_shares_it() -> None:
    from bridgenote.feed.service import _dump, _load

    now = 1_800_000_000_000
    base = id_floor_for_ms(now - 3_600_000)
    rows = [
        PoolRow(note_id=base + i, author_id=[7, 3, 7, 9][i], language="en", region="US", topics=("cats",),
                embedding=_vec(i), impressions=[2, 0, 5, 1][i])
        for i in range(4)
    ]  # fmt: skip
    pool = Pool.build(rows, now_ms=now)
    assert pool.exposure() == {3: 0.0, 7: 7.0, 9: 1.0}
    pool.record_served([0, 2, 1])
    pool.record_served(np.array([2], dtype=np.int64))
    assert pool.exposure() == {3: 1.0, 7: 10.0, 9: 1.0}
    assert _load(_dump(pool)).exposure() == pool.exposure()


def test_pool_language_fit_takes_notes_of_no_known_language() -> None:
    now = 1_800_000_000_000
    base = id_floor_for_ms(now - 3_600_000)
    rows = [
        PoolRow(note_id=base + i, author_id=1, language=lang, region="US", topics=(), embedding=_vec(i))
        for i, lang in enumerate(["en", "zh", None, "ja"])
    ]
    pool = Pool.build(rows, now_ms=now)
    assert pool.language_fit(frozenset({"en"})).tolist() == [True, False, True, False]
    assert pool.language_fit(frozenset({"en", "zh"})).tolist() == [True, True, True, False]
    assert pool.language_fit(frozenset()).tolist() == [True, True, True, True]


def test_pool_finds_the_notes_of_given_creators() -> None:
    now = 1_800_000_000_000
    base = id_floor_for_ms(now - 3_600_000)
    rows = [
        PoolRow(note_id=base + i, author_id=author, language="en", region="US", topics=(), embedding=_vec(i))
        for i, author in enumerate([40, 10, 40, 30, 10])
    ]
    pool = Pool.build(rows, now_ms=now)
    assert pool.by_creators({10, 99}).tolist() == [False, True, False, False, True]
    assert pool.by_creators(frozenset({40, 30})).tolist() == [True, False, True, True, False]
    assert not pool.by_creators(set()).any()
