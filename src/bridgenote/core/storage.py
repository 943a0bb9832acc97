"""Where uploaded and generated files live: a local directory by default.

Keys are relative, slash-separated paths (``u/ab/cd/<hash>.jpg``). The scale
tier plugs an S3-compatible implementation in behind the same protocol.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path, PurePosixPath
from typing import Protocol

from bridgenote.core.errors import BadRequest


class Storage(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    def url(self, key: str) -> str: ...


def _safe_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BadRequest("Invalid file name.")
    return path


class LocalStorage:
    def __init__(self, root: Path, *, base_url: str = "/media") -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        return self.root.joinpath(*_safe_key(key).parts)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        target = self.path(key)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)  # readers never see a half-written file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).exists)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{_safe_key(key)}"
