"""Plain factory functions that write real rows through the services."""

from __future__ import annotations

import itertools
from typing import Any

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import User
from bridgenote.accounts.schemas import UserCreate
from bridgenote.core.auth import Viewer
from bridgenote.core.runtime import Runtime

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


async def create_user(runtime: Runtime, **overrides: Any) -> User:
    n = next(_counter)
    data: dict[str, Any] = {
        "username": f"user{n}",
        "email": f"user{n}@example.com",
        "password": PASSWORD,
        "read_languages": ["en"],
    }
    role = overrides.pop("role", "user")
    data.update(overrides)
    async with runtime.db.transaction() as session:
        user = await accounts_service.create_user(session, data=UserCreate(**data), role=role)
    return user


def viewer(user: User) -> Viewer:
    return accounts_service.viewer_for(user)


async def api_token(runtime: Runtime, user: User) -> str:
    async with runtime.db.transaction() as session:
        _token, raw = await accounts_service.create_api_token(session, viewer=viewer(user), name="tests")
    return raw
