"""Tables of the media pipeline. The attachments themselves (state, variants, blurhash)
belong to notes (``media_attachments``); the pipeline changes them through notes' service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, UniqueConstraint
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


class MediaFile(Base):
    """Every stored file that belongs to an upload: the ledger the purge reads.

    One row per (upload, key): the master (or a video's private source), the kept original,
    each variant, poster, HLS playlist and segment, each subtitle file. A row is written
    *before* its file (a crash leaves a row without a file, never a file nobody knows about).
    There is deliberately no foreign key: the rows must outlive the attachment, whose deletion
    (a purged note, an account purge, ``DELETE /media/{id}``) publishes ``media.deleted``;
    ``media.purge_files`` then deletes the files no other upload uses, and these rows.
    Content-addressed keys can be shared by several uploads (the same photo posted twice):
    ``key`` is indexed for that check.
    """

    __tablename__ = "media_files"
    __table_args__ = (Index("ix_media_files_key", "key"),)

    media_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    # master | source (a video's upload, until processed) | original | variant | subtitle
    role: Mapped[str] = mapped_column(String(16))
