from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime

KINDS = ("like", "save", "comment", "reply", "follow", "mention", "comment_like", "moderation")


class Notification(IdMixin, CreatedMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Makes the subscriber idempotent: a re-run job does not notify twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
