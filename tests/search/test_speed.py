"""What keeps search fast as the index grows: capped keyword scans, catch-ups that do not re-read
documents they already applied. Behaviour (what is found) must not change for small result sets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.search import backends
from bridgenote.search import service as search_service
from bridgenote.search.analysis import parse_query
from tests.search.conftest import NoteMaker, note_ids


async def test_keyword_scoring_is_capped_to_the_newest_matches(
    runtime: Runtime,
    drain: Callable[[], Awaitable[int]],
    post: NoteMaker,
    author: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The oldest note is the best match by far (the word in its title, three times).
    best_but_old = await post(author, "Sourdough sourdough sourdough", "sourdough")
    newer = [await post(author, f"Bread {i}", "a long day with sourdough and other things") for i in range(4)]
    await drain()
    engine = search_service.engine_for(runtime)
    query = parse_query("sourdough ")

    async def keyword_ids() -> list[int]:
        async with runtime.db.transaction(write=False) as session:
            await engine.catch_up(session)
            hits = await engine.keywords.search(session, kind="note", query=query, mode="all", limit=10)
        return [i for i, _score in hits]

    uncapped = await keyword_ids()
    assert uncapped[0] == best_but_old and set(uncapped) == {best_but_old, *newer}
    monkeypatch.setattr(backends, "SCAN_CAP", 3)
    capped = await keyword_ids()
    assert set(capped) == set(newer[-3:])
    assert await note_ids(runtime, "sourdough ")  # the full search still answers


async def test_a_catch_up_does_not_reread_documents_it_applied(
    runtime: Runtime,
    drain: Callable[[], Awaitable[int]],
    post: NoteMaker,
    author: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not runtime.db.is_sqlite:
        pytest.skip("PostgreSQL serves keywords from the table itself; there is nothing to catch up")
    first = await post(author, "Matcha", "whisked green tea")
    await drain()
    assert await note_ids(runtime, "matcha ") == [first]
    engine = search_service.engine_for(runtime)
    assert isinstance(engine.keywords, backends.SqliteFts)
    applied: list[int] = []
    apply = backends.SqliteFts._apply

    def counting(conn: Any, rows: Any, **kwargs: Any) -> None:
        applied.extend(r.id for r in rows)
        apply(conn, rows, **kwargs)

    monkeypatch.setattr(backends.SqliteFts, "_apply", staticmethod(counting))
    async with runtime.db.transaction(write=False) as session:
        await engine.keywords.catch_up(session, force=True)  # inside the overlap window
    assert applied == []
    second = await post(author, "Matcha latte", "with oat milk")
    await drain()
    assert set(await note_ids(runtime, "matcha ")) == {first, second}
    assert first not in applied and second in applied
