"""Upload -> media.process job -> responsive, metadata-free variants on the note."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pytest
from PIL import Image
from sqlalchemy import select

from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.media import service
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import PersonFactory, phone_jpeg, post_note, row, upload

Drain = Callable[[], Awaitable[int]]


async def test_an_upload_becomes_variants_without_metadata(
    runtime: Runtime, person: PersonFactory, drain: Drain
) -> None:
    alice = await person("alice")
    media = await upload(alice.client, phone_jpeg((1600, 1200), orientation=6))
    # Before the job: the note can already show the master and a placeholder.
    note = await post_note(alice.client, media_ids=[media["id"]])
    assert note["media"][0]["state"] == "uploaded" and note["media"][0]["url"]
    assert await drain() >= 1
    stored = await row(runtime, MediaAttachment, int(media["id"]))
    assert stored.state == "ready" and stored.failure_reason is None
    # EXIF orientation 6: upright, 1200 wide.
    assert (stored.width, stored.height) == (1200, 1600)
    assert stored.blurhash and stored.dominant_color
    files = stored.variants["images"]
    assert sorted({(f["format"], f["width"]) for f in files}) == sorted(
        (f, w) for f in ("avif", "jpeg", "webp") for w in (360, 720, 1080)
    )
    for f in files:
        data = await runtime.storage.get(f["key"])
        assert f["key"].startswith("m/") and len(data) == f["bytes"]
        assert b"SecretPhone" not in data and b"PhoneMaker" not in data
        with Image.open(io.BytesIO(data)) as img:
            assert img.size == (f["width"], f["height"]) and not img.getexif()
    r = await alice.client.get(f"/api/v1/notes/{note['id']}")
    card = r.json()["media"][0]
    assert card["state"] == "ready"
    assert [s["type"] for s in card["picture"]["sources"]] == ["image/avif", "image/webp"]
    assert card["picture"]["img"]["srcset"].count("w,") == 2


async def test_a_second_run_changes_nothing(runtime: Runtime, person: PersonFactory, drain: Drain) -> None:
    alice = await person("alice")
    media = await upload(alice.client, phone_jpeg((500, 400)))
    await drain()
    before = await row(runtime, MediaAttachment, int(media["id"]))
    async with runtime.db.transaction() as session:
        outcome = await service.process_media(session, runtime=runtime, media_id=int(media["id"]), final_attempt=False)
    assert outcome == "skipped"
    after = await row(runtime, MediaAttachment, int(media["id"]))
    assert after.variants == before.variants
    async with runtime.db.transaction() as session:
        gone = await service.process_media(session, runtime=runtime, media_id=12345, final_attempt=False)
    assert gone == "gone"


async def test_a_failing_job_retries_then_marks_the_upload_failed_and_the_note_still_shows(
    runtime: Runtime, person: PersonFactory, drain: Drain
) -> None:
    alice = await person("alice")
    media = await upload(alice.client, phone_jpeg((500, 400)))
    note = await post_note(alice.client, media_ids=[media["id"]])
    media_id = int(media["id"])
    real_get = runtime.storage.get

    async def broken(key: str) -> bytes:
        raise OSError("disk on fire")

    runtime.storage.get = broken  # type: ignore[method-assign]
    try:
        async with runtime.db.transaction() as session:
            with pytest.raises(OSError):
                await service.process_media(session, runtime=runtime, media_id=media_id, final_attempt=False)
        async with runtime.db.transaction() as session:
            outcome = await service.process_media(session, runtime=runtime, media_id=media_id, final_attempt=True)
    finally:
        runtime.storage.get = real_get  # type: ignore[method-assign]
    assert outcome == "failed"
    stored = await row(runtime, MediaAttachment, media_id)
    assert stored.state == "failed" and stored.failure_reason == "We could not process this file."
    r = await alice.client.get(f"/api/v1/media/{media_id}", headers={"Accept-Language": "zh-Hans"})
    assert r.json()["state"] == "failed" and r.json()["failure_code"] == "processing_failed"
    # The note is whole: its photo is the clean master.
    r = await alice.client.get(f"/api/v1/notes/{note['id']}")
    assert r.status_code == 200 and r.json()["media"][0]["url"]


async def test_the_job_is_retried_by_the_worker(runtime: Runtime, person: PersonFactory, drain: Drain) -> None:
    alice = await person("alice")
    media = await upload(alice.client, phone_jpeg((300, 200)))
    key = (await row(runtime, MediaAttachment, int(media["id"]))).storage_key
    data = await runtime.storage.get(key)
    await runtime.storage.delete(key)
    await drain()
    async with runtime.db.transaction(write=False) as session:
        job = (await session.scalars(select(Job).where(Job.name == "media.process"))).one()
    assert job.state == "queued" and job.attempts == 1 and "FileNotFoundError" in (job.last_error or "")
    assert (await row(runtime, MediaAttachment, int(media["id"]))).state == "processing"
    await runtime.storage.put(key, data, content_type="image/jpeg")
    async with runtime.db.transaction() as session:
        await service.process_media(session, runtime=runtime, media_id=int(media["id"]), final_attempt=False)
    assert (await row(runtime, MediaAttachment, int(media["id"]))).state == "ready"
