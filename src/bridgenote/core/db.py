"""Database engines, sessions and the transaction edge.

Application code never commits. The request edge (``session_dependency``) and
the job edge (``Database.transaction``) commit once, then run the callbacks that
were registered with :func:`on_commit` (publishing events, waking the worker).

SQLite gets two engines: write transactions start with ``BEGIN IMMEDIATE`` so
concurrent writers queue on the busy timeout instead of failing on a lock
upgrade; reads start a plain deferred ``BEGIN`` and never block writers (WAL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import aiosqlite
from sqlalchemy import JSON, BigInteger, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bridgenote.core.ids import new_id

log = logging.getLogger(__name__)

# A WAL reader only waits in rare cases (recovery after a crash, a truncating
# checkpoint); on the inline read connection that wait blocks the event loop, so
# it is kept short.
READ_BUSY_TIMEOUT_S = 5

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime(), int: BigInteger()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id, sort_order=-10)


class CreatedMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, sort_order=10)


AfterCommit = Callable[[], Awaitable[None]]


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` after the surrounding transaction commits (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def _run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # an after-commit hook must not turn a committed request into an error
            log.exception("after-commit callback failed")


class _InlineQueue:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class _InlineSqliteConnection(aiosqlite.Connection):
    """aiosqlite's interface, run on the calling thread instead of a worker thread.

    For the SQLite *read* engine only. A read in WAL mode never waits for a
    writer's lock, and a page of a feed takes a fraction of a millisecond inside
    SQLite, while every hop to aiosqlite's thread and back (several per
    statement) costs the event loop more than that. Writes keep the threaded
    connection: ``BEGIN IMMEDIATE`` may wait up to the busy timeout for another
    writer, which must not block the loop. SQLAlchemy's adapter also talks to
    aiosqlite's queue directly (to set the isolation level), hence the queue
    that runs calls in place.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        # The base class starts its worker thread here; this one has none.
        return self._connect().__await__()


def _sqlite_engine(url: str, *, begin: str, echo: bool, inline: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if inline:
        path = make_url(url).database or ":memory:"
        connector = partial(sqlite3.connect, path, timeout=READ_BUSY_TIMEOUT_S, check_same_thread=False)

        async def connect() -> aiosqlite.Connection:
            return await _InlineSqliteConnection(connector, iter_chunk_size=64)

        kwargs["async_creator"] = connect
    # Rolling back a connection that is not in a transaction is a wasted round trip
    # on every checkin; the edge has already committed or rolled back.
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_reset_on_return=None, **kwargs)

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        if dbapi_connection.driver_connection._conn.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={(READ_BUSY_TIMEOUT_S if inline else 30) * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """Owns the engines for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE", echo=echo)
            self.read_engine = _sqlite_engine(url, begin="BEGIN", echo=echo, inline=True)
        else:
            self.write_engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self, *, write: bool = True) -> AsyncSession:
        return (self._write if write else self._read)()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit on success, roll back on error, then after-commit hooks."""
        session = self.session(write=write)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise
        finally:
            await session.close()
        await _run_after_commit(session)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
