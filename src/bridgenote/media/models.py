"""Tables of the media pipeline. The attachments themselves (state, variants, blurhash)
belong to notes (``media_attachments``); the pipeline changes them through notes' service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, UTCDateTime, utcnow


class MediaProgress(Base):
    """How far the processing of an upload has got, for its author (0.0-1.0).

    Written in short transactions of its own while a video is transcoded, so the author
    sees it move; the job's own transaction only commits the result.
    """

    __tablename__ = "media_progress"

    media_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("media_attachments.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16), default="queued")  # queued | probing | transcoding | storing
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MediaSubtitle(IdMixin, CreatedMixin, Base):
    """A WebVTT track of a video, sanitised; ``source`` is ``author`` or ``translation``."""

    __tablename__ = "media_subtitles"
    __table_args__ = (UniqueConstraint("media_id", "language", "source"),)

    media_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("media_attachments.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16), default="author")
    storage_key: Mapped[str] = mapped_column(String(300))
