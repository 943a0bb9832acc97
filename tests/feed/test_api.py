"""The feed's HTTP API: pages with cards and reasons, feedback, settings, bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridgenote.core.runtime import Runtime
from tests.factories import create_user
from tests.feed.conftest import NoteMaker

Drain = Callable[[], Awaitable[int]]


async def test_discover_pages_with_reasons_and_controls(
    runtime: Runtime, drain: Drain, post: NoteMaker, client, client_for
) -> None:  # type: ignore[no-untyped-def]
    author = await create_user(runtime)
    ids = [await post(author, "Hotpot", f"spicy hotpot {i} #foodie") for i in range(3)]
    await drain()
    reader = await create_user(runtime, interests=["food"])
    await drain()
    api = await client_for(reader)
    r = await api.get("/api/v1/feeds/discover", params={"limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    first = body["items"][0]
    assert first["note"]["id"] in {str(i) for i in ids}
    assert first["reason"]["code"] and first["reason"]["text"]
    r2 = await api.get("/api/v1/feeds/discover", params={"limit": 2, "cursor": body["next_cursor"]})
    assert [i["note"]["id"] for i in r2.json()["items"]] != [i["note"]["id"] for i in body["items"]]

    assert (
        await api.post("/api/v1/feeds/discover/feedback", json={"note_id": ids[0], "kind": "more_like_this"})
    ).status_code == 200
    bad = await api.post("/api/v1/feeds/discover/feedback", json={"note_id": ids[0], "kind": "poke"})
    assert bad.status_code == 422
    missing = await api.post("/api/v1/feeds/discover/feedback", json={"note_id": 12345, "kind": "view"})
    assert missing.status_code == 404
    settings = await api.put("/api/v1/feeds/discover/settings", json={"other_language_share": 0.3})
    assert settings.status_code == 200 and settings.json()["other_language_share"] == 0.3
    assert (await api.put("/api/v1/feeds/discover/settings", json={"other_language_share": 2})).status_code == 422
    got = (await api.get("/api/v1/feeds/discover/settings")).json()
    assert got["interests"] == ["food"] and any(t["topic"] == "foodie" for t in got["top_topics"])

    assert (await client.get("/api/v1/feeds/discover")).status_code == 200  # anonymous readers too
    assert (await client.get("/api/v1/feeds/discover", params={"cursor": "garbage"})).status_code == 400
    assert (await client.get("/api/v1/feeds/discover/settings")).status_code == 401
    assert (await client.get("/api/v1/feeds/nearby")).status_code == 400
    assert (await client.get("/api/v1/feeds/nearby", params={"region": "FR"})).status_code == 200
