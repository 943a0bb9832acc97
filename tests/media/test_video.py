"""Short video: probe, H.264/AAC MP4 with faststart, HLS renditions, poster, bounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import av

from bridgenote.core.runtime import Runtime
from bridgenote.media.models import MediaProgress
from bridgenote.notes import service as notes_service
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import Person, PersonFactory, long_header_video, make_video, post_note, row, upload

Drain = Callable[[], Awaitable[int]]


async def test_a_video_becomes_mp4_hls_and_a_poster_without_metadata(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    alice = await person("alice")
    media = await upload(alice.client, make_video(tmp_path / "in.mp4", size=(640, 480), seconds=1.0), "in.mp4")
    source = (await row(runtime, MediaAttachment, int(media["id"]))).storage_key
    assert source.startswith("u/") and await runtime.storage.exists(source)
    note = await post_note(alice.client, media_ids=[media["id"]])
    await drain()
    stored = await row(runtime, MediaAttachment, int(media["id"]))
    assert stored.state == "ready", stored.failure_reason
    # The clean MP4 is the master now; the upload (with its location tag) is gone (keep_original=false).
    assert stored.storage_key == stored.variants["mp4"] and stored.content_type == "video/mp4"
    assert not await runtime.storage.exists(source)
    original = await alice.client.get(f"/api/v1/media/{media['id']}/original")
    assert original.status_code == 200 and original.headers["content-type"] == "video/mp4"
    assert b"loci" not in original.content  # the location atom the upload had
    assert (stored.width, stored.height) == (640, 480) and 900 <= stored.duration_ms <= 1100
    assert stored.blurhash and stored.dominant_color
    variants = stored.variants
    mp4 = await runtime.storage.get(variants["mp4"])
    assert mp4.find(b"moov") < mp4.find(b"mdat")  # faststart: playable while it downloads
    (tmp_path / "out.mp4").write_bytes(mp4)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]
        assert "location" not in c.metadata and not any(k.startswith("location") for k in c.metadata)
    master = (await runtime.storage.get(variants["hls"])).decode()
    assert master.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=640x480" in master
    for rendition in variants["renditions"]:
        playlist = (await runtime.storage.get(rendition["playlist"])).decode()
        assert "#EXT-X-ENDLIST" in playlist and '#EXT-X-MAP:URI="init.mp4"' in playlist
    poster = await runtime.storage.get(variants["poster"])
    assert poster[8:12] == b"WEBP"
    progress = await row(runtime, MediaProgress, int(media["id"]))
    assert progress.stage == "done" and progress.progress == 1.0
    card = (await alice.client.get(f"/api/v1/notes/{note['id']}")).json()["media"][0]
    assert card["video"]["mp4"].endswith(".mp4") and card["video"]["hls"].endswith("master.m3u8")
    assert card["video"]["poster"].endswith(".webp")
    assert card["url"] == card["video"]["poster"]  # a picture, as for photos


async def stored_without_upload_check(runtime: Runtime, person: Person, data: bytes) -> int:
    """An upload that reached storage without ``POST /media``'s video check (seeded, or from an
    older version): the job must still refuse what the upload check would have refused."""
    async with runtime.db.transaction() as session:
        media = await notes_service.store_upload(
            session, viewer=person.viewer, storage=runtime.storage, settings=runtime.settings, data=data
        )
        return int(media.id)


async def test_a_file_without_a_video_track_fails_with_a_reason(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    alice = await person("alice")
    media_id = await stored_without_upload_check(runtime, alice, make_video(tmp_path / "a.mp4", video=False))
    await drain()
    stored = await row(runtime, MediaAttachment, media_id)
    assert stored.state == "failed" and stored.failure_reason == "That file has no video track."
    r = await alice.client.get(f"/api/v1/media/{media_id}", headers={"Accept-Language": "en"})
    assert r.json()["failure_code"] == "no_video_stream"
    # A failed upload cannot be posted; the note is never half-made.
    r = await alice.client.post("/api/v1/notes", json={"title": "x", "media_ids": [str(media_id)]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "media_failed"


async def test_a_two_hour_header_is_refused_before_decoding(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    alice = await person("alice")
    media_id = await stored_without_upload_check(runtime, alice, long_header_video(tmp_path / "long.mp4"))
    await drain()
    stored = await row(runtime, MediaAttachment, media_id)
    assert stored.state == "failed" and stored.failure_reason == "That video is longer than 60 seconds."
    assert stored.variants["error"]["code"] == "video_too_long"


async def test_a_truncated_video_fails_cleanly(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    """Header first (faststart), pictures cut off: the upload check (header and first
    picture) passes, decoding in the job finds the rest missing."""
    alice = await person("alice")
    data = make_video(tmp_path / "t.mp4", size=(320, 240), seconds=2.0, faststart=True)
    media = await upload(alice.client, data[: len(data) // 3], "t.mp4")
    await drain()
    stored = await row(runtime, MediaAttachment, int(media["id"]))
    assert stored.state == "failed" and stored.variants["error"]["code"] == "invalid_video"
    # A failed video keeps its private upload (nothing public was made of it).
    assert stored.storage_key.startswith("u/") and await runtime.storage.exists(stored.storage_key)
