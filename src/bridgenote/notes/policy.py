"""Who may see and do what with notes, boards and comments.

``visible_to`` is the one filter every read of notes goes through (feeds, detail,
profiles, boards, hashtags, search): deleted notes, unpublished notes of other
people, authors who are deleted or suspended, blocks in either direction and
region limits are all applied here.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.notes.models import Board, Comment, Note, NoteRegionLimit


def visible_to(viewer: Viewer, *, feed: bool = False) -> ColumnElement[bool]:
    """SQL condition on :class:`Note`: may ``viewer`` see this note?

    ``feed=True`` also drops authors the viewer muted (mutes hide people from
    feeds, not from direct links).
    """
    own = Note.author_id == viewer.id if viewer.id is not None else false()
    conditions: list[ColumnElement[bool]] = [
        Note.deleted_at.is_(None),
        or_(Note.state == "published", own),
        or_(own, Note.author_id.not_in(accounts_service.hidden_user_ids())),
    ]
    if viewer.id is not None:
        conditions.append(Note.author_id.not_in(accounts_service.blocked_either_way(viewer.id)))
        if feed:
            conditions.append(Note.author_id.not_in(accounts_service.muted_by(viewer.id)))
    if viewer.region:
        limited = exists().where(NoteRegionLimit.note_id == Note.id, NoteRegionLimit.region == viewer.region)
        conditions.append(or_(own, ~limited))
    return and_(*conditions)


def can_edit_note(viewer: Viewer, note: Note) -> bool:
    return viewer.id is not None and viewer.id == note.author_id


def can_delete_note(viewer: Viewer, note: Note) -> bool:
    return can_edit_note(viewer, note) or viewer.is_staff


def sees_moderation_details_of(viewer: Viewer, *, author_id: int) -> bool:
    """The author (and staff) see what moderation or processing did to a note."""
    return (viewer.id is not None and viewer.id == author_id) or viewer.is_staff


def board_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Public boards, and the viewer's own private ones; never a blocked user's boards."""
    own = Board.owner_id == viewer.id if viewer.id is not None else false()
    conditions: list[ColumnElement[bool]] = [
        or_(Board.is_private.is_(False), own),
        or_(own, Board.owner_id.not_in(accounts_service.hidden_user_ids())),
    ]
    if viewer.id is not None:
        conditions.append(Board.owner_id.not_in(accounts_service.blocked_either_way(viewer.id)))
    return and_(*conditions)


def can_manage_board(viewer: Viewer, board: Board) -> bool:
    return viewer.id is not None and viewer.id == board.owner_id


def comment_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Live comments whose author the viewer has not blocked, been blocked by or muted."""
    conditions: list[ColumnElement[bool]] = [
        Comment.deleted_at.is_(None),
        Comment.state == "published",
        Comment.author_id.not_in(accounts_service.hidden_user_ids()),
    ]
    if viewer.id is not None:
        conditions.append(
            or_(
                Comment.author_id == viewer.id,
                and_(
                    Comment.author_id.not_in(accounts_service.blocked_either_way(viewer.id)),
                    Comment.author_id.not_in(accounts_service.muted_by(viewer.id)),
                ),
            )
        )
    return and_(*conditions) if conditions else true()


def can_delete_comment(viewer: Viewer, comment: Comment, note: Note) -> bool:
    """The comment's author, the note's author (it is their page), or staff."""
    if viewer.id is None:
        return False
    return viewer.id in (comment.author_id, note.author_id) or viewer.is_staff


__all__ = ["select", "visible_to"]
