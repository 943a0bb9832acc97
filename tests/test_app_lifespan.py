"""The app's lifespan: background work that runs beside the web server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridgenote.app import create_app
from bridgenote.core import counters
from bridgenote.core.runtime import Runtime
from tests.conftest import make_settings


async def test_web_process_without_in_process_worker_flushes_its_view_counts(database_url: str, tmp_path: Path) -> None:
    flushed: list[dict[int, int]] = []
    first_flush = asyncio.Event()

    async def sink(_session: object, counts: dict[int, int]) -> None:
        flushed.append(counts)
        first_flush.set()

    counters.register_sink("lifespan-test", sink)  # type: ignore[arg-type]
    settings = make_settings(database_url, tmp_path, run_worker_in_process=False, view_flush_seconds=0.05)
    runtime = Runtime.create(settings)
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        runtime.views.add("lifespan-test", 7, 3)
        # Flushed while the app is still serving, not only at shutdown.
        await asyncio.wait_for(first_flush.wait(), timeout=5)
        assert runtime.views.pending() == 0
    assert flushed == [{7: 3}]


async def test_shutdown_stops_the_feeds_background_work(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Discover pool starts building its cards in the background; shutting down must not
    leave that task running against connections that are about to close."""
    from bridgenote.feed import service as feed_service
    from bridgenote.notes import service as notes_service
    from bridgenote.notes.schemas import NoteCreate
    from tests.factories import create_user, viewer

    started = asyncio.Event()

    async def slow_warming(*_args: object, **_kwargs: object) -> int:
        started.set()
        await asyncio.Event().wait()  # longer than any shutdown
        return 0

    monkeypatch.setattr(notes_service, "warm_feed_cards", slow_warming)
    settings = make_settings(database_url, tmp_path, view_flush_seconds=0.05)
    runtime = Runtime.create(settings)
    author = await create_user(runtime)
    async with runtime.db.transaction() as session:
        await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title="a", body="b #cats"))
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        await feed_service.get_pool(runtime)
        await asyncio.wait_for(started.wait(), timeout=5)
    left = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("bridgenote-feed") and not t.done()]
    assert left == []


@pytest.mark.parametrize("freeze", [True, False])
async def test_startup_moves_the_heap_out_of_the_cyclic_collectors_reach(
    database_url: str, tmp_path: Path, freeze: bool
) -> None:
    """A served process freezes what exists once it has started, so a full collection does
    not scan the ~400k objects of its modules and app again (pauses of 165-220 ms)."""
    import gc

    settings = make_settings(database_url, tmp_path, gc_freeze_at_start=freeze)
    app = create_app(settings)
    assert gc.get_freeze_count() == 0
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    if freeze:
        assert frozen > 10_000  # the process's modules at least
    else:
        assert frozen == 0
