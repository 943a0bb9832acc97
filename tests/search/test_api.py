"""The search API: results, filters, visibility, bad input, history, suggestions, trends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import update

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import User
from bridgenote.core.db import utcnow
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.models import Note
from bridgenote.search import service as search_service
from tests.factories import create_user, viewer
from tests.search.conftest import NoteMaker

Drain = Callable[[], Awaitable[int]]

BAD_QUERIES = [
    "",
    " ",
    "旅行" * 2000,
    '"',
    "*",
    "NEAR(a b)",
    "-travel",
    "title:x",
    "(((",
    ")",
    "a AND OR NOT",
    "'; DROP TABLE notes; --",
    "1' OR '1'='1",
    "😀😀😀",
    "\u200b\u200c\u200d",
    "%ED%A0%80",
    "\\",
    "&|!:*",
]


@pytest.mark.parametrize("q", BAD_QUERIES)
async def test_bad_queries_never_fail(
    client: httpx.AsyncClient, runtime: Runtime, drain: Drain, post: NoteMaker, author: User, q: str
) -> None:
    await post(author, "Travel", "#travel in spring")
    await drain()
    for kind in ("notes", "users", "hashtags"):
        r = await client.get("/api/v1/search", params={"q": q, "type": kind})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert r.json()["error"]["code"]
    assert (await client.get("/api/v1/search/suggestions", params={"q": q[:400]})).status_code == 200


async def test_lone_surrogate_in_the_url_is_not_a_500(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/search?q=%ED%A0%80abc")
    assert r.status_code in (200, 400, 422)


async def test_unknown_filters_are_a_400(client: httpx.AsyncClient) -> None:
    for params in ({"type": "x"}, {"sort": "x"}, {"kind": "x"}, {"time": "x"}, {"language": "x"}, {"cursor": "%%%"}):
        r = await client.get("/api/v1/search", params={"q": "a", **params})
        assert r.status_code == 400, params
        assert r.json()["error"]["code"] in ("invalid_filter", "invalid_cursor")


async def test_results_carry_cards_and_how_they_matched(
    client: httpx.AsyncClient, drain: Drain, post: NoteMaker, author: User
) -> None:
    note = await post(author, "Hotpot night", "Spicy Chongqing hotpot with friends")
    await drain()
    body = (await client.get("/api/v1/search", params={"q": "hotpot"})).json()
    assert body["notes"][0]["note"]["id"] == str(note)
    assert body["notes"][0]["note"]["author"]["username"] == "writer"
    assert body["notes"][0]["matched"] in ("keyword", "keyword+semantic")
    assert body["notes"][0]["language"] == "en"


async def test_results_respect_visibility(runtime: Runtime, drain: Drain, post: NoteMaker, author: User) -> None:
    from tests.search.conftest import note_ids

    reader = await create_user(runtime, region="DE")
    note = await post(author, "Matcha latte", "best matcha in Kyoto")
    await drain()
    assert await note_ids(runtime, "matcha", who=reader) == [note]
    async with runtime.db.transaction() as session:
        await notes_service.set_visibility(session, note_id=note, limited_regions=["DE"])
    assert await note_ids(runtime, "matcha", who=reader) == []
    assert await note_ids(runtime, "matcha") == [note]
    async with runtime.db.transaction() as session:
        await notes_service.set_visibility(session, note_id=note, limited_regions=[])
        await accounts_service.block(session, viewer=viewer(author), username=reader.username)
    assert await note_ids(runtime, "matcha", who=reader) == []
    assert (await search_service_users(runtime, "writer", reader)) == []
    async with runtime.db.transaction() as session:
        await notes_service.set_visibility(session, note_id=note, state="removed")
    assert await note_ids(runtime, "matcha") == []


async def search_service_users(runtime: Runtime, q: str, who: User) -> list[int]:
    from tests.search.conftest import search

    return [u.id for u in (await search(runtime, q, who=who, type="users")).users]


async def test_filters_sort_and_pages(runtime: Runtime, drain: Drain, post: NoteMaker, author: User) -> None:
    from tests.search.conftest import search

    ids = [await post(author, f"Dumpling recipe {i}", "pork and chive dumplings") for i in range(5)]
    await post(author, "饺子", "猪肉韭菜饺子的做法")
    await drain()
    first = await search(runtime, "dumpling", sort="newest", limit=2, language="en")
    assert [h.note_id for h in first.notes] == ids[::-1][:2]
    assert first.next_cursor
    second = await search(runtime, "dumpling", sort="newest", limit=2, language="en", cursor=first.next_cursor)
    assert [h.note_id for h in second.notes] == ids[::-1][2:4]
    assert not (await search(runtime, "dumpling", note_kind="video")).notes
    zh_only = await search(runtime, "dumpling", language="zh")
    assert all(h.language == "zh" for h in zh_only.notes)
    async with runtime.db.transaction() as session:  # one note from last month
        await session.execute(update(Note).where(Note.id == ids[0]).values(created_at=utcnow() - dt.timedelta(days=20)))
    this_week = {h.note_id for h in (await search(runtime, "dumpling", time="week", language="en")).notes}
    this_month = {h.note_id for h in (await search(runtime, "dumpling", time="month", language="en")).notes}
    assert this_week == set(ids[1:]) and this_month == set(ids)


async def test_engagement_breaks_ties_and_saves_weigh_more(
    runtime: Runtime, drain: Drain, post: NoteMaker, author: User
) -> None:
    from tests.search.conftest import note_ids

    liked = await post(author, "Ramen", "tonkotsu ramen")
    saved = await post(author, "Ramen", "tonkotsu ramen")
    plain = await post(author, "Ramen", "tonkotsu ramen")
    fans = [await create_user(runtime) for _ in range(2)]
    async with runtime.db.transaction() as session:
        await notes_service.like_note(session, viewer=viewer(fans[0]), note_id=liked)
        await notes_service.save_note(session, viewer=viewer(fans[1]), note_id=saved)
    await drain()
    order = await note_ids(runtime, "ramen")
    assert order.index(saved) < order.index(liked) < order.index(plain)


async def test_recent_searches_are_private_and_can_be_cleared(
    client_for: Callable[[User], Awaitable[httpx.AsyncClient]], runtime: Runtime, client: httpx.AsyncClient
) -> None:
    alice = await client_for(await create_user(runtime))
    bob = await client_for(await create_user(runtime))
    for q in ("hotpot", "旅行", "hotpot"):
        assert (await alice.get("/api/v1/search", params={"q": q})).status_code == 200
    await search_service.wait_for_search_logs()
    assert (await alice.get("/api/v1/search/recent")).json()["items"] == ["hotpot", "旅行"]
    assert (await bob.get("/api/v1/search/recent")).json()["items"] == []
    assert (await client.get("/api/v1/search/recent")).status_code == 401
    assert (await alice.request("DELETE", "/api/v1/search/recent", params={"q": "旅行"})).status_code == 200
    assert (await alice.get("/api/v1/search/recent")).json()["items"] == ["hotpot"]


async def test_suggestions_complete_tags_users_and_queries(
    client_for: Callable[[User], Awaitable[httpx.AsyncClient]],
    runtime: Runtime,
    client: httpx.AsyncClient,
    drain: Drain,
    post: NoteMaker,
    author: User,
) -> None:
    await post(author, "日常", "#小红书# #travelgram")
    await create_user(runtime, username="travel_lin", display_name="林")
    searcher = await client_for(await create_user(runtime))
    await searcher.get("/api/v1/search", params={"q": "travel tips"})
    await search_service.wait_for_search_logs()
    await drain()
    items = (await client.get("/api/v1/search/suggestions", params={"q": "trav"})).json()["items"]
    kinds = {(i["kind"], i["text"]) for i in items}
    assert {("query", "travel tips"), ("hashtag", "travelgram"), ("user", "travel_lin")} <= kinds
    items = (await client.get("/api/v1/search/suggestions", params={"q": "xiaoh"})).json()["items"]
    assert ("hashtag", "小红书") in {(i["kind"], i["text"]) for i in items}


async def test_trending_hashtags_merge_languages_and_count_accounts(
    client: httpx.AsyncClient, runtime: Runtime, drain: Drain, post: NoteMaker
) -> None:
    people = [await create_user(runtime) for _ in range(4)]
    await post(people[0], "", "#travel")
    await post(people[1], "", "#旅行")
    await post(people[2], "", "#旅游")
    for _ in range(5):  # one account posting a tag many times counts once
        await post(people[3], "", "#coffee")
    await drain()
    trends = (await client.get("/api/v1/search/trending")).json()["hashtags"]
    top = trends[0]
    assert set(top["variants"].values()) >= {"travel", "旅行"} or set(top["variants"].values()) >= {"travel", "旅游"}
    assert top["score"] > 2.5
    coffee = next(t for t in trends if t["name"] == "coffee")
    assert coffee["score"] <= 1.0


async def test_trending_searches_weigh_accounts(
    client_for: Callable[[User], Awaitable[httpx.AsyncClient]], runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a, b = [await client_for(await create_user(runtime)) for _ in range(2)]
    for _ in range(6):
        await a.get("/api/v1/search", params={"q": "spam words"})
    await a.get("/api/v1/search", params={"q": "coffee"})
    await b.get("/api/v1/search", params={"q": "咖啡"})
    await search_service.wait_for_search_logs()
    searches = (await client.get("/api/v1/search/trending")).json()["searches"]
    assert searches[0]["score"] > 1.5  # coffee and 咖啡: two accounts, one trend
    assert set(searches[0]["variants"]) == {"en", "zh"}


async def test_people_and_hashtags_page_with_the_cursor(
    runtime: Runtime, drain: Drain, post: NoteMaker, author: User
) -> None:
    from tests.search.conftest import search

    people = {(await create_user(runtime, display_name=f"Hotpot Fan {i}")).id for i in range(5)}
    for i in range(5):
        await post(author, f"Hotpot night {i}", f"spicy broth #hotpot{i}")
    await drain()
    for kind in ("users", "hashtags"):
        seen: list[int] = []
        cursor = None
        for _page in range(5):
            page = await search(runtime, "hotpot", type=kind, limit=2, cursor=cursor)
            items = page.users if kind == "users" else page.hashtags
            assert len(items) <= 2
            seen += [item.id for item in items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert cursor is None and len(seen) == len(set(seen)) == 5
        if kind == "users":
            assert set(seen) == people
