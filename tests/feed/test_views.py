"""Discover's tabs and controls on the web pages (over HTTP, no browser)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx

from bridgenote.core.runtime import Runtime
from tests.factories import create_user
from tests.feed.conftest import NoteMaker, discover_ids
from tests.web.test_pages import browser_session

Drain = Callable[[], Awaitable[int]]
CARD = re.compile(r'<a class="card-link" href="/notes/(\d+)"')


def card_ids(html: str) -> list[int]:
    return [int(i) for i in CARD.findall(html)]


async def test_discover_tab_is_the_ranked_feed_with_reasons_and_controls(
    runtime: Runtime, drain: Drain, post: NoteMaker, client: httpx.AsyncClient
) -> None:
    topics = ("foodie", "travel", "pets")
    ids = [await post(await create_user(runtime), f"Note {t}", f"all about #{t}") for t in topics]
    await drain()
    token = await browser_session(client, "reader")
    page = await client.get("/")
    assert page.status_code == 200
    assert sorted(card_ids(page.text)) == sorted(ids)
    assert page.text.count('<details class="why">') == 3
    assert "Not interested" in page.text and "More like this" in page.text

    # "Not interested" replaces the card (htmx); the note (its creator and topic, for a
    # while) leaves this reader's Discover, and only theirs.
    r = await client.post(
        "/discover/feedback",
        data={"csrf_token": token, "note_id": str(ids[0]), "kind": "not_interested"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and 'class="card dismissed"' in r.text
    reader = await create_user(runtime, username="other")  # a fresh reader still gets all three
    assert sorted(await discover_ids(runtime, reader)) == sorted(ids)
    assert sorted(card_ids((await client.get("/")).text)) == sorted(ids[1:])
    r = await client.post(
        "/discover/feedback",
        data={"csrf_token": token, "note_id": str(ids[1]), "kind": "more_like_this"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and 'class="toast"' in r.text

    # Bad input is a clear 4xx; no token, no feedback.
    bad = await client.post("/discover/feedback", data={"csrf_token": token, "note_id": "x", "kind": "poke"})
    assert bad.status_code == 400
    missing = await client.post(
        "/discover/feedback", data={"csrf_token": token, "note_id": "123456789", "kind": "not_interested"}
    )
    assert missing.status_code == 404
    forged = await client.post(
        "/discover/feedback", data={"csrf_token": "forged", "note_id": str(ids[2]), "kind": "not_interested"}
    )
    assert forged.status_code == 403
    assert ids[2] in card_ids((await client.get("/")).text)


async def test_discover_scrolls_without_repeating_notes(
    runtime: Runtime, drain: Drain, post: NoteMaker, client: httpx.AsyncClient
) -> None:
    author = await create_user(runtime)
    ids = {await post(author, f"Note {i}", f"travel diary {i} #travel") for i in range(25)}
    await drain()
    first = await client.get("/")
    seen = card_ids(first.text)
    assert len(seen) == 20
    loader = re.search(r'hx-get="(/\?cursor=[^"]+)"', first.text)
    assert loader, "the page offers the next one"
    more = await client.get(loader.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert more.status_code == 200
    seen += card_ids(more.text)
    assert len(seen) == len(set(seen)) == 25 and set(seen) == ids


async def test_nearby_tab_shows_the_readers_region(
    runtime: Runtime, drain: Drain, post: NoteMaker, client: httpx.AsyncClient, client_for
) -> None:  # type: ignore[no-untyped-def]
    paris = await create_user(runtime, username="paris", region="FR")
    shanghai = await create_user(runtime, username="shanghai", region="CN")
    french = await post(paris, "Croissant", "breakfast")
    chinese = await post(shanghai, "包子", "早餐")
    await drain()
    reader = await client_for(await create_user(runtime, username="local", region="FR"))
    page = await reader.get("/?tab=nearby")
    assert page.status_code == 200
    assert card_ids(page.text) == [french] and chinese not in card_ids(page.text)
    # Without a region the tab says how to get one instead of an error.
    await browser_session(client, "nowhere")
    page = await client.get("/?tab=nearby")
    assert page.status_code == 200 and "Set your region" in page.text and card_ids(page.text) == []


async def test_the_settings_page_sets_the_language_mix(client: httpx.AsyncClient) -> None:
    token = await browser_session(client, "mixer")
    page = await client.get("/settings")
    assert 'id="discover"' in page.text and "Notes in languages you do not read" in page.text
    r = await client.post("/settings/discover", data={"csrf_token": token, "other_language_share": "0.25"})
    assert r.status_code == 303 and r.headers["location"] == "/settings?saved=discover#discover"
    page = await client.get("/settings?saved=discover")
    assert '<option value="0.25" selected>' in page.text and "Your Discover settings are saved." in page.text
    for bad in ("lots", "2", "nan"):
        r = await client.post("/settings/discover", data={"csrf_token": token, "other_language_share": bad})
        assert r.status_code == 400, bad
    assert '<option value="0.25" selected>' in (await client.get("/settings")).text
    r = await client.post("/settings/discover", data={"csrf_token": token, "other_language_share": ""})
    assert r.status_code == 303
    assert '<option value="" selected>' in (await client.get("/settings")).text
