"""The Storage protocol: the local directory (default) and the S3 adapter.

Here the S3 adapter is checked at the interface level with botocore's Stubber: the exact
requests it makes (bucket, key prefix, content type, immutable cache header for public
keys) and how it maps S3 answers (404, NoSuchKey) onto the protocol. test_s3_server.py
runs it, and the whole media pipeline, against a real S3-compatible server (SeaweedFS).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from bridgenote.config import Settings, StorageSettings
from bridgenote.core.errors import BadRequest
from bridgenote.core.storage import IMMUTABLE, LocalStorage, S3Storage, copy_to_file, opened, storage_from_settings


async def test_local_storage_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put("m/ab/cd/x.webp", b"data", content_type="image/webp")
    assert await storage.exists("m/ab/cd/x.webp") and await storage.get("m/ab/cd/x.webp") == b"data"
    assert storage.url("m/ab/cd/x.webp") == "/media/m/ab/cd/x.webp"
    await storage.delete("m/ab/cd/x.webp")
    await storage.delete("m/ab/cd/x.webp")  # idempotent
    assert not await storage.exists("m/ab/cd/x.webp")
    with pytest.raises(BadRequest):
        await storage.put("../escape", b"", content_type="text/plain")


async def test_local_storage_stores_a_file_and_reads_it_back_in_pieces(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    source = tmp_path / "archive.zip"
    data = os.urandom(2_500_000)
    source.write_bytes(data)
    await storage.put_file("exports/1/a.zip", source, content_type="application/zip")
    source.unlink()  # the stored copy does not depend on the source
    pieces = [piece async for piece in storage.chunks("exports/1/a.zip", chunk_size=1_000_000)]
    assert [len(p) for p in pieces] == [1_000_000, 1_000_000, 500_000] and b"".join(pieces) == data
    missing = storage.chunks("exports/1/nothing.zip")
    with pytest.raises(FileNotFoundError):
        await anext(missing)
    with pytest.raises(BadRequest):
        await storage.put_file("../escape", tmp_path / "x", content_type="text/plain")
    # What responses and the video pipeline use: a missing key fails before anything streams.
    with pytest.raises(FileNotFoundError):
        await opened(storage, "exports/1/nothing.zip")
    assert b"".join([piece async for piece in await opened(storage, "exports/1/a.zip")]) == data
    await storage.put("exports/1/empty.zip", b"", content_type="application/zip")
    assert [piece async for piece in await opened(storage, "exports/1/empty.zip")] == []
    assert await copy_to_file(storage, "exports/1/a.zip", tmp_path / "copy.zip") == len(data)
    assert (tmp_path / "copy.zip").read_bytes() == data


def _s3() -> tuple[S3Storage, Stubber]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return S3Storage(client, bucket="media", prefix="bn/", public_url="https://cdn.example/"), Stubber(client)


async def test_s3_put_marks_public_keys_immutable_and_private_ones_not() -> None:
    storage, stub = _s3()
    stub.add_response(
        "put_object",
        {},
        {
            "Bucket": "media",
            "Key": "bn/m/ab/x.avif",
            "Body": b"img",
            "ContentType": "image/avif",
            "CacheControl": IMMUTABLE,
        },
    )
    stub.add_response(
        "put_object", {}, {"Bucket": "media", "Key": "bn/u/ab/x.mp4", "Body": b"vid", "ContentType": "video/mp4"}
    )
    with stub:
        await storage.put("m/ab/x.avif", b"img", content_type="image/avif")
        await storage.put("u/ab/x.mp4", b"vid", content_type="video/mp4")
    stub.assert_no_pending_responses()
    assert storage.url("m/ab/x.avif") == "https://cdn.example/bn/m/ab/x.avif"


async def test_s3_get_exists_and_delete_follow_the_protocol() -> None:
    storage, stub = _s3()
    stub.add_response(
        "get_object", {"Body": StreamingBody(io.BytesIO(b"abc"), 3)}, {"Bucket": "media", "Key": "bn/m/k.jpg"}
    )
    stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    stub.add_response("head_object", {}, {"Bucket": "media", "Key": "bn/m/k.jpg"})
    stub.add_client_error("head_object", "404", http_status_code=404)
    stub.add_response("delete_object", {}, {"Bucket": "media", "Key": "bn/m/k.jpg"})
    with stub:
        assert await storage.get("m/k.jpg") == b"abc"
        with pytest.raises(FileNotFoundError):
            await storage.get("m/gone.jpg")
        assert await storage.exists("m/k.jpg")
        assert not await storage.exists("m/gone.jpg")
        await storage.delete("m/k.jpg")
    stub.assert_no_pending_responses()


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    local = storage_from_settings(Settings(var_dir=tmp_path))
    assert isinstance(local, LocalStorage)
    s3 = storage_from_settings(
        Settings(var_dir=tmp_path, storage=StorageSettings(backend="s3", s3_bucket="b", s3_region="us-east-1"))
    )
    assert isinstance(s3, S3Storage) and s3.bucket == "b"
    with pytest.raises(ValueError, match="S3_BUCKET"):
        storage_from_settings(Settings(var_dir=tmp_path, storage=StorageSettings(backend="s3")))
