"""Helpers for the search tests: notes written through the notes service, then indexed by
the real jobs (``drain``), and this process's search indexes dropped after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bridgenote.accounts.models import User
from bridgenote.config import Settings, TranslationSettings
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteCreate
from bridgenote.search import service as search_service
from tests.conftest import make_settings
from tests.factories import create_user, viewer


@pytest.fixture(autouse=True)
async def search_engine_cleanup(runtime: Runtime) -> AsyncIterator[None]:
    yield
    await search_service.close_for(runtime)


NoteMaker = Callable[..., Awaitable[int]]


@pytest.fixture
def post(runtime: Runtime) -> NoteMaker:
    """``await post(author, "title", "body")``: a published note's id (not yet indexed)."""

    async def make(author: User, title: str = "", body: str = "", **fields: Any) -> int:
        async with runtime.db.transaction() as session:
            note = await notes_service.create_note(
                session, viewer=viewer(author), data=NoteCreate(title=title, body=body, **fields)
            )
        return note.id

    return make


@pytest.fixture
async def author(runtime: Runtime) -> User:
    return await create_user(runtime, username="writer", display_name="小红书达人")


async def search(runtime: Runtime, q: str, *, who: User | None = None, **kwargs: Any) -> search_service.SearchResult:
    from bridgenote.core.auth import ANONYMOUS

    async with runtime.db.transaction(write=False) as session:
        return await search_service.search(
            session, runtime=runtime, viewer=viewer(who) if who else ANONYMOUS, q=q, **kwargs
        )


async def note_ids(runtime: Runtime, q: str, **kwargs: Any) -> list[int]:
    return [h.note_id for h in (await search(runtime, q, **kwargs)).notes]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """No machine translation unless a test asks for it (tests/search/test_translations.py):
    the default local model is not installed on test machines, and its failing jobs only
    slow the suite down."""
    return make_settings(database_url, tmp_path, translation=TranslationSettings(provider="none"))
