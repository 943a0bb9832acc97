"""Helpers shared by the notifications tests: real notes and comments through the
notes service, events published the way a domain publishes them, and reads of the
notifications table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bridgenote.accounts.models import User
from bridgenote.core import events
from bridgenote.core.db import utcnow
from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import CommentCreate, NoteCreate
from bridgenote.notifications.models import Notification
from tests.factories import viewer


async def make_note(runtime: Runtime, author: User, body: str = "hello") -> int:
    async with runtime.db.transaction() as session:
        note = await notes_service.create_note(session, viewer=viewer(author), data=NoteCreate(title="t", body=body))
    return note.id


async def make_comment(
    runtime: Runtime, author: User, note_id: int, body: str = "nice", parent_id: int | None = None
) -> int:
    async with runtime.db.transaction() as session:
        comment = await notes_service.create_comment(
            session, viewer=viewer(author), note_id=note_id, data=CommentCreate(body=body, parent_id=parent_id)
        )
    return comment.id


async def publish(runtime: Runtime, event: str, payload: dict[str, Any]) -> None:
    async with runtime.db.transaction() as session:
        await events.publish(session, event, payload)


def like(actor: User, owner: User, note_id: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "like", "actor_id": actor.id, "note_id": note_id, "target_user_id": owner.id, **extra}


async def notifications_of(runtime: Runtime, user: User) -> list[Notification]:
    async with runtime.db.transaction(write=False) as session:
        rows = await session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
        return list(rows)


async def requeue_notification_jobs(runtime: Runtime) -> int:
    """Put every finished notifications job back in the queue, as a crashed worker's
    expired lease would."""
    async with runtime.db.transaction() as session:
        result = await session.execute(
            update(Job)
            .where(Job.name == "notifications.on_event", Job.state == "done")
            .values(state="queued", run_at=utcnow(), finished_at=None)
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def job_states(runtime: Runtime) -> list[str]:
    async with runtime.db.transaction(write=False) as session:
        rows = await session.scalars(select(Job.state).where(Job.name == "notifications.on_event"))
        return list(rows)
