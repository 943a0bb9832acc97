"""feed (note features, interest profiles, interaction log, ranker weights)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bridgenote.core.db

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feed_items",
        sa.Column("note_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("topics", _json(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(length=40), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("indexed_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_feed_items_author_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_feed_items_note_id_notes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_feed_items")),
    )
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.create_index("ix_feed_items_author", ["author_id", "note_id"], unique=False)
        batch_op.create_index("ix_feed_items_region", ["region", "note_id"], unique=False)

    op.create_table(
        "feed_profiles",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("interests", _json(), nullable=False),
        sa.Column("topic_weights", _json(), nullable=False),
        sa.Column("topic_sources", _json(), nullable=False),
        sa.Column("creator_weights", _json(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("fatigue", _json(), nullable=False),
        sa.Column("other_language_share", sa.Float(), nullable=True),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("updated_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feed_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_feed_profiles")),
    )

    op.create_table(
        "feed_interactions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("note_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=40), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_feed_interactions_note_id_notes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feed_interactions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_interactions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_feed_interactions_dedupe_key")),
    )
    with op.batch_alter_table("feed_interactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_interactions_note_id"), ["note_id"], unique=False)
        batch_op.create_index("ix_feed_interactions_user", ["user_id", "id"], unique=False)

    op.create_table(
        "feed_models",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("weights", _json(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_models")),
    )


def downgrade() -> None:
    op.drop_table("feed_models")
    with op.batch_alter_table("feed_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_interactions_user")
        batch_op.drop_index(batch_op.f("ix_feed_interactions_note_id"))
    op.drop_table("feed_interactions")
    op.drop_table("feed_profiles")
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_items_region")
        batch_op.drop_index("ix_feed_items_author")
    op.drop_table("feed_items")
