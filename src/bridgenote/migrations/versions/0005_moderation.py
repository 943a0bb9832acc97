"""moderation (regional policies, decisions, reports, appeals, audit)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bridgenote.core.db

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is append-only in the database itself, not only by convention in the code.
_PG_FUNCTION = """
CREATE FUNCTION moderation_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER moderation_audit_append_only BEFORE UPDATE OR DELETE ON moderation_audit_log
FOR EACH ROW EXECUTE FUNCTION moderation_audit_append_only()
"""
_SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER moderation_audit_no_{verb.lower()} BEFORE {verb} ON moderation_audit_log
    BEGIN SELECT RAISE(ABORT, 'moderation_audit_log is append-only'); END
    """
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "moderation_audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_audit_log")),
    )
    with op.batch_alter_table("moderation_audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_moderation_audit_target", ["target_type", "target_id", "id"], unique=False)

    op.create_table(
        "moderation_cases",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column(
            "regions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "sources", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "hits", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column(
            "report_reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resolved_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_cases")),
        sa.UniqueConstraint("open_key", name=op.f("uq_moderation_cases_open_key")),
    )
    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_cases_queue", ["state", "language", "priority", "id"], unique=False)
        batch_op.create_index("ix_moderation_cases_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "moderation_fingerprints",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_fingerprints")),
        sa.UniqueConstraint("target_type", "target_id", name=op.f("uq_moderation_fingerprints_target_type_target_id")),
    )
    with op.batch_alter_table("moderation_fingerprints", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_fingerprints_author", ["author_id", "id"], unique=False)

    op.create_table(
        "moderation_policies",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "regions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_policies")),
        sa.UniqueConstraint("code", name=op.f("uq_moderation_policies_code")),
    )
    op.create_table(
        "moderation_switches",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_moderation_switches")),
    )
    op.create_table(
        "moderation_decisions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("moderator_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column(
            "regions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "regional", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "rules", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "policy_versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "hits", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("content_key", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("overturned_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["moderation_cases.id"],
            name=op.f("fk_moderation_decisions_case_id_moderation_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_decisions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_moderation_decisions_dedupe_key")),
    )
    with op.batch_alter_table("moderation_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_decisions_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_moderation_decisions_target", ["target_type", "target_id", "id"], unique=False)

    op.create_table(
        "moderation_policy_versions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("policy_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "regions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["moderation_policies.id"],
            name=op.f("fk_moderation_policy_versions_policy_id_moderation_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_policy_versions")),
        sa.UniqueConstraint("policy_id", "version", name=op.f("uq_moderation_policy_versions_policy_id_version")),
    )
    op.create_table(
        "moderation_reports",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["moderation_cases.id"],
            name=op.f("fk_moderation_reports_case_id_moderation_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_moderation_reports_reporter_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_reports")),
        sa.UniqueConstraint(
            "reporter_id",
            "target_type",
            "target_id",
            name=op.f("uq_moderation_reports_reporter_id_target_type_target_id"),
        ),
    )
    with op.batch_alter_table("moderation_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_reports_case_id"), ["case_id"], unique=False)

    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=False),
        sa.Column("appellant_id", sa.BigInteger(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=False),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appellant_id"], ["users.id"], name=op.f("fk_moderation_appeals_appellant_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["moderation_decisions.id"],
            name=op.f("fk_moderation_appeals_decision_id_moderation_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_appeals")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_moderation_appeals_decision_id")),
    )
    with op.batch_alter_table("moderation_appeals", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_appeals_state", ["state", "id"], unique=False)

    op.create_table(
        "moderation_strikes",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bridgenote.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["moderation_decisions.id"],
            name=op.f("fk_moderation_strikes_decision_id_moderation_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_moderation_strikes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_strikes")),
    )
    with op.batch_alter_table("moderation_strikes", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_strikes_user", ["user_id", "expires_at"], unique=False)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "labels",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS moderation_audit_append_only ON moderation_audit_log")
        op.execute("DROP FUNCTION IF EXISTS moderation_audit_append_only()")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("labels")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("state_reason")

    with op.batch_alter_table("moderation_strikes", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_strikes_user")

    op.drop_table("moderation_strikes")
    with op.batch_alter_table("moderation_appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_appeals_state")

    op.drop_table("moderation_appeals")
    with op.batch_alter_table("moderation_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_reports_case_id"))

    op.drop_table("moderation_reports")
    op.drop_table("moderation_policy_versions")
    with op.batch_alter_table("moderation_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_decisions_target")
        batch_op.drop_index(batch_op.f("ix_moderation_decisions_owner_id"))

    op.drop_table("moderation_decisions")
    op.drop_table("moderation_switches")
    op.drop_table("moderation_policies")
    with op.batch_alter_table("moderation_fingerprints", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_fingerprints_author")

    op.drop_table("moderation_fingerprints")
    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_cases_target")
        batch_op.drop_index("ix_moderation_cases_queue")

    op.drop_table("moderation_cases")
    with op.batch_alter_table("moderation_audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_audit_target")
        batch_op.drop_index(batch_op.f("ix_moderation_audit_log_actor_id"))

    op.drop_table("moderation_audit_log")
