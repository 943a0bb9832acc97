"""Event subscribers that turn other domains' events into notifications.

One durable job, ``notifications.on_event``, receives every subscribed event (the
payload carries ``"event"``) and dispatches on its name. Jobs can run more than
once, so every notification carries a deterministic ``dedupe_key``:

==========================================  =====================================
what                                        key (one notification per key, ever)
==========================================  =====================================
like / save of a note                       ``{kind}:{recipient}:{actor}:n{note}``
like of a comment                           ``comment_like:{recipient}:{actor}:c{comment}``
comment, reply, @mention in a comment       ``c{comment}:{recipient}``
@mention in a note (created or edited)      ``mention:{recipient}:n{note}``
follow                                      ``follow:{recipient}:{actor}``
==========================================  =====================================

So undoing and redoing a like, unfollowing and following again, or saving one note
into two boards notifies once; a comment that both replies to and @mentions
someone notifies them once (as a reply).

A malformed payload is logged and dropped: retrying would not fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import events
from bridgenote.core.jobs import JobContext, job
from bridgenote.core.schemas import MAX_ID
from bridgenote.notifications import service

log = logging.getLogger(__name__)

JOB_NAME = "notifications.on_event"
# Interaction kinds that notify the owner of the content; others (views, shares) do not.
INTERACTION_KINDS = frozenset({"like", "save", "comment", "reply", "comment_like"})


class _BadPayload(ValueError):
    pass


def _id(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise _BadPayload(f"{key}={value!r}")
    return value


def _optional_id(payload: dict[str, Any], key: str) -> int | None:
    return None if payload.get(key) is None else _id(payload, key)


def _ids(payload: dict[str, Any], key: str) -> list[int]:
    values = payload.get(key) or []
    if not isinstance(values, list):
        raise _BadPayload(f"{key}={values!r}")
    return list(dict.fromkeys(_id({key: v}, key) for v in values))


async def _interaction(session: AsyncSession, payload: dict[str, Any]) -> None:
    kind = payload.get("kind")
    if kind not in INTERACTION_KINDS:
        return
    actor = _id(payload, "actor_id")
    recipient = _id(payload, "target_user_id")
    note = _id(payload, "note_id")
    comment: int | None = None
    supersedes: tuple[str, ...] = ()
    if kind in ("like", "save"):
        # board_id is left out on purpose: saving into a second board is not news,
        # and a private board's id is not the recipient's business.
        key = f"{kind}:{recipient}:{actor}:n{note}"
    elif kind == "comment_like":
        comment = _id(payload, "comment_id")
        key = f"comment_like:{recipient}:{actor}:c{comment}"
    else:  # comment, reply
        comment = _id(payload, "comment_id")
        key = f"c{comment}:{recipient}"
        supersedes = ("mention",)
    await service.notify(
        session,
        user_id=recipient,
        actor_id=actor,
        kind=kind,
        note_id=note,
        comment_id=comment,
        dedupe_key=key,
        supersedes=supersedes,
    )


async def _followed(session: AsyncSession, payload: dict[str, Any]) -> None:
    actor = _id(payload, "follower_id")
    recipient = _id(payload, "followee_id")
    await service.notify(
        session, user_id=recipient, actor_id=actor, kind="follow", dedupe_key=f"follow:{recipient}:{actor}"
    )


async def _note_mentions(session: AsyncSession, payload: dict[str, Any]) -> None:
    note = _id(payload, "note_id")
    author = _id(payload, "author_id")
    field = "new_mentioned_user_ids" if payload.get("event") == "note.updated" else "mentioned_user_ids"
    for recipient in _ids(payload, field):
        await service.notify(
            session,
            user_id=recipient,
            actor_id=author,
            kind="mention",
            note_id=note,
            dedupe_key=f"mention:{recipient}:n{note}",
        )


async def _comment_mentions(session: AsyncSession, payload: dict[str, Any]) -> None:
    comment = _id(payload, "comment_id")
    note = _id(payload, "note_id")
    author = _id(payload, "author_id")
    for recipient in _ids(payload, "mentioned_user_ids"):
        # Shares its key with the comment/reply notification for the same comment.
        await service.notify(
            session,
            user_id=recipient,
            actor_id=author,
            kind="mention",
            note_id=note,
            comment_id=comment,
            dedupe_key=f"c{comment}:{recipient}",
        )


async def _note_deleted(session: AsyncSession, payload: dict[str, Any]) -> None:
    await service.delete_for_note(session, note_id=_id(payload, "note_id"))


async def _comment_deleted(session: AsyncSession, payload: dict[str, Any]) -> None:
    await service.delete_for_comment(session, comment_id=_id(payload, "comment_id"))


async def _user_deleted(session: AsyncSession, payload: dict[str, Any]) -> None:
    await service.delete_for_user(session, user_id=_id(payload, "user_id"))


EventHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

HANDLERS: dict[str, EventHandler] = {
    "interaction.recorded": _interaction,
    "user.followed": _followed,
    "note.created": _note_mentions,
    "note.updated": _note_mentions,
    "comment.created": _comment_mentions,
    "note.deleted": _note_deleted,
    "comment.deleted": _comment_deleted,
    "user.deleted": _user_deleted,
}


@job(JOB_NAME)
async def on_event(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Apply one domain event to the notifications table, inside the job's transaction."""
    event = payload.get("event")
    handler = HANDLERS.get(event) if isinstance(event, str) else None
    if handler is None:
        log.warning("notifications: no handler for event %r (job %s)", event, ctx.job_id)
        return
    try:
        await handler(ctx.session, payload)
    except _BadPayload as exc:
        log.warning("notifications: dropping %s with a malformed payload (%s), job %s", event, exc, ctx.job_id)


for _event in HANDLERS:
    events.subscribe(_event, JOB_NAME)
