"""Translation tests run against the LibreTranslate-compatible loopback server in
``fakes.py`` unless a test asks for the real local model (``test_model.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridgenote.accounts.models import User
from bridgenote.config import Settings
from bridgenote.core.runtime import Runtime
from bridgenote.translation import install
from bridgenote.translation.catalog import get_spec
from tests.factories import create_user
from tests.translation.fakes import FakeLibreTranslate, libre_settings

REPO = Path(__file__).resolve().parents[2]
REPO_MODELS = REPO / "var" / "models"
SMALL_MODEL = get_spec("small")
needs_small_model = pytest.mark.skipif(
    install.model_state(SMALL_MODEL, REPO_MODELS) != "ready",
    reason="the small GGUF model is not installed in var/models (make test installs it: "
    "bridgenote models install --model small --dir var/models)",
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, libre: FakeLibreTranslate) -> Settings:
    return libre_settings(database_url, tmp_path, libre)


Person = tuple[User, httpx.AsyncClient]


@pytest.fixture
def person(
    runtime: Runtime, client_for: Callable[..., Awaitable[httpx.AsyncClient]]
) -> Callable[..., Awaitable[Person]]:
    async def make(**overrides: Any) -> Person:
        user = await create_user(runtime, **overrides)
        return user, await client_for(user)

    return make


async def post_note(client: httpx.AsyncClient, **body: Any) -> int:
    response = await client.post("/api/v1/notes", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def post_comment(client: httpx.AsyncClient, note_id: int, body: str) -> int:
    response = await client.post(f"/api/v1/notes/{note_id}/comments", json={"body": body})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])
