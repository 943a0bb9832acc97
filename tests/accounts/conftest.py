"""Fixtures for the accounts tests: browser-like clients with their own cookie jars."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.factories import PASSWORD

NewClient = Callable[[], httpx.AsyncClient]
Browser = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest.fixture
async def new_client(app) -> AsyncIterator[NewClient]:  # type: ignore[no-untyped-def]
    """``new_client()``: another anonymous client with its own cookie jar (another browser)."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
def browser(new_client: NewClient) -> Browser:
    """``await browser(user)``: a client logged in with a session cookie, and its CSRF token."""

    async def login(user: object, password: str = PASSWORD) -> tuple[httpx.AsyncClient, str]:
        c = new_client()
        r = await c.post("/api/v1/auth/login", json={"login": user.username, "password": password})  # type: ignore[attr-defined]
        assert r.status_code == 200, r.text
        return c, r.json()["csrf_token"]

    return login
