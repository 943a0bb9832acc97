"""search (segmented full-text index, vectors, queries, trends)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bridgenote.core.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("title_terms", sa.Text(), nullable=False),
        sa.Column("body_terms", sa.Text(), nullable=False),
        sa.Column("extra_terms", sa.Text(), nullable=False),
        sa.Column("translation_terms", sa.Text(), nullable=False),
        sa.Column(
            "translation_languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("popularity", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("tsv", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_seq", ["seq"], unique=False)
        batch_op.create_index("ix_search_documents_tsv", ["tsv"], unique=False, postgresql_using="gin")

    op.create_table(
        "search_vectors",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_vectors")),
    )
    with op.batch_alter_table("search_vectors", schema=None) as batch_op:
        batch_op.create_index("ix_search_vectors_seq", ["seq"], unique=False)

    op.create_table(
        "search_queries",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("text", sa.String(length=256), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_search_queries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queries")),
    )
    with op.batch_alter_table("search_queries", schema=None) as batch_op:
        batch_op.create_index("ix_search_queries_key", ["key", "id"], unique=False)
        batch_op.create_index("ix_search_queries_user", ["user_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("search_queries", schema=None) as batch_op:
        batch_op.drop_index("ix_search_queries_user")
        batch_op.drop_index("ix_search_queries_key")
    op.drop_table("search_queries")
    with op.batch_alter_table("search_vectors", schema=None) as batch_op:
        batch_op.drop_index("ix_search_vectors_seq")
    op.drop_table("search_vectors")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_tsv", postgresql_using="gin")
        batch_op.drop_index("ix_search_documents_seq")
    op.drop_table("search_documents")
