"""Who may do what in moderation. Staff roles live on the account (``moderator``, ``admin``)."""

from __future__ import annotations

from bridgenote.core.auth import Viewer
from bridgenote.moderation.models import Appeal, Decision


def is_moderator(viewer: Viewer) -> bool:
    """Moderators and admins review, act and decide appeals; suspended staff do nothing."""
    return viewer.is_staff and viewer.state == "active"


def is_admin(viewer: Viewer) -> bool:
    return viewer.is_admin and viewer.state == "active"


def can_decide_appeal(viewer: Viewer, *, decision: Decision, appeal: Appeal) -> bool:
    """A different moderator than the one who made the decision, and never the appellant."""
    if not is_moderator(viewer) or viewer.id is None:
        return False
    return viewer.id != decision.moderator_id and viewer.id != appeal.appellant_id
