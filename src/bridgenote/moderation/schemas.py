from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from bridgenote.accounts.schemas import UserBrief
from bridgenote.core.schemas import Id, ReadSchema, Schema

TargetType = Literal["note", "comment", "user", "message"]
ActionTarget = Literal["note", "comment", "user"]
RuleAction = Literal["allow", "label", "limit", "hold", "reject"]
ModeratorAction = Literal["approve", "remove", "limit", "label", "warn", "strike", "suspend"]
ReportReason = Literal[
    "spam", "scam", "harassment", "hate", "sexual", "violence", "drugs", "illegal", "misinformation", "ip", "other"
]
Category = Literal[
    "abuse", "sexual", "scam", "spam", "violence", "drugs", "cannabis", "gambling", "ecig", "rx_drugs", "nudity",
    "link_denied", "flood", "velocity", "new_account", "link_limit",
]  # fmt: skip
Family = Literal["keywords", "custom", "classifier", "model", "links", "behaviour", "image"]
Reason = Annotated[
    str, Field(min_length=3, max_length=1000, description="why (shown to the user, kept in the audit log)")
]
Keyword = Annotated[str, Field(min_length=1, max_length=100)]
Pattern = Annotated[str, Field(min_length=1, max_length=300)]
Domain = Annotated[str, Field(min_length=3, max_length=253, pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
RegionCode = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]

MAX_REPORT_DETAILS = 1000


class LocalText(Schema):
    """The same text in English and Simplified Chinese (the public rules page shows both)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    en: str = Field(min_length=1, max_length=2000)
    zh_hans: str = Field(alias="zh-Hans", min_length=1, max_length=2000)


class RuleWrite(Schema):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    category: Category | None = Field(default=None, description="a detector category this rule acts on")
    action: RuleAction
    min_score: float = Field(default=0.75, ge=0.0, le=1.0)
    family_scores: dict[Family, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(default_factory=dict)
    keywords: dict[Literal["en", "zh", "any"], Annotated[list[Keyword], Field(max_length=500)]] = Field(
        default_factory=dict
    )
    patterns: list[Pattern] = Field(default_factory=list, max_length=50, description="RE2 syntax, case-insensitive")
    exclude: list[Keyword] = Field(default_factory=list, max_length=200)
    label_code: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    title: LocalText
    description: LocalText


class LinksWrite(Schema):
    deny: list[Domain] = Field(default_factory=list, max_length=2000)
    allow: list[Domain] = Field(default_factory=list, max_length=2000)


class PolicyWrite(Schema):
    """A whole policy document; storing it makes a new version."""

    regions: list[RegionCode] = Field(default_factory=list, max_length=300)
    name: LocalText
    summary: LocalText
    rules: list[RuleWrite] = Field(default_factory=list, max_length=200)
    links: LinksWrite = Field(default_factory=LinksWrite)
    is_active: bool = True
    change_note: Reason

    @field_validator("regions")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return sorted({r.upper() for r in value})


class PolicyRead(ReadSchema):
    code: str
    regions: list[str]
    version: int
    is_active: bool
    builtin: bool = Field(description="true while the built-in default applies (no admin edit stored yet)")
    updated_at: dt.datetime | None
    document: dict[str, Any]


class PublicRule(ReadSchema):
    code: str
    action: str
    title: dict[str, str]
    description: dict[str, str]


class PublicPolicy(ReadSchema):
    """The public rules page of one region, in English and Chinese."""

    code: str
    version: int
    regions: list[str]
    name: dict[str, str]
    summary: dict[str, str]
    rules: list[PublicRule]
    language: str = Field(description="the viewer's UI language, for picking one of the texts")


class PolicyVersionRead(ReadSchema):
    version: int
    regions: list[str]
    is_active: bool
    document: dict[str, Any]
    created_by: Id | None
    change_note: str
    created_at: dt.datetime


class ReportCreate(Schema):
    target_type: TargetType
    target_id: Id
    reason: ReportReason
    details: str = Field(default="", max_length=MAX_REPORT_DETAILS)


class ReportRead(ReadSchema):
    id: Id
    target_type: str
    target_id: Id
    reason: str
    created_at: dt.datetime
    duplicate: bool = Field(description="true when you had already reported this; nothing new was filed")


class RuleRef(ReadSchema):
    policy: str
    rule: str
    action: str
    title: str = Field(description="the rule's title in the viewer's language")


class DecisionRead(ReadSchema):
    id: Id
    target_type: str
    target_id: Id
    source: str
    action: str
    regions: list[str]
    labels: list[str]
    regional: dict[str, str]
    rules: list[RuleRef]
    reason: str
    explanation: str = Field(description="what happened, in the viewer's language")
    created_at: dt.datetime
    overturned: bool
    appealable: bool
    appeal_state: str | None


class ActionCreate(Schema):
    target_type: ActionTarget
    target_id: Id
    action: ModeratorAction
    reason: Reason
    regions: list[Annotated[str, Field(min_length=2, max_length=16)]] = Field(
        default_factory=list, max_length=300, description="ISO codes or policy codes (EU) for limit"
    )
    labels: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]] = Field(
        default_factory=list, max_length=20
    )


class AppealCreate(Schema):
    decision_id: Id
    statement: str = Field(min_length=1, max_length=2000)


class AppealDecide(Schema):
    outcome: Literal["uphold", "overturn"]
    reason: Reason


class AppealRead(ReadSchema):
    id: Id
    decision_id: Id
    state: str
    statement: str
    outcome_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ContentView(ReadSchema):
    text: str
    language: str
    author: UserBrief | None
    state: str | None
    translation: str | None = Field(description="machine translation into the moderator's language, when available")
    translated_to: str | None
    translation_status: str | None = Field(
        default=None, description="done, pending (queued, shown on the next look), not_needed, unsupported, unavailable"
    )


class CaseRead(ReadSchema):
    id: Id
    target_type: str
    target_id: Id
    state: str
    language: str
    region: str | None
    regions: list[str]
    priority: int
    sources: list[str]
    hits: list[dict[str, Any]]
    report_count: int
    report_reasons: dict[str, int]
    created_at: dt.datetime
    content: ContentView | None
    decisions: list[DecisionRead]


class AuditRead(ReadSchema):
    id: Id
    actor_id: Id | None
    actor_role: str
    action: str
    target_type: str
    target_id: Id | None = Field(description="null for settings (policies, switches)")
    reason: str
    data: dict[str, Any]
    created_at: dt.datetime


class Switches(ReadSchema):
    slow_mode_seconds: int = Field(ge=0, le=86_400, description="new accounts: minimum gap between posts")
    link_limit: int | None = Field(ge=0, le=100, description="new accounts: most links per post (null: no limit)")
    extra_screening: bool = Field(description="new and limited accounts: every post is held for review")


class SwitchesWrite(Schema):
    slow_mode_seconds: int | None = Field(default=None, ge=0, le=86_400)
    link_limit: int | None = Field(default=None, ge=0, le=100)
    clear_link_limit: bool = False
    extra_screening: bool | None = None
    reason: Reason


class RoleWrite(Schema):
    role: Literal["user", "moderator", "admin"]
    reason: Reason


class StrikeRead(ReadSchema):
    id: Id
    reason: str
    created_at: dt.datetime
    expires_at: dt.datetime
    lifted: bool


class StandingRead(ReadSchema):
    """An account's standing: its state and active strikes."""

    state: str
    active_strikes: int
    strikes: list[StrikeRead]
