"""``bridgenote feed train`` and ``bridgenote feed backfill`` (wired into ``bridgenote.cli``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bridgenote.config import get_settings
from bridgenote.core.errors import AppError
from bridgenote.core.runtime import Runtime
from bridgenote.feed import service


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feed = sub.add_parser("feed", help="Discover feed: train the ranker, index existing notes")
    actions = feed.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="learn the ranker's weights from the interaction log")
    train.add_argument("--days", type=int, default=90, help="interactions from the last N days")
    train.set_defaults(func=_train)
    backfill = actions.add_parser("backfill", help="index every existing note for the feed (idempotent)")
    backfill.add_argument("--batch", type=int, default=200)
    backfill.set_defaults(func=_backfill)


def _train(args: argparse.Namespace) -> None:
    async def go() -> service.TrainingReport:
        runtime = Runtime.create(get_settings())
        try:
            async with runtime.db.transaction() as session:
                return await service.train(session, runtime=runtime, days=args.days)
        finally:
            await runtime.close()

    try:
        report = asyncio.run(go())
    except AppError as exc:
        sys.exit(f"error: {exc.message}")
    sys.stdout.write(
        json.dumps(
            {
                "rows": report.rows,
                "positives": report.positives,
                "log_loss_current": round(report.log_loss_default, 4),
                "log_loss_trained": round(report.log_loss_trained, 4),
                "stored": report.stored,
                "weights": {k: round(v, 3) for k, v in report.weights.items()},
            },
            indent=2,
        )
        + "\n"
    )


def _backfill(args: argparse.Namespace) -> None:
    async def go() -> int:
        runtime = Runtime.create(get_settings())
        total = 0
        after: int | None = 0
        try:
            while after is not None:
                async with runtime.db.transaction() as session:
                    n, after = await service.backfill(session, after_id=after, limit=args.batch)
                total += n
                sys.stdout.write(f"\rindexed {total} notes")
                sys.stdout.flush()
        finally:
            await runtime.close()
        return total

    total = asyncio.run(go())
    sys.stdout.write(f"\rindexed {total} notes\n")
