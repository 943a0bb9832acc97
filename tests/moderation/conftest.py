"""People with API clients (members, moderators, an admin) and small helpers for the moderation tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from tests.factories import create_user


@dataclass
class Person:
    user: User
    client: httpx.AsyncClient

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
def person(runtime: Runtime, client_for: Callable[..., Awaitable[httpx.AsyncClient]]) -> PersonFactory:
    """``await person("alice", region="CN", role="moderator")``."""

    async def make(username: str, **overrides: Any) -> Person:
        overrides.setdefault("email", f"{username}@example.com")
        user = await create_user(runtime, username=username, **overrides)
        return Person(user=user, client=await client_for(user))

    return make


async def post_note(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "a note")
    r = await client.post("/api/v1/notes", json=body)
    assert r.status_code == 201, r.text
    note: dict[str, Any] = r.json()
    return note


async def audit_actions(client: httpx.AsyncClient, **params: Any) -> list[str]:
    r = await client.get("/api/v1/moderation/audit", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]
