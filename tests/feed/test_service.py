"""Discover, Nearby and the profile updates, end to end through the real jobs, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from bridgenote.accounts import service as accounts_service
from bridgenote.core.runtime import Runtime
from bridgenote.feed import service as feed_service
from bridgenote.feed.models import FeedItem, FeedProfile
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteUpdate
from tests.conftest import IS_POSTGRES
from tests.factories import create_user, viewer
from tests.feed.conftest import NoteMaker, discover, discover_ids

Drain = Callable[[], Awaitable[int]]


async def _community(runtime: Runtime, post: NoteMaker) -> dict[str, list[int]]:
    """Food notes in both languages, travel notes, and other topics, from several small creators."""
    cooks = [await create_user(runtime, region="CN") for _ in range(3)]
    walkers = [await create_user(runtime, region="US") for _ in range(3)]
    notes: dict[str, list[int]] = {"food": [], "travel": [], "other": []}
    dishes = ["麻辣火锅", "小笼包", "烤鸭", "酸菜鱼", "煎饼果子", "兰州拉面"]
    meals = ["hotpot", "dumplings", "ramen", "tacos", "pho", "curry"]
    trails = ["Yosemite", "Zion", "the Alps", "Patagonia", "Banff", "Snowdonia"]
    for i in range(6):
        notes["food"].append(await post(cooks[i % 3], dishes[i], f"今天吃了{dishes[i]}，太好吃了 #美食"))
        notes["food"].append(await post(cooks[i % 3], meals[i], f"Where to find great {meals[i]} in town #foodie"))
        notes["travel"].append(await post(walkers[i % 3], trails[i], f"Hiking in {trails[i]} this week #travel"))
    gamer = await create_user(runtime)
    for game in ("Catan", "Chess", "Go", "Carcassonne"):
        notes["other"].append(await post(gamer, game, f"{game} night with friends #boardgames"))
    return notes


async def test_a_newcomer_gets_their_interests_at_once(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    notes = await _community(runtime, post)
    await drain()
    newcomer = await create_user(runtime, interests=["food"], read_languages=["en", "zh-Hans"])
    await drain()
    page, cursor = await discover(runtime, newcomer, limit=6)
    assert cursor is not None
    food = set(notes["food"])
    assert sum(e.id in food for e in page) >= 4
    assert any(e.reason in ("interest_topic", "similar") for e in page if e.id in food)
    assert all(feed_service.explain(e) for e in page)


async def test_a_save_shifts_the_next_page_and_pages_never_repeat(
    runtime: Runtime, drain: Drain, post: NoteMaker
) -> None:
    notes = await _community(runtime, post)
    await drain()
    reader = await create_user(runtime, interests=["food"])
    await drain()
    first = await discover_ids(runtime, reader, limit=4)
    assert sum(i in notes["travel"] for i in first) <= 1
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(reader), note_id=notes["travel"][0])
        await notes_service.like_note(session, viewer=viewer(reader), note_id=notes["travel"][1])
    await drain()
    page, cursor = await discover(runtime, reader, limit=4)
    travel = [e for e in page if e.id in notes["travel"]]
    assert len(travel) >= 2
    assert any(e.reason == "saved_topic" and e.topic == "travel" for e in travel)
    seen = {e.id for e in page}
    while cursor is not None:
        more, cursor = await discover(runtime, reader, cursor=cursor, limit=4)
        assert not seen & {e.id for e in more}
        seen |= {e.id for e in more}
    async with runtime.db.transaction(write=False) as session:
        # (Moderation may hold a repetitive note from a brand-new account; it is not visible.)
        everyone = await notes_service.visible_note_ids(
            session, viewer=viewer(reader), note_ids=[i for ids in notes.values() for i in ids]
        )
    assert len(everyone) >= 18
    assert seen == everyone  # the whole small community, each visible note once


async def test_not_interested_keeps_the_creator_away(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    notes = await _community(runtime, post)
    await drain()
    reader = await create_user(runtime)
    other = notes["other"][0]
    async with runtime.db.transaction() as session:
        await feed_service.feedback(session, viewer=viewer(reader), note_id=other, kind="not_interested")
    ids = await discover_ids(runtime, reader, limit=30)
    assert not set(ids) & set(notes["other"])
    async with runtime.db.transaction(write=False) as session:
        rest = await notes_service.visible_note_ids(
            session, viewer=viewer(reader), note_ids=notes["food"] + notes["travel"]
        )
    assert set(ids) == rest


async def test_blocked_muted_and_deleted_notes_never_appear(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    reader = await create_user(runtime)
    blocked, muted, fine = [await create_user(runtime) for _ in range(3)]
    b = await post(blocked, "Blocked", "from someone blocked #travel")
    m = await post(muted, "Muted", "from someone muted #travel")
    f = await post(fine, "Fine", "a fine note #travel")
    d = await post(fine, "Deleted", "soon gone #travel")
    async with runtime.db.transaction() as session:
        await accounts_service.block(session, viewer=viewer(reader), username=blocked.username)
        await accounts_service.mute(session, viewer=viewer(reader), username=muted.username)
        await notes_service.delete_note(session, viewer=viewer(fine), note_id=d)
    await drain()
    assert await discover_ids(runtime, reader) == [f]
    assert set(await discover_ids(runtime)) == {b, m, f}
    async with runtime.db.transaction() as session:
        with pytest.raises(Exception, match="not available"):
            await feed_service.feedback(session, viewer=viewer(reader), note_id=b, kind="more_like_this")


async def test_one_creator_cannot_flood_a_page(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    prolific = await create_user(runtime)
    others = [await create_user(runtime) for _ in range(4)]
    for i in range(10):
        await post(prolific, "Daily", f"outfit {i} #ootd")
    for i, u in enumerate(others):
        await post(u, "Look", f"look {i} #ootd")
    await drain()
    reader = await create_user(runtime, interests=["fashion"])
    page = await discover_ids(runtime, reader, limit=6)
    async with runtime.db.transaction(write=False) as session:
        authors = [(await notes_service.get_note(session, note_id=i)).author_id for i in page]  # type: ignore[union-attr]
    assert authors.count(prolific.id) <= 2


async def test_language_mix_setting_is_honoured(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    places = ["云南", "西藏", "杭州", "成都", "厦门", "青岛", "桂林", "丽江", "苏州", "大理"]
    towns = ["Boston", "Denver", "Austin", "Seattle", "Portland", "Chicago", "Miami", "Phoenix", "Dallas", "Tampa"]
    zh = [await post(await create_user(runtime), p, f"{p}的风景真美，推荐大家去看看 #旅行") for p in places]
    en = [await post(await create_user(runtime), t, f"Road trip stop: {t}, loved the food #travel") for t in towns]
    await drain()
    reader = await create_user(runtime, read_languages=["en"], interests=["travel"])
    async with runtime.db.transaction() as session:
        found = await feed_service.update_settings(session, viewer=viewer(reader), other_language_share=0.3)
    assert found.other_language_share == 0.3
    page = await discover_ids(runtime, reader, limit=10)
    assert len(page) == 10
    assert sum(i in zh for i in page) == 3 and sum(i in en for i in page) == 7, page


async def test_nearby_is_the_readers_region(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    here = await create_user(runtime, region="FR")
    there = await create_user(runtime, region="JP")
    local = [await post(here, "Paris", f"croissant {i}") for i in range(3)]
    await post(there, "Tokyo", "ramen")
    await drain()
    reader = await create_user(runtime, region="FR")
    async with runtime.db.transaction(write=False) as session:
        first = await feed_service.nearby(session, viewer=viewer(reader), cursor=None, limit=2)
        assert [e.id for e in first.items] == local[::-1][:2]
        assert first.next_cursor is not None
        rest = await feed_service.nearby(session, viewer=viewer(reader), cursor=first.next_cursor, limit=2)
        assert [e.id for e in rest.items] == [local[0]] and rest.next_cursor is None
        nowhere = await create_user(runtime)
        with pytest.raises(Exception, match="region"):
            await feed_service.nearby(session, viewer=viewer(nowhere), cursor=None, limit=2)


async def test_fallback_serves_cached_order_and_shows_in_metrics(
    runtime: Runtime, drain: Drain, post: NoteMaker, client
) -> None:  # type: ignore[no-untyped-def]
    notes = await _community(runtime, post)
    await drain()
    feed_service.set_fallback(True)
    reader = await create_user(runtime, interests=["travel"])
    page, _cursor = await discover(runtime, reader, limit=5)
    assert len(page) == 5 and all(e.reason == "popular" for e in page)
    assert {e.id for e in page} <= {i for ids in notes.values() for i in ids}
    text = (await client.get("/metrics")).text
    assert "bridgenote_feed_fallback_active 1.0" in text
    feed_service.set_fallback(False)
    page, _cursor = await discover(runtime, reader, limit=5)
    assert any(e.reason != "popular" for e in page)


async def test_a_queue_in_front_of_the_app_turns_on_the_fallback(
    runtime: Runtime, drain: Drain, post: NoteMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discover probes how late the event loop runs a callback queued with each page. Several
    late probes in a row mean a surge is queueing before the app: Discover sheds to the
    cached order. One late probe (a model loading, say) does not."""
    await _community(runtime, post)
    await drain()
    reader = await create_user(runtime, interests=["travel"])
    limit = runtime.settings.feed_shed_lag_seconds
    assert limit > 0
    probes: list[float] = []
    probe = feed_service._shedder.probe
    monkeypatch.setattr(feed_service._shedder, "probe", lambda lag: (probes.append(lag), probe(lag)))
    await discover(runtime, reader, limit=5)
    assert probes == [limit]
    await asyncio.sleep(0)

    async def late_probe() -> None:
        probe(limit)
        time.sleep(limit * 1.2)  # the loop is busy with something else meanwhile
        await asyncio.sleep(0)

    await late_probe()
    assert not feed_service._shedder.active()
    for _ in range(feed_service.SHED_LAG_PROBES - 1):
        await late_probe()
    assert feed_service._shedder.active()
    page, cursor = await discover(runtime, reader, limit=5)
    assert len(page) == 5 and all(e.reason == "popular" and e.card is not None for e in page)
    more, _cursor = await discover(runtime, reader, cursor=cursor, limit=5)
    assert more and not {e.id for e in more} & {e.id for e in page}
    feed_service.set_fallback(False)
    assert not feed_service._shedder.active()


def test_one_slow_page_does_not_start_shedding_but_a_run_of_them_does() -> None:
    """The first page after a start can be slow (it ranks pages ahead and builds cards);
    alone it must not send every reader to the fallback order for ``SHED_HOLD_S``."""
    shedder = feed_service._Shedder()
    shedder.observe(30 * feed_service.SHED_LATENCY_S)
    assert not shedder.active()
    for _ in range(3):
        shedder.observe(0.001)
    assert not shedder.active()
    shedder = feed_service._Shedder()
    slow = 0
    while not shedder.active():
        shedder.observe(2 * feed_service.SHED_LATENCY_S)
        slow += 1
    assert slow == 4


def test_turning_the_fallback_switch_off_starts_the_latency_average_afresh() -> None:
    feed_service._shedder.latency = feed_service.SHED_LATENCY_S * 0.99
    feed_service.set_fallback(False)
    feed_service._shedder.observe(2 * feed_service.SHED_LATENCY_S)
    assert not feed_service._shedder.active()


async def test_training_learns_from_the_interaction_log(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    notes = await _community(runtime, post)
    await drain()
    for _ in range(4):
        fan = await create_user(runtime)
        async with runtime.db.transaction() as session:
            for note_id in notes["food"][:8]:
                await notes_service.like_note(session, viewer=viewer(fan), note_id=note_id)
    await drain()
    async with runtime.db.transaction() as session:
        report = await feed_service.train(session, runtime=runtime)
    assert report.positives == 32 and report.rows > report.positives
    async with runtime.db.transaction(write=False) as session:
        weights = await feed_service.current_weights(session)
    assert weights == (report.weights if report.stored else weights)


async def test_a_pool_built_before_a_moderation_change_never_shows_the_hidden_note(
    runtime: Runtime, drain: Drain, post: NoteMaker
) -> None:
    notes = [await post(await create_user(runtime), f"Note {i}", f"walk number {i} #travel") for i in range(4)]
    await drain()
    in_cn = await create_user(runtime, region="CN")
    in_us = await create_user(runtime, region="US")
    assert set(await discover_ids(runtime, in_cn)) == set(notes)  # the pool is built now
    limited, held = notes[0], notes[1]
    async with runtime.db.transaction() as session:
        await notes_service.set_visibility(session, note_id=limited, limited_regions=["CN"])
        await notes_service.set_visibility(session, note_id=held, state="held", reason="test")
    # No job ran, so this process still holds the old pool: the page is checked all the same.
    assert set(await discover_ids(runtime, in_cn)) == set(notes[2:])
    assert set(await discover_ids(runtime, in_us)) == {limited, *notes[2:]}


async def test_what_discover_keeps_showing_without_a_response_fades(
    runtime: Runtime, drain: Drain, post: NoteMaker
) -> None:
    notes = await _community(runtime, post)
    await drain()
    reader = await create_user(runtime, interests=["food"])
    await drain()

    async def weights() -> dict[str, float]:
        async with runtime.db.transaction(write=False) as session:
            row = await session.get(FeedProfile, reader.id)
            assert row is not None
            return dict(row.topic_weights)

    before = await weights()
    shown = await discover_ids(runtime, reader, limit=6)
    anonymous = await discover_ids(runtime, None, limit=6)  # an anonymous page has no profile to change
    assert shown and runtime.views.pending()
    await runtime.flush_periodic()
    after = await weights()
    async with runtime.db.transaction(write=False) as session:
        rows = list(await session.scalars(select(FeedItem)))
    items = {i.note_id: list(i.topics) for i in rows}
    # Both pages' impressions were written in the same flush.
    assert {r.note_id: r.impressions for r in rows if r.impressions} == {
        i: shown.count(i) + anonymous.count(i) for i in {*shown, *anonymous}
    }
    shown_topics = {t for i in shown for t in items[i]}
    faded = {t for t in before if t in shown_topics}
    assert faded and all(0 <= after[t] < before[t] for t in faded)
    assert all(after[t] == before[t] for t in before if t not in shown_topics)
    # A like still counts for more than being shown.
    liked = next(i for i in shown if i in notes["food"])
    async with runtime.db.transaction() as session:
        await notes_service.like_note(session, viewer=viewer(reader), note_id=liked)
    await drain()
    final = await weights()
    assert any(final[t] > before[t] for t in items[liked] if t in before)


@pytest.fixture
def rankings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``pages`` of every ranking pass Discover runs from here on, in order."""
    passes: list[int] = []
    rank_pages = feed_service.pool_pick_pages

    def counted(*args: Any, **kwargs: Any) -> Any:
        passes.append(kwargs["pages"])
        return rank_pages(*args, **kwargs)

    monkeypatch.setattr(feed_service, "pool_pick_pages", counted)
    return passes


async def test_pages_are_ranked_ahead_until_the_profile_changes(
    runtime: Runtime, drain: Drain, post: NoteMaker, rankings: list[int]
) -> None:
    notes = await _community(runtime, post)
    await drain()
    reader = await create_user(runtime, interests=["food"])
    await drain()
    first, cursor = await discover(runtime, reader, limit=3)
    second, cursor = await discover(runtime, reader, cursor=cursor, limit=3)
    assert rankings == [feed_service.AHEAD_PAGES]  # the second page was ranked with the first
    # A new scroll session (pull to refresh) goes on with notes the reader was not just shown.
    fresh, _ = await discover(runtime, reader, limit=3)
    assert len(rankings) == 1
    shown = [e.id for e in first + second + fresh]
    assert len(shown) == len(set(shown)) == 9
    # The impression discount moves the profile a little but does not throw the pages away...
    await runtime.flush_periodic()
    await discover(runtime, reader, cursor=cursor, limit=3)
    assert len(rankings) == 1
    # ...while a save does: the next page is ranked afresh and shows it.
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(reader), note_id=notes["travel"][0])
    await drain()
    page, _ = await discover(runtime, reader, cursor=cursor, limit=3)
    assert len(rankings) == 2
    assert any(e.reason == "saved_topic" for e in page)


async def test_a_reader_who_reacts_on_every_page_gets_shorter_passes_until_they_scroll_on(
    runtime: Runtime, drain: Drain, post: NoteMaker, rankings: list[int]
) -> None:
    """Every like moves the profile and throws the pages ranked ahead away: a reader who
    likes something on every page would pay for ranking five pages to see one."""
    await _community(runtime, post)
    await drain()
    reader = await create_user(runtime, interests=["food"])
    await drain()
    page, cursor = await discover(runtime, reader, limit=1)
    for _ in range(2):
        async with runtime.db.transaction() as session:
            await notes_service.like_note(session, viewer=viewer(reader), note_id=page[0].id)
        await drain()
        page, cursor = await discover(runtime, reader, cursor=cursor, limit=1)
    assert rankings == [feed_service.AHEAD_PAGES, 1, 1]
    # Scrolling on without reacting, each pass that runs out doubles the next, up to the cap.
    shown = []
    for _ in range(1 + 2 + 4):
        page, cursor = await discover(runtime, reader, cursor=cursor, limit=1)
        shown += [e.id for e in page]
    assert rankings == [feed_service.AHEAD_PAGES, 1, 1, 2, 4, feed_service.AHEAD_PAGES]
    assert len(shown) == len(set(shown)) == 7


async def test_anonymous_readers_share_one_ranking(
    runtime: Runtime, drain: Drain, post: NoteMaker, rankings: list[int]
) -> None:
    await _community(runtime, post)
    await drain()
    first, cursor = await discover(runtime, None, limit=4)
    other, _ = await discover(runtime, None, limit=4)
    assert [e.id for e in other] == [e.id for e in first]  # the general ranking's first page
    assert all(e.card is not None for e in first)
    more, _ = await discover(runtime, None, cursor=cursor, limit=4)
    assert len(more) == 4 and not {e.id for e in more} & {e.id for e in first}
    assert rankings == [feed_service.AHEAD_PAGES]  # one ranking served all three pages


async def test_a_page_ranked_ahead_is_checked_and_its_cards_are_current(
    runtime: Runtime, drain: Drain, post: NoteMaker
) -> None:
    author = await create_user(runtime)
    notes = [await post(author, f"Walk {i}", f"walk number {i} #travel") for i in range(6)]
    fan = await create_user(runtime)
    await drain()
    reader = await create_user(runtime, interests=["travel"])
    await drain()
    first, cursor = await discover(runtime, reader, limit=2)
    assert all(e.card is not None and e.card["id"] == str(e.id) for e in first)
    later = [i for i in notes if i not in {e.id for e in first}]
    # After the ranking: one note deleted, one edited, one liked by someone else.
    gone, edited, liked = later[0], later[1], later[2]
    async with runtime.db.transaction() as session:
        await notes_service.delete_note(session, viewer=viewer(author), note_id=gone)
        await notes_service.update_note(
            session, viewer=viewer(author), note_id=edited, data=NoteUpdate(title="Walk, edited")
        )
        await notes_service.like_note(session, viewer=viewer(fan), note_id=liked)
    rest: dict[int, dict[str, Any]] = {}
    while cursor is not None:
        page, cursor = await discover(runtime, reader, cursor=cursor, limit=2)
        rest |= {e.id: e.card for e in page if e.card is not None}
    assert gone not in rest
    assert set(rest) == set(later) - {gone}
    assert rest[edited]["title"] == "Walk, edited"
    assert rest[liked]["like_count"] == 1
    assert not rest[liked]["liked"]


async def _interactions(runtime: Runtime, rows: list[tuple[int, int, str, float]]) -> None:
    """(user id, note id, kind, hours ago) straight into the interaction log."""
    import datetime as dt

    from sqlalchemy import insert

    from bridgenote.core.ids import id_floor_for_ms
    from bridgenote.feed.models import FeedInteraction

    now = int(time.time() * 1000)
    at = dt.datetime.now(dt.UTC)
    async with runtime.db.transaction() as session:
        await session.execute(
            insert(FeedInteraction),
            [
                {
                    "id": id_floor_for_ms(now - int(h * 3_600_000)) + i,
                    "user_id": u,
                    "note_id": n,
                    "kind": k,
                    "created_at": at,
                }
                for i, (u, n, k, h) in enumerate(rows)
            ],
        )


async def test_trending_weighs_the_last_two_days_of_signals(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    author, fan = await create_user(runtime), await create_user(runtime)
    hot, warm, old, disliked = [await post(author, f"note {i}", f"body {i} #cats") for i in range(4)]
    await drain()
    await _interactions(
        runtime,
        [(fan.id, hot, "like", 1), (fan.id, hot, "like", 2), (fan.id, hot, "save", 30)]  # 1 + 1 + 3
        + [(fan.id, warm, "like", 47)]
        + [(fan.id, old, "save", 50 + h) for h in range(5)]  # before the window
        + [(fan.id, disliked, "not_interested", 1)],
    )
    async with runtime.db.transaction(write=False) as session:
        pool = await feed_service.build_pool(session)
    trending = {int(i): float(pool.trending[p]) for p, i in enumerate(pool.ids)}
    assert trending[hot] == pytest.approx(1.0)
    assert trending[warm] == pytest.approx(np.log1p(1) / np.log1p(5))
    assert trending[old] == trending[disliked] == 0.0


@pytest.mark.skipif(IS_POSTGRES, reason="reads SQLite's EXPLAIN QUERY PLAN (PostgreSQL's planner has other statistics)")
async def test_trending_reads_only_its_window_of_the_log(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    """After ANALYZE, SQLite preferred walking the note_id index over the whole log (to spare
    the GROUP BY a sort) to reading the two days through the primary key: the pool rebuild,
    on the connection that serves reads, took seconds once the log held a million rows."""
    from sqlalchemy import event, text

    author, fan = await create_user(runtime), await create_user(runtime)
    notes = [await post(author, f"note {i}", f"body {i} #cats") for i in range(30)]
    await drain()
    await _interactions(runtime, [(fan.id, notes[i % 30], "like", i * 0.07) for i in range(20_000)])
    async with runtime.db.transaction() as session:
        await session.execute(text("ANALYZE"))
    seen: list[tuple[str, Any]] = []
    engine = runtime.db.read_engine.sync_engine

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        if "feed_interactions" in sql and "GROUP BY" in sql:
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        async with runtime.db.transaction(write=False) as session:
            await feed_service.build_pool(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1
    async with runtime.db.transaction(write=False) as session:
        plan = (
            await (await session.connection()).exec_driver_sql(f"EXPLAIN QUERY PLAN {seen[0][0]}", seen[0][1])
        ).all()
    steps = [str(row[-1]) for row in plan]
    assert any(s.startswith("SEARCH feed_interactions") and "(id>?)" in s for s in steps), steps
    assert not any(s.startswith("SCAN feed_interactions") for s in steps), steps


async def test_a_pool_rebuild_lets_requests_in(runtime: Runtime, drain: Drain, post: NoteMaker) -> None:
    """On SQLite, reads run on the event loop's own thread: a rebuild that never handed the loop
    back held every request in the process for its whole length (a few hundred milliseconds
    every ``POOL_TTL_S`` at 5,000 notes)."""
    author = await create_user(runtime)
    for i in range(5):
        await post(author, f"note {i}", f"body {i} #cats")
    await drain()
    ticks = 0

    async def request_in_flight() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    other = asyncio.create_task(request_in_flight())
    await asyncio.sleep(0)
    before = ticks
    async with runtime.db.transaction(write=False) as session:
        pool = await feed_service.build_pool(session)
    during = ticks - before
    other.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await other
    assert len(pool) == 5
    assert during >= 3, f"the loop ran other work {during} times during the rebuild"


@pytest.mark.redis
async def test_processes_share_one_pool_through_redis(
    runtime: Runtime, drain: Drain, post: NoteMaker, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scale tier: the first process to need a pool builds it and publishes it; the next
    one loads it from Redis instead of reading the database again (off its event loop)."""
    from tests.conftest import TEST_REDIS_URL, make_settings

    # Other test runs may share this Redis database: keys of our own.
    prefix = f"bn:test:{time.time_ns()}:"
    monkeypatch.setattr(feed_service, "REDIS_POOL_KEY", prefix + "pool")
    monkeypatch.setattr(feed_service, "REDIS_LOCK_KEY", prefix + "lock")
    author = await create_user(runtime)
    notes = [await post(author, f"note {i}", f"body {i} #cats") for i in range(4)]
    await drain()
    first, second = (
        Runtime.create(make_settings(runtime.settings.database_url, tmp_path / name, redis_url=TEST_REDIS_URL))
        for name in ("a", "b")
    )
    loads = feed_service.POOL_BUILDS.labels("redis")
    try:
        built = await feed_service.get_pool(first)
        before = loads._value.get()
        shared = await feed_service.get_pool(second)
        assert loads._value.get() == before + 1
        assert shared is not built
        assert sorted(int(i) for i in shared.ids) == sorted(notes)
        assert np.array_equal(shared.ids, built.ids) and np.array_equal(shared.emb, built.emb)
        assert shared.topic_vocab == built.topic_vocab
    finally:
        for rt in (first, second):
            await feed_service.close_for(rt)
            if rt.redis is not None:
                await rt.redis.delete(prefix + "pool", prefix + "lock")
            await rt.close()


async def test_a_new_pool_has_its_cards_ready_before_pages_need_them(
    runtime: Runtime, drain: Drain, post: NoteMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discover keeps meeting notes it has not served yet; a background task builds the pool's
    cards once it is built, so pages read them from the cache instead of building them."""
    from bridgenote.notes import cards

    author, reader = await create_user(runtime), await create_user(runtime)
    notes = [await post(author, f"note {i}", f"body {i} #cats") for i in range(8)]
    await drain()
    await feed_service.get_pool(runtime)
    for _ in range(200):
        if len(cards.shared_cache(runtime).get_many(notes)) == len(notes):
            break
        await asyncio.sleep(0.01)
    built: list[int] = []
    build_cards = cards.build_cards

    async def counting(session: Any, *, storage: Any, note_ids: Any) -> Any:
        built.extend(note_ids)
        return await build_cards(session, storage=storage, note_ids=note_ids)

    monkeypatch.setattr(cards, "build_cards", counting)
    page, _cursor = await discover(runtime, reader)
    assert {e.id for e in page} == set(notes)
    assert all(e.card is not None and e.card["title"] == f"note {notes.index(e.id)}" for e in page)
    assert built == []


async def test_metrics_show_while_a_new_pools_cards_are_being_built(
    runtime: Runtime, drain: Drain, post: NoteMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bridgenote_feed_cards_warming`` counts a pool while its cards are built ahead (the
    feed benchmark waits for 0 before measuring) and no longer once they are, failed or not."""
    author = await create_user(runtime)
    await post(author, "note", "body #cats")
    await drain()
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(session: Any, **kwargs: Any) -> int:
        started.set()
        await release.wait()
        raise RuntimeError("the card query failed")

    monkeypatch.setattr(notes_service, "warm_feed_cards", slow)
    before = feed_service.CARDS_WARMING._value.get()
    await feed_service.get_pool(runtime)
    await asyncio.wait_for(started.wait(), timeout=5)
    assert feed_service.CARDS_WARMING._value.get() == before + 1
    release.set()
    for _ in range(200):
        if feed_service.CARDS_WARMING._value.get() == before:
            break
        await asyncio.sleep(0.01)
    assert feed_service.CARDS_WARMING._value.get() == before
