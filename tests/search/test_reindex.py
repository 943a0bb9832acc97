"""``reindex`` rebuilds everything beside the live indexes while search keeps answering."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, func, select

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.search import service as search_service
from bridgenote.search.commands import ProgressBar
from bridgenote.search.models import SearchDocument, SearchVector
from tests.search.conftest import NoteMaker, note_ids


async def test_reindex_from_nothing_restores_search(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    note = await post(author, "Snow mountain", "Skiing in Hokkaido #滑雪")
    await drain()
    async with runtime.db.transaction() as session:
        await session.execute(delete(SearchDocument))
        await session.execute(delete(SearchVector))
    search_service.forget_engine(runtime)
    assert await note_ids(runtime, "skiing") == []
    report = await search_service.reindex(runtime, batch=2)
    assert (report.notes, report.hashtags, report.embedded) == (1, 1, 1)
    assert report.users >= 1
    assert await note_ids(runtime, "skiing") == [note]
    assert await note_ids(runtime, "滑雪") == [note]
    assert note in await note_ids(runtime, "滑雪旅行")  # cross-lingual via the rebuilt vectors too


async def test_search_keeps_answering_during_reindex(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    target = await post(author, "Jianbing", "煎饼果子 breakfast in Tianjin")
    for i in range(40):
        await post(author, f"Filler {i}", f"note number {i} about weather")
    await drain()
    seen: list[list[int]] = []
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    reindexing = asyncio.create_task(search_service.reindex(runtime, batch=5, progress=ProgressBar(Sink())))  # type: ignore[arg-type]
    while not reindexing.done():
        seen.append(await note_ids(runtime, "煎饼果子"))
        await asyncio.sleep(0)
    report = await reindexing
    assert report.notes == 41
    assert len(seen) >= 3, "the searches should interleave with the reindex batches"
    assert all(ids == [target] for ids in seen), seen
    assert await note_ids(runtime, "jianbing") == [target]
    assert any("notes=" in line for line in lines)
    async with runtime.db.transaction(write=False) as session:
        live = await session.scalar(select(func.count()).select_from(SearchDocument).where(~SearchDocument.deleted))
    assert live == 41 + 1 + 0  # notes and the author; no hashtags
