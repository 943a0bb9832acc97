from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridgenote.core.db import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime

TARGET_TYPES = ("note", "comment", "user", "message")
# What a policy rule can do to content. ``limit`` hides it from viewers in the policy's regions.
RULE_ACTIONS = ("allow", "label", "limit", "hold", "reject")
# What a moderator can do (a required reason goes with each).
MODERATOR_ACTIONS = ("approve", "remove", "limit", "label", "warn", "strike", "suspend")
REPORT_REASONS = (
    "spam",
    "scam",
    "harassment",
    "hate",
    "sexual",
    "violence",
    "drugs",
    "illegal",
    "misinformation",
    "ip",
    "other",
)
CASE_STATES = ("open", "resolved")
APPEAL_STATES = ("open", "upheld", "overturned")


class Policy(IdMixin, CreatedMixin, Base):
    """A regional policy (``global``, ``CN``, ``US``, ``EU`` ...): the current document and
    its version. Every change also writes an immutable :class:`PolicyVersion`."""

    __tablename__ = "moderation_policies"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    # ISO 3166 codes the policy applies to; empty means everywhere (the global policy).
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # {"name": {"en","zh-Hans"}, "summary": {...}, "rules": [...], "links": {"deny","allow"}}
    document: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PolicyVersion(IdMixin, CreatedMixin, Base):
    __tablename__ = "moderation_policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    policy_id: Mapped[int] = mapped_column(ForeignKey("moderation_policies.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept as plain ids (no foreign key): history outlives the accounts that wrote it.
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    change_note: Mapped[str] = mapped_column(Text, default="")


class Case(IdMixin, CreatedMixin, Base):
    """One item in the review queue: a target with its rule hits, reports and routing keys.

    A target has at most one open case (``open_key`` is unique while open, NULL after), so
    screening results and duplicate reports aggregate onto it."""

    __tablename__ = "moderation_cases"
    __table_args__ = (
        Index("ix_moderation_cases_queue", "state", "language", "priority", "id"),
        Index("ix_moderation_cases_target", "target_type", "target_id"),
    )

    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="open")
    # Routing: the content's language ("en", "zh", "mixed", "other") and the regions it concerns.
    language: Mapped[str] = mapped_column(String(16), default="other")
    # The region a reviewer should know (the author's, or the first one a rule limited it in).
    region: Mapped[str | None] = mapped_column(String(8))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[list[str]] = mapped_column(JSONType, default=list)  # screening, report
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    report_reasons: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Decision(IdMixin, CreatedMixin, Base):
    """What happened to a target and why: automatic screening results and moderator actions.

    ``regional`` is the per-policy outcome (``{"global": "allow", "CN": "limit"}``)."""

    __tablename__ = "moderation_decisions"
    __table_args__ = (Index("ix_moderation_decisions_target", "target_type", "target_id", "id"),)

    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(16))  # auto | moderator | appeal
    moderator_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    regional: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    rules: Mapped[list[str]] = mapped_column(JSONType, default=list)
    policy_versions: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_cases.id", ondelete="SET NULL"))
    # Hash of the text judged: screening never overrides a moderator's decision on the same text.
    content_key: Mapped[str] = mapped_column(String(40), default="")
    # Makes the screening job idempotent: one automatic decision per content version.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # Set when an appeal overturned this decision.
    overturned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Report(IdMixin, CreatedMixin, Base):
    __tablename__ = "moderation_reports"
    __table_args__ = (UniqueConstraint("reporter_id", "target_type", "target_id"),)

    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(24))
    details: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_cases.id", ondelete="SET NULL"), index=True)


class Appeal(IdMixin, CreatedMixin, Base):
    __tablename__ = "moderation_appeals"
    __table_args__ = (Index("ix_moderation_appeals_state", "state", "id"),)

    decision_id: Mapped[int] = mapped_column(ForeignKey("moderation_decisions.id", ondelete="CASCADE"), unique=True)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    statement: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome_reason: Mapped[str] = mapped_column(Text, default="")


class Strike(IdMixin, CreatedMixin, Base):
    __tablename__ = "moderation_strikes"
    __table_args__ = (Index("ix_moderation_strikes_user", "user_id", "expires_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_decisions.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(IdMixin, CreatedMixin, Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the 0005 migration).

    Ids are plain integers, not foreign keys, so the log survives purged content and accounts."""

    __tablename__ = "moderation_audit_log"
    __table_args__ = (Index("ix_moderation_audit_target", "target_type", "target_id", "id"),)

    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_role: Mapped[str] = mapped_column(String(16), default="system")
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Switch(Base):
    """Surge switches an admin flips without a deploy (slow mode, link limits, extra screening)."""

    __tablename__ = "moderation_switches"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Fingerprint(IdMixin, CreatedMixin, Base):
    """MinHash of recent content, for near-duplicate floods and posting velocity."""

    __tablename__ = "moderation_fingerprints"
    __table_args__ = (
        Index("ix_moderation_fingerprints_author", "author_id", "id"),
        UniqueConstraint("target_type", "target_id"),
    )

    author_id: Mapped[int] = mapped_column(BigInteger)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
