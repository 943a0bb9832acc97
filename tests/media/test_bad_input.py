"""Hostile or broken images get a clear 4xx at upload and nothing is stored."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import PersonFactory, phone_jpeg, png_bomb
from tests.notes.conftest import count


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "hello" * 100)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("truncated.jpg", phone_jpeg((800, 600))[:4000], 415, "invalid_image"),
        ("archive.png", _zip(), 415, "invalid_image"),
        ("strip.png", _png((1, 60_000)), 400, "image_too_large"),
        ("bomb.png", png_bomb(), 400, "image_too_large"),
        ("empty.jpg", b"", 400, "empty_file"),
    ],
)
async def test_bad_images_are_refused_with_a_reason(
    runtime: Runtime, person: PersonFactory, name: str, data: bytes, status: int, code: str
) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/media", files={"file": (name, data, "image/png")})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    assert await count(runtime, MediaAttachment) == 0
    assert not list((runtime.settings.media_root).rglob("*.*"))


async def test_a_png_named_jpg_is_judged_by_its_content(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/media", files={"file": ("photo.jpg", _png((40, 30)), "image/jpeg")})
    assert r.status_code == 201 and r.json()["width"] == 40
    assert r.json()["content_type"] in ("image/jpeg", "image/png")


async def test_too_many_bytes_is_a_413(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    runtime.settings.max_upload_bytes = 10_000
    r = await alice.client.post("/api/v1/media", files={"file": ("big.jpg", phone_jpeg((800, 600)), "image/jpeg")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
