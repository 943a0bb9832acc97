"""Imports every domain's tasks (job handlers, event subscriptions, view sinks).

Both the web app and ``bridgenote worker`` load this, so a job enqueued by one
process can be run by any other.
"""

from __future__ import annotations

import importlib
import importlib.util

DOMAINS = ("accounts", "notes", "media", "notifications", "search", "moderation", "translation", "feed")


def load_tasks() -> None:
    for domain in DOMAINS:
        importlib.import_module(f"bridgenote.{domain}.tasks")


# Matching tries routes in order, and FastAPI walks an included router's routes one by one
# (about two microseconds each): the pages every reader loads on every scroll go first.
_BUSIEST_API = ("feed", "notes", "translation", "search")


async def close_for(runtime: object) -> None:
    """Stop each domain's per-process work for ``runtime`` (the ``close_for`` of the domains'
    services that have one: background rebuilds, open indexes, pending log writes)."""
    for domain in DOMAINS:
        close = getattr(importlib.import_module(f"bridgenote.{domain}.service"), "close_for", None)
        if close is not None:
            await close(runtime)


def api_routers() -> list[object]:
    """The domains' JSON routers, busiest first (none of their paths overlap, so the order
    changes only how long matching takes; tests/test_routes.py checks no route is shadowed)."""
    order = [*_BUSIEST_API, *(d for d in DOMAINS if d not in _BUSIEST_API)]
    return [importlib.import_module(f"bridgenote.{domain}.api").router for domain in order]


def view_routers() -> list[object]:
    """The HTML pages of the domains that have a ``views.py`` (the web app)."""
    routers = []
    for domain in DOMAINS:
        if importlib.util.find_spec(f"bridgenote.{domain}.views") is not None:
            routers.append(importlib.import_module(f"bridgenote.{domain}.views").router)
    return routers
