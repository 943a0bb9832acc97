"""``bridgenote reindex``: rebuild the search documents, vectors and indexes online."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from bridgenote.config import Settings


class ProgressBar:
    """A one-line text progress bar (per kind of object) on a terminal; plain lines otherwise."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.counts: dict[str, int] = {}
        self.started = time.monotonic()
        self.tty = stream.isatty()

    def __call__(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = sum(self.counts.values())
        parts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        spinner = "#" * (done // 500 % 30)
        line = f"reindex [{spinner:<30}] {parts} ({done / elapsed:.0f}/s)"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()


def run_reindex(settings: Settings, *, embed: bool = True, batch: int = 500) -> None:
    from bridgenote import registry
    from bridgenote.core.runtime import Runtime
    from bridgenote.search import service

    registry.load_tasks()

    async def main() -> None:
        runtime = Runtime.create(settings)
        bar = ProgressBar()
        try:
            report = await service.reindex(runtime, batch=batch, embed=embed, progress=bar)
        finally:
            await service.close_for(runtime)
            await runtime.close()
        sys.stderr.write("\n")
        sys.stdout.write(
            f"reindexed {report.notes} notes, {report.users} users, {report.hashtags} hashtags, "
            f"{report.boards} boards; "
            f"embedded {report.embedded} notes in {report.seconds:.1f} s\n"
        )

    asyncio.run(main())
