"""Durable background jobs stored in the application database.

A job row is written in the same transaction as the data it acts on, so a job
exists if and only if its data was committed. Workers claim rows (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL; SQLite serialises writers), run the handler and
mark the row done *in the handler's own transaction*, so an effect and its
completion commit together. Failures are retried with exponential backoff and
end in ``failed`` with the last error. A crashed worker's lease expires and the
job is run again, which is why handlers must be idempotent.

Queues are priorities: ``interactive`` (a user is waiting) runs before
``default``, which runs before ``backfill``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import socket
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Index, String, Text, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime, on_commit, utcnow
from bridgenote.core.ids import new_id

if TYPE_CHECKING:
    from bridgenote.config import Settings
    from bridgenote.core.db import Database

log = logging.getLogger(__name__)

QUEUE_PRIORITY = {"interactive": 0, "default": 5, "backfill": 9}
# Finished jobs deleted per transaction when pruning.
PRUNE_BATCH = 2_000


class Job(IdMixin, CreatedMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "priority", "run_at"),)

    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(32), default="default")
    priority: Mapped[int] = mapped_column(default=5)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)


@dataclass
class JobContext:
    """What a handler gets: its transaction and the process-wide services."""

    session: AsyncSession
    services: Any  # bridgenote.core.runtime.Runtime; typed loosely to keep core free of cycles
    job_id: int
    attempt: int


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass
class JobSpec:
    name: str
    handler: Handler
    queue: str = "default"
    max_attempts: int = 5


_HANDLERS: dict[str, JobSpec] = {}
_wakeups: set[asyncio.Event] = set()


def job(name: str, *, queue: str = "default", max_attempts: int = 5) -> Callable[[Handler], Handler]:
    """Register a handler under a ``"domain.verb"`` name."""
    if queue not in QUEUE_PRIORITY:
        raise ValueError(f"unknown queue {queue!r}")

    def register(handler: Handler) -> Handler:
        _HANDLERS[name] = JobSpec(name=name, handler=handler, queue=queue, max_attempts=max_attempts)
        return handler

    return register


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_HANDLERS)


def _wake_workers() -> None:
    for event in list(_wakeups):
        event.set()


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    delay: dt.timedelta | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add a job to the current transaction. It runs only if the transaction commits.

    With ``dedupe_key``, a second job with the same key is silently dropped.
    """
    spec = _HANDLERS.get(name)
    queue = queue or (spec.queue if spec else "default")
    values = {
        "id": new_id(),
        "name": name,
        "queue": queue,
        "priority": QUEUE_PRIORITY[queue],
        "payload": payload or {},
        "state": "queued",
        "attempts": 0,
        "max_attempts": spec.max_attempts if spec else 5,
        "run_at": utcnow() + (delay or dt.timedelta()),
        "created_at": utcnow(),
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        session.add(Job(**values))
    else:
        await insert_ignore(session, Job, values)

    async def wake() -> None:
        _wake_workers()

    on_commit(session, wake)


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a unique conflict. Returns whether a row was inserted."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


def backoff(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 2 ** min(attempt, 12)))


@dataclass
class Worker:
    """Claims and runs jobs. Many workers (tasks or processes) may share one database."""

    db: Database
    services: Any
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{new_id()}")
    poll_seconds: float = 1.0
    lease_seconds: int = 300
    queues: tuple[str, ...] | None = None
    keep_done: dt.timedelta = dt.timedelta(days=7)
    keep_failed: dt.timedelta = dt.timedelta(days=30)
    prune_every_seconds: float = 600.0

    @classmethod
    def from_settings(
        cls, db: Database, services: Any, settings: Settings, *, queues: tuple[str, ...] | None = None
    ) -> Worker:
        """The worker the web process and ``bridgenote worker`` run, as configured."""
        return cls(
            db,
            services,
            poll_seconds=settings.worker_poll_seconds,
            lease_seconds=settings.job_lease_seconds,
            queues=queues,
            keep_done=dt.timedelta(days=settings.job_keep_done_days),
            keep_failed=dt.timedelta(days=settings.job_keep_failed_days),
        )

    async def claim(self) -> tuple[int, str, dict[str, Any], int] | None:
        now = utcnow()
        async with self.db.transaction() as session:
            candidate = (
                select(Job.id)
                .where(Job.state == "queued", Job.run_at <= now)
                .order_by(Job.priority, Job.run_at, Job.id)
                .limit(1)
            )
            if self.queues:
                candidate = candidate.where(Job.queue.in_(self.queues))
            if not self.db.is_sqlite:
                candidate = candidate.with_for_update(skip_locked=True)
            result = await session.execute(
                update(Job)
                .where(Job.id == candidate.scalar_subquery())
                .values(state="running", locked_at=now, locked_by=self.name, attempts=Job.attempts + 1)
                .returning(Job.id, Job.name, Job.payload, Job.attempts)
            )
            row = result.first()
        if row is None:
            return None
        return int(row[0]), str(row[1]), dict(row[2] or {}), int(row[3])

    async def run_one(self) -> bool:
        """Claim and run one job. Returns False when nothing was ready."""
        claimed = await self.claim()
        if claimed is None:
            return False
        job_id, name, payload, attempt = claimed
        spec = _HANDLERS.get(name)
        try:
            if spec is None:
                raise LookupError(f"no handler registered for job {name!r}")
            async with self.db.transaction() as session:
                await spec.handler(JobContext(session, self.services, job_id, attempt), payload)
                await session.execute(
                    update(Job).where(Job.id == job_id).values(state="done", finished_at=utcnow(), last_error=None)
                )
        except Exception as exc:
            log.warning("job %s (%s) attempt %s failed: %s", job_id, name, attempt, exc)
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            async with self.db.transaction() as session:
                current = await session.get(Job, job_id)
                if current is not None:
                    if attempt >= current.max_attempts:
                        current.state = "failed"
                        current.finished_at = utcnow()
                    else:
                        current.state = "queued"
                        current.run_at = utcnow() + backoff(attempt)
                    current.locked_at = None
                    current.locked_by = None
                    current.last_error = error
        return True

    async def reap_expired_leases(self) -> int:
        """Requeue jobs whose worker died mid-run."""
        cutoff = utcnow() - dt.timedelta(seconds=self.lease_seconds)
        async with self.db.transaction() as session:
            result = await session.execute(
                update(Job)
                .where(Job.state == "running", Job.locked_at < cutoff)
                .values(state="queued", locked_at=None, locked_by=None)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def drain(self, *, limit: int = 10_000) -> int:
        """Run ready jobs until none is left (tests, CLI). Returns how many ran."""
        ran = 0
        while ran < limit and await self.run_one():
            ran += 1
        return ran

    async def prune_finished(self, *, batch: int = PRUNE_BATCH) -> int:
        """Delete the jobs that ended ``done`` longer than ``keep_done`` ago and ``failed``
        longer than ``keep_failed`` ago, ``batch`` rows per transaction (a short write lock
        on SQLite), until none is left; how many went. Without it the table only grows:
        every like, comment and follow leaves a few rows."""
        now = utcnow()
        pruned = 0
        while True:
            async with self.db.transaction() as session:
                deleted = await delete_finished(
                    session, done_before=now - self.keep_done, failed_before=now - self.keep_failed, limit=batch
                )
            pruned += deleted
            if deleted < batch:
                break
            await asyncio.sleep(0)
        if pruned:
            log.info("pruned %d finished jobs", pruned)
        return pruned

    async def run_forever(self, stop: asyncio.Event) -> None:
        wakeup = asyncio.Event()
        _wakeups.add(wakeup)
        last_reap = last_prune = -math.inf
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    if loop.time() - last_reap > 30:
                        await self.reap_expired_leases()
                        last_reap = loop.time()
                    if loop.time() - last_prune > self.prune_every_seconds:
                        last_prune = loop.time()
                        await self.prune_finished()
                    while not stop.is_set() and await self.run_one():
                        pass
                    if hasattr(self.services, "flush_periodic"):
                        await self.services.flush_periodic()
                except Exception:
                    log.exception("worker loop error")
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=self.poll_seconds)
        finally:
            _wakeups.discard(wakeup)


async def delete_finished(
    session: AsyncSession, *, done_before: dt.datetime, failed_before: dt.datetime, limit: int = PRUNE_BATCH
) -> int:
    """Delete up to ``limit`` jobs that finished ``done`` before ``done_before`` or ``failed``
    before ``failed_before``; how many. Queued and running jobs are never touched."""
    finished = (
        select(Job.id)
        .where(
            or_(
                and_(Job.state == "done", Job.finished_at < done_before),
                and_(Job.state == "failed", Job.finished_at < failed_before),
            )
        )
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Two workers pruning at once take different rows instead of queueing on the same ones.
        finished = finished.with_for_update(skip_locked=True)
    result = await session.execute(delete(Job).where(Job.id.in_(finished.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


async def queue_depths(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Job.queue, func.count()).where(Job.state.in_(("queued", "running"))).group_by(Job.queue)
    )
    return {str(queue): int(count) for queue, count in rows.all()}
