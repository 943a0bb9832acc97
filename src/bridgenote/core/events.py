"""Domain events, published only after commit.

``publish`` does two things inside the caller's transaction:

* for every *durable* subscription (event -> job name) it enqueues a job, so a
  subscriber in another domain reacts reliably even if the process dies right
  after commit (a transactional outbox);
* it queues the in-memory listeners (WebSocket fan-out, cache invalidation) to
  run after commit; these are best effort.

The publisher never imports the subscriber: subscriptions are registered by the
subscribing domain's ``tasks.py``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core.db import on_commit
from bridgenote.core.jobs import enqueue

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], Awaitable[None]]

_subscriptions: dict[str, list[str]] = defaultdict(list)
_listeners: dict[str, list[Listener]] = defaultdict(list)


def subscribe(event: str, job_name: str) -> None:
    """Run job ``job_name`` with the event payload every time ``event`` is committed."""
    if job_name not in _subscriptions[event]:
        _subscriptions[event].append(job_name)


def listen(event: str, listener: Listener) -> None:
    """Call ``listener`` in process after commit (best effort, not durable)."""
    _listeners[event].append(listener)


def subscriptions(event: str) -> list[str]:
    return list(_subscriptions.get(event, ()))


async def publish(session: AsyncSession, event: str, payload: dict[str, Any]) -> None:
    for job_name in _subscriptions.get(event, ()):
        await enqueue(session, job_name, {"event": event, **payload})
    listeners = list(_listeners.get(event, ()))
    if listeners:

        async def notify() -> None:
            for listener in listeners:
                try:
                    await listener(event, payload)
                except Exception:
                    log.exception("listener for %s failed", event)

        on_commit(session, notify)
