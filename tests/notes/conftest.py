"""Fixtures and helpers for the notes tests: people with API clients, generated media,
and direct SQL counts to check denormalised counters against the rows they count."""

from __future__ import annotations

import io
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, text

from bridgenote.accounts.models import User
from bridgenote.core.auth import Viewer
from bridgenote.core.runtime import Runtime
from tests.factories import create_user, viewer

_colours = itertools.count(1)


@dataclass
class Person:
    user: User
    client: httpx.AsyncClient

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def viewer(self) -> Viewer:
        return viewer(self.user)


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
def person(runtime: Runtime, client_for: Callable[..., Awaitable[httpx.AsyncClient]]) -> PersonFactory:
    """``await person("alice", region="CN")``: a user and a bearer-token client for them."""

    async def make(username: str | None = None, **overrides: Any) -> Person:
        if username is not None:
            overrides["username"] = username
            overrides.setdefault("email", f"{username}@example.com")
        user = await create_user(runtime, **overrides)
        return Person(user=user, client=await client_for(user))

    return make


# ---------------------------------------------------------------- generated media


def jpeg(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] | None = None) -> bytes:
    """A small JPEG; each call without ``colour`` gives different bytes (a distinct upload)."""
    if colour is None:
        n = next(_colours)
        colour = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def exif_jpeg(*, orientation: int = 6, size: tuple[int, int] = (80, 40)) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera make, and an Orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "SecretPhone 9"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 7.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def mp4() -> bytes:
    """A real two-frame H.264 MP4 (uploads read a video's header and first picture)."""
    import fractions

    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, fractions.Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


async def upload(client: httpx.AsyncClient, data: bytes | None = None, name: str = "photo.jpg") -> str:
    r = await client.post("/api/v1/media", files={"file": (name, data if data is not None else jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    media_id: str = r.json()["id"]
    return media_id


async def post_note(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "a note")
    r = await client.post("/api/v1/notes", json=body)
    assert r.status_code == 201, r.text
    note: dict[str, Any] = r.json()
    return note


async def walk(client: httpx.AsyncClient, url: str, *, limit: int) -> list[list[dict[str, Any]]]:
    """Follow ``next_cursor`` to the end; returns the pages."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


# ---------------------------------------------------------------- database reads


async def scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    async with runtime.db.transaction(write=False) as session:
        return await session.scalar(text(sql), params)


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def row(runtime: Runtime, model: Any, key: Any) -> Any:
    """A fresh copy of one row as the database has it now (or ``None``)."""
    async with runtime.db.transaction(write=False) as session:
        return await session.get(model, key)
