"""``MEDIA__KEEP_ORIGINAL``: by default only the clean master is kept; when set, the
untouched upload is kept too, privately: its owner may download it, nobody else can reach
it, nothing public is made from it, and it goes with the upload."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from PIL import Image

from bridgenote.core.runtime import Runtime
from bridgenote.media.models import MediaFile
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import PersonFactory, make_video, phone_jpeg, post_note, row, upload
from tests.notes.conftest import count

Drain = Callable[[], Awaitable[int]]


def stored_keys(runtime: Runtime) -> set[str]:
    root = runtime.settings.media_root
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


async def test_by_default_only_the_clean_master_is_kept(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient, drain: Drain
) -> None:
    assert runtime.settings.media.keep_original is False
    alice = await person("alice")
    original = phone_jpeg((1600, 1200), orientation=6)
    media = await upload(alice.client, original)
    await drain()
    keys = stored_keys(runtime)
    assert all(k.startswith("m/") for k in keys) and len(keys) == 1 + 9
    for key in keys:
        data = (runtime.settings.media_root / key).read_bytes()
        assert b"SecretPhone" not in data and b"serial 12345" not in data
    r = await alice.client.get(f"/api/v1/media/{media['id']}/original")
    assert r.status_code == 200 and r.content != original and b"SecretPhone" not in r.content
    with Image.open(io.BytesIO(r.content)) as img:
        assert img.size == (1200, 1600) and not img.getexif()


async def test_kept_originals_are_private_and_go_with_the_upload(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient, drain: Drain
) -> None:
    runtime.settings.media.keep_original = True
    alice, bob = await person("alice"), await person("bob")
    original = phone_jpeg((1600, 1200), orientation=6)
    media = await upload(alice.client, original)
    note = await post_note(alice.client, media_ids=[media["id"]])
    await drain()
    kept = [k for k in stored_keys(runtime) if not k.startswith("m/")]
    assert len(kept) == 1 and kept[0].startswith("o/") and kept[0].endswith(".jpg")
    assert (runtime.settings.media_root / kept[0]).read_bytes() == original
    # Everything public is still metadata-free: the master and every variant.
    card = (await client.get(f"/api/v1/notes/{note['id']}")).json()["media"][0]
    public = [
        card["url"],
        *(s["srcset"].split(" ")[0] for s in card["picture"]["sources"]),
        card["picture"]["img"]["src"],
    ]
    for url in public:
        served = await client.get(url)
        assert served.status_code == 200 and b"SecretPhone" not in served.content
    # Only the owner gets the original, never cached; it has no public URL at all.
    r = await alice.client.get(f"/api/v1/media/{media['id']}/original")
    assert r.status_code == 200 and r.content == original
    assert r.headers["content-type"] == "image/jpeg" and r.headers["cache-control"] == "private, no-store"
    assert (await bob.client.get(f"/api/v1/media/{media['id']}/original")).status_code == 404
    assert (await client.get(f"/media/{kept[0]}")).status_code == 404
    # It goes with the upload.
    assert (await alice.client.delete(f"/api/v1/notes/{note['id']}")).status_code == 200
    await drain()
    assert stored_keys(runtime) == set()
    assert await count(runtime, MediaFile) == 0


async def test_a_kept_video_original_stays_private_after_processing(
    runtime: Runtime, person: PersonFactory, client: httpx.AsyncClient, drain: Drain, tmp_path: Path
) -> None:
    runtime.settings.media.keep_original = True
    alice = await person("alice")
    data = make_video(tmp_path / "v.mp4", size=(320, 240), seconds=1.0)
    media = await upload(alice.client, data, "v.mp4")
    source = (await row(runtime, MediaAttachment, int(media["id"]))).storage_key
    await drain()
    stored = await row(runtime, MediaAttachment, int(media["id"]))
    assert stored.state == "ready" and stored.storage_key == stored.variants["mp4"]
    assert source.startswith("u/") and await runtime.storage.exists(source)
    r = await alice.client.get(f"/api/v1/media/{media['id']}/original")
    assert r.status_code == 200 and r.content == data and r.headers["content-type"] == "video/mp4"
    assert (await client.get(f"/media/{source}")).status_code == 404
    assert b"loci" not in await runtime.storage.get(stored.variants["mp4"])
    assert (await alice.client.delete(f"/api/v1/media/{media['id']}")).status_code == 200
    await drain()
    assert stored_keys(runtime) == set()
