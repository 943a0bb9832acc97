"""Helpers for the feed tests: notes posted through the notes service and indexed by the
real jobs (``drain``); this process's candidate pool is dropped after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bridgenote.accounts.models import User
from bridgenote.core.auth import ANONYMOUS, Viewer
from bridgenote.core.runtime import Runtime
from bridgenote.feed import service as feed_service
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteCreate
from tests.factories import viewer


@pytest.fixture(autouse=True)
async def feed_cleanup(runtime: Runtime) -> AsyncIterator[None]:
    yield
    feed_service.set_fallback(False)
    await feed_service.close_for(runtime)


NoteMaker = Callable[..., Awaitable[int]]


@pytest.fixture
def post(runtime: Runtime) -> NoteMaker:
    """``await post(author, "title", "body #tag")``: a published note's id (not yet indexed)."""

    async def make(author: User, title: str = "", body: str = "", **fields: Any) -> int:
        async with runtime.db.transaction() as session:
            note = await notes_service.create_note(
                session, viewer=viewer(author), data=NoteCreate(title=title, body=body, **fields)
            )
        return note.id

    return make


async def discover(
    runtime: Runtime, who: User | Viewer | None = None, *, cursor: str | None = None, limit: int = 20
) -> tuple[list[feed_service.FeedEntry], str | None]:
    reader = ANONYMOUS if who is None else who if isinstance(who, Viewer) else viewer(who)
    async with runtime.db.transaction(write=False) as session:
        window = await feed_service.discover(session, runtime=runtime, viewer=reader, cursor=cursor, limit=limit)
    return window.items, window.next_cursor


async def discover_ids(runtime: Runtime, who: User | Viewer | None = None, **kwargs: Any) -> list[int]:
    return [e.id for e in (await discover(runtime, who, **kwargs))[0]]
