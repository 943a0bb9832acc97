"""Durable jobs: they exist only if their transaction committed, retry with backoff,
survive a dead worker through lease expiry, dedupe, and run in priority order."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bridgenote.core import events
from bridgenote.core.db import utcnow
from bridgenote.core.jobs import QUEUE_PRIORITY, Job, JobContext, Worker, backoff, enqueue, job, queue_depths
from bridgenote.core.runtime import Runtime
from tests.conftest import make_settings

ran: list[tuple[str, dict[str, Any]]] = []
heard: list[tuple[str, dict[str, Any]]] = []


@job("tests.jobs.record")
async def _record(ctx: JobContext, payload: dict[str, Any]) -> None:
    ran.append(("tests.jobs.record", payload))


@job("tests.jobs.record_backfill", queue="backfill")
async def _record_backfill(ctx: JobContext, payload: dict[str, Any]) -> None:
    ran.append(("tests.jobs.record_backfill", payload))


@job("tests.jobs.record_interactive", queue="interactive")
async def _record_interactive(ctx: JobContext, payload: dict[str, Any]) -> None:
    ran.append(("tests.jobs.record_interactive", payload))


@job("tests.jobs.explode", max_attempts=3)
async def _explode(ctx: JobContext, payload: dict[str, Any]) -> None:
    # The follow-up job is part of the handler's effect: it must vanish with the failure.
    await enqueue(ctx.session, "tests.jobs.record", {"from": "explode"})
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


async def _listener(event: str, payload: dict[str, Any]) -> None:
    heard.append((event, payload))


events.subscribe("tests.thing_happened", "tests.jobs.record")
events.listen("tests.thing_happened", _listener)


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()
    heard.clear()


async def _jobs(runtime: Runtime, **where: Any) -> list[Job]:
    async with runtime.db.transaction(write=False) as session:
        stmt = select(Job).order_by(Job.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Job, key) == value)
        return list((await session.scalars(stmt)).all())


async def _make_ready(runtime: Runtime, job_id: int) -> None:
    """Skip the backoff wait: the retry becomes due now."""
    async with runtime.db.transaction() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(run_at=utcnow() - dt.timedelta(seconds=1)))


async def test_enqueue_in_a_rolled_back_transaction_leaves_no_job(runtime: Runtime) -> None:
    with pytest.raises(Boom):
        async with runtime.db.transaction() as session:
            await enqueue(session, "tests.jobs.record", {"n": 1})
            await session.flush()
            raise Boom
    assert await _jobs(runtime) == []
    assert await Worker(runtime.db, runtime).drain() == 0
    assert ran == []


async def test_enqueue_in_a_committed_transaction_creates_a_queued_job(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 1})
    [row] = await _jobs(runtime)
    assert (row.name, row.queue, row.priority, row.state, row.attempts) == (
        "tests.jobs.record",
        "default",
        5,
        "queued",
        0,
    )
    assert row.payload == {"n": 1}
    assert await Worker(runtime.db, runtime).drain() == 1
    assert ran == [("tests.jobs.record", {"n": 1})]
    [row] = await _jobs(runtime)
    assert row.state == "done" and row.finished_at is not None and row.last_error is None


async def test_failures_retry_with_backoff_then_fail_with_the_last_error(runtime: Runtime) -> None:
    worker = Worker(runtime.db, runtime)
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.explode", {})
    [row] = await _jobs(runtime)
    assert row.max_attempts == 3
    for attempt in (1, 2):
        started = utcnow()
        assert await worker.run_one() is True
        [row] = await _jobs(runtime, name="tests.jobs.explode")
        assert row.state == "queued" and row.attempts == attempt
        assert row.locked_by is None and row.locked_at is None
        assert row.last_error == f"RuntimeError: boom on attempt {attempt}"
        delay = (row.run_at - started).total_seconds()
        assert backoff(attempt).total_seconds() - 1 <= delay <= backoff(attempt).total_seconds() + 1
        # Not due yet: the worker must leave it alone.
        assert await worker.run_one() is False
        await _make_ready(runtime, row.id)
    assert backoff(2) > backoff(1)
    assert await worker.run_one() is True
    [row] = await _jobs(runtime, name="tests.jobs.explode")
    assert row.state == "failed" and row.attempts == 3 and row.finished_at is not None
    assert row.last_error == "RuntimeError: boom on attempt 3"
    assert await worker.run_one() is False
    # The handler's own writes rolled back with each failure.
    assert await _jobs(runtime, name="tests.jobs.record") == []


async def test_backoff_is_capped_at_an_hour() -> None:
    assert backoff(1) == dt.timedelta(seconds=2)
    assert backoff(50) == dt.timedelta(hours=1)


async def test_a_job_without_a_handler_fails_instead_of_vanishing(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.nobody_handles_this", {})
    assert await Worker(runtime.db, runtime).run_one() is True
    [row] = await _jobs(runtime)
    assert row.state == "queued" and row.attempts == 1
    assert "no handler registered" in (row.last_error or "")


async def test_an_expired_lease_requeues_a_running_job(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 7})
    dead = Worker(runtime.db, runtime, lease_seconds=60)
    claimed = await dead.claim()  # ... and then the process dies
    assert claimed is not None
    [row] = await _jobs(runtime)
    assert row.state == "running" and row.locked_by == dead.name and row.attempts == 1
    survivor = Worker(runtime.db, runtime, lease_seconds=60)
    assert await survivor.reap_expired_leases() == 0  # the lease is still fresh
    assert await survivor.run_one() is False  # and a running job is not claimed twice
    async with runtime.db.transaction() as session:
        await session.execute(update(Job).values(locked_at=utcnow() - dt.timedelta(seconds=61)))
    assert await survivor.reap_expired_leases() == 1
    [row] = await _jobs(runtime)
    assert row.state == "queued" and row.locked_by is None
    assert await survivor.drain() == 1
    assert ran == [("tests.jobs.record", {"n": 7})]
    [row] = await _jobs(runtime)
    assert row.state == "done" and row.attempts == 2


async def test_dedupe_key_keeps_one_job(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 1}, dedupe_key="once")
        await enqueue(session, "tests.jobs.record", {"n": 2}, dedupe_key="once")
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 3}, dedupe_key="once")
        await enqueue(session, "tests.jobs.record", {"n": 4}, dedupe_key="twice")
    rows = await _jobs(runtime)
    assert sorted((r.dedupe_key, r.payload["n"]) for r in rows) == [("once", 1), ("twice", 4)]
    # A rolled-back dedupe insert does not reserve the key.
    with pytest.raises(Boom):
        async with runtime.db.transaction() as session:
            await enqueue(session, "tests.jobs.record", {"n": 5}, dedupe_key="thrice")
            raise Boom
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 6}, dedupe_key="thrice")
    assert [r.payload["n"] for r in await _jobs(runtime, dedupe_key="thrice")] == [6]


async def _age(runtime: Runtime, job_id: int, *, state: str, days: float) -> None:
    async with runtime.db.transaction() as session:
        finished = utcnow() - dt.timedelta(days=days)
        await session.execute(update(Job).where(Job.id == job_id).values(state=state, finished_at=finished))


async def test_finished_jobs_are_pruned_after_their_keep_and_nothing_else_is(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        for n in range(7):
            await enqueue(session, "tests.jobs.record", {"n": n}, dedupe_key=f"k{n}")
    ids = [j.id for j in await _jobs(runtime)]
    await _age(runtime, ids[0], state="done", days=8)  # old enough
    await _age(runtime, ids[1], state="done", days=6)  # still kept
    await _age(runtime, ids[2], state="failed", days=8)  # failures are kept longer ...
    await _age(runtime, ids[3], state="failed", days=31)  # ... but not for ever
    await _age(runtime, ids[4], state="running", days=40)  # never, whatever its timestamps say
    # ids[5] and ids[6] are queued.
    worker = Worker(runtime.db, runtime, keep_done=dt.timedelta(days=7), keep_failed=dt.timedelta(days=30))
    assert await worker.prune_finished() == 2
    assert [j.id for j in await _jobs(runtime)] == [ids[1], ids[2], ids[4], ids[5], ids[6]]
    # A pruned job's dedupe key is free again: the same work can be asked for anew.
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 10}, dedupe_key="k0")
        await enqueue(session, "tests.jobs.record", {"n": 11}, dedupe_key="k1")
    assert [j.payload["n"] for j in await _jobs(runtime, dedupe_key="k0")] == [10]
    assert [j.payload["n"] for j in await _jobs(runtime, dedupe_key="k1")] == [1]


async def test_pruning_goes_on_batch_after_batch_until_none_is_left(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        for n in range(25):
            await enqueue(session, "tests.jobs.record", {"n": n})
    async with runtime.db.transaction() as session:
        await session.execute(update(Job).values(state="done", finished_at=utcnow() - dt.timedelta(days=30)))
    assert await Worker(runtime.db, runtime).prune_finished(batch=10) == 25
    assert await _jobs(runtime) == []


async def test_the_worker_loop_prunes_on_its_own(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 1})
    [old] = await _jobs(runtime)
    await _age(runtime, old.id, state="done", days=30)
    stop = asyncio.Event()
    worker = Worker(runtime.db, runtime, poll_seconds=0.05, prune_every_seconds=0.1)
    loop = asyncio.create_task(worker.run_forever(stop))
    try:
        for _ in range(100):
            if not await _jobs(runtime):
                break
            await asyncio.sleep(0.05)
        assert await _jobs(runtime) == []
        # Later rows go at the next round, not only at start-up.
        async with runtime.db.transaction() as session:
            await enqueue(session, "tests.jobs.record", {"n": 2})
        for _ in range(100):
            if [j.state for j in await _jobs(runtime)] == ["done"]:
                break
            await asyncio.sleep(0.05)
        [later] = await _jobs(runtime)
        await _age(runtime, later.id, state="done", days=30)
        for _ in range(100):
            if not await _jobs(runtime):
                break
            await asyncio.sleep(0.05)
        assert await _jobs(runtime) == []
    finally:
        stop.set()
        await loop


def test_workers_take_their_keep_and_lease_from_the_settings(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:", tmp_path, job_keep_done_days=2.0, job_keep_failed_days=9.0, job_lease_seconds=42
    )
    worker = Worker.from_settings(None, None, settings, queues=("backfill",))  # type: ignore[arg-type]
    assert worker.keep_done == dt.timedelta(days=2) and worker.keep_failed == dt.timedelta(days=9)
    assert worker.lease_seconds == 42 and worker.queues == ("backfill",)


async def test_interactive_runs_before_default_before_backfill(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record_backfill", {"n": 1})
        await enqueue(session, "tests.jobs.record", {"n": 2})
        await enqueue(session, "tests.jobs.record_interactive", {"n": 3})
        await enqueue(session, "tests.jobs.record", {"n": 4}, queue="backfill")
        await enqueue(session, "tests.jobs.record", {"n": 5}, queue="interactive")
    rows = await _jobs(runtime)
    assert {r.payload["n"]: (r.queue, r.priority) for r in rows} == {
        1: ("backfill", QUEUE_PRIORITY["backfill"]),
        2: ("default", QUEUE_PRIORITY["default"]),
        3: ("interactive", QUEUE_PRIORITY["interactive"]),
        4: ("backfill", QUEUE_PRIORITY["backfill"]),
        5: ("interactive", QUEUE_PRIORITY["interactive"]),
    }
    async with runtime.db.transaction(write=False) as session:
        assert await queue_depths(session) == {"backfill": 2, "default": 1, "interactive": 2}
    assert await Worker(runtime.db, runtime).drain() == 5
    # Within a queue, first in first out.
    assert [p["n"] for _name, p in ran] == [3, 5, 2, 1, 4]


async def test_a_worker_restricted_to_queues_leaves_the_others(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 1})
        await enqueue(session, "tests.jobs.record_backfill", {"n": 2})
    assert await Worker(runtime.db, runtime, queues=("backfill",)).drain() == 1
    assert [p["n"] for _name, p in ran] == [2]


async def test_concurrent_workers_run_each_job_exactly_once(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        for n in range(30):
            await enqueue(session, "tests.jobs.record", {"n": n})
    workers = [Worker(runtime.db, runtime) for _ in range(4)]
    counts = await asyncio.gather(*(w.drain() for w in workers))
    assert sum(counts) == 30
    assert sorted(p["n"] for _name, p in ran) == list(range(30))


async def test_published_event_runs_its_subscriber_only_after_commit(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        await events.publish(session, "tests.thing_happened", {"thing_id": 42})
        await session.flush()
        # Neither the in-memory listener nor another connection sees anything yet.
        assert heard == []
        async with runtime.db.transaction(write=False) as other:
            assert await other.scalar(select(func.count()).select_from(Job)) == 0
    assert heard == [("tests.thing_happened", {"thing_id": 42})]
    [row] = await _jobs(runtime)
    assert row.name == "tests.jobs.record"
    assert row.payload == {"event": "tests.thing_happened", "thing_id": 42}
    assert await Worker(runtime.db, runtime).drain() == 1
    assert ran == [("tests.jobs.record", {"event": "tests.thing_happened", "thing_id": 42})]


async def test_published_event_in_a_rolled_back_transaction_does_nothing(runtime: Runtime) -> None:
    with pytest.raises(Boom):
        async with runtime.db.transaction() as session:
            await events.publish(session, "tests.thing_happened", {"thing_id": 1})
            raise Boom
    assert heard == []
    assert await _jobs(runtime) == []
    # The discarded after-commit hooks do not leak into the next transaction.
    async with runtime.db.transaction() as session:
        await enqueue(session, "tests.jobs.record", {"n": 1})
    assert heard == []


async def test_subscribe_is_idempotent() -> None:
    events.subscribe("tests.thing_happened", "tests.jobs.record")
    assert events.subscriptions("tests.thing_happened") == ["tests.jobs.record"]
