"""Pages of the moderation domain: the community rules of each region, reporting a note,
comment or account, a member's standing with their decisions and appeals, and for staff
the review queue, cases, the appeals queue, the audit log, policies and surge switches.

Every read and write goes through ``moderation.service`` (and the read helpers of
``moderation.api``, so a page shows exactly what the JSON API returns); who may do what is
decided there, so a member who opens a moderator's page gets the same 403 as from the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import AppError, BadRequest, NotFound
from bridgenote.core.languages import valid_region
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import MAX_ID, IdPath
from bridgenote.core.web import RuntimeDep, SessionDep
from bridgenote.moderation import service
from bridgenote.moderation.api import appeal_read, audit_read, case_reads, decision_reads, standing_read
from bridgenote.moderation.schemas import (
    MAX_REPORT_DETAILS,
    ActionCreate,
    AppealCreate,
    AppealDecide,
    PolicyWrite,
    ReportCreate,
    ReportReason,
    RoleWrite,
    SwitchesWrite,
)
from bridgenote.notes import service as notes_service
from bridgenote.web.routing import (
    LoginRequired,
    PageUser,
    PageViewer,
    form_data,
    is_htmx,
    next_page_url,
    redirect,
    safe_next,
    views_router,
)
from bridgenote.web.templating import add_global, render, user_url

router = views_router()

N_ = i18n.N_
Cursor = Annotated[str | None, Query(max_length=200)]
ReportTarget = Literal["note", "comment", "user"]
PAGE = 20

# What a rule does, as the public rules page says it. A regional policy's limit, hold and
# reject all hide the content in its regions (docs/moderation.md).
RULE_ACTIONS_GLOBAL = {
    "allow": N_("Allowed"),
    "label": N_("Shown with a notice"),
    "limit": N_("Held for review"),
    "hold": N_("Held for review"),
    "reject": N_("Removed"),
}
HIDDEN_THERE = N_("Hidden in these regions")
RULE_ACTIONS_REGIONAL = {**RULE_ACTIONS_GLOBAL, "limit": HIDDEN_THERE, "hold": HIDDEN_THERE, "reject": HIDDEN_THERE}
REPORT_REASONS: dict[str, str] = {
    "spam": N_("Spam"),
    "scam": N_("Scam or fraud"),
    "harassment": N_("Harassment or bullying"),
    "hate": N_("Hate speech"),
    "sexual": N_("Sexual content"),
    "violence": N_("Violence or threats"),
    "drugs": N_("Drugs"),
    "illegal": N_("Illegal goods or activity"),
    "misinformation": N_("False information"),
    "ip": N_("Copyright or trademark"),
    "other": N_("Something else"),
}
assert set(REPORT_REASONS) == set(get_args(ReportReason)), "every report reason needs a label"
MODERATOR_ACTIONS: dict[str, str] = {
    "approve": N_("Approve (keep it visible)"),
    "remove": N_("Remove"),
    "limit": N_("Limit in regions"),
    "label": N_("Add a notice label"),
    "warn": N_("Warn the author"),
    "strike": N_("Give the author a strike"),
    "suspend": N_("Suspend the account"),
}
QUICK_ACTIONS = ("approve", "remove")
# What the service accepts for each kind of content (``service.act``).
ACTIONS_FOR = {
    "note": ("approve", "remove", "limit", "label", "warn", "strike", "suspend"),
    "comment": ("approve", "remove", "warn", "strike", "suspend"),
    "user": ("approve", "limit", "warn", "strike", "suspend"),
}
# Decisions as moderators and owners read them in lists.
DECISION_ACTIONS: dict[str, str] = {
    "allow": N_("Allowed"),
    "label": N_("Labelled"),
    "limit": N_("Limited"),
    "hold": N_("Held for review"),
    "reject": N_("Removed"),
    "approve": N_("Approved"),
    "remove": N_("Removed"),
    "warn": N_("Warning"),
    "strike": N_("Strike"),
    "suspend": N_("Suspended"),
    "uphold": N_("Appeal: decision upheld"),
    "overturn": N_("Appeal: decision reversed"),
}
DECISION_SOURCES = {"auto": N_("Automatic screening"), "moderator": N_("Moderator"), "appeal": N_("Appeal")}
CASE_SOURCES = {"screening": N_("Screening"), "report": N_("Reports")}
CASE_STATES = {"open": N_("Open"), "resolved": N_("Resolved")}
APPEAL_STATES = {
    "open": N_("Waiting for review"),
    "upheld": N_("Decision upheld"),
    "overturned": N_("Decision reversed"),
}
ACCOUNT_STATES = {"active": N_("Good standing"), "limited": N_("Limited"), "suspended": N_("Suspended")}
# Routing languages of the queue; English and Chinese are named by CLDR (``language_name``).
QUEUE_LANGUAGES = {"en": "", "zh": "", "mixed": N_("Mixed languages"), "other": N_("Other")}
TARGET_WORDS = {"note": N_("Note"), "comment": N_("Comment"), "user": N_("Profile"), "message": N_("Message")}
ROLES = {"user": N_("Member"), "moderator": N_("Moderator"), "admin": N_("Admin")}
SAVED = {
    "switches": N_("The switches are saved."),
    "role": N_("The role is changed."),
    "policy": N_("The policy is saved as a new version."),
}

add_global(
    "moderation_words",
    {
        "report_reasons": REPORT_REASONS,
        "moderator_actions": MODERATOR_ACTIONS,
        "decision_actions": DECISION_ACTIONS,
        "decision_sources": DECISION_SOURCES,
        "case_sources": CASE_SOURCES,
        "case_states": CASE_STATES,
        "appeal_states": APPEAL_STATES,
        "account_states": ACCOUNT_STATES,
        "queue_languages": QUEUE_LANGUAGES,
        "targets": TARGET_WORDS,
        "roles": ROLES,
    },
)


async def page_member(viewer: PageViewer) -> Viewer:
    """Signed in, in any state: a suspended member can still read what happened and appeal
    (that is how they get back), as in the API."""
    if not viewer.is_authenticated:
        raise LoginRequired()
    return viewer


PageMember = Annotated[Viewer, Depends(page_member)]


def _text(form: dict[str, Any], key: str, limit: int = 20_000) -> str:
    """A form field as text (a file or a missing field is empty), cut to a sane length."""
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _codes(value: str) -> list[str]:
    """``"DE, fr EU"`` -> ``["DE", "fr", "EU"]`` (regions and labels typed into one field)."""
    return [part for part in re.split(r"[\s,;，、]+", value) if part][:300]


def _region(value: str | None) -> str | None:
    code = (value or "").strip().upper()
    if not code:
        return None
    if not valid_region(code):
        raise BadRequest("{region} is not a region code.", code="invalid_region", region=code[:8])
    return code


async def _content_links(session: AsyncSession, refs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """Where each note, comment or profile is shown on the site."""
    links: dict[tuple[str, int], str] = {}
    user_ids = [target_id for kind, target_id in refs if kind == "user"]
    users = await accounts_service.get_users(session, user_ids=user_ids) if user_ids else {}
    for kind, target_id in set(refs):
        if kind == "note":
            links[(kind, target_id)] = f"/notes/{target_id}"
        elif kind == "comment":
            comment = await notes_service.get_comment(session, comment_id=target_id)
            if comment is not None:
                links[(kind, target_id)] = f"/notes/{comment.note_id}#c{target_id}"
        elif kind == "user" and target_id in users:
            links[(kind, target_id)] = user_url(users[target_id].username)
    return links


# ---------------------------------------------------------------- community rules (everyone)


def _policy_view(view: service.PolicyView, language: str) -> dict[str, Any]:
    words = RULE_ACTIONS_REGIONAL if view.regions else RULE_ACTIONS_GLOBAL
    doc = view.document
    return {
        "code": view.code,
        "version": view.version,
        "regions": view.regions,
        "name": service.localized(doc.get("name"), language) or view.code,
        "summary": service.localized(doc.get("summary"), language),
        "rules": [
            {
                "code": rule["code"],
                "action": rule["action"],
                "action_text": i18n.gettext(words.get(rule["action"], rule["action"])),
                "title": service.localized(rule.get("title"), language) or rule["code"],
                "description": service.localized(rule.get("description"), language),
            }
            for rule in doc.get("rules", [])
            if rule.get("action") != "allow"
        ],
        "allowed": [
            service.localized(rule.get("title"), language) or rule["code"]
            for rule in doc.get("rules", [])
            if rule.get("action") == "allow"
        ],
    }


async def _rules_page(
    request: Request, viewer: Viewer, session: AsyncSession, shown: list[service.PolicyView], **extra: Any
) -> Response:
    active = [v for v in await service.list_policies(session) if v.is_active]
    language = i18n.current_language()
    context = {
        "policies": [_policy_view(v, language) for v in shown],
        "choices": [
            {"code": v.code, "name": service.localized(v.document.get("name"), language) or v.code} for v in active
        ],
        "region": None,
        "code": None,
        **extra,
    }
    return await render(request, "moderation/rules.html", context, viewer=viewer, session=session)


@router.get("/rules")
async def rules(
    request: Request,
    viewer: PageViewer,
    session: SessionDep,
    region: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The global rules plus those of a region (the one asked for, else the viewer's own)."""
    wanted = _region(region) if region is not None else _region(viewer.region)
    active = [v for v in await service.list_policies(session) if v.is_active]
    shown = [v for v in active if not v.regions] + [v for v in active if wanted and wanted in v.regions]
    return await _rules_page(request, viewer, session, shown, region=wanted)


@router.get("/rules/{code}")
async def rules_for(
    code: Annotated[str, Path(max_length=16)], request: Request, viewer: PageViewer, session: SessionDep
) -> Response:
    view = await service.get_policy(session, code=code)
    if not view.is_active:
        raise NotFound("There is no policy with that code.", code="policy_not_found")
    return await _rules_page(request, viewer, session, [view], code=view.code)


# ---------------------------------------------------------------- reports (members)


async def _reportable(session: AsyncSession, viewer: Viewer, target_type: str, target_id: int) -> service.Target:
    target = await service.load_target(session, target_type=target_type, target_id=target_id)
    if target is None:
        raise NotFound("That content does not exist or was deleted.", code="target_not_found")
    if target_type == "note":
        await notes_service.access_note(session, viewer=viewer, note_id=target_id)  # 404 when hidden from them
    if target.owner_id == viewer.id:
        raise BadRequest("You cannot report your own content.", code="report_self")
    return target


@router.get("/report/{target_type}/{target_id}")
async def report_form(
    target_type: ReportTarget,
    target_id: IdPath,
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> Response:
    """The report form: a dialog for htmx (the Report buttons), a page without script."""
    await _reportable(session, viewer, target_type, target_id)
    context = {
        "target_type": target_type,
        "target_id": target_id,
        "next": safe_next(next),
        "max_details": MAX_REPORT_DETAILS,
    }
    template = "moderation/_report_form.html" if is_htmx(request) else "moderation/report.html"
    return await render(request, template, context, viewer=viewer, session=session)


@router.post("/report/{target_type}/{target_id}")
async def report(
    target_type: ReportTarget, target_id: IdPath, request: Request, viewer: PageUser, session: SessionDep
) -> Response:
    form = await form_data(request)
    try:
        data = ReportCreate.model_validate(
            {
                "target_type": target_type,
                "target_id": target_id,
                "reason": _text(form, "reason", 40),
                "details": _text(form, "details"),
            }
        )
    except ValidationError as exc:
        raise BadRequest(
            "Choose a reason; details have up to {limit} characters.", code="invalid_report", limit=MAX_REPORT_DETAILS
        ) from exc
    if target_type == "note":
        await notes_service.access_note(session, viewer=viewer, note_id=target_id)
    _row, created = await service.report(session, viewer=viewer, data=data)
    if created:
        message = i18n.gettext("Thank you. Our moderators will look at your report.")
    else:
        message = i18n.gettext("You already reported this. Our moderators will look at it.")
    if is_htmx(request):
        return await render(request, "_toast.html", {"message": message}, viewer=viewer)
    context = {"message": message, "next": safe_next(form.get("next"))}
    return await render(request, "moderation/report_done.html", context, viewer=viewer, session=session)


# ---------------------------------------------------------------- standing, decisions and appeals (members)


@router.get("/moderation/standing")
async def standing(
    request: Request, viewer: PageMember, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None
) -> Response:
    """A member's account state and strikes, and every decision about their content, each
    with what happened in their language and an Appeal form while it can be appealed."""
    state, strikes = await service.standing(session, viewer=viewer)
    page = await service.my_decisions(session, viewer=viewer, cursor=cursor, limit=PAGE)
    decisions = await decision_reads(session, viewer, page.items)
    appeals = await service.appeals_by_decision(session, decision_ids=[d.id for d in page.items])
    context = {
        "standing": standing_read(state, strikes),
        "decisions": decisions,
        "appeals": {key: appeal_read(a) for key, a in appeals.items()},
        "links": await _content_links(session, [(d.target_type, d.target_id) for d in decisions]),
        "next_url": next_page_url(request, page.next_cursor),
        "appeal_days": runtime.settings.moderation.appeal_days,
    }
    return await render(request, "moderation/standing.html", context, viewer=viewer, session=session)


@router.post("/moderation/decisions/{decision_id}/appeal")
async def appeal(
    decision_id: IdPath, request: Request, viewer: PageMember, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await form_data(request)
    try:
        data = AppealCreate(decision_id=decision_id, statement=_text(form, "statement"))
    except ValidationError as exc:
        raise BadRequest("Say why the decision is wrong, in up to 2000 characters.", code="invalid_appeal") from exc
    row = await service.appeal(
        session,
        viewer=viewer,
        decision_id=data.decision_id,
        statement=data.statement,
        settings=runtime.settings.moderation,
    )
    if is_htmx(request):
        context = {"appeal": appeal_read(row), "decision_id": decision_id}
        return await render(request, "moderation/_appeal_status.html", context, viewer=viewer)
    return redirect(request, f"/moderation/standing#d{decision_id}")


# ---------------------------------------------------------------- the review queue (moderators)


async def _case_views(
    session: AsyncSession, runtime: Runtime, viewer: Viewer, cases: Sequence[Any]
) -> tuple[list[Any], dict[tuple[str, int], str]]:
    reads = await case_reads(session, runtime, viewer, cases)
    links = await _content_links(session, [(c.target_type, c.target_id) for c in reads])
    return reads, links


@router.get("/moderation")
async def queue(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    runtime: RuntimeDep,
    state: Annotated[Literal["open", "resolved"], Query()] = "open",
    language: Annotated[Literal["", "en", "zh", "mixed", "other"], Query()] = "",
    region: Annotated[str, Query(max_length=8)] = "",
    cursor: Cursor = None,
) -> Response:
    """Cases, highest priority first, routed to the languages the moderator reads unless a
    language is chosen; each with its content, translation, rule hits and reports."""
    service.require_staff(viewer)
    page = await service.queue(
        session,
        viewer=viewer,
        language=language or None,
        region=_region(region),
        cursor=cursor,
        limit=PAGE,
        state=state,
    )
    cases, links = await _case_views(session, runtime, viewer, page.items)
    context = {
        "cases": cases,
        "links": links,
        "state": state,
        "language": language,
        "region": _region(region) or "",
        "next_url": next_page_url(request, page.next_cursor),
        "quick_actions": QUICK_ACTIONS,
        "section": "queue",
    }
    return await render(request, "moderation/queue.html", context, viewer=viewer, session=session)


@router.get("/moderation/cases/{case_id}")
async def case_page(
    case_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    case = await service.get_case(session, viewer=viewer, case_id=case_id)
    [read], links = await _case_views(session, runtime, viewer, [case])
    reports = await service.case_reports(session, viewer=viewer, case=case)
    reporters = await accounts_service.briefs(
        session, storage=runtime.storage, user_ids=sorted({r.reporter_id for r in reports})
    )
    owner_standing = None
    if case.owner_id is not None:
        try:
            owner_standing = standing_read(*await service.standing(session, viewer=viewer, user_id=case.owner_id))
        except NotFound:
            owner_standing = None
    context = {
        "case": read,
        "links": links,
        "reports": reports,
        "reporters": reporters,
        "owner_standing": owner_standing,
        "actions": ACTIONS_FOR.get(case.target_type, ()),
        "done": request.query_params.get("done") == "1",
        "section": "queue",
    }
    return await render(request, "moderation/case.html", context, viewer=viewer, session=session)


@router.post("/moderation/cases/{case_id}/act")
async def act(
    case_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A moderator's action on the case's content, with its required reason."""
    case = await service.get_case(session, viewer=viewer, case_id=case_id)
    form = await form_data(request)
    try:
        data = ActionCreate.model_validate(
            {
                "target_type": case.target_type,
                "target_id": case.target_id,
                "action": _text(form, "action", 20),
                "reason": _text(form, "reason"),
                "regions": _codes(_text(form, "regions", 2000)),
                "labels": _codes(_text(form, "labels", 2000).lower()),
            }
        )
    except ValidationError as exc:
        raise BadRequest(
            "Choose an action and give a reason of 3 to 1000 characters.", code="invalid_action_form"
        ) from exc
    decision = await service.act(session, viewer=viewer, data=data, settings=runtime.settings.moderation)
    if is_htmx(request) and form.get("from") == "queue":
        [read] = await decision_reads(session, viewer, [decision])
        context = {"case_id": case.id, "decision": read}
        return await render(request, "moderation/_case_done.html", context, viewer=viewer)
    return redirect(request, f"/moderation/cases/{case.id}?done=1")


# ---------------------------------------------------------------- appeals queue (moderators)


@router.get("/moderation/appeals")
async def appeals(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    runtime: RuntimeDep,
    state: Annotated[Literal["open", "upheld", "overturned"], Query()] = "open",
    cursor: Cursor = None,
) -> Response:
    """Appeals for this moderator to decide: never ones against their own decisions."""
    page = await service.list_appeals(session, viewer=viewer, state=state, cursor=cursor, limit=PAGE)
    decisions = await service.get_decisions(session, viewer=viewer, decision_ids=[a.decision_id for a in page.items])
    reads = {d.id: d for d in await decision_reads(session, viewer, list(decisions.values()))}
    contents: dict[int, str | None] = {}
    for d in decisions.values():
        target = await service.load_target(session, target_type=d.target_type, target_id=d.target_id)
        contents[d.id] = target.text if target is not None else None
    appellants = await accounts_service.briefs(
        session, storage=runtime.storage, user_ids=sorted({a.appellant_id for a in page.items})
    )
    items = [
        {
            "appeal": appeal_read(a),
            "decision": reads.get(a.decision_id),
            "content": contents.get(a.decision_id),
            "appellant": appellants.get(a.appellant_id),
        }
        for a in page.items
    ]
    context = {
        "items": items,
        "state": state,
        "links": await _content_links(session, [(d.target_type, d.target_id) for d in decisions.values()]),
        "next_url": next_page_url(request, page.next_cursor),
        "section": "appeals",
    }
    return await render(request, "moderation/appeals.html", context, viewer=viewer, session=session)


@router.post("/moderation/appeals/{appeal_id}/decide")
async def decide_appeal(
    appeal_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await form_data(request)
    try:
        data = AppealDecide.model_validate({"outcome": _text(form, "outcome", 20), "reason": _text(form, "reason")})
    except ValidationError as exc:
        raise BadRequest(
            "Choose uphold or reverse and give a reason of 3 to 1000 characters.", code="invalid_appeal_decision"
        ) from exc
    row = await service.decide_appeal(
        session,
        viewer=viewer,
        appeal_id=appeal_id,
        outcome=data.outcome,
        reason=data.reason,
        settings=runtime.settings.moderation,
    )
    if is_htmx(request):
        context = {"appeal": appeal_read(row)}
        return await render(request, "moderation/_appeal_done.html", context, viewer=viewer)
    return redirect(request, "/moderation/appeals")


# ---------------------------------------------------------------- audit log (moderators)


def _optional_id(value: str, *, allow_zero: bool = False) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 19 or not ((0 if allow_zero else 1) <= int(value) <= MAX_ID):
        raise BadRequest("Some fields are not valid.", code="validation_error")
    return int(value)


@router.get("/moderation/audit")
async def audit(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    runtime: RuntimeDep,
    target_type: Annotated[str, Query(max_length=16)] = "",
    target_id: Annotated[str, Query(max_length=20)] = "",
    actor: Annotated[str, Query(max_length=40)] = "",
    cursor: Cursor = None,
) -> Response:
    """The append-only audit log, newest first (read-only; nothing here can change it)."""
    service.require_staff(viewer)
    actor_id: int | None = None
    if actor.strip():
        found = await accounts_service.find_by_usernames(session, usernames=[actor.strip().lstrip("@")])
        if not found:
            raise NotFound("That account does not exist.")
        actor_id = next(iter(found.values())).id
    page = await service.audit_log(
        session,
        viewer=viewer,
        target_type=target_type.strip() or None,
        target_id=_optional_id(target_id, allow_zero=True),
        actor_id=actor_id,
        cursor=cursor,
        limit=50,
    )
    entries = [audit_read(e) for e in page.items]
    actors = await accounts_service.briefs(
        session, storage=runtime.storage, user_ids=sorted({e.actor_id for e in entries if e.actor_id is not None})
    )
    context = {
        "entries": entries,
        "actors": actors,
        "filters": {"target_type": target_type.strip(), "target_id": target_id.strip(), "actor": actor.strip()},
        "next_url": next_page_url(request, page.next_cursor),
        "section": "audit",
    }
    return await render(request, "moderation/audit.html", context, viewer=viewer, session=session)


# ---------------------------------------------------------------- admins: policies, switches, roles


@router.get("/admin/policies")
async def policies(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    new: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """Every policy (stored or built in); ``?new=JP`` opens the editor for a new code."""
    service.require_admin(viewer)
    if new:
        if not re.fullmatch(r"[A-Za-z0-9-]{2,16}", new):
            raise BadRequest("A policy code is 2 to 16 letters, digits or dashes.", code="invalid_policy_code")
        return redirect(request, f"/admin/policies/{'global' if new.casefold() == 'global' else new.upper()}")
    language = i18n.current_language()
    items = [
        {"view": v, "name": service.localized(v.document.get("name"), language) or v.code}
        for v in await service.list_policies(session)
    ]
    context = {"items": items, "section": "policies"}
    return await render(request, "moderation/policies.html", context, viewer=viewer, session=session)


def _blank_document() -> dict[str, Any]:
    return {
        "name": {"en": "", "zh-Hans": ""},
        "summary": {"en": "", "zh-Hans": ""},
        "rules": [],
        "links": {"deny": [], "allow": []},
    }


async def _policy_page(
    request: Request,
    viewer: Viewer,
    session: AsyncSession,
    code: str,
    *,
    status_code: int = 200,
    errors: Sequence[str] = (),
    form: dict[str, Any] | None = None,
) -> Response:
    service.require_admin(viewer)
    try:
        view: service.PolicyView | None = await service.get_policy(session, code=code)
    except NotFound:
        view = None
    document = view.document if view is not None else _blank_document()
    values = form or {
        "document": json.dumps(
            {k: document.get(k) for k in ("name", "summary", "rules", "links")}, ensure_ascii=False, indent=2
        ),
        "regions": ", ".join(view.regions) if view is not None else "",
        "is_active": view.is_active if view is not None else True,
        "change_note": "",
    }
    context = {
        "code": view.code if view is not None else code,
        "policy": view,
        "versions": await service.policy_versions(session, viewer=viewer, code=view.code) if view else [],
        "form": values,
        "errors": list(errors),
        "saved": request.query_params.get("saved") == "1",
        "section": "policies",
    }
    return await render(
        request, "moderation/policy_edit.html", context, viewer=viewer, session=session, status_code=status_code
    )


PolicyCode = Annotated[str, Path(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


@router.get("/admin/policies/{code}")
async def policy_edit(code: PolicyCode, request: Request, viewer: PageUser, session: SessionDep) -> Response:
    """A policy's document as JSON (names, summary, rules, links), its regions and versions."""
    return await _policy_page(request, viewer, session, code)


@router.post("/admin/policies/{code}")
async def policy_save(code: PolicyCode, request: Request, viewer: PageUser, session: SessionDep) -> Response:
    """Store the edited document as a new version. An invalid one is shown again with what is
    wrong (422), and nothing is stored."""
    service.require_admin(viewer)
    form = await form_data(request)
    raw_document = _text(form, "document", 500_000)
    regions = _text(form, "regions", 4000)
    is_active = form.get("is_active") == "on"
    change_note = _text(form, "change_note", 2000)
    values: dict[str, Any] = {
        "document": raw_document,
        "regions": regions,
        "is_active": is_active,
        "change_note": change_note,
    }
    errors: list[str] = []
    data: PolicyWrite | None = None
    try:
        document = json.loads(raw_document or "{}")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        errors.append(i18n.gettext("The document is not valid JSON."))
    else:
        try:
            data = PolicyWrite.model_validate(
                {**document, "regions": _codes(regions), "is_active": is_active, "change_note": change_note}
            )
        except ValidationError as exc:
            for error in exc.errors()[:20]:
                where = ".".join(str(part) for part in error.get("loc", ()))
                errors.append(f"{where}: {error.get('msg', '')}")
    if data is not None:
        try:
            await service.put_policy(session, viewer=viewer, code=code, data=data)
        except AppError as exc:
            if exc.status_code not in (400, 409, 422):
                raise
            errors.append(i18n.gettext(exc.message, **exc.params))
    if errors:
        return await _policy_page(request, viewer, session, code, status_code=422, errors=errors, form=values)
    return redirect(request, f"/admin/policies/{'global' if code.casefold() == 'global' else code.upper()}?saved=1")


@router.get("/admin")
async def admin(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    """Surge switches for new accounts and staff roles."""
    service.require_admin(viewer)
    saved = request.query_params.get("saved", "")
    context = {
        "switches": await service.get_switches(session),
        "saved": i18n.gettext(SAVED[saved]) if saved in SAVED else None,
        "section": "admin",
    }
    return await render(request, "moderation/admin.html", context, viewer=viewer, session=session)


@router.post("/admin/switches")
async def save_switches(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    service.require_admin(viewer)
    form = await form_data(request)
    link_limit = _text(form, "link_limit", 10)
    try:
        data = SwitchesWrite.model_validate(
            {
                "slow_mode_seconds": _text(form, "slow_mode_seconds", 10) or 0,
                "link_limit": link_limit or None,
                "clear_link_limit": not link_limit,
                "extra_screening": form.get("extra_screening") == "on",
                "reason": _text(form, "reason"),
            }
        )
    except ValidationError as exc:
        raise BadRequest(
            "Slow mode is 0 to 86400 seconds, the link limit 0 to 100, and the reason 3 to 1000 characters.",
            code="invalid_switches",
        ) from exc
    await service.set_switches(session, viewer=viewer, data=data)
    return redirect(request, "/admin?saved=switches")


@router.post("/admin/roles")
async def save_role(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    service.require_admin(viewer)
    form = await form_data(request)
    username = _text(form, "username", 40).lstrip("@")
    try:
        data = RoleWrite.model_validate({"role": _text(form, "role", 20), "reason": _text(form, "reason")})
    except ValidationError as exc:
        raise BadRequest("Choose a role and give a reason of 3 to 1000 characters.", code="invalid_role") from exc
    if not username:
        raise NotFound("That account does not exist.")
    await service.set_role(session, viewer=viewer, username=username, role=data.role, reason=data.reason)
    return redirect(request, "/admin?saved=role")


__all__ = ["router"]
