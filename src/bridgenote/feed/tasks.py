"""Background work of the feed: keep ``feed_items`` and interest profiles current.

Every handler is thin and idempotent: indexing rebuilds a row from the current note;
profile updates carry the job id as a dedupe key, so a job run twice moves a profile once.
Profile updates run on the ``interactive`` queue: a like shows in the next page within
a worker poll (about a second).
"""

from __future__ import annotations

from typing import Any

from bridgenote.core import counters, events
from bridgenote.core.jobs import JobContext, job
from bridgenote.feed import service


@job("feed.index_note", queue="default", max_attempts=3)
async def index_note(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.index_notes(ctx.session, note_ids=[int(payload["note_id"])])


@job("feed.record_interaction", queue="interactive")
async def record_interaction(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.record_interaction(
        ctx.session,
        user_id=int(payload["actor_id"]),
        note_id=int(payload["note_id"]),
        kind=str(payload["kind"]),
        dedupe_key=f"job:{ctx.job_id}",
    )


@job("feed.record_follow", queue="interactive")
async def record_follow(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.record_follow(
        ctx.session, follower_id=int(payload["follower_id"]), followee_id=int(payload["followee_id"])
    )


@job("feed.sync_interests", queue="interactive")
async def sync_interests(ctx: JobContext, payload: dict[str, Any]) -> None:
    if payload.get("event") == "user.updated" and "interests" not in payload.get("fields", ["interests"]):
        return
    await service.sync_interests(ctx.session, user_id=int(payload["user_id"]))


for _event in ("note.created", "note.updated", "note.deleted"):
    events.subscribe(_event, "feed.index_note")
events.subscribe("interaction.recorded", "feed.record_interaction")
events.subscribe("user.followed", "feed.record_follow")
for _event in ("user.created", "user.updated"):
    events.subscribe(_event, "feed.sync_interests")

counters.register_sink("feed_impression", service.add_impressions)
counters.register_sink(service.SEEN_COUNTER, service.discount_seen)
