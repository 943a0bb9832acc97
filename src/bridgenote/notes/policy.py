"""Who may see and do what with notes, boards and comments.

``visible_to`` is the one filter every read of notes goes through (feeds, detail,
profiles, boards, hashtags, search): deleted notes, unpublished notes of other
people, authors who are deleted or suspended, blocks in either direction and
region limits are all applied here.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import BigInteger, ColumnElement, String, and_, bindparam, exists, false, or_, select, true

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.notes.models import Board, Comment, CommentRegionLimit, Note, NoteRegionLimit


def visible_to(viewer: Viewer, *, feed: bool = False) -> ColumnElement[bool]:
    """SQL condition on :class:`Note`: may ``viewer`` see this note?

    ``feed=True`` also drops authors the viewer muted (mutes hide people from
    feeds, not from direct links).
    """
    return _visible(viewer.id, viewer.region or None, feed=feed)


@cache
def visible_template(*, signed_in: bool, regional: bool, feed: bool) -> ColumnElement[bool]:
    """:func:`visible_to` with the viewer left as bound parameters, built once per shape.

    Hot reads (the feeds) reuse one statement per shape and pass
    :func:`visible_params` at execution, so SQLAlchemy neither rebuilds the
    condition nor recomputes its cache key on every request. The rule itself
    is the same code as :func:`visible_to`.
    """
    viewer_id = bindparam("viewer_id", type_=BigInteger) if signed_in else None
    region = bindparam("viewer_region", type_=String) if regional else None
    return _visible(viewer_id, region, feed=feed)


def visible_params(viewer: Viewer) -> dict[str, object]:
    """The parameters of :func:`visible_template` for ``viewer`` (shape: ``signed_in=viewer.id is not None``,
    ``regional=bool(viewer.region)``)."""
    params: dict[str, object] = {}
    if viewer.id is not None:
        params["viewer_id"] = viewer.id
    if viewer.region:
        params["viewer_region"] = viewer.region
    return params


def _visible(
    viewer_id: int | ColumnElement[int] | None, region: str | ColumnElement[str] | None, *, feed: bool
) -> ColumnElement[bool]:
    own = Note.author_id == viewer_id if viewer_id is not None else false()
    conditions: list[ColumnElement[bool]] = [
        Note.deleted_at.is_(None),
        or_(Note.state == "published", own),
        or_(own, ~accounts_service.is_hidden(Note.author_id)),
    ]
    if viewer_id is not None:
        conditions.append(Note.author_id.not_in(accounts_service.blocked_either_way(viewer_id)))
        if feed:
            conditions.append(Note.author_id.not_in(accounts_service.muted_by(viewer_id)))
    if region is not None:
        limited = exists().where(NoteRegionLimit.note_id == Note.id, NoteRegionLimit.region == region)
        conditions.append(or_(own, ~limited))
    return and_(*conditions)


def can_edit_note(viewer: Viewer, note: Note) -> bool:
    return viewer.id is not None and viewer.id == note.author_id


def can_delete_note(viewer: Viewer, note: Note) -> bool:
    return can_edit_note(viewer, note) or viewer.is_staff


def sees_moderation_details_of(viewer: Viewer, *, author_id: int) -> bool:
    """The author (and staff) see what moderation or processing did to a note."""
    return (viewer.id is not None and viewer.id == author_id) or viewer.is_staff


def can_see_likes_of(viewer: Viewer, *, user_id: int, likes_public: bool) -> bool:
    """A person's Liked list is theirs alone unless they made it public."""
    return likes_public or (viewer.id is not None and viewer.id == user_id)


def board_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Public boards, and the viewer's own private ones; never a blocked user's boards."""
    own = Board.owner_id == viewer.id if viewer.id is not None else false()
    conditions: list[ColumnElement[bool]] = [
        or_(Board.is_private.is_(False), own),
        or_(own, ~accounts_service.is_hidden(Board.owner_id)),
    ]
    if viewer.id is not None:
        conditions.append(Board.owner_id.not_in(accounts_service.blocked_either_way(viewer.id)))
    return and_(*conditions)


def can_manage_board(viewer: Viewer, board: Board) -> bool:
    return viewer.id is not None and viewer.id == board.owner_id


def comment_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Live comments whose author the viewer has not blocked, been blocked by or muted, and
    that moderation has not hidden in the viewer's region (their authors still see them)."""
    conditions: list[ColumnElement[bool]] = [
        Comment.deleted_at.is_(None),
        Comment.state == "published",
        ~accounts_service.is_hidden(Comment.author_id),
    ]
    if viewer.region:
        limited = exists().where(
            CommentRegionLimit.comment_id == Comment.id, CommentRegionLimit.region == viewer.region
        )
        own = Comment.author_id == viewer.id if viewer.id is not None else false()
        conditions.append(or_(own, ~limited))
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
