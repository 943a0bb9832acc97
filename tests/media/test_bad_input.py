"""Hostile or broken uploads get a clear 4xx at upload and nothing is stored.

Images are decoded in full; a video's container header (and its first picture) is read
with PyAV before anything is stored: too big, too long (a two-hour header), no video
track, not a decodable MP4/MOV/WebM. Request bodies over the largest upload are refused
while they stream.
"""

from __future__ import annotations

import fractions
import io
import random
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.media.models import MediaFile
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import PersonFactory, long_header_video, make_video, phone_jpeg, png_bomb
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


async def assert_nothing_stored(runtime: Runtime) -> None:
    assert await count(runtime, MediaAttachment) == 0
    assert await count(runtime, MediaFile) == 0
    assert await count(runtime, Job, Job.name.startswith("media.")) == 0
    assert not [p for p in runtime.settings.media_root.rglob("*") if p.is_file()]


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
    await assert_nothing_stored(runtime)


async def test_a_png_named_jpg_is_judged_by_its_content(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/media", files={"file": ("photo.jpg", _png((40, 30)), "image/jpeg")})
    assert r.status_code == 201 and r.json()["width"] == 40
    assert r.json()["content_type"] in ("image/jpeg", "image/png")


async def test_an_avif_photo_is_a_photo_not_a_video(runtime: Runtime, person: PersonFactory) -> None:
    """AVIF is an ISO media file (``ftypavif``) like MP4: the brand tells them apart."""
    alice = await person("alice")
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 30, 30)).save(out, "AVIF")
    assert out.getvalue()[4:12] == b"ftypavif"
    r = await alice.client.post("/api/v1/media", files={"file": ("photo.avif", out.getvalue(), "image/avif")})
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "image" and (r.json()["width"], r.json()["height"]) == (48, 32)


async def test_too_many_bytes_is_a_413(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    runtime.settings.max_upload_bytes = 10_000
    r = await alice.client.post("/api/v1/media", files={"file": ("big.jpg", phone_jpeg((800, 600)), "image/jpeg")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


# ---------------------------------------------------------------- videos, checked at upload


def _big_picture_video(path: Path) -> bytes:
    """One frame, 4112 x 32 pixels: over the 4096 px a side a video may have."""
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 4112, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 4112, 3), np.uint8), format="rgb24")
        frame.pts, frame.time_base = 0, fractions.Fraction(1, 1)
        out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    return path.read_bytes()


def _garbled_pictures(path: Path) -> bytes:
    """A well-formed MP4 header whose picture data is noise: nothing in it decodes."""
    data = make_video(path, size=(160, 120), seconds=1.0, audio=False, faststart=True)
    start = data.find(b"mdat") + 4
    noise = random.Random(7).randbytes(len(data) - start)
    return data[:start] + noise


VIDEO_CASES = {
    "two-hour header": (lambda p: long_header_video(p / "long.mp4"), 400, "video_too_long"),
    "no video stream": (lambda p: make_video(p / "audio.mp4", video=False), 415, "no_video_stream"),
    "picture too large": (lambda p: _big_picture_video(p / "wide.mp4"), 400, "video_too_large"),
    "ftyp then padding": (
        lambda p: b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 512,
        415,
        "invalid_video",
    ),
    "header lost (truncated)": (
        lambda p: make_video(p / "t.mp4", size=(320, 240), seconds=2.0)[:3000],
        415,
        "invalid_video",
    ),
    "webm magic then noise": (lambda p: b"\x1a\x45\xdf\xa3" + random.Random(3).randbytes(4000), 415, "invalid_video"),
    "pictures that do not decode": (lambda p: _garbled_pictures(p / "noise.mp4"), 415, "invalid_video"),
}


@pytest.mark.parametrize("case", list(VIDEO_CASES))
async def test_bad_videos_are_refused_at_upload(
    runtime: Runtime, person: PersonFactory, tmp_path: Path, case: str
) -> None:
    make, status, code = VIDEO_CASES[case]
    data = make(tmp_path)
    alice = await person("alice")
    r = await alice.client.post("/api/v1/media", files={"file": ("clip.mp4", data, "video/mp4")})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    await assert_nothing_stored(runtime)


async def test_refusals_are_translated(runtime: Runtime, person: PersonFactory, tmp_path: Path) -> None:
    alice = await person("alice", ui_language="zh-Hans")
    files = {"file": ("long.mp4", long_header_video(tmp_path / "long.mp4"), "video/mp4")}
    r = await alice.client.post("/api/v1/media", files=files)
    assert r.status_code == 400 and r.json()["error"]["message"] == "视频时长超过 60 秒。"


async def test_an_oversized_video_is_refused_before_it_is_read(
    runtime: Runtime, person: PersonFactory, tmp_path: Path
) -> None:
    alice = await person("alice")
    data = make_video(tmp_path / "v.mp4", size=(320, 240), seconds=1.0)
    runtime.settings.max_video_bytes = len(data) - 1
    r = await alice.client.post("/api/v1/media", files={"file": ("v.mp4", data, "video/mp4")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["message"] == f"That video is larger than {(len(data) - 1) // 2**20} MB."
    await assert_nothing_stored(runtime)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("clip.mov", {"container": "mov"}),
        ("clip.webm", {"container": "webm", "codec": "libvpx-vp9", "audio": False}),
        ("clip.mp4", {"faststart": True}),
    ],
)
async def test_good_videos_pass_the_upload_check(
    runtime: Runtime, person: PersonFactory, tmp_path: Path, name: str, kwargs: dict[str, Any]
) -> None:
    alice = await person("alice")
    data = make_video(tmp_path / name, size=(320, 240), seconds=1.0, **kwargs)
    r = await alice.client.post("/api/v1/media", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    media = r.json()
    assert media["kind"] == "video" and media["state"] == "uploaded"
    # The header's size and length are known at once (the job measures them again).
    assert (media["width"], media["height"]) == (320, 240) and 900 <= media["duration_ms"] <= 1100


# ---------------------------------------------------------------- bodies over the limit


async def test_a_body_over_the_limit_is_refused_while_it_streams(runtime: Runtime, person: PersonFactory) -> None:
    """No Content-Length (a chunked upload): the server stops reading once the body is
    past the largest upload plus the multipart slack, and says why."""
    from bridgenote.core.web import BODY_SLACK

    alice = await person("alice")
    runtime.settings.max_upload_bytes = runtime.settings.max_video_bytes = 2**20
    chunk, sent = b"\0" * 2**16, 0
    boundary = "bnboundary"

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
        yield head.encode()
        for _ in range(400):  # 25 MiB if it were all read
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await alice.client.post(
        "/api/v1/media", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert (error["code"], error["message"]) == ("payload_too_large", "That upload is larger than 1 MB.")
    assert sent <= 2**20 + BODY_SLACK + 2 * len(chunk), "the server read on past the limit"
    await assert_nothing_stored(runtime)


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    runtime: Runtime, person: PersonFactory
) -> None:
    alice = await person("alice")
    runtime.settings.max_upload_bytes = runtime.settings.max_video_bytes = 2**20
    read = []

    async def body() -> AsyncIterator[bytes]:
        read.append(True)
        yield b"x" * 10

    request = alice.client.build_request(
        "POST", "/api/v1/media", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    request.headers["Content-Length"] = str(5 * 2**20)
    r = await alice.client.send(request)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert not read
    await assert_nothing_stored(runtime)


async def test_an_upload_within_the_limits_still_works(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    runtime.settings.max_upload_bytes = runtime.settings.max_video_bytes = 2**20
    r = await alice.client.post("/api/v1/media", files={"file": ("a.jpg", phone_jpeg((300, 200)), "image/jpeg")})
    assert r.status_code == 201, r.text
