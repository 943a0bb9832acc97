"""Who may do what with translations.

Reading a translation is exactly as allowed as reading the original: the subject
loaders (``subjects.py``) apply the owning domain's visibility rules, so this
module only holds the predicates that are translation's own.
"""

from __future__ import annotations

from bridgenote.core.auth import Viewer


def can_edit_glossary(viewer: Viewer) -> bool:
    return viewer.is_admin


def can_request_translation(viewer: Viewer) -> bool:
    """On-demand translation spends provider time, so it takes an active account."""
    return viewer.is_authenticated and viewer.state != "suspended"
