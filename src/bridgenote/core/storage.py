"""Where uploaded and generated files live: a local directory by default, or any
S3-compatible object store (``BRIDGENOTE_STORAGE__BACKEND=s3``).

Keys are relative, slash-separated paths (``u/ab/cd/<hash>.jpg``). Keys under
:data:`PUBLIC_PREFIXES` are content-addressed and public (served with a year-long
``immutable`` cache header); every other prefix is private and only reached
through authorised endpoints.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from bridgenote.core.errors import BadRequest

if TYPE_CHECKING:
    from bridgenote.config import Settings

PUBLIC_PREFIXES = ("m/", "a/")
IMMUTABLE = "public, max-age=31536000, immutable"
# Large files (account archives) move in pieces of this size, so that neither the worker
# that stores one nor the web process that serves it holds the whole file in memory.
CHUNK_BYTES = 1024 * 1024


class Storage(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        """Store the file at ``path`` under ``key`` without reading it into memory whole."""
        ...

    def chunks(self, key: str, *, chunk_size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The stored bytes in pieces of at most ``chunk_size``; a missing key raises
        ``FileNotFoundError`` from the first step."""
        ...

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

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        target = self.path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)

        await asyncio.to_thread(copy)

    async def chunks(self, key: str, *, chunk_size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        fh = await asyncio.to_thread(self.path(key).open, "rb")
        try:
            while piece := await asyncio.to_thread(fh.read, chunk_size):
                yield piece
        finally:
            await asyncio.to_thread(fh.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).exists)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{_safe_key(key)}"


class S3Storage:
    """Any S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2, ...) through boto3.

    boto3 is synchronous; each call runs in a worker thread, like LocalStorage's file I/O.
    Public keys get ``Cache-Control: immutable`` on the object itself, so the bucket (or a
    CDN in front of it, ``public_url``) serves them the way ``/media`` does locally.
    The bucket policy must expose only the public prefixes (see docs/media.md).
    """

    def __init__(self, client: Any, *, bucket: str, prefix: str = "", public_url: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3  # type: ignore[import-untyped]

        conf = settings.storage
        if not conf.s3_bucket:
            raise ValueError("BRIDGENOTE_STORAGE__S3_BUCKET is required for the s3 storage backend")
        client = boto3.client(
            "s3",
            endpoint_url=conf.s3_endpoint_url,
            region_name=conf.s3_region,
            aws_access_key_id=conf.s3_access_key_id,
            aws_secret_access_key=conf.s3_secret_access_key,
        )
        return cls(client, bucket=conf.s3_bucket, prefix=conf.s3_prefix, public_url=conf.s3_public_url)

    def _key(self, key: str) -> str:
        return self.prefix + str(_safe_key(key))

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        extra: dict[str, Any] = {"ContentType": content_type}
        if key.startswith(PUBLIC_PREFIXES):
            extra["CacheControl"] = IMMUTABLE
        # A single PUT is atomic: readers see the old object or the new one, never a part.
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey as exc:
                raise FileNotFoundError(key) from exc
            body: bytes = response["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        extra: dict[str, Any] = {"ContentType": content_type}
        if key.startswith(PUBLIC_PREFIXES):
            extra["CacheControl"] = IMMUTABLE
        # boto3's managed transfer: a multipart upload in parts for large files, so the
        # object still appears whole or not at all.
        await asyncio.to_thread(self.client.upload_file, str(path), self.bucket, self._key(key), ExtraArgs=extra)

    async def chunks(self, key: str, *, chunk_size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        def open_body() -> Any:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            except self.client.exceptions.NoSuchKey as exc:
                raise FileNotFoundError(key) from exc

        body = await asyncio.to_thread(open_body)
        try:
            while piece := await asyncio.to_thread(body.read, chunk_size):
                yield piece
        finally:
            await asyncio.to_thread(body.close)

    async def delete(self, key: str) -> None:
        # S3 deletes are idempotent: a missing key is not an error (as LocalStorage's unlink(missing_ok)).
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        return await asyncio.to_thread(head)

    def url(self, key: str) -> str:
        return f"{self.public_url}/{self._key(key)}"


async def opened(storage: Storage, key: str, *, chunk_size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """``storage.chunks(key)`` with its first piece already read: a missing key raises
    ``FileNotFoundError`` here, before a response that streams the rest has started."""
    pieces = storage.chunks(key, chunk_size=chunk_size)
    first = await anext(pieces, b"")

    async def all_pieces() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for piece in pieces:
            yield piece

    return all_pieces()


async def copy_to_file(storage: Storage, key: str, path: Path) -> int:
    """Write the stored file to ``path`` piece by piece; how many bytes."""
    size = 0
    with await asyncio.to_thread(path.open, "wb") as fh:
        async for piece in storage.chunks(key):
            await asyncio.to_thread(fh.write, piece)
            size += len(piece)
    return size


def storage_from_settings(settings: Settings) -> Storage:
    backend = settings.storage.backend
    if backend == "local":
        return LocalStorage(settings.media_root)
    if backend == "s3":
        return S3Storage.from_settings(settings)
    raise ValueError(f"unknown storage backend {backend!r} (local or s3)")
