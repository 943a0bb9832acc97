"""Deleted uploads leave no files behind: masters, variants, MP4s, posters, HLS playlists
and segments, subtitle files and kept originals go in a job after commit; files another
upload still uses stay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.media import service
from bridgenote.media.models import MediaFile
from bridgenote.notes import service as notes_service
from bridgenote.notes.models import MediaAttachment
from tests.factories import PASSWORD
from tests.media.conftest import PersonFactory, make_video, phone_jpeg, post_note, row, upload
from tests.notes.conftest import count

Drain = Callable[[], Awaitable[int]]

SRT = "1\n00:00:00,000 --> 00:00:00,800\nhello\n"


def files(runtime: Runtime) -> set[str]:
    """Every file in local storage, as keys."""
    root = runtime.settings.media_root
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def unfinished_jobs(runtime: Runtime) -> list[tuple[str, str | None]]:
    async with runtime.db.transaction(write=False) as session:
        rows = await session.scalars(select(Job).where(Job.state != "done"))
        return [(j.name, j.last_error) for j in rows]


async def photo_note(person: Any, *, seed: int, drain: Drain) -> tuple[dict[str, Any], dict[str, Any]]:
    media = await upload(person.client, phone_jpeg((1300, 900), seed=seed))
    note = await post_note(person.client, media_ids=[media["id"]])
    await drain()
    return media, note


async def test_deleting_a_photo_note_removes_its_files_but_not_shared_ones(
    runtime: Runtime, person: PersonFactory, drain: Drain
) -> None:
    alice, bob = await person("alice"), await person("bob")
    nothing = files(runtime)
    _mine, note = await photo_note(alice, seed=1, drain=drain)
    mine = files(runtime) - nothing
    assert len(mine) == 1 + 9  # the master and 3 formats x 3 widths
    # Bob posts the very same photo: the same content-addressed files.
    _same, bobs = await photo_note(bob, seed=1, drain=drain)
    assert files(runtime) - nothing == mine
    _other, other = await photo_note(bob, seed=2, drain=drain)
    others = files(runtime) - nothing - mine

    assert (await alice.client.delete(f"/api/v1/notes/{note['id']}")).status_code == 200
    await drain()
    assert await unfinished_jobs(runtime) == []
    assert files(runtime) - nothing == mine | others, "bob's copy still uses them"
    served = await bob.client.get(f"/api/v1/notes/{bobs['id']}")
    assert served.status_code == 200
    for source in served.json()["media"][0]["picture"]["sources"]:
        url = source["srcset"].split(" ")[0]
        assert (await bob.client.get(url)).status_code == 200

    assert (await bob.client.delete(f"/api/v1/notes/{bobs['id']}")).status_code == 200
    await drain()
    assert files(runtime) - nothing == others, "the last user of a file takes it along"
    assert (await bob.client.delete(f"/api/v1/notes/{other['id']}")).status_code == 200
    await drain()
    assert files(runtime) == nothing
    assert await count(runtime, MediaFile) == 0
    assert await unfinished_jobs(runtime) == []


async def test_deleting_a_video_note_removes_mp4_poster_hls_and_subtitles(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    alice = await person("alice")
    nothing = files(runtime)
    video = await upload(alice.client, make_video(tmp_path / "v.mp4", size=(640, 480), seconds=1.0), "v.mp4")
    note = await post_note(alice.client, media_ids=[video["id"]])
    await drain()
    for language, text in (("en", SRT), ("zh-Hans", SRT.replace("hello", "你好"))):
        body = {"language": language, "label": language, "text": text}
        assert (await alice.client.put(f"/api/v1/media/{video['id']}/subtitles", json=body)).status_code == 200
    # A replaced track: its old file goes at once (after commit), the new one stays.
    body = {"language": "en", "label": "English", "text": SRT.replace("hello", "hello again")}
    assert (await alice.client.put(f"/api/v1/media/{video['id']}/subtitles", json=body)).status_code == 200
    await drain()
    stored = await row(runtime, MediaAttachment, int(video["id"]))
    made = files(runtime) - nothing
    assert sum(k.endswith(".vtt") for k in made) == 2
    assert sum(k.endswith(".m4s") for k in made) >= 2 and sum(k.endswith(".m3u8") for k in made) >= 3
    assert {stored.variants["mp4"], stored.variants["poster"], stored.variants["hls"]} <= made
    assert not any(k.startswith("u/") for k in made), "the private upload went once the MP4 existed"

    assert (await alice.client.delete(f"/api/v1/notes/{note['id']}")).status_code == 200
    await drain()
    assert await unfinished_jobs(runtime) == []
    assert files(runtime) == nothing
    assert await count(runtime, MediaFile) == 0


async def test_account_deletion_removes_every_file(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    victim, other = await person("victim"), await person("other")
    nothing = files(runtime)
    await photo_note(other, seed=5, drain=drain)
    theirs = files(runtime) - nothing
    await photo_note(victim, seed=3, drain=drain)
    await upload(victim.client, phone_jpeg((500, 400), seed=4))  # never posted
    clip = make_video(tmp_path / "v.mp4", size=(320, 240), seconds=1.0)
    await upload(victim.client, clip, "v.mp4")  # never posted
    await drain()
    assert len(files(runtime) - nothing - theirs) > 20
    r = await victim.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    await drain()
    assert await unfinished_jobs(runtime) == []
    assert files(runtime) - nothing == theirs


async def test_an_unattached_upload_can_be_deleted(runtime: Runtime, person: PersonFactory, drain: Drain) -> None:
    alice, bob = await person("alice"), await person("bob")
    nothing = files(runtime)
    loose = await upload(alice.client, phone_jpeg((1300, 900), seed=6))
    await drain()
    assert len(files(runtime) - nothing) == 10
    posted = await upload(alice.client, phone_jpeg((1300, 900), seed=7))
    await post_note(alice.client, media_ids=[posted["id"]])
    await drain()

    assert (await bob.client.delete(f"/api/v1/media/{loose['id']}")).status_code == 404
    r = await alice.client.delete(f"/api/v1/media/{posted['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "media_attached"
    assert (await alice.client.delete(f"/api/v1/media/{loose['id']}")).status_code == 200
    assert (await alice.client.get(f"/api/v1/media/{loose['id']}")).status_code == 404
    await drain()
    assert len(files(runtime) - nothing) == 10, "only the posted photo's files are left"
    assert (await alice.client.delete(f"/api/v1/media/{loose['id']}")).status_code == 404


async def test_the_purge_is_idempotent_and_reads_older_uploads_from_their_variants(
    runtime: Runtime, person: PersonFactory, drain: Drain, tmp_path: Path
) -> None:
    """Uploads processed before ``media_files`` existed: their keys come from the
    ``variants`` column, HLS segments from the playlists."""
    alice = await person("alice")
    nothing = files(runtime)
    photo = await upload(alice.client, phone_jpeg((800, 600), seed=8))
    clip = await upload(alice.client, make_video(tmp_path / "v.mp4", size=(320, 240), seconds=1.0), "v.mp4")
    await drain()
    async with runtime.db.transaction() as session:
        await session.execute(delete(MediaFile))
        entries = []
        for media_id in (int(photo["id"]), int(clip["id"])):
            media = await session.get(MediaAttachment, media_id)
            assert media is not None
            entries.append({"id": media.id, "storage_key": media.storage_key, "variants": media.variants})
            await session.execute(delete(MediaAttachment).where(MediaAttachment.id == media_id))
    assert len(files(runtime) - nothing) > 15
    for _ in range(2):
        async with runtime.db.transaction() as session:
            await service.purge_files(session, storage=runtime.storage, media=entries)
        assert files(runtime) == nothing


async def test_files_written_while_the_upload_was_deleted_are_removed(
    runtime: Runtime, person: PersonFactory, drain: Drain
) -> None:
    """The upload is deleted (and purged) while its job encodes: the job finds it gone
    when it records the result, and has its freshly written files removed too."""
    alice = await person("alice")
    nothing = files(runtime)
    media = await upload(alice.client, phone_jpeg((900, 700), seed=9))
    real_get = runtime.storage.get

    async def get_then_delete(key: str) -> bytes:
        data = await real_get(key)
        async with runtime.db.transaction() as session:
            await notes_service.delete_upload(session, viewer=alice.viewer, media_id=int(media["id"]))
        return data

    runtime.storage.get = get_then_delete  # type: ignore[method-assign]
    try:
        async with runtime.db.transaction() as session:
            outcome = await service.process_media(
                session, runtime=runtime, media_id=int(media["id"]), final_attempt=False
            )
    finally:
        runtime.storage.get = real_get  # type: ignore[method-assign]
    assert outcome == "gone"
    await drain()
    assert files(runtime) == nothing
    assert await count(runtime, MediaFile) == 0
