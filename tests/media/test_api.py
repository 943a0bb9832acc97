"""Serving: object-level authorisation, Accept-aware redirects, cache headers, subtitles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from bridgenote.core.runtime import Runtime
from tests.media.conftest import PersonFactory, phone_jpeg, post_note, upload

Drain = Callable[[], Awaitable[int]]

SRT = """1
00:00:00,000 --> 00:00:01,500
Hello <script>alert(1)</script><b>world</b> & friends

2
00:00:01,600 --> 00:00:02,000
你好 --> 世界
"""


async def test_only_the_owner_sees_an_unattached_upload(person: PersonFactory, client: httpx.AsyncClient) -> None:
    alice, bob = await person("alice"), await person("bob")
    media = await upload(alice.client, phone_jpeg((400, 300)))
    r = await alice.client.get(f"/api/v1/media/{media['id']}")
    assert r.status_code == 200 and r.json()["state"] in ("uploaded", "processing")
    assert (await bob.client.get(f"/api/v1/media/{media['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}/image")).status_code == 404
    assert (await bob.client.get("/api/v1/media/999")).status_code == 404


async def test_others_see_it_exactly_while_they_may_see_its_note(
    person: PersonFactory, client: httpx.AsyncClient, drain: Drain
) -> None:
    alice, bob = await person("alice"), await person("bob")
    media = await upload(alice.client, phone_jpeg((900, 600)))
    note = await post_note(alice.client, media_ids=[media["id"]])
    await drain()
    r = await client.get(f"/api/v1/media/{media['id']}")
    assert r.status_code == 200 and r.json()["state"] == "ready" and r.json()["progress"] == 1.0
    assert r.json()["picture"]["sources"][0]["type"] == "image/avif"
    # Blocking hides the note, and so the upload.
    assert (await alice.client.post("/api/v1/users/bob/block")).status_code in (200, 201, 204)
    assert (await bob.client.get(f"/api/v1/media/{media['id']}")).status_code == 404
    assert (await alice.client.delete(f"/api/v1/notes/{note['id']}")).status_code in (200, 204)
    assert (await client.get(f"/api/v1/media/{media['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}/image")).status_code == 404


async def test_the_image_route_picks_the_format_from_accept(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient, drain: Drain
) -> None:
    alice = await person("alice")
    media = await upload(alice.client, phone_jpeg((1200, 800)))
    await post_note(alice.client, media_ids=[media["id"]])
    url = f"/api/v1/media/{media['id']}/image"
    # Before processing: the clean master.
    r = await client.get(url, headers={"Accept": "image/avif,image/webp,*/*"})
    assert r.status_code == 302 and r.headers["location"].endswith(".jpg")
    await drain()
    avif = await client.get(url, params={"w": 700}, headers={"Accept": "image/avif,image/webp,*/*"})
    webp = await client.get(url, params={"w": 700}, headers={"Accept": "image/webp,*/*"})
    jpeg = await client.get(url, params={"w": 2000}, headers={"Accept": "*/*"})
    assert avif.headers["location"].endswith(".avif") and webp.headers["location"].endswith(".webp")
    assert jpeg.headers["location"].endswith(".jpg")
    assert "Accept" in avif.headers["vary"] and avif.headers["cache-control"].startswith("private")
    # The variant itself: public, content-addressed, cached for a year.
    served = await client.get(avif.headers["location"])
    assert served.status_code == 200 and served.content[4:12] == b"ftypavif"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_the_original_is_private_to_its_owner(person: PersonFactory, client: httpx.AsyncClient) -> None:
    alice, bob = await person("alice"), await person("bob")
    media = await upload(alice.client, phone_jpeg((300, 200)))
    r = await alice.client.get(f"/api/v1/media/{media['id']}/original")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store" and r.content[:2] == b"\xff\xd8"
    assert (await bob.client.get(f"/api/v1/media/{media['id']}/original")).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}/original")).status_code == 401


async def test_subtitles_are_sanitised_webvtt(runtime: Runtime, person: PersonFactory, tmp_path: object) -> None:
    from pathlib import Path

    from tests.media.conftest import make_video

    alice, bob = await person("alice"), await person("bob")
    media = await upload(alice.client, make_video(Path(str(tmp_path)) / "v.mp4", size=(160, 120)), "v.mp4")
    body = {"language": "zh-Hans", "label": "中文", "text": SRT}
    r = await alice.client.put(f"/api/v1/media/{media['id']}/subtitles", json=body)
    assert r.status_code == 200, r.text
    key = r.json()["url"].removeprefix("/media/")
    vtt = (await runtime.storage.get(key)).decode()
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n")
    assert "<" not in vtt.replace("&lt;", "") and "alert(1)" in vtt and "&amp; friends" in vtt
    assert "你好 - -&gt; 世界" in vtt
    assert (await bob.client.put(f"/api/v1/media/{media['id']}/subtitles", json=body)).status_code == 404
    bad = await alice.client.put(f"/api/v1/media/{media['id']}/subtitles", json={**body, "text": "just words"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_subtitles"
    tracks = (await alice.client.get(f"/api/v1/media/{media['id']}")).json()["subtitles"]
    assert [(t["language"], t["source"]) for t in tracks] == [("zh-Hans", "author")]
    r = await alice.client.delete(f"/api/v1/media/{media['id']}/subtitles/zh-Hans")
    assert r.status_code == 200
    assert (await alice.client.get(f"/api/v1/media/{media['id']}")).json()["subtitles"] == []
    photo = await upload(alice.client, phone_jpeg((100, 80)))
    r = await alice.client.put(f"/api/v1/media/{photo['id']}/subtitles", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_video"
