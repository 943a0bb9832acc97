"""The Alembic migrations are the schema: they must match the models exactly and run both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bridgenote import migrate
from bridgenote.core.db import Database
from bridgenote.models import Base
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run(url: str, fn):  # type: ignore[no-untyped-def]
    db = Database(url)
    try:
        async with db.write_engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await db.dispose()


def test_migrations_match_models_and_downgrade(tmp_path: Path, migrated_template: str) -> None:
    url = TEST_DATABASE_URL if IS_POSTGRES else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    assert asyncio.run(_run(url, _diff)) == []
    migrate.downgrade(url, "base")
    assert asyncio.run(_run(url, _tables)) <= {"alembic_version"}
    migrate.upgrade(url)
    assert asyncio.run(_run(url, _diff)) == []
