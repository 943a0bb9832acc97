from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime

NOTE_KINDS = ("text", "image", "video")
# published: visible; pending: waiting for processing/screening (author only);
# held: held for review; removed: taken down by moderation (author sees why).
NOTE_STATES = ("published", "pending", "held", "removed")


class Note(IdMixin, CreatedMixin, Base):
    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_author_id", "author_id", "id"),
        Index("ix_notes_state_id", "state", "id"),
        CheckConstraint("like_count >= 0 AND save_count >= 0 AND comment_count >= 0", name="counts"),
    )

    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="text")
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    place_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="published")
    state_reason: Mapped[str | None] = mapped_column(Text)
    # Content labels set by moderation (rule codes such as "cannabis"); readers show an interstitial.
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    like_count: Mapped[int] = mapped_column(BigInteger, default=0)
    save_count: Mapped[int] = mapped_column(BigInteger, default=0)
    comment_count: Mapped[int] = mapped_column(BigInteger, default=0)
    view_count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NoteRegionLimit(Base):
    """The note is hidden from viewers whose region is ``region`` (set by moderation)."""

    __tablename__ = "note_region_limits"

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)


class MediaAttachment(IdMixin, CreatedMixin, Base):
    __tablename__ = "media_attachments"
    __table_args__ = (Index("ix_media_attachments_note", "note_id", "position"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # image | video
    position: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(1000), default="")
    # uploaded -> processing -> ready | failed (the media pipeline owns the later states)
    state: Mapped[str] = mapped_column(String(16), default="uploaded")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    blurhash: Mapped[str | None] = mapped_column(String(100))
    dominant_color: Mapped[str | None] = mapped_column(String(7))
    variants: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Hashtag(IdMixin, CreatedMixin, Base):
    __tablename__ = "hashtags"

    # Folded matching key (case, width, Traditional -> Simplified); see core.text.fold.
    key: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    note_count: Mapped[int] = mapped_column(BigInteger, default=0)
    view_count: Mapped[int] = mapped_column(BigInteger, default=0)


class NoteHashtag(Base):
    __tablename__ = "note_hashtags"
    __table_args__ = (Index("ix_note_hashtags_tag", "hashtag_id", "note_id"),)

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    hashtag_id: Mapped[int] = mapped_column(ForeignKey("hashtags.id", ondelete="CASCADE"), primary_key=True)
    # The form the author wrote (#旅遊, #Travel): shown on the note.
    display_name: Mapped[str] = mapped_column(String(100))
    # Order of first appearance in the text, so reads need not re-parse it.
    position: Mapped[int] = mapped_column(Integer, default=0)


class Mention(Base):
    __tablename__ = "mentions"

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Like(CreatedMixin, Base):
    __tablename__ = "likes"
    __table_args__ = (Index("ix_likes_note", "note_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    # Time-ordered id so a user's "Liked" list pages by cursor.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class Board(IdMixin, CreatedMixin, Base):
    __tablename__ = "boards"
    __table_args__ = (Index("ix_boards_owner", "owner_id", "id"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    note_count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BoardNote(CreatedMixin, Base):
    """A save: ``note_id`` saved into ``board_id``. Each row counts once in ``Note.save_count``."""

    __tablename__ = "board_notes"
    __table_args__ = (Index("ix_board_notes_note", "note_id"), Index("ix_board_notes_board_seq", "board_id", "seq"))

    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class Comment(IdMixin, CreatedMixin, Base):
    """Two levels like RedNote: ``root_id`` is the top-level comment a reply hangs under;
    ``reply_to_user_id`` is who a reply answers (shown as "reply to @name")."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_note_root", "note_id", "root_id", "id"),
        Index("ix_comments_author", "author_id"),
        CheckConstraint("like_count >= 0 AND reply_count >= 0", name="counts"),
    )

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reply_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="published")
    state_reason: Mapped[str | None] = mapped_column(Text)
    like_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reply_count: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CommentRegionLimit(Base):
    """The comment is hidden from viewers whose region is ``region`` (set by moderation)."""

    __tablename__ = "comment_region_limits"

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)


class CommentLike(CreatedMixin, Base):
    __tablename__ = "comment_likes"
    __table_args__ = (Index("ix_comment_likes_comment", "comment_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
