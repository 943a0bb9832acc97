"""Trust and safety: regional policies, screening, reports, the review queue, actions,
appeals, strikes, surge switches and the audit log.

Moderation owns decisions, not content: every effect goes through the owning domain's
service (``notes_service.set_visibility``, ``notes_service.set_comment_state``,
``accounts_service.set_account_state``), and every change writes an :class:`AuditEntry`
in the same transaction. Nothing here commits; the request or job edge does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.config import ModerationSettings
from bridgenote.core import events, i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import AppError, BadRequest, Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from bridgenote.core.ids import id_floor_for_ms, new_id
from bridgenote.core.jobs import insert_ignore
from bridgenote.core.languages import valid_region
from bridgenote.core.pagination import (
    Window,
    clamp_limit,
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    next_cursor_for,
)
from bridgenote.moderation import engine, policy, policy_docs
from bridgenote.moderation.models import (
    Appeal,
    AuditEntry,
    Case,
    Decision,
    Fingerprint,
    Policy,
    PolicyVersion,
    Report,
    Strike,
    Switch,
)
from bridgenote.moderation.normalize import Analysis, detect_language
from bridgenote.moderation.schemas import ActionCreate, PolicyWrite, ReportCreate, SwitchesWrite
from bridgenote.notes import service as notes_service
from bridgenote.notifications import service as notifications_service

N_ = i18n.N_
log = logging.getLogger(__name__)

TARGET_WORDS = {"note": N_("note"), "comment": N_("comment"), "user": N_("profile"), "message": N_("message")}
# What the content's owner reads in the notification, by decision source and action.
EXPLANATIONS: dict[str, str] = {
    "auto:reject": N_("Your {target} was removed under the rule “{rule}”. You can appeal."),
    "auto:hold": N_("Your {target} is waiting for review under the rule “{rule}”."),
    "auto:limit": N_("Your {target} is hidden in {regions} under the rule “{rule}”. You can appeal."),
    "auto:label": N_("Your {target} is shown with a notice under the rule “{rule}”."),
    "auto:allow": N_("Your {target} passed screening again and is visible."),
    "moderator:approve": N_("A moderator reviewed your {target}; it is visible. Reason: {reason}"),
    "moderator:remove": N_("A moderator removed your {target}. Reason: {reason}. You can appeal."),
    "moderator:limit": N_("A moderator hid your {target} in {regions}. Reason: {reason}. You can appeal."),
    "moderator:label": N_("A moderator added a notice to your {target}. Reason: {reason}. You can appeal."),
    "moderator:warn": N_("A moderator sent you a warning about your {target}. Reason: {reason}"),
    "moderator:strike": N_("You received a strike for your {target}. Reason: {reason}. You can appeal."),
    "moderator:suspend": N_("Your account was suspended. Reason: {reason}. You can appeal."),
    "appeal:overturn": N_("Your appeal was accepted and the decision was reversed. Reason: {reason}"),
    "appeal:uphold": N_("Your appeal was reviewed and the decision stands. Reason: {reason}"),
}
APPEALABLE = frozenset({"reject", "hold", "limit", "label", "remove", "warn", "strike", "suspend"})
DEFAULT_SWITCHES: dict[str, Any] = {"slow_mode_seconds": 0, "link_limit": None, "extra_screening": False}
SYSTEM_ROLE = "system"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _require(viewer: Viewer) -> int:
    if viewer.id is None:
        raise Unauthorized()
    return viewer.id


def require_staff(viewer: Viewer) -> int:
    me = _require(viewer)
    if not policy.is_moderator(viewer):
        raise Forbidden("Only moderators can do that.", code="not_moderator")
    return me


def require_admin(viewer: Viewer) -> int:
    me = _require(viewer)
    if not policy.is_admin(viewer):
        raise Forbidden("Only admins can do that.", code="not_admin")
    return me


async def audit(
    session: AsyncSession,
    *,
    actor: Viewer | None,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append to the audit log (in the caller's transaction, so it commits with the change)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_role=actor.role if actor is not None else SYSTEM_ROLE,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        data=data or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def _decided(session: AsyncSession, decision: Decision) -> None:
    """``moderation.decided`` for subscribers (caches, indexes), delivered after commit."""
    await events.publish(
        session,
        "moderation.decided",
        {
            "decision_id": decision.id,
            "target_type": decision.target_type,
            "target_id": decision.target_id,
            "owner_id": decision.owner_id,
            "source": decision.source,
            "action": decision.action,
            "regions": list(decision.regions),
        },
    )


# ---------------------------------------------------------------- policies


@dataclass
class PolicyView:
    code: str
    regions: list[str]
    version: int
    document: dict[str, Any]
    is_active: bool
    builtin: bool
    updated_at: dt.datetime | None


_compiled: dict[tuple[str, int, str], engine.CompiledPolicy] = {}


def _digest(document: dict[str, Any], regions: Sequence[str]) -> str:
    raw = json.dumps([document, list(regions)], sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha1(raw).hexdigest()[:16]


def _compile(view: PolicyView) -> engine.CompiledPolicy:
    key = (view.code, view.version, _digest(view.document, view.regions))
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) > 256:
            _compiled.clear()
        found = _compiled[key] = engine.compile_policy(view.code, view.version, view.regions, view.document)
    return found


async def list_policies(session: AsyncSession) -> list[PolicyView]:
    """Stored policies, plus the built-in defaults for codes no admin has stored yet."""
    stored = {p.code: p for p in (await session.scalars(select(Policy).order_by(Policy.code))).all()}
    views = [
        PolicyView(p.code, list(p.regions or []), p.version, p.document, p.is_active, False, p.updated_at)
        for p in stored.values()
    ]
    for code, default in policy_docs.DEFAULT_POLICIES.items():
        if code not in stored:
            views.append(PolicyView(code, list(default["regions"]), 0, default["document"], True, True, None))
    views.sort(key=lambda v: (v.code != "global", v.code))
    return views


async def get_policy(session: AsyncSession, *, code: str) -> PolicyView:
    for view in await list_policies(session):
        if view.code.casefold() == code.casefold():
            return view
    raise NotFound("There is no policy with that code.", code="policy_not_found")


async def active_policies(session: AsyncSession) -> list[engine.CompiledPolicy]:
    return [_compile(v) for v in await list_policies(session) if v.is_active]


async def put_policy(session: AsyncSession, *, viewer: Viewer, code: str, data: PolicyWrite) -> PolicyView:
    """Create or replace a policy (admins). Writes a new version and an audit entry; an invalid
    rule (bad or catastrophic pattern, duplicate code) is a 422 before anything is stored."""
    me = require_admin(viewer)
    if not (code == "global" or (2 <= len(code) <= 16 and code.replace("-", "").isalnum())):
        raise BadRequest("A policy code is 2 to 16 letters, digits or dashes.", code="invalid_policy_code")
    code = "global" if code.casefold() == "global" else code.upper()
    for region in data.regions:
        if not valid_region(region):
            raise ValidationFailed("{region} is not a region code.", code="invalid_region", region=region)
    if code == "global" and data.regions:
        raise ValidationFailed("The global policy applies everywhere; leave its regions empty.", code="global_regions")
    if code != "global" and not data.regions:
        raise ValidationFailed("A regional policy needs at least one region.", code="no_regions")
    document = data.model_dump(mode="json", by_alias=True, exclude={"regions", "is_active", "change_note"})
    if code == "global" and any(r["action"] == "limit" for r in document["rules"]):
        raise ValidationFailed(
            "The global policy cannot limit by region; use hold or reject, or a regional policy.",
            code="global_limit",
        )
    policy_docs.check_document(document)
    row = await session.scalar(select(Policy).where(Policy.code == code).with_for_update())
    now = utcnow()
    if row is None:
        row = Policy(code=code, regions=data.regions, version=1, document=document, is_active=data.is_active)
        session.add(row)
    else:
        row.version += 1
        row.regions = data.regions
        row.document = document
        row.is_active = data.is_active
    row.updated_by = me
    row.updated_at = now
    await session.flush()
    session.add(
        PolicyVersion(
            policy_id=row.id,
            version=row.version,
            regions=data.regions,
            document=document,
            is_active=data.is_active,
            created_by=me,
            change_note=data.change_note,
        )
    )
    await audit(
        session,
        actor=viewer,
        action="policy.update",
        target_type="policy",
        target_id=row.id,
        reason=data.change_note,
        data={"code": code, "version": row.version, "rules": len(document["rules"]), "is_active": data.is_active},
    )
    return PolicyView(code, list(row.regions), row.version, row.document, row.is_active, False, row.updated_at)


async def policy_versions(session: AsyncSession, *, viewer: Viewer, code: str) -> list[PolicyVersion]:
    require_staff(viewer)
    row = await session.scalar(select(Policy).where(Policy.code == code))
    if row is None:
        return []
    rows = await session.scalars(
        select(PolicyVersion).where(PolicyVersion.policy_id == row.id).order_by(PolicyVersion.version.desc()).limit(200)
    )
    return list(rows)


def localized(texts: dict[str, str] | None, language: str) -> str:
    if not texts:
        return ""
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def rule_titles(views: Sequence[PolicyView]) -> dict[tuple[str, str], dict[str, str]]:
    return {(v.code, r["code"]): r.get("title") or {} for v in views for r in v.document.get("rules", [])}


@dataclass(frozen=True)
class LabelNotice:
    """What a content label means, for the notice readers see above a labelled note."""

    label: str
    title: str
    description: str


async def label_notices(
    session: AsyncSession, *, labels: Sequence[str], language: str, region: str | None
) -> list[LabelNotice]:
    """The notices for ``labels`` in ``language``, worded by the rule that adds them in the
    reader's ``region`` when there is one (then the global policy, then any other); a label
    no active rule explains any more keeps its code as the title."""
    wanted = list(dict.fromkeys(labels))
    if not wanted:
        return []
    found: dict[str, LabelNotice] = {}
    views = [v for v in await list_policies(session) if v.is_active]
    views.sort(key=lambda v: 0 if region and region in v.regions else 1 if not v.regions else 2)
    for view in views:
        for rule in view.document.get("rules", []):
            label = rule.get("label_code") or (rule.get("code") if rule.get("action") == "label" else None)
            if label in wanted and label not in found:
                found[label] = LabelNotice(
                    label, localized(rule.get("title"), language), localized(rule.get("description"), language)
                )
    return [found.get(label) or LabelNotice(label, label, "") for label in wanted]


# ---------------------------------------------------------------- switches


async def get_switches(session: AsyncSession) -> dict[str, Any]:
    values = dict(DEFAULT_SWITCHES)
    for row in (await session.scalars(select(Switch))).all():
        if row.name in values:
            values[row.name] = row.value
    return values


async def set_switches(session: AsyncSession, *, viewer: Viewer, data: SwitchesWrite) -> dict[str, Any]:
    require_admin(viewer)
    changes: dict[str, Any] = {}
    if data.slow_mode_seconds is not None:
        changes["slow_mode_seconds"] = data.slow_mode_seconds
    if data.clear_link_limit:
        changes["link_limit"] = None
    elif data.link_limit is not None:
        changes["link_limit"] = data.link_limit
    if data.extra_screening is not None:
        changes["extra_screening"] = data.extra_screening
    for name, value in changes.items():
        row = await session.get(Switch, name)
        if row is None:
            session.add(Switch(name=name, value=value, updated_by=viewer.id, updated_at=utcnow()))
        else:
            row.value, row.updated_by, row.updated_at = value, viewer.id, utcnow()
    await session.flush()
    await audit(
        session,
        actor=viewer,
        action="switches.update",
        target_type="switches",
        target_id=0,
        reason=data.reason,
        data=changes,
    )
    return await get_switches(session)


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    type: str
    id: int
    owner_id: int | None
    text: str
    language: str
    state: str
    region: str | None
    owner_created_at: dt.datetime | None
    owner_state: str


async def load_target(session: AsyncSession, *, target_type: str, target_id: int) -> Target | None:
    """The content behind a target as moderation sees it (no viewer filter); ``None`` if gone."""
    owner_id: int | None
    if target_type == "note":
        note = await notes_service.get_note(session, note_id=target_id)
        if note is None or note.deleted_at is not None:
            return None
        owner_id, text, state, language = (
            note.author_id,
            f"{note.title}\n{note.body}".strip(),
            note.state,
            note.language,
        )
    elif target_type == "comment":
        comment = await notes_service.get_comment(session, comment_id=target_id)
        if comment is None or comment.deleted_at is not None:
            return None
        owner_id, text, state, language = comment.author_id, comment.body, comment.state, comment.language
    elif target_type == "user":
        try:
            user = await accounts_service.get_user(session, user_id=target_id)
        except NotFound:
            return None
        owner_id, text, state, language = user.id, f"{user.display_name}\n{user.bio}".strip(), user.state, None
    else:
        return None  # chat messages are not stored yet
    owner = await accounts_service.get_users(session, user_ids=[owner_id])
    user_row = owner.get(owner_id)
    if user_row is None or user_row.state == "deleted":
        return None
    return Target(
        type=target_type,
        id=target_id,
        owner_id=owner_id,
        text=text,
        language=_routing_language(language, text),
        state=state,
        region=user_row.region,
        owner_created_at=user_row.created_at,
        owner_state=user_row.state,
    )


def _routing_language(declared: str | None, text: str) -> str:
    if declared:
        if declared.startswith("zh"):
            return "zh"
        if declared.startswith("en"):
            return "en"
    return detect_language(text)


def _is_removed(target: Target) -> bool:
    return target.state == "removed" or (target.type == "user" and target.state == "suspended")


# ---------------------------------------------------------------- cases


async def _open_case(
    session: AsyncSession,
    target: Target,
    *,
    source: str,
    hits: Sequence[dict[str, Any]] = (),
    regions: Sequence[str] = (),
    priority: int = 0,
) -> Case:
    key = f"{target.type}:{target.id}"
    await insert_ignore(
        session,
        Case,
        {
            "id": new_id(),
            "target_type": target.type,
            "target_id": target.id,
            "owner_id": target.owner_id,
            "open_key": key,
            "state": "open",
            "language": target.language,
            "region": (sorted(regions)[0] if regions else None) or target.region,
            "regions": sorted(set(regions)),
            "priority": 0,
            "sources": [],
            "hits": [],
            "report_count": 0,
            "report_reasons": {},
            "created_at": utcnow(),
        },
    )
    case = await session.scalar(select(Case).where(Case.open_key == key).with_for_update())
    assert case is not None
    if source not in case.sources:
        case.sources = [*case.sources, source]
    if hits:
        case.hits = list(hits)
    if regions:
        case.regions = sorted(set(case.regions) | set(regions))
    case.priority = max(case.priority, priority)
    case.updated_at = utcnow()
    return case


async def _resolve_cases(session: AsyncSession, *, target_type: str, target_id: int, by: int | None) -> None:
    await session.execute(
        update(Case)
        .where(Case.open_key == f"{target_type}:{target_id}")
        .values(state="resolved", open_key=None, resolved_at=utcnow(), resolved_by=by, updated_at=utcnow())
    )


# ---------------------------------------------------------------- reports


async def _reporter_sees(session: AsyncSession, *, viewer: Viewer, target: Target) -> bool:
    """Whether the reporter may see a note or comment: a report must not confirm that a
    private or hidden one exists, nor let anyone queue reports against ids they guessed."""
    try:
        if target.type == "note":
            await notes_service.access_note(session, viewer=viewer, note_id=target.id)
        elif target.type == "comment":
            await notes_service.access_comment(session, viewer=viewer, comment_id=target.id)
    except NotFound:
        return False
    return True


async def report(session: AsyncSession, *, viewer: Viewer, data: ReportCreate) -> tuple[Report, bool]:
    """File a report. Reporting the same thing twice returns the first report (``False``);
    reports of one target aggregate on its open case, which rises in the queue."""
    me = _require(viewer)
    target = await load_target(session, target_type=data.target_type, target_id=data.target_id)
    if target is None or not await _reporter_sees(session, viewer=viewer, target=target):
        raise NotFound("That content does not exist or was deleted.", code="target_not_found")
    if _is_removed(target):
        raise Conflict("That content was already removed.", code="already_removed")
    if target.owner_id == me:
        raise BadRequest("You cannot report your own content.", code="report_self")
    existing = await session.scalar(
        select(Report).where(Report.reporter_id == me, Report.target_type == target.type, Report.target_id == target.id)
    )
    if existing is not None:
        return existing, False
    case = await _open_case(session, target, source="report")
    row = Report(
        reporter_id=me,
        target_type=target.type,
        target_id=target.id,
        reason=data.reason,
        details=data.details.strip(),
        case_id=case.id,
    )
    session.add(row)
    await session.flush()
    case.report_count += 1
    case.report_reasons = {**case.report_reasons, data.reason: case.report_reasons.get(data.reason, 0) + 1}
    case.priority = max(case.priority, min(100, 10 * case.report_count))
    await audit(
        session,
        actor=viewer,
        action="report",
        target_type=target.type,
        target_id=target.id,
        reason=data.reason,
        data={"report_id": row.id, "case_id": case.id},
    )
    return row, True


# ---------------------------------------------------------------- screening


async def _behaviour_hits(
    session: AsyncSession, target: Target, analysis: Analysis, *, settings: ModerationSettings
) -> list[engine.Hit]:
    """New-account limits, posting velocity and near-duplicate floods; also stores the
    content's MinHash for the next check."""
    from bridgenote.moderation import behaviour

    hits: list[engine.Hit] = []
    if target.type not in ("note", "comment") or target.owner_id is None:
        return hits
    switches = await get_switches(session)
    age = utcnow() - target.owner_created_at if target.owner_created_at else dt.timedelta(days=3650)
    is_new = age < dt.timedelta(days=settings.new_account_days)
    if target.owner_state == "limited" or (is_new and switches["extra_screening"]):
        hits.append(engine.Hit("behaviour", "new_account", "extra-screening", 1.0, target.owner_state))
    links = len(analysis.urls)
    if is_new and switches["link_limit"] is not None and links > int(switches["link_limit"]):
        hits.append(engine.Hit("behaviour", "link_limit", "link-limit", 1.0, str(links)))
    now_ms = int(utcnow().timestamp() * 1000)
    own = Fingerprint.author_id == target.owner_id
    not_self = ~and_(Fingerprint.target_type == target.type, Fingerprint.target_id == target.id)
    if is_new and switches["slow_mode_seconds"]:
        floor = id_floor_for_ms(now_ms - int(switches["slow_mode_seconds"]) * 1000)
        recent = await session.scalar(
            select(func.count()).select_from(Fingerprint).where(own, not_self, Fingerprint.id >= floor)
        )
        if recent:
            hits.append(engine.Hit("behaviour", "velocity", "slow-mode", 1.0, str(switches["slow_mode_seconds"])))
    floor = id_floor_for_ms(now_ms - settings.velocity_window_seconds * 1000)
    burst = await session.scalar(
        select(func.count()).select_from(Fingerprint).where(own, not_self, Fingerprint.id >= floor)
    )
    if (burst or 0) + 1 > settings.velocity_limit:
        hits.append(engine.Hit("behaviour", "velocity", "velocity", 1.0, str((burst or 0) + 1)))
    signature = behaviour.signature(analysis.folded)
    if len(analysis.folded.strip()) >= settings.flood_min_chars:
        floor = id_floor_for_ms(now_ms - settings.flood_window_seconds * 1000)
        rows = (
            await session.execute(
                select(Fingerprint.signature)
                .where(Fingerprint.id >= floor, not_self)
                .order_by(Fingerprint.id.desc())
                .limit(2000)
            )
        ).all()
        copies = behaviour.near_duplicates(signature, [r[0] for r in rows], threshold=settings.flood_similarity)
        if copies + 1 >= settings.flood_count:
            hits.append(engine.Hit("behaviour", "flood", "minhash-flood", 1.0, str(copies + 1)))
    await insert_ignore(
        session,
        Fingerprint,
        {
            "id": new_id(),
            "author_id": target.owner_id,
            "target_type": target.type,
            "target_id": target.id,
            "signature": signature,
            "created_at": utcnow(),
        },
    )
    return hits


async def _latest_decision(session: AsyncSession, target_type: str, target_id: int) -> Decision | None:
    return await session.scalar(
        select(Decision)
        .where(Decision.target_type == target_type, Decision.target_id == target_id, Decision.overturned_at.is_(None))
        .order_by(Decision.id.desc())
        .limit(1)
    )


async def screen(
    session: AsyncSession,
    *,
    target_type: str,
    target_id: int,
    settings: ModerationSettings,
    extra_hits: Sequence[engine.Hit] = (),
) -> Decision | None:
    """Screen one target against every active policy and apply the outcome.

    Idempotent: one automatic decision per content version and policy set. A moderator's
    decision on unchanged content is never overridden by screening. Returns the decision
    made (``None`` when nothing needed doing)."""
    target = await load_target(session, target_type=target_type, target_id=target_id)
    if target is None or _is_removed(target):
        return None
    views = await list_policies(session)
    policies = [_compile(v) for v in views if v.is_active]
    analysis, hits = engine.screen_text(target.text)
    hits += await _behaviour_hits(session, target, analysis, settings=settings)
    hits += list(extra_hits)
    outcome = engine.decide(hits, policies, analysis)
    content_key = text_key(target.text)
    version_key = hashlib.sha1(
        json.dumps([content_key, [(p.code, p.version) for p in policies], [h.as_json() for h in extra_hits]]).encode()
    ).hexdigest()[:20]
    dedupe = f"auto:{target.type}:{target.id}:{version_key}"
    if await session.scalar(select(Decision.id).where(Decision.dedupe_key == dedupe)) is not None:
        return None
    latest = await _latest_decision(session, target.type, target.id)
    if latest is not None and latest.source != "auto" and latest.content_key == content_key:
        return None
    if outcome.action == "allow" and (latest is None or latest.source != "auto" or latest.action == "allow"):
        return None
    decision = Decision(
        target_type=target.type,
        target_id=target.id,
        owner_id=target.owner_id,
        source="auto",
        action=outcome.action,
        regions=sorted(outcome.limited_regions),
        labels=sorted(outcome.labels),
        regional=outcome.regional,
        rules=outcome.rules,
        policy_versions={p.code: p.version for p in policies},
        hits=[h.as_json() for h in outcome.hits],
        reason="",
        content_key=content_key,
        dedupe_key=dedupe,
    )
    session.add(decision)
    await session.flush()
    await _apply_auto(session, target, decision)
    if outcome.review:
        case = await _open_case(
            session, target, source="screening", hits=decision.hits, regions=decision.regions, priority=20
        )
        decision.case_id = case.id
    await audit(
        session,
        actor=None,
        action=f"auto.{decision.action}",
        target_type=target.type,
        target_id=target.id,
        data={"decision_id": decision.id, "rules": decision.rules, "regional": decision.regional},
    )
    await _notify(session, decision, views=views)
    await _decided(session, decision)
    return decision


async def _apply_auto(session: AsyncSession, target: Target, decision: Decision) -> None:
    reason = ", ".join(decision.rules) or None
    action = decision.action
    if target.type == "note":
        state = {"reject": "removed", "hold": "held"}.get(action, "published")
        await notes_service.set_visibility(
            session,
            note_id=target.id,
            state=state,
            reason=reason if state != "published" else None,
            limited_regions=decision.regions,
            labels=decision.labels,
        )
    elif target.type == "comment":
        state = {"reject": "removed", "hold": "held"}.get(action, "published")
        await notes_service.set_comment_state(
            session,
            comment_id=target.id,
            state=state,
            reason=reason if state != "published" else None,
            limited_regions=decision.regions,
        )


# ---------------------------------------------------------------- notifications


def _notification_params(decision: Decision, *, views: Sequence[PolicyView]) -> dict[str, Any]:
    titles = rule_titles(views)
    first = decision.rules[0] if decision.rules else ""
    policy_code, _sep, rule_code = first.partition(":")
    title = titles.get((policy_code, rule_code)) or {"en": rule_code, "zh-Hans": rule_code}
    regions = ", ".join(decision.regions[:5]) + ("…" if len(decision.regions) > 5 else "")
    return {
        "target": {"msgid": TARGET_WORDS.get(decision.target_type, decision.target_type)},
        "rule": title,
        "regions": regions,
        "reason": decision.reason,
    }


def explanation_key(decision: Decision) -> str:
    if decision.source == "appeal":
        return f"appeal:{decision.action}"
    return f"{decision.source}:{decision.action}"


def explain(decision: Decision, *, views: Sequence[PolicyView], language: str) -> str:
    """The owner-facing sentence for a decision, in ``language``."""
    template = EXPLANATIONS.get(explanation_key(decision))
    if template is None:
        return ""
    params = _notification_params(decision, views=views)
    return i18n.gettext(template, language=language, **render_params(params, language))


def render_params(params: dict[str, Any], language: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict) and "msgid" in value:
            out[key] = i18n.gettext(str(value["msgid"]), language=language)
        elif isinstance(value, dict):
            out[key] = localized(value, language)
        else:
            out[key] = str(value)
    return out


async def _notify(session: AsyncSession, decision: Decision, *, views: Sequence[PolicyView]) -> None:
    if decision.owner_id is None:
        return
    template = EXPLANATIONS.get(explanation_key(decision))
    if template is None:
        return
    await notifications_service.notify(
        session,
        user_id=decision.owner_id,
        actor_id=None,
        kind="moderation",
        note_id=decision.target_id if decision.target_type == "note" else None,
        data={
            "message": template,
            "params": _notification_params(decision, views=views),
            "decision_id": str(decision.id),
            "target_type": decision.target_type,
            "target_id": str(decision.target_id),
        },
        dedupe_key=f"moderation:{decision.id}",
    )


# ---------------------------------------------------------------- moderator actions


def expand_regions(codes: Sequence[str], views: Sequence[PolicyView]) -> list[str]:
    """ISO codes as given; a policy code (``EU``) stands for that policy's regions."""
    by_code = {v.code.upper(): v.regions for v in views if v.regions}
    out: set[str] = set()
    for raw in codes:
        code = raw.strip().upper()
        if code in by_code:
            out.update(by_code[code])
        elif valid_region(code):
            out.add(code)
        else:
            raise ValidationFailed("{region} is not a region code.", code="invalid_region", region=raw)
    return sorted(out)


async def act(session: AsyncSession, *, viewer: Viewer, data: ActionCreate, settings: ModerationSettings) -> Decision:
    """A moderator's action on a target, with its required reason. Applies the effect through
    the owning domain, resolves the target's open case, audits and notifies the owner."""
    me = require_staff(viewer)
    target = await load_target(session, target_type=data.target_type, target_id=data.target_id)
    if target is None:
        raise NotFound("That content does not exist or was deleted.", code="target_not_found")
    if target.owner_id == me:
        raise Forbidden("You cannot moderate your own content or account.", code="own_content")
    owner = await accounts_service.get_user(session, user_id=target.owner_id or 0)
    if owner.role in ("moderator", "admin") and not policy.is_admin(viewer):
        raise Forbidden("Only admins can act on staff accounts.", code="staff_target")
    views = await list_policies(session)
    action = data.action
    regions: list[str] = []
    labels: list[str] = []
    if action == "approve":
        await _restore(session, target)
    elif action == "remove":
        if target.type == "note":
            await notes_service.set_visibility(session, note_id=target.id, state="removed", reason=data.reason)
        elif target.type == "comment":
            await notes_service.set_comment_state(session, comment_id=target.id, state="removed", reason=data.reason)
        else:
            raise BadRequest("To take an account down, suspend it.", code="invalid_action")
    elif action == "limit":
        if target.type == "note":
            if not data.regions:
                raise ValidationFailed("Say in which regions to limit it.", code="regions_required")
            regions = expand_regions(data.regions, views)
            current = await notes_service.note_regions(session, note_id=target.id)
            await notes_service.set_visibility(session, note_id=target.id, limited_regions=sorted({*current, *regions}))
        elif target.type == "comment":
            if not data.regions:
                raise ValidationFailed("Say in which regions to limit it.", code="regions_required")
            regions = expand_regions(data.regions, views)
            current = await notes_service.comment_regions(session, comment_id=target.id)
            await notes_service.set_comment_state(
                session, comment_id=target.id, limited_regions=sorted({*current, *regions})
            )
        elif target.type == "user":
            await accounts_service.set_account_state(session, user_id=target.id, state="limited")
        else:
            raise BadRequest("This cannot be limited by region.", code="invalid_action")
    elif action == "label":
        if target.type != "note":
            raise BadRequest("Only notes can carry a label.", code="invalid_action")
        if not data.labels:
            raise ValidationFailed("Say which label to add.", code="labels_required")
        note = await notes_service.get_note(session, note_id=target.id)
        labels = sorted({*(note.labels if note else []), *data.labels})
        await notes_service.set_visibility(session, note_id=target.id, labels=labels)
    elif action == "suspend":
        await accounts_service.set_account_state(session, user_id=owner.id, state="suspended")
    decision = Decision(
        target_type=target.type,
        target_id=target.id,
        owner_id=target.owner_id,
        source="moderator",
        moderator_id=me,
        action=action,
        regions=regions,
        labels=labels,
        regional={},
        rules=[],
        policy_versions={},
        hits=[],
        reason=data.reason,
        content_key=text_key(target.text),
        dedupe_key=None,
    )
    session.add(decision)
    await session.flush()
    if action == "strike":
        await _add_strike(session, user_id=owner.id, decision=decision, reason=data.reason, settings=settings)
    await _resolve_cases(session, target_type=target.type, target_id=target.id, by=me)
    await audit(
        session,
        actor=viewer,
        action=f"moderator.{action}",
        target_type=target.type,
        target_id=target.id,
        reason=data.reason,
        data={"decision_id": decision.id, "regions": regions, "labels": labels},
    )
    await _notify(session, decision, views=views)
    await _decided(session, decision)
    return decision


async def _restore(session: AsyncSession, target: Target) -> None:
    if target.type == "note":
        await notes_service.set_visibility(
            session, note_id=target.id, state="published", reason=None, limited_regions=[], labels=[]
        )
    elif target.type == "comment":
        await notes_service.set_comment_state(session, comment_id=target.id, state="published", limited_regions=[])


async def _add_strike(
    session: AsyncSession, *, user_id: int, decision: Decision, reason: str, settings: ModerationSettings
) -> None:
    session.add(
        Strike(
            user_id=user_id,
            decision_id=decision.id,
            reason=reason,
            expires_at=utcnow() + dt.timedelta(days=settings.strike_days),
        )
    )
    await session.flush()
    await _apply_standing(session, user_id=user_id, settings=settings)


async def active_strikes(session: AsyncSession, *, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Strike)
        .where(Strike.user_id == user_id, Strike.lifted_at.is_(None), Strike.expires_at > utcnow())
    )
    return int(count or 0)


async def _apply_standing(session: AsyncSession, *, user_id: int, settings: ModerationSettings) -> None:
    """Account state from active strikes: enough of them limit, then suspend."""
    count = await active_strikes(session, user_id=user_id)
    user = await accounts_service.get_user(session, user_id=user_id)
    if count >= settings.strikes_to_suspend:
        wanted = "suspended"
    elif count >= settings.strikes_to_limit:
        wanted = "limited"
    else:
        return
    if user.state != wanted and not (wanted == "limited" and user.state == "suspended"):
        await accounts_service.set_account_state(session, user_id=user_id, state=wanted)
        await audit(
            session,
            actor=None,
            action=f"standing.{wanted}",
            target_type="user",
            target_id=user_id,
            data={"active_strikes": count},
        )


async def standing(session: AsyncSession, *, viewer: Viewer, user_id: int | None = None) -> tuple[str, list[Strike]]:
    """An account's state and strikes: your own, or anyone's for moderators."""
    me = _require(viewer)
    if user_id is not None and user_id != me:
        require_staff(viewer)
    uid = user_id or me
    user = await accounts_service.get_user(session, user_id=uid)
    strikes = (await session.scalars(select(Strike).where(Strike.user_id == uid).order_by(Strike.id.desc()))).all()
    return user.state, list(strikes)


async def set_role(session: AsyncSession, *, viewer: Viewer, username: str, role: str, reason: str) -> None:
    require_admin(viewer)
    users = await accounts_service.find_by_usernames(session, usernames=[username])
    user = next(iter(users.values()), None)
    if user is None:
        raise NotFound("That account does not exist.")
    if user.id == viewer.id:
        raise Forbidden("You cannot change your own role.", code="own_role")
    before = user.role
    await accounts_service.set_role(session, user_id=user.id, role=role)
    await audit(
        session,
        actor=viewer,
        action="role.set",
        target_type="user",
        target_id=user.id,
        reason=reason,
        data={"from": before, "to": role},
    )


# ---------------------------------------------------------------- appeals


async def appeal(
    session: AsyncSession, *, viewer: Viewer, decision_id: int, statement: str, settings: ModerationSettings
) -> Appeal:
    """The owner appeals a decision (suspended accounts too: this is how they get back)."""
    me = _require(viewer)
    decision = await session.get(Decision, decision_id)
    if decision is None or decision.owner_id != me:
        raise NotFound("That decision does not exist.", code="decision_not_found")
    if decision.action not in APPEALABLE or decision.source == "appeal":
        raise BadRequest("That decision cannot be appealed.", code="not_appealable")
    if decision.overturned_at is not None:
        raise Conflict("That decision was already reversed.", code="already_overturned")
    if utcnow() - decision.created_at > dt.timedelta(days=settings.appeal_days):
        raise BadRequest(
            "Appeals are possible for {days} days after a decision.", code="appeal_too_late", days=settings.appeal_days
        )
    inserted = await insert_ignore(
        session,
        Appeal,
        {
            "id": new_id(),
            "decision_id": decision.id,
            "appellant_id": me,
            "statement": statement.strip(),
            "state": "open",
            "outcome_reason": "",
            "created_at": utcnow(),
        },
    )
    if not inserted:
        raise Conflict("You already appealed this decision.", code="already_appealed")
    row = await session.scalar(select(Appeal).where(Appeal.decision_id == decision.id))
    assert row is not None
    await audit(
        session,
        actor=viewer,
        action="appeal.file",
        target_type=decision.target_type,
        target_id=decision.target_id,
        reason=statement[:500],
        data={"appeal_id": row.id, "decision_id": decision.id},
    )
    return row


async def list_appeals(
    session: AsyncSession, *, viewer: Viewer, state: str, cursor: str | None, limit: int | None
) -> Window[Appeal]:
    """The appeals queue. A moderator does not see appeals against their own decisions (someone
    else must decide them)."""
    me = require_staff(viewer)
    n = clamp_limit(limit)
    stmt = (
        select(Appeal)
        .join(Decision, Decision.id == Appeal.decision_id)
        .where(Appeal.state == state, or_(Decision.moderator_id.is_(None), Decision.moderator_id != me))
        .where(Appeal.appellant_id != me)
    )
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Appeal.id > after)
    rows = (await session.scalars(stmt.order_by(Appeal.id).limit(n + 1))).all()
    return Window[Appeal](items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda a: a.id))


async def decide_appeal(
    session: AsyncSession, *, viewer: Viewer, appeal_id: int, outcome: str, reason: str, settings: ModerationSettings
) -> Appeal:
    me = require_staff(viewer)
    row = await session.scalar(select(Appeal).where(Appeal.id == appeal_id).with_for_update())
    if row is None:
        raise NotFound("That appeal does not exist.", code="appeal_not_found")
    decision = await session.get(Decision, row.decision_id)
    assert decision is not None
    if not policy.can_decide_appeal(viewer, decision=decision, appeal=row):
        raise Forbidden("An appeal must be decided by a different moderator.", code="same_moderator")
    if row.state != "open":
        raise Conflict("That appeal was already decided.", code="appeal_decided")
    views = await list_policies(session)
    if outcome == "overturn":
        await _overturn(session, decision, settings=settings)
    row.state = "overturned" if outcome == "overturn" else "upheld"
    row.decided_by = me
    row.decided_at = utcnow()
    row.outcome_reason = reason
    result = Decision(
        target_type=decision.target_type,
        target_id=decision.target_id,
        owner_id=decision.owner_id,
        source="appeal",
        moderator_id=me,
        action=outcome,
        regions=[],
        labels=[],
        regional={},
        rules=decision.rules,
        policy_versions={},
        hits=[],
        reason=reason,
        content_key=await _current_text_key(session, decision),
        dedupe_key=None,
    )
    session.add(result)
    await session.flush()
    await audit(
        session,
        actor=viewer,
        action=f"appeal.{outcome}",
        target_type=decision.target_type,
        target_id=decision.target_id,
        reason=reason,
        data={"appeal_id": row.id, "decision_id": decision.id},
    )
    await _notify(session, result, views=views)
    await _decided(session, result)
    return row


async def _current_text_key(session: AsyncSession, decision: Decision) -> str:
    """Ties an appeal outcome to the text it judged, so re-screening the same text does not
    undo it (an edit is screened afresh)."""
    target = await load_target(session, target_type=decision.target_type, target_id=decision.target_id)
    return text_key(target.text if target else "")


async def _overturn(session: AsyncSession, decision: Decision, *, settings: ModerationSettings) -> None:
    decision.overturned_at = utcnow()
    target = await load_target(session, target_type=decision.target_type, target_id=decision.target_id)
    if decision.action in ("strike", "suspend") or decision.target_type == "user":
        await session.execute(
            update(Strike)
            .where(Strike.decision_id == decision.id, Strike.lifted_at.is_(None))
            .values(lifted_at=utcnow())
        )
        if decision.owner_id is not None:
            count = await active_strikes(session, user_id=decision.owner_id)
            state = "active"
            if count >= settings.strikes_to_suspend:
                state = "suspended"
            elif count >= settings.strikes_to_limit:
                state = "limited"
            await accounts_service.set_account_state(session, user_id=decision.owner_id, state=state)
    if target is not None and decision.action in ("reject", "hold", "limit", "label", "remove"):
        await _restore(session, target)


# ---------------------------------------------------------------- reads


TRANSLATION_KINDS = {"note": "note", "comment": "comment", "user": "bio"}


@dataclass
class CaseTranslation:
    text: str | None
    target: str
    status: str  # done | pending | not_needed | unsupported | failed | unavailable


async def translate_for(
    session: AsyncSession, *, target_type: str, target_id: int, viewer: Viewer, settings: Any
) -> CaseTranslation | None:
    """The content in the moderator's UI language through the translation domain: a stored
    translation is returned; a missing one is queued (interactive) so the next look has it.
    ``None`` when the target kind cannot be translated. Translation trouble never hides a case."""
    kind = TRANSLATION_KINDS.get(target_type)
    if kind is None:
        return None
    target = "zh-Hans" if viewer.ui_language.startswith("zh") else "en"
    try:
        translation = importlib.import_module("bridgenote.translation.service")
        view = await translation.get_translation(
            session, settings=settings, kind=kind, object_id=target_id, target=target
        )
        if view is None:
            return None
        if view.status == "not_requested":
            view = await translation.request_translation(
                session, settings=settings, kind=kind, object_id=target_id, target=target, check_provider=False
            )
    except ModuleNotFoundError:
        return CaseTranslation(None, target, "unavailable")
    except (AppError, ValueError):  # unsupported language, provider off: show the original only
        log.info("moderation: no translation for %s %s", target_type, target_id, exc_info=True)
        return CaseTranslation(None, target, "unavailable")
    text = "\n".join(view.text.values()) if view.status == "done" else None
    return CaseTranslation(text, target, str(view.status))


async def decisions_for(session: AsyncSession, *, viewer: Viewer, target_type: str, target_id: int) -> list[Decision]:
    """Decisions about one target: for its owner and for moderators."""
    me = _require(viewer)
    rows = (
        await session.scalars(
            select(Decision)
            .where(Decision.target_type == target_type, Decision.target_id == target_id)
            .order_by(Decision.id.desc())
            .limit(100)
        )
    ).all()
    if not policy.is_moderator(viewer) and any(d.owner_id != me for d in rows):
        raise NotFound("That decision does not exist.", code="decision_not_found")
    return list(rows)


async def my_decisions(
    session: AsyncSession, *, viewer: Viewer, cursor: str | None, limit: int | None
) -> Window[Decision]:
    me = _require(viewer)
    n = clamp_limit(limit)
    stmt = select(Decision).where(Decision.owner_id == me)
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Decision.id < after)
    rows = (await session.scalars(stmt.order_by(Decision.id.desc()).limit(n + 1))).all()
    return Window[Decision](items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda d: d.id))


async def appeals_by_decision(session: AsyncSession, *, decision_ids: Sequence[int]) -> dict[int, Appeal]:
    if not decision_ids:
        return {}
    rows = await session.scalars(select(Appeal).where(Appeal.decision_id.in_(decision_ids)))
    return {a.decision_id: a for a in rows}


def _languages_for(viewer: Viewer) -> list[str]:
    wanted = {"zh" if lang.startswith("zh") else lang.split("-")[0] for lang in viewer.read_languages}
    if {"zh", "en"} & wanted:
        wanted.add("mixed")
    wanted.add("other")
    return sorted(wanted)


async def queue(
    session: AsyncSession,
    *,
    viewer: Viewer,
    language: str | None,
    region: str | None,
    cursor: str | None,
    limit: int | None,
    state: str = "open",
) -> Window[Case]:
    """Open cases (or resolved ones, with ``state``), highest priority first. Without
    ``language`` a moderator gets the languages they read (plus mixed and undetermined ones):
    the routing of the queue."""
    require_staff(viewer)
    n = clamp_limit(limit)
    conditions: list[ColumnElement[bool]] = [Case.state == state]
    if language is not None:
        conditions.append(Case.language == language)
    elif viewer.read_languages:
        conditions.append(Case.language.in_(_languages_for(viewer)))
    if region is not None:
        conditions.append(Case.region == region.upper())
    stmt = select(Case).where(*conditions)
    after = decode_cursor(cursor, arity=2)
    if after is not None:
        priority, last_id = after
        if not _is_int(priority, -(2**31), 2**31 - 1) or not _is_int(last_id, 0, 2**63 - 1):
            raise BadRequest("That page cursor is not valid.", code="invalid_cursor")
        stmt = stmt.where(or_(Case.priority < priority, and_(Case.priority == priority, Case.id > last_id)))
    rows = (await session.scalars(stmt.order_by(Case.priority.desc(), Case.id).limit(n + 1))).all()
    next_cursor = encode_cursor(rows[n - 1].priority, rows[n - 1].id) if len(rows) > n else None
    return Window[Case](items=list(rows[:n]), next_cursor=next_cursor)


def _is_int(value: object, low: int, high: int) -> bool:
    """A cursor value the database can hold (a tampered huge number is a 400, not a 500)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


async def case_reports(session: AsyncSession, *, viewer: Viewer, case: Case, limit: int = 100) -> list[Report]:
    """The reports filed on a case's target (moderators), newest first."""
    require_staff(viewer)
    rows = await session.scalars(
        select(Report)
        .where(Report.target_type == case.target_type, Report.target_id == case.target_id)
        .order_by(Report.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    return list(rows)


async def get_decisions(session: AsyncSession, *, viewer: Viewer, decision_ids: Sequence[int]) -> dict[int, Decision]:
    """Decisions by id (moderators: the appeals queue shows what each appeal is about)."""
    require_staff(viewer)
    if not decision_ids:
        return {}
    rows = await session.scalars(select(Decision).where(Decision.id.in_(list(decision_ids))))
    return {d.id: d for d in rows}


async def get_case(session: AsyncSession, *, viewer: Viewer, case_id: int) -> Case:
    require_staff(viewer)
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound("That case does not exist.", code="case_not_found")
    return case


async def audit_log(
    session: AsyncSession,
    *,
    viewer: Viewer,
    target_type: str | None,
    target_id: int | None,
    actor_id: int | None,
    cursor: str | None,
    limit: int | None,
) -> Window[AuditEntry]:
    require_staff(viewer)
    n = clamp_limit(limit)
    stmt = select(AuditEntry)
    if target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(AuditEntry.id < after)
    rows = (await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(n + 1))).all()
    return Window[AuditEntry](items=list(rows[:n]), next_cursor=next_cursor_for(rows, n, lambda e: e.id))


async def case_decisions(session: AsyncSession, *, cases: Sequence[Case]) -> dict[tuple[str, int], list[Decision]]:
    if not cases:
        return {}
    keys = {(c.target_type, c.target_id) for c in cases}
    rows = await session.scalars(
        select(Decision)
        .where(or_(*(and_(Decision.target_type == t, Decision.target_id == i) for t, i in keys)))
        .order_by(Decision.id.desc())
    )
    out: dict[tuple[str, int], list[Decision]] = {}
    for d in rows:
        out.setdefault((d.target_type, d.target_id), []).append(d)
    return out
