from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType

DOCUMENT_KINDS = ("note", "user", "hashtag", "board")

# PostgreSQL serves keyword search from this column (GIN); SQLite leaves it empty and
# serves the same terms from an FTS5 index that follows this table (search/backends.py).
TsVector = Text().with_variant(TSVECTOR(), "postgresql")


class SearchDocument(Base):
    """The analysed text of one searchable object: the source of truth every keyword index is built from.

    ``id`` is the object's own id (notes, users, hashtags and boards share one id space).
    Term columns hold space-separated tokens from ``search.analysis``. ``seq`` is a
    fresh time-ordered id on every write, so indexes outside the database catch up
    with ``seq > last seen``; deletions stay as rows with ``deleted`` set.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_seq", "seq"),
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8))
    language: Mapped[str | None] = mapped_column(String(16))
    title_terms: Mapped[str] = mapped_column(Text, default="")
    body_terms: Mapped[str] = mapped_column(Text, default="")
    # Hashtags, pinyin of names and tags, place names, comments.
    extra_terms: Mapped[str] = mapped_column(Text, default="")
    # Terms of stored translations: a match only here is a cross-lingual match.
    translation_terms: Mapped[str] = mapped_column(Text, default="")
    translation_languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Users: followers; hashtags and boards: notes in them. Notes read their counters live instead.
    popularity: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    tsv: Mapped[str | None] = mapped_column(TsVector)


class SearchVector(Base):
    """A note's multilingual embedding (``core.embeddings.to_blob``), served by ``core.vectors``.

    ``vector`` is NULL for a deleted note (the in-memory indexes drop it); ``text_hash``
    lets a reindex skip notes whose text did not change.
    """

    __tablename__ = "search_vectors"
    __table_args__ = (Index("ix_search_vectors_seq", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    text_hash: Mapped[str] = mapped_column(String(32), default="")
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)


class SearchQuery(IdMixin, CreatedMixin, Base):
    """One search someone ran: recent searches (per user), trends and suggestions (all)."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_user", "user_id", "id"), Index("ix_search_queries_key", "key", "id"))

    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(String(256))
