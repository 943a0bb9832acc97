"""Login, logout, session cookies, CSRF and password changes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import AuthToken
from bridgenote.core.runtime import Runtime
from tests.accounts.conftest import Browser, NewClient
from tests.accounts.helpers import csrf, load_user
from tests.factories import PASSWORD, create_user

LOGIN = "/api/v1/auth/login"


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the raw header lines, attributes included)."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize("login", ["lily", "LILY", "ｌｉｌｙ", "lily@example.com", "Lily@Example.com", " lily "])
async def test_login_by_username_or_email(client: httpx.AsyncClient, runtime: Runtime, login: str) -> None:
    user = await create_user(runtime, username="lily", email="lily@example.com")
    r = await client.post(LOGIN, json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == str(user.id)
    assert r.json()["token"] is None
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "lily"


async def test_session_cookie_is_httponly_and_samesite_lax(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, username="lily")
    r = await client.post(LOGIN, json={"login": "lily", "password": PASSWORD})
    cookies = set_cookies(r)
    session_cookie = cookies["bn_session"].lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert "path=/" in session_cookie
    # The CSRF cookie must be readable by the page's script, and it must equal the body's token.
    csrf_cookie = cookies["bn_csrf"]
    assert "httponly" not in csrf_cookie.lower()
    assert "samesite=lax" in csrf_cookie.lower()
    assert client.cookies.get("bn_csrf") == r.json()["csrf_token"]


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, username="lily", email="lily@example.com")
    wrong_password = await client.post(LOGIN, json={"login": "lily", "password": "not the password"})
    unknown_user = await client.post(LOGIN, json={"login": "nobody", "password": "not the password"})
    unknown_email = await client.post(LOGIN, json={"login": "nobody@example.com", "password": PASSWORD})
    not_a_name = await client.post(LOGIN, json={"login": "li\u200bly", "password": PASSWORD})
    for r in (wrong_password, unknown_user, unknown_email, not_a_name):
        assert r.status_code == 401
        assert r.json() == wrong_password.json()
        assert "bn_session" not in set_cookies(r)
    assert wrong_password.json()["error"]["code"] == "invalid_credentials"


async def test_suspended_account_cannot_log_in(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime, username="lily")
    async with runtime.db.transaction() as session:
        await accounts_service.set_account_state(session, user_id=user.id, state="suspended")
    r = await client.post(LOGIN, json={"login": "lily", "password": PASSWORD})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_suspended"


async def test_logout_revokes_the_session(browser: Browser, new_client: NewClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    c, token = await browser(user)
    raw_cookie = c.cookies["bn_session"]
    # Logging out is a write, so it needs the CSRF token too.
    assert (await c.post("/api/v1/auth/logout")).status_code == 403
    r = await c.post("/api/v1/auth/logout", headers=csrf(token))
    assert r.status_code == 200, r.text
    assert (await c.get("/api/v1/me")).status_code == 401
    # The server forgot the session: replaying the old cookie from elsewhere does not work either.
    replay = new_client()
    replay.cookies.set("bn_session", raw_cookie)
    assert (await replay.get("/api/v1/me")).status_code == 401
    async with runtime.db.transaction(write=False) as session:
        tokens = (await session.scalars(select(AuthToken).where(AuthToken.user_id == user.id))).all()
    assert [t.revoked_at is not None for t in tokens] == [True]


async def test_cookie_writes_need_the_csrf_token(browser: Browser, runtime: Runtime) -> None:
    user = await create_user(runtime)
    c, token = await browser(user)
    r = await c.patch("/api/v1/me", json={"bio": "no token"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"
    r = await c.patch("/api/v1/me", json={"bio": "wrong token"}, headers=csrf("x" + token))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"
    assert (await load_user(runtime, user.id)).bio == ""
    r = await c.patch("/api/v1/me", json={"bio": "with token"}, headers=csrf(token))
    assert r.status_code == 200
    assert (await load_user(runtime, user.id)).bio == "with token"
    # Reads need no token.
    assert (await c.get("/api/v1/me")).status_code == 200


async def test_csrf_token_of_another_session_is_refused(browser: Browser, runtime: Runtime) -> None:
    user = await create_user(runtime)
    first, _first_token = await browser(user)
    _second, second_token = await browser(user)
    r = await first.patch("/api/v1/me", json={"bio": "x"}, headers=csrf(second_token))
    assert r.status_code == 403


async def test_bearer_tokens_need_no_csrf(client_for, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    user = await create_user(runtime)
    api = await client_for(user)
    r = await api.patch("/api/v1/me", json={"bio": "from a script"})
    assert r.status_code == 200, r.text
    assert r.json()["bio"] == "from a script"


async def test_invalid_bearer_token_is_401_not_anonymous(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/users/nobody", headers={"Authorization": "Bearer bn_not-a-token"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


async def test_session_reports_the_csrf_token(browser: Browser, client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    c, token = await browser(user)
    r = await c.get("/api/v1/auth/session")
    assert r.status_code == 200
    assert r.json()["csrf_token"] == token
    assert (await client.get("/api/v1/auth/session")).status_code == 401


async def test_password_change_signs_out_every_other_session(
    browser: Browser,
    client_for,
    runtime: Runtime,  # type: ignore[no-untyped-def]
) -> None:
    user = await create_user(runtime)
    here, token = await browser(user)
    elsewhere, _ = await browser(user)
    script = await client_for(user)
    r = await here.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        headers=csrf(token),
    )
    assert r.status_code == 200, r.text
    assert (await here.get("/api/v1/me")).status_code == 200
    assert (await elsewhere.get("/api/v1/me")).status_code == 401
    assert (await script.get("/api/v1/me")).status_code == 401
    assert (await here.post(LOGIN, json={"login": user.username, "password": PASSWORD})).status_code == 401
    r = await here.post(LOGIN, json={"login": user.username, "password": "a brand new secret"})
    assert r.status_code == 200
    assert (await load_user(runtime, user.id)).password_hash.startswith("$argon2id$")  # type: ignore[union-attr]


async def test_password_change_needs_the_current_password(browser: Browser, runtime: Runtime) -> None:
    user = await create_user(runtime)
    here, token = await browser(user)
    elsewhere, _ = await browser(user)
    before = (await load_user(runtime, user.id)).password_hash
    r = await here.post(
        "/api/v1/me/password",
        json={"current_password": "wrong password", "new_password": "a brand new secret"},
        headers=csrf(token),
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "wrong_password"
    assert (await load_user(runtime, user.id)).password_hash == before
    assert (await elsewhere.get("/api/v1/me")).status_code == 200
    r = await here.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=csrf(token)
    )
    assert r.status_code == 422


async def test_cached_reads_stop_right_after_logout_and_writes_never_use_the_cache(app, runtime) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.factories import api_token, create_user

    user = await create_user(runtime, username="cachey")
    token = await api_token(runtime, user)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        assert (await c.get("/api/v1/me")).status_code == 200  # now cached
        tokens = (await c.get("/api/v1/auth/tokens")).json()
        # Revoke the token behind the API's back: reads may be served from the short cache,
        # but a write must check afresh and fail.
        from sqlalchemy import update

        from bridgenote.accounts.models import AuthToken
        from bridgenote.core.db import utcnow

        async with runtime.db.transaction() as s:
            await s.execute(update(AuthToken).where(AuthToken.id == int(tokens[0]["id"])).values(revoked_at=utcnow()))
        assert (await c.patch("/api/v1/me", json={"bio": "x"})).status_code == 401
        runtime.caches["auth.viewers"].clear()
        assert (await c.get("/api/v1/me")).status_code == 401
