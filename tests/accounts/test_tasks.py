"""The data export job (``accounts.build_export``): one zip with JSON and media."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select, update

from bridgenote.accounts.models import DataExport
from bridgenote.core.db import utcnow
from bridgenote.core.jobs import Job, enqueue
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from tests.accounts.helpers import jpeg_with_gps, key_of, upload
from tests.factories import create_user

Drain = Callable[[], Awaitable[int]]
EXPORTS = "/api/v1/me/exports"


async def export_row(runtime: Runtime, export_id: int) -> DataExport:
    async with runtime.db.transaction(write=False) as session:
        row = await session.get(DataExport, export_id)
        assert row is not None
        return row


async def export_jobs(runtime: Runtime) -> list[Job]:
    async with runtime.db.transaction(write=False) as session:
        return list((await session.scalars(select(Job).where(Job.name == "accounts.build_export"))).all())


def read_json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name).decode())


async def test_export_archive_end_to_end(
    client_for,  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient,
    runtime: Runtime,
    drain: Drain,
) -> None:
    lily = await create_user(runtime, username="lily", email="lily@example.com", read_languages=["zh-Hans", "en"])
    bob = await create_user(runtime, username="bob")
    carol = await create_user(runtime, username="carol")
    for name in ("dave", "erin"):
        await create_user(runtime, username=name)
    api = await client_for(lily)
    bob_api = await client_for(bob)

    await api.patch("/api/v1/me", json={"bio": "tea & hills", "region": "cn", "interests": ["tea"]})
    avatar = key_of((await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))).json()["avatar_url"])
    secret = (await api.post("/api/v1/auth/2fa/setup")).json()["secret"]
    assert (await api.post("/api/v1/auth/2fa/enable", json={"code": pyotp.TOTP(secret).now()})).status_code == 200
    await api.post("/api/v1/users/bob/follow")
    await (await client_for(carol)).post("/api/v1/users/lily/follow")
    await api.post("/api/v1/users/dave/block")
    await api.post("/api/v1/users/erin/mute")
    media = await api.post("/api/v1/media", files=upload(jpeg_with_gps((10, 160, 90))))
    assert media.status_code == 201, media.text
    note = await api.post(
        "/api/v1/notes", json={"title": "Tea hills", "body": "#茶 walk", "media_ids": [media.json()["id"]]}
    )
    assert note.status_code == 201, note.text
    note_id = note.json()["id"]
    assert (await api.post(f"/api/v1/notes/{note_id}/comments", json={"body": "the view!"})).status_code == 201
    bob_note = (await bob_api.post("/api/v1/notes", json={"title": "bob's note"})).json()["id"]
    assert (await api.post(f"/api/v1/notes/{bob_note}/like")).status_code == 200
    await drain()

    r = await api.post(EXPORTS)
    assert r.status_code == 202, r.text
    pending = r.json()
    assert pending["state"] == "pending" and pending["download_url"] is None
    export_id = pending["id"]
    # Asking again while one is being built gives the same export, not a second job.
    assert (await api.post(EXPORTS)).json()["id"] == export_id
    assert len(await export_jobs(runtime)) == 1
    r = await api.get(f"{EXPORTS}/{export_id}/download")
    assert r.status_code == 404 and r.json()["error"]["code"] == "export_not_ready"

    await drain()

    r = await api.get(f"{EXPORTS}/{export_id}")
    assert r.status_code == 200
    ready = r.json()
    assert ready["state"] == "ready", ready
    assert ready["finished_at"] is not None and ready["error"] is None
    assert ready["download_url"] == f"{EXPORTS}/{export_id}/download"
    assert [e["id"] for e in (await api.get(EXPORTS)).json()] == [export_id]

    r = await api.get(ready["download_url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "no-store" in r.headers["cache-control"]
    assert len(r.content) == ready["size_bytes"]

    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        expected_docs = {"profile.json", "follows.json", "blocks.json", "mutes.json", "manifest.json"}
        expected_docs |= {"notes.json", "comments.json", "likes.json", "boards.json"}
        assert expected_docs <= names
        media_names = {n for n in names if n.startswith("media/")}
        assert f"media/{avatar}" in media_names
        assert len(media_names) == 2, media_names
        for name in media_names:
            assert archive.read(name) == await runtime.storage.get(name.removeprefix("media/"))

        profile = read_json(archive, "profile.json")
        assert profile["username"] == "lily"
        assert profile["id"] == str(lily.id)
        assert profile["email"] == "lily@example.com"
        assert profile["bio"] == "tea & hills"
        assert profile["read_languages"] == ["zh-Hans", "en"]
        assert profile["region"] == "CN"
        assert profile["interests"] == ["tea"]
        assert profile["avatar"] == f"media/{avatar}"
        assert profile["two_factor_enabled"] is True
        assert "settings" in profile and "created_at" in profile
        for secret_field in ("password_hash", "totp_secret", "password", "username_key"):
            assert secret_field not in profile
        for name in names - media_names:
            text = archive.read(name).decode()
            assert "$argon2" not in text
            assert secret not in text

        follows = read_json(archive, "follows.json")
        assert [f["username"] for f in follows["following"]] == ["bob"]
        assert [f["username"] for f in follows["followers"]] == ["carol"]
        assert [b["username"] for b in read_json(archive, "blocks.json")] == ["dave"]
        assert [m["username"] for m in read_json(archive, "mutes.json")] == ["erin"]

        notes = read_json(archive, "notes.json")
        assert [n["title"] for n in notes] == ["Tea hills"]
        for attachment in notes[0]["media"]:
            assert attachment["file"] in names
        assert [c["body"] for c in read_json(archive, "comments.json")] == ["the view!"]
        assert [like["note_id"] for like in read_json(archive, "likes.json")] == [bob_note]

        manifest = read_json(archive, "manifest.json")
        assert manifest["user_id"] == str(lily.id)
        assert set(manifest["files"]) == names - {"manifest.json"}
        assert manifest["missing_media"] == []

    # The archive is private: not under the public /media route, not for other accounts.
    stored = await export_row(runtime, int(export_id))
    assert stored.storage_key is not None
    assert stored.storage_key.startswith(f"exports/{lily.id}/{export_id}-")
    assert stored.storage_key.endswith(".zip")
    assert (await client.get(f"/media/{stored.storage_key}")).status_code == 404
    assert (await bob_api.get(f"{EXPORTS}/{export_id}")).status_code == 404
    assert (await bob_api.get(f"{EXPORTS}/{export_id}/download")).status_code == 404
    assert (await bob_api.get(EXPORTS)).json() == []
    assert (await client.get(f"{EXPORTS}/{export_id}")).status_code == 401
    assert (await client.get(f"{EXPORTS}/{export_id}/download")).status_code == 401
    assert (await client.post(EXPORTS)).status_code == 401


async def test_export_job_is_idempotent(
    client_for,  # type: ignore[no-untyped-def]
    runtime: Runtime,
    drain: Drain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lily = await create_user(runtime)
    api = await client_for(lily)
    export_id = int((await api.post(EXPORTS)).json()["id"])
    await drain()
    first = await export_row(runtime, export_id)
    assert first.state == "ready"
    uploads: list[str] = []
    real_put = runtime.storage.put

    async def counting_put(key: str, data: bytes, *, content_type: str) -> None:
        uploads.append(key)
        await real_put(key, data, content_type=content_type)

    monkeypatch.setattr(runtime.storage, "put", counting_put)

    # The same job again (a retry after a lost lease, say) leaves the finished export alone.
    async with runtime.db.transaction() as session:
        await enqueue(session, "accounts.build_export", {"export_id": export_id})
        await enqueue(session, "accounts.build_export", {"export_id": 123456789})  # no such export
    assert await drain() == 2
    again = await export_row(runtime, export_id)
    assert (again.state, again.storage_key, again.size_bytes, again.finished_at) == (
        first.state,
        first.storage_key,
        first.size_bytes,
        first.finished_at,
    )
    assert {j.state for j in await export_jobs(runtime)} == {"done"}
    assert uploads == []  # not even built again
    assert len(list((runtime.storage.path(f"exports/{lily.id}")).iterdir())) == 1  # type: ignore[attr-defined]

    # Once the last one is finished, a new request builds a new archive.
    second = (await api.post(EXPORTS)).json()
    assert second["id"] != str(export_id) and second["state"] == "pending"


async def test_a_new_archive_replaces_the_older_ones(client_for, runtime: Runtime, drain: Drain) -> None:  # type: ignore[no-untyped-def]
    """Each archive holds a copy of all the account's media: a finished one deletes the
    account's older archives (rows and files), and leaves other accounts' alone."""
    lily, max_ = await create_user(runtime), await create_user(runtime)
    api, other = await client_for(lily), await client_for(max_)
    await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))
    first = (await api.post(EXPORTS)).json()["id"]
    theirs = (await other.post(EXPORTS)).json()["id"]
    await drain()
    first_key = (await export_row(runtime, int(first))).storage_key
    assert first_key and await runtime.storage.exists(first_key)
    second = (await api.post(EXPORTS)).json()["id"]
    # Until the new one is ready, the old one can still be downloaded.
    assert (await api.get(f"{EXPORTS}/{first}/download")).status_code == 200
    await drain()
    listed = (await api.get(EXPORTS)).json()
    assert [(e["id"], e["state"]) for e in listed] == [(second, "ready")]
    assert not await runtime.storage.exists(first_key)
    r = await api.get(f"{EXPORTS}/{first}/download")
    assert r.status_code == 404
    assert (await api.get(f"{EXPORTS}/{second}/download")).status_code == 200
    assert [(e["id"], e["state"]) for e in (await other.get(EXPORTS)).json()] == [(theirs, "ready")]
    assert len(list((runtime.storage.path(f"exports/{lily.id}")).iterdir())) == 1  # type: ignore[attr-defined]


async def test_archives_are_stored_from_disk_and_downloaded_in_pieces(
    client_for,  # type: ignore[no-untyped-def]
    runtime: Runtime,
    drain: Drain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An archive holds every photo and video of the account: neither the job nor the web
    process may hold it in memory whole (``put`` and ``get`` take and give whole files)."""
    lily = await create_user(runtime)
    api = await client_for(lily)
    await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))
    real_put, real_get = runtime.storage.put, runtime.storage.get

    async def put(key: str, data: bytes, *, content_type: str) -> None:
        assert not key.startswith("exports/"), "the archive was stored from memory"
        await real_put(key, data, content_type=content_type)

    async def get(key: str) -> bytes:
        assert not key.startswith("exports/"), "the archive was read into memory"
        return await real_get(key)

    monkeypatch.setattr(runtime.storage, "put", put)
    monkeypatch.setattr(runtime.storage, "get", get)
    export_id = (await api.post(EXPORTS)).json()["id"]
    await drain()
    stored = await export_row(runtime, int(export_id))
    assert stored.state == "ready", stored.error
    r = await api.get(f"{EXPORTS}/{export_id}/download")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert int(r.headers["content-length"]) == stored.size_bytes == len(r.content)
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.testzip() is None and "manifest.json" in archive.namelist()


async def test_an_archive_whose_file_went_missing_is_a_clear_404(client_for, runtime: Runtime, drain: Drain) -> None:  # type: ignore[no-untyped-def]
    lily = await create_user(runtime)
    api = await client_for(lily)
    export_id = (await api.post(EXPORTS)).json()["id"]
    await drain()
    key = (await export_row(runtime, int(export_id))).storage_key
    assert key
    await runtime.storage.delete(key)
    r = await api.get(f"{EXPORTS}/{export_id}/download")
    assert r.status_code == 404 and r.json()["error"]["code"] == "export_gone"


async def test_export_skips_missing_media_files(client_for, runtime: Runtime, drain: Drain) -> None:  # type: ignore[no-untyped-def]
    lily = await create_user(runtime)
    api = await client_for(lily)
    avatar = key_of((await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))).json()["avatar_url"])
    await runtime.storage.delete(avatar)
    export_id = (await api.post(EXPORTS)).json()["id"]
    await drain()
    ready = (await api.get(f"{EXPORTS}/{export_id}")).json()
    assert ready["state"] == "ready"
    with zipfile.ZipFile(io.BytesIO((await api.get(ready["download_url"])).content)) as archive:
        assert read_json(archive, "manifest.json")["missing_media"] == [avatar]
        assert f"media/{avatar}" not in archive.namelist()


async def test_failing_export_is_retried_then_marked_failed(
    client_for,  # type: ignore[no-untyped-def]
    runtime: Runtime,
    drain: Drain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> dict[str, Any]:
        raise RuntimeError("notes store is down")

    monkeypatch.setattr(notes_service, "export_user_data", broken)
    lily = await create_user(runtime)
    api = await client_for(lily)
    export_id = (await api.post(EXPORTS)).json()["id"]

    await drain()
    [job] = await export_jobs(runtime)
    assert (job.state, job.attempts) == ("queued", 1)  # retried later, with backoff
    assert "notes store is down" in (job.last_error or "")
    assert (await api.get(f"{EXPORTS}/{export_id}")).json()["state"] == "pending"

    # Fast-forward to the last attempt.
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Job).where(Job.id == job.id).values(attempts=Job.max_attempts - 1, run_at=utcnow())
        )
    await drain()
    [job] = await export_jobs(runtime)
    assert job.state == "done"
    failed = (await api.get(f"{EXPORTS}/{export_id}")).json()
    assert failed["state"] == "failed"
    assert failed["error"] == "Something went wrong on our side. Please try again."
    # The reason is a message id, shown in the owner's language.
    await api.patch("/api/v1/me", json={"ui_language": "zh-Hans"})
    assert (await api.get(f"{EXPORTS}/{export_id}")).json()["error"] == "我们这边出了点问题，请重试。"
    assert failed["download_url"] is None and failed["finished_at"] is not None
    assert (await api.get(f"{EXPORTS}/{export_id}/download")).status_code == 404
    assert not (runtime.storage.path(f"exports/{lily.id}")).exists()  # type: ignore[attr-defined]

    monkeypatch.undo()
    retry = (await api.post(EXPORTS)).json()
    assert retry["id"] != export_id
    await drain()
    assert (await api.get(f"{EXPORTS}/{retry['id']}")).json()["state"] == "ready"


async def test_export_of_a_deleted_account_is_not_built(client_for, runtime: Runtime, drain: Drain) -> None:  # type: ignore[no-untyped-def]
    lily = await create_user(runtime)
    api = await client_for(lily)
    export_id = int((await api.post(EXPORTS)).json()["id"])
    assert (await api.request("DELETE", "/api/v1/me", json={"password": "correct horse battery"})).status_code == 200
    await drain()
    async with runtime.db.transaction(write=False) as session:
        assert await session.get(DataExport, export_id) is None  # purged with the account
    assert not (runtime.storage.path(f"exports/{lily.id}")).exists()  # type: ignore[attr-defined]
