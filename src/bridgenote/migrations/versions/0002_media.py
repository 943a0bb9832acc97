"""media pipeline (processing progress, subtitle tracks)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bridgenote.core.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_progress",
        sa.Column("media_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("updated_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_attachments.id"],
            name=op.f("fk_media_progress_media_id_media_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("media_id", name=op.f("pk_media_progress")),
    )
    op.create_table(
        "media_subtitles",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("media_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_attachments.id"],
            name=op.f("fk_media_subtitles_media_id_media_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_subtitles")),
        sa.UniqueConstraint("media_id", "language", "source", name=op.f("uq_media_subtitles_media_id_language_source")),
    )


def downgrade() -> None:
    op.drop_table("media_subtitles")
    op.drop_table("media_progress")
