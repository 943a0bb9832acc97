"""Profiles: reading them, editing one's own, and the avatar upload."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import httpx
import pytest
from PIL import Image

from bridgenote.core.runtime import Runtime
from tests.accounts.helpers import huge_png, jpeg_with_gps, key_of, load_user, upload
from tests.factories import create_user


async def test_public_profile(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, username="Lily", display_name="Lily L", read_languages=["zh-Hans", "en"], region="CN")
    r = await client.get("/api/v1/users/lily")
    assert r.status_code == 200, r.text
    profile = r.json()
    assert profile["username"] == "Lily"
    assert profile["display_name"] == "Lily L"
    assert profile["read_languages"] == ["zh-Hans", "en"]
    assert profile["region"] == "CN"
    assert profile["follower_count"] == 0
    assert profile["is_following"] is False
    for private in ("email", "password_hash", "totp_secret", "settings", "ui_language", "role"):
        assert private not in profile
    assert (await client.get("/api/v1/users/ＬＩＬＹ")).status_code == 200
    r = await client.get("/api/v1/users/nobody")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_me_needs_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.patch("/api/v1/me", json={"bio": "x"})).status_code == 401


async def test_update_profile(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    user = await create_user(runtime)
    api = await client_for(user)
    r = await api.patch(
        "/api/v1/me",
        json={
            "display_name": " Lily\u0000 ",
            "bio": "photos\r\nand tea",
            "read_languages": ["zh-Hans", "en", "zh-Hans"],
            "write_languages": ["zh-Hans"],
            "region": "cn",
            "ui_language": "zh-Hans",
            "interests": ["tea", "hiking"],
        },
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Lily"
    assert me["bio"] == "photos\nand tea"
    assert me["read_languages"] == ["zh-Hans", "en"]  # order kept, duplicates dropped
    assert me["region"] == "CN"
    assert me["ui_language"] == "zh-Hans"
    stored = await load_user(runtime, user.id)
    assert (stored.read_languages, stored.write_languages, stored.region, stored.ui_language) == (
        ["zh-Hans", "en"],
        ["zh-Hans"],
        "CN",
        "zh-Hans",
    )
    assert stored.interests == ["tea", "hiking"]

    # Fields left out stay as they are; region can be cleared.
    r = await api.patch("/api/v1/me", json={"region": None})
    assert r.status_code == 200
    stored = await load_user(runtime, user.id)
    assert stored.region is None
    assert stored.bio == "photos\nand tea"
    assert stored.read_languages == ["zh-Hans", "en"]


@pytest.mark.parametrize(
    "patch",
    [
        {"read_languages": ["zh-Hans", "xx"]},
        {"region": "Narnia"},
        {"region": "ZZ"},
        {"ui_language": "de"},
        {"bio": "x" * 501},
        {"display_name": "x" * 51},
        {"username": "renamed"},
        {"read_languages": "en"},
    ],
)
async def test_invalid_profile_update_changes_nothing(client_for, runtime: Runtime, patch: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    user = await create_user(runtime, region="US")
    api = await client_for(user)
    r = await api.patch("/api/v1/me", json=patch)
    assert r.status_code == 422, r.text
    stored = await load_user(runtime, user.id)
    assert (stored.username, stored.region, stored.read_languages, stored.ui_language, stored.bio) == (
        user.username,
        "US",
        ["en"],
        "en",
        "",
    )


async def test_avatar_upload_strips_location_metadata(
    client_for,
    client: httpx.AsyncClient,
    runtime: Runtime,  # type: ignore[no-untyped-def]
) -> None:
    user = await create_user(runtime)
    api = await client_for(user)
    r = await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))
    assert r.status_code == 200, r.text
    key = key_of(r.json()["avatar_url"])
    assert (await load_user(runtime, user.id)).avatar_key == key

    stored = await runtime.storage.get(key)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "WEBP"
        assert img.size == (400, 400)
        assert len(img.getexif()) == 0
        assert "exif" not in img.info
        assert "xmp" not in img.info
    assert b"Phone Maker" not in stored

    # Public under /media, and shown on the profile.
    served = await client.get(r.json()["avatar_url"])
    assert served.status_code == 200
    assert served.content == stored
    assert (await client.get(f"/api/v1/users/{user.username}")).json()["avatar_url"] == r.json()["avatar_url"]


async def test_replaced_avatar_file_is_removed(
    client_for,
    runtime: Runtime,
    drain: Callable[[], Awaitable[int]],  # type: ignore[no-untyped-def]
) -> None:
    user = await create_user(runtime)
    twin = await create_user(runtime)
    api = await client_for(user)
    first = key_of((await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))).json()["avatar_url"])
    second = key_of(
        (await api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps((20, 90, 200))))).json()["avatar_url"]
    )
    assert first != second
    # Files are content-addressed: another account uploading the same picture shares the file.
    twin_api = await client_for(twin)
    assert (
        key_of((await twin_api.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))).json()["avatar_url"]) == first
    )
    third = key_of(
        (await api.put("/api/v1/me/avatar", files=upload(huge_png(500, 400), "a.png", "image/png"))).json()[
            "avatar_url"
        ]
    )
    await drain()
    assert await runtime.storage.exists(first)  # still the twin's avatar
    assert not await runtime.storage.exists(second)
    assert await runtime.storage.exists(third)


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"%PDF-1.4 not an image at all", "photo.jpg", "image/jpeg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "image/svg+xml"),
        (jpeg_with_gps()[:300], "truncated.jpg", "image/jpeg"),
    ],
    ids=["pdf", "svg", "truncated-jpeg"],
)
async def test_non_image_avatar_is_415(client_for, runtime: Runtime, data: bytes, name: str, content_type: str) -> None:  # type: ignore[no-untyped-def]
    user = await create_user(runtime)
    api = await client_for(user)
    r = await api.put("/api/v1/me/avatar", files=upload(data, name, content_type))
    assert r.status_code == 415, r.text
    assert (await load_user(runtime, user.id)).avatar_key is None


async def test_avatar_over_50_megapixels_is_400(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    user = await create_user(runtime)
    api = await client_for(user)
    data = huge_png()
    assert len(data) < 1024 * 1024  # small in bytes: only the pixel count is too large
    r = await api.put("/api/v1/me/avatar", files=upload(data, "huge.png", "image/png"))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "image_too_large"
    assert (await load_user(runtime, user.id)).avatar_key is None


async def test_avatar_needs_a_login(client: httpx.AsyncClient) -> None:
    r = await client.put("/api/v1/me/avatar", files=upload(jpeg_with_gps()))
    assert r.status_code == 401
