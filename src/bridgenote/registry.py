"""Imports every domain's tasks (job handlers, event subscriptions, view sinks).

Both the web app and ``bridgenote worker`` load this, so a job enqueued by one
process can be run by any other.
"""

from __future__ import annotations

import importlib

DOMAINS = ("accounts", "notes", "notifications")


def load_tasks() -> None:
    for domain in DOMAINS:
        importlib.import_module(f"bridgenote.{domain}.tasks")


def api_routers() -> list[object]:
    return [importlib.import_module(f"bridgenote.{domain}.api").router for domain in DOMAINS]
