"""Real media made on the spot: photo-like JPEGs with phone metadata, short videos."""

from __future__ import annotations

import fractions
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bridgenote.core.runtime import Runtime
from tests.notes.conftest import Person, PersonFactory, person, post_note, row  # noqa: F401 - fixtures

GPS = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 7.0)}


def photo(size: tuple[int, int] = (1600, 1200), seed: int = 1) -> Image.Image:
    """A photo-like picture: sky and ground gradients, soft shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    top, bottom = rng.integers(40, 230, 3), rng.integers(20, 200, 3)
    base = top * (1 - y) + bottom * y + np.zeros((h, w, 3))
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(w // 20, w // 4))
        draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    img = img.filter(ImageFilter.GaussianBlur(radius=max(1, w // 200)))
    noise = rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8), "RGB")


def phone_jpeg(size: tuple[int, int] = (1600, 1200), *, orientation: int = 1, seed: int = 1) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera make and model, Orientation, a comment."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "SecretPhone 9"
    exif[0x8825] = GPS
    out = io.BytesIO()
    photo(size, seed).save(out, "JPEG", exif=exif, quality=92, comment=b"serial 12345")
    return out.getvalue()


def png_bomb(width: int = 65_000, height: int = 65_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row_bytes = (width + 7) // 8 + 1
    body = zlib.compress(b"\x00" * row_bytes * 64, 9)  # a few rows; the rest would be "more zeros"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", body)
        + chunk(b"IEND", b"")
    )


def make_video(
    path: Path,
    *,
    size: tuple[int, int] = (640, 480),
    seconds: float = 1.0,
    fps: int = 15,
    audio: bool = True,
    video: bool = True,
    container: str = "mp4",
    gps: bool = True,
    faststart: bool = False,
    codec: str = "libx264",
) -> bytes:
    """A real H.264/AAC clip (moving gradient and a tone), with a location tag in its metadata.
    ``faststart`` puts the header (``moov``) first, as phones and encoders for the web do."""
    w, h = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        if gps:
            out.metadata["location"] = "+31.2304+121.4737/"
        vs = out.add_stream(codec, rate=fps) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.options = {"preset": "ultrafast"} if codec == "libx264" else {"deadline": "realtime", "cpu-used": "8"}
        as_ = out.add_stream("aac", rate=44100) if audio else None  # (WebM clips: audio=False)
        if as_ is not None:
            as_.layout = "mono"
        frames = int(seconds * fps)
        if vs is not None:
            xs = np.linspace(0, 255, w, dtype=np.float64)[None, :]
            ys = np.linspace(0, 255, h, dtype=np.float64)[:, None]
            for i in range(frames):
                shift = i * 8
                rgb = np.stack(
                    [(xs + shift + 0 * ys) % 256, (ys + shift + 0 * xs) % 256, ((xs + ys) / 2 + 0 * xs) % 256], axis=2
                ).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                frame.time_base = fractions.Fraction(1, fps)
                for packet in vs.encode(frame):
                    out.mux(packet)
            for packet in vs.encode(None):
                out.mux(packet)
        if as_ is not None:
            samples = int(seconds * 44100)
            t = np.arange(samples) / 44100
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                frame.sample_rate, frame.pts = 44100, start
                for packet in as_.encode(frame):
                    out.mux(packet)
            for packet in as_.encode(None):
                out.mux(packet)
    return path.read_bytes()


def long_header_video(path: Path, *, hours: float = 2.0) -> bytes:
    """Two frames, two hours apart: the header says the clip lasts two hours."""
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=1)
        vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p"
        vs.codec_context.time_base = fractions.Fraction(1, 1000)
        for pts in (0, int(hours * 3600 * 1000)):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, fractions.Fraction(1, 1000)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
    return path.read_bytes()


async def upload(client: httpx.AsyncClient, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
    r = await client.post("/api/v1/media", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def stored(runtime: Runtime, key: str) -> bytes:
    return await runtime.storage.get(key)
