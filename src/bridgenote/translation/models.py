from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime, utcnow


class StoredTranslation(IdMixin, CreatedMixin, Base):
    """One text in one direction by one engine. Keyed by the text's sha256, not by the
    object it came from, so identical texts share it and an edit (a new hash) misses."""

    __tablename__ = "translations"
    __table_args__ = (UniqueConstraint("content_hash", "source", "target", "engine"),)

    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    # Provider, model (with its hash) and prompt version, e.g. "llamacpp/default-cc324af070c2/p1".
    engine: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))  # done | failed
    text: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(String(100))


class TranslationSubject(Base):
    """The detected language of a translatable object (note, comment, bio, board...)."""

    __tablename__ = "translation_subjects"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(16))
    mixed: Mapped[bool] = mapped_column(Boolean, default=False)
    # [[start, end, language], ...] over the object's text (fields joined by newlines).
    segments: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GlossaryTerm(IdMixin, CreatedMixin, Base):
    """An admin's addition or override to the built-in glossary of a language pair."""

    __tablename__ = "translation_glossary"
    __table_args__ = (UniqueConstraint("source", "target", "term_key"),)

    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    term: Mapped[str] = mapped_column(String(100))
    term_key: Mapped[str] = mapped_column(String(100))
    translation: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TranslationPreference(Base):
    """Per-user auto-translate choices; a user without a row gets the defaults."""

    __tablename__ = "translation_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    auto_translate_notes: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_translate_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
