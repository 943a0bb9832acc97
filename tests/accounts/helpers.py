"""Small helpers shared by the accounts tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def load_user(runtime: Runtime, user_id: int) -> User:
    """A fresh copy of the row as the database has it now."""
    async with runtime.db.transaction(write=False) as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


def csrf(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}


def jpeg_with_gps(colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real JPEG whose EXIF says where it was taken (and which camera took it)."""
    img = Image.new("RGB", (640, 480), colour)
    exif = Image.Exif()
    exif[0x010F] = "Phone Maker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 15.0), 3: "E", 4: (116.0, 23.0, 30.0)}  # GPS IFD: Beijing
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries the location
        assert check.getexif().get_ifd(0x8825)[2] == (39.0, 54.0, 15.0)
    return data


def huge_png(width: int = 8000, height: int = 7000) -> bytes:
    """56 megapixels of one colour: a few kilobytes of PNG, far over the pixel limit."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, content_type)}


def key_of(avatar_url: str) -> str:
    assert avatar_url.startswith("/media/")
    return avatar_url.removeprefix("/media/")
