"""The app's lifespan: background work that runs beside the web server."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
