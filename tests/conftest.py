"""Test harness: every test gets a freshly migrated, real database.

SQLite (default): the migrations run once into a template file, and each test
gets a copy. PostgreSQL (``BRIDGENOTE_TEST_DATABASE_URL=postgresql+asyncpg://...``):
the migrations run once per session, and every table is truncated before each
test. Application code commits for real, exactly as in production.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bridgenote import migrate, registry
from bridgenote.app import create_app
from bridgenote.config import RateLimit, Settings
from bridgenote.core import security
from bridgenote.core.jobs import Worker
from bridgenote.core.runtime import Runtime
from bridgenote.models import Base

if TYPE_CHECKING:
    from tests.translation.fakes import FakeLibreTranslate

TEST_DATABASE_URL = os.environ.get("BRIDGENOTE_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("BRIDGENOTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")

registry.load_tasks()


def pytest_report_header() -> str:
    where = f"PostgreSQL {TEST_DATABASE_URL}" if IS_POSTGRES else "SQLite (template copy per test)"
    return f"bridgenote database: {where}"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with test-sized cost: suites create hundreds of users on 2 cores.
    tests/core/test_security.py checks the production parameters."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    if IS_POSTGRES:

        async def reset_schema() -> None:
            engine = create_async_engine(TEST_DATABASE_URL)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset_schema())
        migrate.upgrade(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    template = tmp_path_factory.mktemp("db") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{template}")
    return str(template)


TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    if IS_POSTGRES:
        engine = create_async_engine(TEST_DATABASE_URL)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
        await engine.dispose()
        return TEST_DATABASE_URL
    target = tmp_path / "test.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    generous = RateLimit(limit=10_000, window=60)
    values: dict[str, object] = {
        "database_url": database_url,
        "var_dir": tmp_path / "var",
        "run_worker_in_process": False,
        # Freezing the heap of a test process that starts hundreds of apps would keep their
        # garbage from the cyclic collector; tests/test_app_lifespan.py checks the freeze.
        "gc_freeze_at_start": False,
        "ratelimit_signup": generous,
        "ratelimit_login": generous,
        "ratelimit_post": generous,
        "ratelimit_comment": generous,
        "ratelimit_like": generous,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def libre() -> Iterator[FakeLibreTranslate]:
    """A LibreTranslate-compatible server on loopback that translates deterministically
    (``tests/translation/fakes.py``); ``fakes.libre_settings`` points a test's settings at it."""
    from tests.translation.fakes import serve

    with serve() as fake:
        yield fake


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.create(settings)
    yield rt
    await rt.close()


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime.settings, runtime=runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def drain(runtime: Runtime) -> Callable[[], Awaitable[int]]:
    """Run every ready background job (as the worker would), return how many ran."""
    worker = Worker(runtime.db, runtime)

    async def run() -> int:
        total = 0
        while True:
            ran = await worker.drain()
            total += ran
            if ran == 0:
                return total

    return run


@pytest.fixture
async def client_for(app, runtime: Runtime) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:  # type: ignore[no-untyped-def]
    """``await client_for(user)``: an API client authenticated with a bearer token for ``user``."""
    from tests.factories import api_token

    clients: list[httpx.AsyncClient] = []

    async def make(user: object) -> httpx.AsyncClient:
        token = await api_token(runtime, user)
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        )
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()
