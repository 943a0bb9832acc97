"""Uploads: validated by content, stored as an upright master without metadata."""

from __future__ import annotations

import hashlib
import io

import httpx
import pytest
from PIL import Image

from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import MediaAttachment
from tests.notes.conftest import PersonFactory, count, exif_jpeg, jpeg, row


async def post_file(client: httpx.AsyncClient, data: bytes, name: str = "photo.jpg") -> httpx.Response:
    return await client.post("/api/v1/media", files={"file": (name, data, "image/jpeg")})


async def stored_image(runtime: Runtime, media_id: str) -> tuple[MediaAttachment, bytes]:
    media = await row(runtime, MediaAttachment, int(media_id))
    return media, runtime.storage.path(media.storage_key).read_bytes()  # type: ignore[attr-defined]


async def test_exif_and_gps_are_stripped_and_the_image_is_turned_upright(
    runtime: Runtime, person: PersonFactory
) -> None:
    alice = await person("alice")
    original = exif_jpeg(orientation=6, size=(80, 40))
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif()[0x0112] == 6 and img.size == (80, 40)  # the fixture is what it claims
    r = await post_file(alice.client, original)
    assert r.status_code == 201, r.text
    media = r.json()
    # Orientation 6 means "rotate 90° clockwise to display": the master is 40 wide, 80 high.
    assert (media["width"], media["height"]) == (40, 80)
    stored, data = await stored_image(runtime, media["id"])
    assert (stored.width, stored.height) == (40, 80)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (40, 80)
        assert dict(img.getexif()) == {}
        assert "exif" not in img.info
    for secret in (b"Exif\x00\x00", b"PhoneMaker", b"SecretPhone"):
        assert secret not in data
    # The public URL serves exactly the stored master.
    served = await alice.client.get(media["url"])
    assert served.status_code == 200 and served.content == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_other_formats_lose_exif_too(runtime: Runtime, person: PersonFactory, fmt: str) -> None:
    alice = await person("alice")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.0)}
    out = io.BytesIO()
    Image.new("RGB", (30, 20), "blue").save(out, fmt, exif=exif)
    assert b"PhoneMaker" in out.getvalue()
    r = await post_file(alice.client, out.getvalue(), name=f"x.{fmt.lower()}")
    assert r.status_code == 201, r.text
    _stored, data = await stored_image(runtime, r.json()["id"])
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert dict(img.getexif()) == {}


async def test_jpeg_comment_is_stripped(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    out = io.BytesIO()
    Image.new("RGB", (30, 20), "blue").save(out, "JPEG", comment=b"taken at 12 Secret Street")
    r = await post_file(alice.client, out.getvalue())
    assert r.status_code == 201, r.text
    _stored, data = await stored_image(runtime, r.json()["id"])
    assert b"Secret Street" not in data


async def test_identical_uploads_share_one_file(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    data = jpeg(colour=(1, 2, 3))
    a = (await post_file(alice.client, data)).json()
    b = (await post_file(bob.client, data)).json()
    assert a["id"] != b["id"] and a["url"] == b["url"]
    assert await count(runtime, MediaAttachment) == 2


@pytest.mark.parametrize(
    "data",
    [
        b"this is not an image at all",
        b"%PDF-1.7\n" + b"0" * 200,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"GIF89a" + b"\xff" * 30,
    ],
    ids=["text", "pdf", "png-magic-only", "gif-magic-only"],
)
async def test_garbage_is_unsupported(runtime: Runtime, person: PersonFactory, data: bytes) -> None:
    alice = await person("alice")
    r = await post_file(alice.client, data)
    assert r.status_code == 415, r.text
    assert await count(runtime, MediaAttachment) == 0


async def test_truncated_jpeg_is_unsupported(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    out = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(out, "JPEG", quality=95)
    data = out.getvalue()
    r = await post_file(alice.client, data[: len(data) // 2])
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "invalid_image"
    assert await count(runtime, MediaAttachment) == 0


async def test_decompression_bomb_is_rejected(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    out = io.BytesIO()
    # 100 megapixels of one colour compress to a few kilobytes.
    Image.new("1", (10_000, 10_000), 0).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) < 100_000
    r = await post_file(alice.client, out.getvalue(), name="bomb.png")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "image_too_large"
    assert await count(runtime, MediaAttachment) == 0
    assert not any(runtime.storage.root.rglob("*.*"))  # type: ignore[attr-defined]


async def test_empty_file(person: PersonFactory) -> None:
    alice = await person("alice")
    r = await post_file(alice.client, b"")
    assert r.status_code == 400 and r.json()["error"]["code"] == "empty_file"


async def test_extreme_aspect_ratio(person: PersonFactory) -> None:
    alice = await person("alice")
    out = io.BytesIO()
    Image.new("RGB", (2100, 100), "red").save(out, "PNG")
    r = await post_file(alice.client, out.getvalue())
    assert r.status_code == 400 and r.json()["error"]["code"] == "image_bad_aspect"


async def test_anonymous_cannot_upload(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/media", files={"file": ("a.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 401


async def test_alt_text(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    r = await alice.client.post(
        "/api/v1/media", files={"file": ("a.jpg", jpeg(), "image/jpeg")}, data={"alt_text": "a cat"}
    )
    media = r.json()
    assert media["alt_text"] == "a cat"
    r = await alice.client.patch(f"/api/v1/media/{media['id']}", json={"alt_text": "a sleeping cat"})
    assert r.status_code == 200 and r.json()["alt_text"] == "a sleeping cat"
    r = await bob.client.patch(f"/api/v1/media/{media['id']}", json={"alt_text": "mine"})
    assert r.status_code == 404
    assert (await row(runtime, MediaAttachment, int(media["id"]))).alt_text == "a sleeping cat"
