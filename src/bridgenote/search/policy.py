"""Who may see what in search: notes pass ``notes_service.visible_note_stats`` (``visible_to``),
accounts pass ``accounts_service.visible_users``; both are applied in ``service.search``.
A viewer's search history is theirs alone."""

from __future__ import annotations

from bridgenote.core.auth import Viewer


def can_read_history(viewer: Viewer) -> bool:
    return viewer.id is not None
