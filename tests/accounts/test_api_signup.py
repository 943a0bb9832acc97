"""POST /api/v1/auth/signup."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bridgenote.accounts.models import AuthToken, User
from bridgenote.core.runtime import Runtime
from tests.accounts.helpers import count
from tests.factories import create_user

SIGNUP = "/api/v1/auth/signup"
PASSWORD = "hunter22hunter"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"username": "lily", "email": "lily@example.com", "password": PASSWORD}
    data.update(overrides)
    return data


async def test_signup_creates_the_account_and_a_session(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.post(
        SIGNUP,
        json=body(
            email="Lily@Example.COM",
            display_name="  Lily\x07 ",
            read_languages=["zh-Hans", "en"],
            region="cn",
            ui_language="zh-Hans",
        ),
    )
    assert r.status_code == 201, r.text
    me = r.json()["user"]
    assert me["username"] == "lily"
    assert me["email"] == "lily@example.com"
    assert me["display_name"] == "Lily"
    assert me["read_languages"] == ["zh-Hans", "en"]
    assert me["write_languages"] == ["zh-Hans"]
    assert me["region"] == "CN"
    assert me["ui_language"] == "zh-Hans"
    assert me["follower_count"] == me["following_count"] == 0
    assert "password_hash" not in me and "totp_secret" not in me
    assert r.json()["csrf_token"]
    assert client.cookies.get("bn_session")

    async with runtime.db.transaction(write=False) as session:
        user = (await session.scalars(select(User))).one()
        sessions = (await session.scalars(select(AuthToken).where(AuthToken.user_id == user.id))).all()
    assert str(user.id) == me["id"]
    assert user.username_key == "lily"
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert [(t.kind, t.revoked_at) for t in sessions] == [("session", None)]
    # The cookie is a bearer secret: only its digest is stored.
    assert sessions[0].token_hash != client.cookies.get("bn_session")

    assert (await client.get("/api/v1/me")).json()["username"] == "lily"


@pytest.mark.parametrize(
    ("existing", "attempt"),
    [
        ("Lily", "lily"),  # case
        ("lily", "LILY"),
        ("lily", "ｌｉｌｙ"),  # full-width letters fold to ASCII
        ("臺灣人", "台湾人"),  # Traditional folds to Simplified
        ("台湾人", "臺灣人"),
    ],
)
async def test_duplicate_username_is_a_conflict(
    client: httpx.AsyncClient, runtime: Runtime, existing: str, attempt: str
) -> None:
    await create_user(runtime, username=existing, email="first@example.com")
    r = await client.post(SIGNUP, json=body(username=attempt, email="second@example.com"))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "username_taken"
    assert await count(runtime, User) == 1
    assert not client.cookies.get("bn_session")


async def test_duplicate_email_is_a_conflict_ignoring_case(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, username="first", email="lily@example.com")
    r = await client.post(SIGNUP, json=body(username="second", email="LILY@example.com"))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "email_taken"
    assert await count(runtime, User) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"username": "ab"}, id="username-too-short"),
        pytest.param({"username": "a" * 31}, id="username-too-long"),
        pytest.param({"username": "lily smith"}, id="username-space"),
        pytest.param({"username": "_lily"}, id="username-leading-underscore"),
        pytest.param({"username": "li..ly"}, id="username-double-dot"),
        pytest.param({"username": "lily-x"}, id="username-hyphen"),
        pytest.param({"username": "Admin"}, id="username-reserved"),
        pytest.param({"username": "ＡＤＭＩＮ"}, id="username-reserved-full-width"),
        pytest.param({"username": "\ufdfa\ufdfa\ufdfa"}, id="username-expands-past-30-when-folded"),
        pytest.param({"email": "not-an-email"}, id="email-invalid"),
        pytest.param({"email": "a" * 65 + "@example.com"}, id="email-local-part-over-64"),
        pytest.param(
            {"email": "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 60 + ".com"}, id="email-over-254"
        ),
        pytest.param({"username": "li\u200bly"}, id="username-zero-width-space"),
        pytest.param({"password": "short"}, id="password-too-short"),
        pytest.param({"password": "x" * 257}, id="password-too-long"),
        pytest.param({"read_languages": ["xx"]}, id="unknown-language"),
        pytest.param({"write_languages": ["klingon"]}, id="unknown-write-language"),
        pytest.param({"region": "ZZ"}, id="unknown-region"),
        pytest.param({"region": "China"}, id="region-not-a-code"),
        pytest.param({"ui_language": "fr"}, id="unsupported-ui-language"),
        pytest.param({"is_admin": True}, id="unknown-field"),
        pytest.param({"role": "admin"}, id="role-cannot-be-chosen"),
        pytest.param({"username": 12345}, id="username-wrong-type"),
        pytest.param({"read_languages": "en"}, id="languages-wrong-type"),
        pytest.param({"password": None}, id="password-null"),
    ],
)
async def test_invalid_signup_is_rejected_and_writes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, overrides: dict[str, Any]
) -> None:
    r = await client.post(SIGNUP, json=body(**overrides))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]
    assert await count(runtime, User) == 0
    assert await count(runtime, AuthToken) == 0


async def test_missing_fields_are_reported(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.post(SIGNUP, json={"username": "lily"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"email", "password"}
    assert await count(runtime, User) == 0


@pytest.mark.parametrize("raw", [b'{"username": "lily",', b"not json", b"[]", b""])
async def test_malformed_body_is_a_client_error(client: httpx.AsyncClient, runtime: Runtime, raw: bytes) -> None:
    r = await client.post(SIGNUP, content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] in ("malformed_json", "validation_error")
    assert await count(runtime, User) == 0


async def test_truncated_json_says_malformed_json(client: httpx.AsyncClient) -> None:
    r = await client.post(SIGNUP, content=b'{"username": "lily",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
