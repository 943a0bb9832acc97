"""Bilingual subtitle tracks: an author's track is translated cue by cue after commit (the
fake LibreTranslate server of tests/translation) into a track of its own, original line over
translation, which note cards, note pages and the API carry next to the author's."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from bridgenote.config import Settings
from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.media import subtitles
from bridgenote.media.models import MediaSubtitle
from bridgenote.translation.models import StoredTranslation
from tests.media.conftest import Person, PersonFactory, make_video, phone_jpeg, post_note, upload
from tests.notes.test_query_counts import statements
from tests.translation.fakes import FakeLibreTranslate, fake_translate, libre_settings

Drain = Callable[[], Awaitable[int]]
JOB = "translation.subtitles"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, libre: FakeLibreTranslate) -> Settings:
    """Translation goes to the fake LibreTranslate server, as in tests/translation."""
    return libre_settings(database_url, tmp_path, libre)


VTT = """WEBVTT

00:00:01.000 --> 00:00:02.500
你好，世界

00:00:03.000 --> 00:00:04.000
😀

00:01:05.250 --> 00:01:06.000
今天天气很好
"""
TIMINGS = [(1.0, 2.5), (3.0, 4.0), (65.25, 66.0)]


def en(text: str) -> str:
    return fake_translate(text, "zh-Hans", "en")


async def video_note(alice: Person, drain: Drain, tmp_path: Path) -> tuple[str, str]:
    """(media id, note id) of a processed video on a published note."""
    video = await upload(alice.client, make_video(tmp_path / "v.mp4", size=(160, 120), seconds=1.0), "v.mp4")
    note = await post_note(alice.client, media_ids=[video["id"]])
    await drain()
    return str(video["id"]), str(note["id"])


async def put_track(alice: Person, media_id: str, text: str = VTT, language: str = "zh-Hans") -> dict[str, Any]:
    body = {"language": language, "label": {"zh-Hans": "中文", "en": "English"}[language], "text": text}
    r = await alice.client.put(f"/api/v1/media/{media_id}/subtitles", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def tracks(client: httpx.AsyncClient, media_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/media/{media_id}")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["subtitles"]
    return found


async def cues_at(runtime: Runtime, url: str) -> list[subtitles.Cue]:
    return subtitles.parse((await runtime.storage.get(url.removeprefix("/media/"))).decode())


async def stored_cues(runtime: Runtime, *texts: str) -> int:
    """Stored translations of these cue texts (translations are keyed by the text's sha256)."""
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    async with runtime.db.transaction(write=False) as session:
        query = select(func.count()).select_from(StoredTranslation).where(StoredTranslation.content_hash.in_(hashes))
        return int(await session.scalar(query) or 0)


def stored_keys(runtime: Runtime) -> set[str]:
    root = runtime.settings.media_root
    return {p.relative_to(root).as_posix() for p in root.rglob("*.vtt")} if root.exists() else set()


async def subtitle_jobs(runtime: Runtime) -> list[Job]:
    async with runtime.db.transaction(write=False) as session:
        return list((await session.scalars(select(Job).where(Job.name == JOB).order_by(Job.id))).all())


async def cue_requests(libre: FakeLibreTranslate) -> list[str]:
    return [str(r["q"]) for r in libre.requests if "天" in str(r["q"]) or "世界" in str(r["q"])]


async def test_an_author_track_gets_a_bilingual_track_of_its_own(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path, libre: FakeLibreTranslate
) -> None:
    alice = await person("alice")
    media_id, _note_id = await video_note(alice, drain, tmp_path)
    author = await put_track(alice, media_id)
    # Nothing translated inside the request: a job does it after commit, in the background queue.
    assert [(t["language"], t["source"]) for t in await tracks(alice.client, media_id)] == [("zh-Hans", "author")]
    [queued] = await subtitle_jobs(runtime)
    assert queued.queue == "backfill" and queued.payload["key"] == author["url"].removeprefix("/media/")
    await drain()

    found = await tracks(alice.client, media_id)
    assert [(t["language"], t["source"]) for t in found] == [("zh-Hans", "author"), ("en", "translation")]
    bilingual = found[1]
    assert bilingual["label"] == "中文 / English" and bilingual["kind"] == "subtitles"
    assert bilingual["url"] != author["url"]
    cues = await cues_at(runtime, bilingual["url"])
    assert [(c.start, c.end) for c in cues] == TIMINGS
    # Original line over its translation; the emoji needs none and stays alone.
    assert [c.text for c in cues] == [f"你好，世界\n{en('你好，世界')}", "😀", f"今天天气很好\n{en('今天天气很好')}"]
    raw = (await runtime.storage.get(bilingual["url"].removeprefix("/media/"))).decode()
    assert raw.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n你好，世界\n")
    assert "00:01:05.250 --> 00:01:06.000" in raw
    # The author's own track is untouched.
    assert [c.text for c in await cues_at(runtime, author["url"])] == ["你好，世界", "😀", "今天天气很好"]
    # Cues are stored translations like any other text (shared, reused).
    assert await stored_cues(runtime, "你好，世界", "今天天气很好", "😀") == 2


async def test_an_english_track_gets_a_chinese_bilingual_track(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path, libre: FakeLibreTranslate
) -> None:
    alice = await person("alice")
    media_id, _note_id = await video_note(alice, drain, tmp_path)
    await put_track(alice, media_id, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nGood morning\n", language="en")
    await drain()
    found = await tracks(alice.client, media_id)
    assert [(t["language"], t["source"], t["label"]) for t in found] == [
        ("en", "author", "English"),
        ("zh-Hans", "translation", "English / 中文"),
    ]
    assert [c.text for c in await cues_at(runtime, found[1]["url"])] == ["Good morning\n词 词"]


async def test_replacing_the_track_rebuilds_it_and_the_same_text_again_is_a_no_op(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path, libre: FakeLibreTranslate
) -> None:
    alice = await person("alice")
    media_id, _note_id = await video_note(alice, drain, tmp_path)
    await put_track(alice, media_id)
    await drain()
    old = (await tracks(alice.client, media_id))[1]["url"].removeprefix("/media/")

    await put_track(alice, media_id, VTT.replace("今天天气很好", "明天下雨"))
    # The bilingual track of the old text goes with it at once: never new lines with old ones.
    assert [t["source"] for t in await tracks(alice.client, media_id)] == ["author"]
    await drain()
    new = (await tracks(alice.client, media_id))[1]
    assert [c.text for c in await cues_at(runtime, new["url"])][2] == f"明天下雨\n{en('明天下雨')}"
    assert old not in stored_keys(runtime), "the replaced bilingual file is deleted"
    asked = await cue_requests(libre)
    assert asked.count("你好，世界") == 1, "a cue already translated is not sent again"

    # The same text once more: the job runs, finds everything stored, and changes nothing.
    before_jobs = len(await subtitle_jobs(runtime))
    await put_track(alice, media_id, VTT.replace("今天天气很好", "明天下雨"))
    await drain()
    assert len(await subtitle_jobs(runtime)) == before_jobs + 1
    again = await tracks(alice.client, media_id)
    assert again[1] == new
    assert await cue_requests(libre) == asked

    # A job for text the author has replaced since does nothing (the newer text has its own).
    async with runtime.db.transaction() as session:
        await session.execute(update(Job).where(Job.name == JOB).values(state="queued", attempts=0, run_at=func.now()))
    await drain()
    assert await tracks(alice.client, media_id) == again


async def test_deleting_the_author_track_removes_the_translated_one(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path, libre: FakeLibreTranslate
) -> None:
    alice = await person("alice")
    media_id, _note_id = await video_note(alice, drain, tmp_path)
    await put_track(alice, media_id)
    await put_track(alice, media_id, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nGood morning\n", language="en")
    await drain()
    found = await tracks(alice.client, media_id)
    assert [(t["language"], t["source"]) for t in found] == [
        ("en", "author"),
        ("zh-Hans", "author"),
        ("en", "translation"),
        ("zh-Hans", "translation"),
    ]
    made_from_chinese = found[2]["url"].removeprefix("/media/")
    assert made_from_chinese in stored_keys(runtime)

    assert (await alice.client.delete(f"/api/v1/media/{media_id}/subtitles/zh-Hans")).status_code == 200
    left = [(t["language"], t["source"]) for t in await tracks(alice.client, media_id)]
    assert ("en", "translation") not in left and ("zh-Hans", "author") not in left
    await drain()
    found = await tracks(alice.client, media_id)
    # The English track's own bilingual track stays (or comes straight back).
    assert [(t["language"], t["source"]) for t in found] == [("en", "author"), ("zh-Hans", "translation")]
    assert made_from_chinese not in stored_keys(runtime)

    assert (await alice.client.delete(f"/api/v1/media/{media_id}/subtitles/en")).status_code == 200
    assert await tracks(alice.client, media_id) == []
    await drain()
    assert stored_keys(runtime) == set()
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(MediaSubtitle)) == 0


async def test_translator_down_stores_nothing_and_the_job_is_retried(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path, libre: FakeLibreTranslate
) -> None:
    alice = await person("alice")
    media_id, _note_id = await video_note(alice, drain, tmp_path)
    # The translator dies after the first cue: nothing of the track may be stored.
    answered = 0
    real = libre.handle

    def flaky(path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        nonlocal answered
        if path == "/translate":
            answered += 1
            if answered > 1:
                return 500, {"error": "down"}
        return real(path, body)

    libre.handle = flaky  # type: ignore[method-assign]
    await put_track(alice, media_id)
    await drain()
    assert answered == 2
    assert [t["source"] for t in await tracks(alice.client, media_id)] == ["author"]
    assert await stored_cues(runtime, "你好，世界", "今天天气很好") == 0
    [job] = await subtitle_jobs(runtime)
    assert job.state == "queued" and job.attempts == 1 and job.run_at > job.created_at
    assert "LibreTranslate answered 500" in (job.last_error or "")

    libre.handle = real  # type: ignore[method-assign]
    async with runtime.db.transaction() as session:  # skip the backoff
        await session.execute(update(Job).where(Job.id == job.id).values(run_at=func.now()))
    await drain()
    [job] = await subtitle_jobs(runtime)
    assert job.state == "done"
    found = await tracks(alice.client, media_id)
    assert [t["source"] for t in found] == ["author", "translation"]
    assert len(await cues_at(runtime, found[1]["url"])) == 3


async def test_note_api_and_page_carry_both_tracks_and_only_for_those_who_may_see_the_note(
    runtime: Runtime,
    person: PersonFactory,
    drain: Drain,
    tmp_path: Path,
    client: httpx.AsyncClient,
    libre: FakeLibreTranslate,
) -> None:
    alice, bob = await person("alice"), await person("bob")
    media_id, note_id = await video_note(alice, drain, tmp_path)
    # A card cached before the tracks exist must not hide them afterwards.
    assert (await client.get(f"/api/v1/notes/{note_id}")).json()["media"][0]["subtitles"] == []
    await put_track(alice, media_id)
    await drain()

    r = await client.get(f"/api/v1/notes/{note_id}")
    assert r.status_code == 200
    items = r.json()["media"][0]["subtitles"]
    assert [(t["language"], t["source"], t["label"]) for t in items] == [
        ("zh-Hans", "author", "中文"),
        ("en", "translation", "中文 / English"),
    ]
    assert all(t["url"].startswith("/media/m/") and t["url"].endswith(".vtt") for t in items)
    feed = (await client.get("/api/v1/feeds/latest")).json()["items"]
    assert [t["source"] for t in feed[0]["media"][0]["subtitles"]] == ["author", "translation"]

    page = await client.get(f"/notes/{note_id}")
    assert page.status_code == 200
    found = re.findall(r"<track [^>]*>", page.text)
    assert len(found) == 2
    author_track, machine_track = (html.unescape(t) for t in found)
    assert f'src="{items[0]["url"]}"' in author_track and 'data-source="author"' in author_track
    assert 'srclang="zh-Hans"' in author_track and 'label="中文"' in author_track
    assert f'src="{items[1]["url"]}"' in machine_track and 'srclang="en"' in machine_track
    assert 'label="中文 / English (Machine translation)"' in machine_track
    assert 'data-source="translation"' in machine_track
    zh = await client.get(f"/notes/{note_id}", params={"lang": "zh-Hans"})
    assert "中文 / English (机器翻译)" in html.unescape(zh.text)

    # Someone who may not see the note gets neither the note nor its tracks.
    assert (await alice.client.post("/api/v1/users/bob/block")).status_code in (200, 201, 204)
    assert (await bob.client.get(f"/api/v1/media/{media_id}")).status_code == 404
    assert (await bob.client.get(f"/api/v1/notes/{note_id}")).status_code == 404
    assert (await bob.client.get(f"/notes/{note_id}")).status_code == 404
    assert (
        await bob.client.put(
            f"/api/v1/media/{media_id}/subtitles",
            json={
                "language": "en",
                "label": "x",
                "text": VTT,
            },
        )
    ).status_code == 404
    assert (await bob.client.delete(f"/api/v1/media/{media_id}/subtitles/zh-Hans")).status_code == 404
    assert (await client.get(f"/api/v1/media/{media_id}")).status_code == 200
    assert (await alice.client.delete(f"/api/v1/notes/{note_id}")).status_code in (200, 204)
    assert (await client.get(f"/api/v1/media/{media_id}")).status_code == 404


async def test_a_page_of_photos_asks_nothing_about_subtitles(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient, drain: Drain, tmp_path: Path
) -> None:
    alice = await person("alice")
    for seed in range(3):
        photo = await upload(alice.client, phone_jpeg((200, 150), seed=seed))
        await post_note(alice.client, media_ids=[photo["id"]])
    for cache in runtime.caches.values():
        cache.clear()
    with statements(runtime) as seen:
        r = await client.get("/api/v1/feeds/latest")
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    assert all(m["subtitles"] == [] for n in r.json()["items"] for m in n["media"])
    assert not [s for s in seen if "media_subtitles" in s]
    # One video among them: one query for the whole page.
    await video_note(alice, drain, tmp_path)
    for cache in runtime.caches.values():
        cache.clear()
    with statements(runtime) as seen:
        r = await client.get("/api/v1/feeds/latest")
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    assert len([s for s in seen if "media_subtitles" in s]) == 1
