from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime


class FeedItem(Base):
    """What the feed knows about a note: its topics, language, region and embedding.

    Written by the ``feed.index_note`` job after ``note.created``/``note.updated``;
    engagement counters stay on the note itself and are read when pools are built.
    """

    __tablename__ = "feed_items"
    __table_args__ = (
        Index("ix_feed_items_region", "region", "note_id"),
        Index("ix_feed_items_author", "author_id", "note_id"),
    )

    note_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(16))
    # The author's region when the note was indexed (the Nearby tab).
    region: Mapped[str | None] = mapped_column(String(8))
    # Folded hashtag keys, in the note's order.
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # L2-normalised float16 vector from the multilingual encoder (None until embedded).
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(40))
    # Times the note was served on a discover page (buffered, like view counts).
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    indexed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class FeedProfile(Base):
    """A user's interest profile, updated online by every signal they give."""

    __tablename__ = "feed_profiles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # Onboarding choices: folded topic keys.
    interests: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # topic key -> weight (decayed as new signals arrive); negative after "not interested".
    topic_weights: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    # topic key -> the strongest signal behind its weight ("save", "like", "interest", ...), for "Why this?".
    topic_sources: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # creator id (as a string) -> weight.
    creator_weights: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    # Interest vector: decayed, weighted sum of embeddings of notes engaged with (float32).
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    # {"creators": {id: until_ms}, "topics": {key: until_ms}}: kept out after "not interested".
    fatigue: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Share of the discover page in languages the user does not read (None: by relevance only).
    other_language_share: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change the next page should answer at once (signals, follows, interests,
    # the language mix), not by the slow impression discount: Discover's pages ranked ahead
    # for the reader are kept while it stands.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class FeedInteraction(IdMixin, CreatedMixin, Base):
    """The interaction log the ranker is trained on (one row per signal about a note)."""

    __tablename__ = "feed_interactions"
    __table_args__ = (Index("ix_feed_interactions_user", "user_id", "id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Set when the row comes from a job ("job:<id>"): a job run twice logs (and learns) once.
    dedupe_key: Mapped[str | None] = mapped_column(String(40), unique=True)


class FeedModel(IdMixin, CreatedMixin, Base):
    """Ranker weights learned offline (``bridgenote feed train``); the newest is used."""

    __tablename__ = "feed_models"

    weights: Mapped[dict[str, float]] = mapped_column(JSONType)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
