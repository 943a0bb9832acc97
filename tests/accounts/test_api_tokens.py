"""Named API tokens and two-factor authentication (TOTP)."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pyotp
from sqlalchemy import select

from bridgenote.accounts.models import AuthToken
from bridgenote.core.runtime import Runtime
from tests.accounts.conftest import Browser, NewClient
from tests.accounts.helpers import csrf, load_user
from tests.factories import PASSWORD, create_user

TOKENS = "/api/v1/auth/tokens"
LOGIN = "/api/v1/auth/login"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_token_lifecycle(browser: Browser, client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    c, token = await browser(user)
    r = await c.post(TOKENS, json={"name": "my script"}, headers=csrf(token))
    assert r.status_code == 201, r.text
    created = r.json()
    raw = created["token"]
    assert raw.startswith("bn_") and len(raw) > 30
    assert created["name"] == "my script" and created["kind"] == "api"

    r = await client.get("/api/v1/me", headers=bearer(raw))
    assert r.status_code == 200 and r.json()["id"] == str(user.id)

    listed = await c.get(TOKENS)
    assert listed.status_code == 200
    mine = [t for t in listed.json() if t["id"] == created["id"]]
    assert len(mine) == 1
    assert "token" not in mine[0]
    assert raw not in listed.text
    async with runtime.db.transaction(write=False) as session:
        stored = await session.get(AuthToken, int(created["id"]))
    assert stored is not None and stored.token_hash != raw and raw not in stored.token_hash

    r = await c.delete(f"{TOKENS}/{created['id']}", headers=csrf(token))
    assert r.status_code == 200
    r = await client.get("/api/v1/me", headers=bearer(raw))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"
    assert created["id"] not in {t["id"] for t in (await c.get(TOKENS)).json()}
    # Revoking twice: it is gone.
    assert (await c.delete(f"{TOKENS}/{created['id']}", headers=csrf(token))).status_code == 404


async def test_cannot_revoke_someone_elses_token(client_for, client: httpx.AsyncClient, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    bob_api = await client_for(bob)
    r = await bob_api.post(TOKENS, json={"name": "bob's"})
    bob_token = r.json()
    alice_api = await client_for(alice)
    r = await alice_api.delete(f"{TOKENS}/{bob_token['id']}")
    assert r.status_code == 404
    assert bob_token["id"] not in {t["id"] for t in (await alice_api.get(TOKENS)).json()}
    assert (await client.get("/api/v1/me", headers=bearer(bob_token["token"]))).status_code == 200


async def test_token_endpoints_need_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get(TOKENS)).status_code == 401
    assert (await client.post(TOKENS, json={"name": "x"})).status_code == 401


async def test_login_with_token_name_returns_an_api_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    r = await client.post(LOGIN, json={"login": user.username, "password": PASSWORD, "token_name": "cli"})
    assert r.status_code == 200, r.text
    raw = r.json()["token"]
    assert raw and raw.startswith("bn_")
    assert r.json()["csrf_token"] is None
    assert "bn_session" not in r.headers.get("set-cookie", "")
    assert not client.cookies.get("bn_session")
    async with runtime.db.transaction(write=False) as session:
        tokens = (await session.scalars(select(AuthToken).where(AuthToken.user_id == user.id))).all()
    assert [(t.kind, t.name) for t in tokens] == [("api", "cli")]
    r = await client.patch("/api/v1/me", json={"bio": "via cli"}, headers=bearer(raw))
    assert r.status_code == 200


def wrong_code(secret: str) -> str:
    """A six-digit code that is not valid now, nor in the neighbouring time steps."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in valid)


async def test_two_factor_setup_login_and_disable(browser: Browser, new_client: NewClient, runtime: Runtime) -> None:
    user = await create_user(runtime, username="lily")
    c, token = await browser(user)

    r = await c.post("/api/v1/auth/2fa/setup", headers=csrf(token))
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert "Bridgenote" in r.json()["otpauth_uri"]
    # Not on until a code proves the app has the secret.
    assert (await c.get("/api/v1/me")).json()["totp_enabled"] is False
    assert (await new_client().post(LOGIN, json={"login": "lily", "password": PASSWORD})).status_code == 200

    r = await c.post("/api/v1/auth/2fa/enable", json={"code": wrong_code(secret)}, headers=csrf(token))
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_invalid"
    r = await c.post("/api/v1/auth/2fa/enable", json={"code": pyotp.TOTP(secret).now()}, headers=csrf(token))
    assert r.status_code == 200, r.text
    assert (await c.get("/api/v1/me")).json()["totp_enabled"] is True
    r = await c.post("/api/v1/auth/2fa/setup", headers=csrf(token))
    assert r.status_code == 409

    other = new_client()
    r = await other.post(LOGIN, json={"login": "lily", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "otp_required"
    assert not other.cookies.get("bn_session")
    r = await other.post(LOGIN, json={"login": "lily", "password": PASSWORD, "otp": wrong_code(secret)})
    assert r.status_code == 401 and r.json()["error"]["code"] == "otp_invalid"
    # A wrong password is still just a wrong password, whatever the code.
    r = await other.post(LOGIN, json={"login": "lily", "password": "nope nope", "otp": pyotp.TOTP(secret).now()})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = await other.post(LOGIN, json={"login": "lily", "password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.text

    r = await c.post(
        "/api/v1/auth/2fa/disable",
        json={"password": "wrong password", "otp": pyotp.TOTP(secret).now()},
        headers=csrf(token),
    )
    assert r.status_code == 403
    r = await c.post("/api/v1/auth/2fa/disable", json={"password": PASSWORD}, headers=csrf(token))
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_invalid"
    assert (await load_user(runtime, user.id)).totp_enabled is True
    r = await c.post(
        "/api/v1/auth/2fa/disable", json={"password": PASSWORD, "otp": pyotp.TOTP(secret).now()}, headers=csrf(token)
    )
    assert r.status_code == 200, r.text
    stored = await load_user(runtime, user.id)
    assert stored.totp_enabled is False and stored.totp_secret is None
    assert (await new_client().post(LOGIN, json={"login": "lily", "password": PASSWORD})).status_code == 200


async def test_enable_needs_setup_first(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    api = await client_for(await create_user(runtime))
    r = await api.post("/api/v1/auth/2fa/enable", json={"code": "123456"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "totp_not_started"


async def test_a_new_log_in_clears_the_accounts_dead_tokens(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """Expired sessions and tokens revoked over 30 days ago go when the account logs in again;
    live ones, recently revoked ones and other people's stay."""
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    now = dt.datetime.now(dt.UTC)
    rows = {
        "expired": (alice.id, now - dt.timedelta(days=1), None),
        "revoked long ago": (alice.id, None, now - dt.timedelta(days=31)),
        "revoked yesterday": (alice.id, None, now - dt.timedelta(days=1)),
        "live": (alice.id, now + dt.timedelta(days=5), None),
        "bob's expired": (bob.id, now - dt.timedelta(days=1), None),
    }
    async with runtime.db.transaction() as session:
        for name, (user_id, expires, revoked) in rows.items():
            session.add(
                AuthToken(
                    user_id=user_id, kind="session", name=name, token_hash=name.ljust(64, "x"), csrf_token=None,
                    expires_at=expires, revoked_at=revoked,
                )
            )  # fmt: skip
    r = await client.post(LOGIN, json={"login": alice.username, "password": PASSWORD, "token_name": "cli"})
    assert r.status_code == 200, r.text
    async with runtime.db.transaction(write=False) as session:
        left = set(await session.scalars(select(AuthToken.name)))
    assert left == {"revoked yesterday", "live", "bob's expired", "cli"}
