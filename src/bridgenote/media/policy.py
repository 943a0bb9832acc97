"""Who may do what with an upload. Seeing one attached to a note is the note's
``visible_to`` (asked through notes' service); only its owner sees it before that,
follows its processing, reads the private original or changes its subtitles."""

from __future__ import annotations

from typing import Any

from bridgenote.core.auth import Viewer


def is_owner(viewer: Viewer, media: Any) -> bool:
    return viewer.id is not None and media.owner_id == viewer.id
