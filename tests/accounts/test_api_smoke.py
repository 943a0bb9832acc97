from __future__ import annotations

import httpx


async def test_signup_login_me(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/signup",
        json={
            "username": "lily",
            "email": "lily@example.com",
            "password": "hunter22hunter",
            "read_languages": ["en", "zh-Hans"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["username"] == "lily"
    assert isinstance(body["user"]["id"], str)
    csrf = body["csrf_token"]
    assert client.cookies.get("bn_session")
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["read_languages"] == ["en", "zh-Hans"]
    r = await client.patch("/api/v1/me", json={"bio": "hi"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await client.patch("/api/v1/me", json={"bio": "hi"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["bio"] == "hi"
