from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import NotFound
from bridgenote.core.pagination import Page
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import OK, ErrorResponse, IdPath
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep
from bridgenote.moderation import service
from bridgenote.moderation.models import Appeal, AuditEntry, Case, Decision, Strike
from bridgenote.moderation.schemas import (
    ActionCreate,
    AppealCreate,
    AppealDecide,
    AppealRead,
    AuditRead,
    CaseRead,
    ContentView,
    DecisionRead,
    PolicyRead,
    PolicyVersionRead,
    PolicyWrite,
    PublicPolicy,
    PublicRule,
    ReportCreate,
    ReportRead,
    RoleWrite,
    RuleRef,
    StandingRead,
    StrikeRead,
    Switches,
    SwitchesWrite,
)

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS)

Cursor = Annotated[str | None, Query(max_length=200, description="opaque cursor from the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=100)]
TargetPath = Literal["note", "comment", "user", "message"]


def _public(view: service.PolicyView) -> PublicPolicy:
    doc = view.document
    return PublicPolicy(
        code=view.code,
        version=view.version,
        regions=view.regions,
        name=doc.get("name") or {},
        summary=doc.get("summary") or {},
        rules=[
            PublicRule(
                code=r["code"], action=r["action"], title=r.get("title") or {}, description=r.get("description") or {}
            )
            for r in doc.get("rules", [])
        ],
        language=i18n.current_language(),
    )


def _policy_read(view: service.PolicyView) -> PolicyRead:
    return PolicyRead(
        code=view.code,
        regions=view.regions,
        version=view.version,
        is_active=view.is_active,
        builtin=view.builtin,
        updated_at=view.updated_at,
        document=view.document,
    )


async def decision_reads(session: AsyncSession, viewer: Viewer, decisions: Sequence[Decision]) -> list[DecisionRead]:
    views = await service.list_policies(session)
    titles = service.rule_titles(views)
    appeals = await service.appeals_by_decision(session, decision_ids=[d.id for d in decisions])
    language = i18n.current_language()
    out = []
    for d in decisions:
        refs = []
        for ref in d.rules:
            policy_code, _sep, rule_code = ref.partition(":")
            action = next((m for m in (d.regional or {}).items() if m[0] == policy_code), (policy_code, ""))[1]
            title = service.localized(titles.get((policy_code, rule_code)), language) or rule_code
            refs.append(RuleRef(policy=policy_code, rule=rule_code, action=action, title=title))
        appeal = appeals.get(d.id)
        out.append(
            DecisionRead(
                id=d.id,
                target_type=d.target_type,
                target_id=d.target_id,
                source=d.source,
                action=d.action,
                regions=d.regions,
                labels=d.labels,
                regional=d.regional,
                rules=refs,
                reason=d.reason,
                explanation=service.explain(d, views=views, language=language),
                created_at=d.created_at,
                overturned=d.overturned_at is not None,
                appealable=(
                    d.owner_id == viewer.id
                    and d.action in service.APPEALABLE
                    and d.source != "appeal"
                    and d.overturned_at is None
                    and appeal is None
                ),
                appeal_state=appeal.state if appeal else None,
            )
        )
    return out


def appeal_read(a: Appeal) -> AppealRead:
    return AppealRead.model_validate(a, from_attributes=True)


def audit_read(e: AuditEntry) -> AuditRead:
    """Settings changes (policies, switches) are logged against target id 0: read as ``None``."""
    return AuditRead(
        id=e.id,
        actor_id=e.actor_id,
        actor_role=e.actor_role,
        action=e.action,
        target_type=e.target_type,
        target_id=e.target_id or None,
        reason=e.reason,
        data=e.data,
        created_at=e.created_at,
    )


async def case_reads(session: AsyncSession, runtime: Runtime, viewer: Viewer, cases: Sequence[Case]) -> list[CaseRead]:
    decisions = await service.case_decisions(session, cases=cases)
    owners = await accounts_service.briefs(
        session, storage=runtime.storage, user_ids=[c.owner_id for c in cases if c.owner_id is not None]
    )
    out = []
    for c in cases:
        target = await service.load_target(session, target_type=c.target_type, target_id=c.target_id)
        content = None
        if target is not None:
            translation = await service.translate_for(
                session, target_type=c.target_type, target_id=c.target_id, viewer=viewer, settings=runtime.settings
            )
            content = ContentView(
                text=target.text,
                language=target.language,
                author=owners.get(c.owner_id) if c.owner_id is not None else None,
                state=target.state,
                translation=translation.text if translation else None,
                translated_to=translation.target if translation else None,
                translation_status=translation.status if translation else None,
            )
        out.append(
            CaseRead(
                id=c.id,
                target_type=c.target_type,
                target_id=c.target_id,
                state=c.state,
                language=c.language,
                region=c.region,
                regions=c.regions,
                priority=c.priority,
                sources=c.sources,
                hits=c.hits,
                report_count=c.report_count,
                report_reasons=c.report_reasons,
                created_at=c.created_at,
                content=content,
                decisions=await decision_reads(session, viewer, decisions.get((c.target_type, c.target_id), [])),
            )
        )
    return out


def standing_read(state: str, strikes: Sequence[Strike]) -> StandingRead:
    now = utcnow()
    return StandingRead(
        state=state,
        active_strikes=sum(1 for s in strikes if s.lifted_at is None and s.expires_at > now),
        strikes=[
            StrikeRead(
                id=s.id,
                reason=s.reason,
                created_at=s.created_at,
                expires_at=s.expires_at,
                lifted=s.lifted_at is not None,
            )
            for s in strikes
        ],
    )


# ---------------------------------------------------------------- public rules pages


@router.get("/policies", response_model=list[PublicPolicy], tags=["policies"])
async def list_policies(session: SessionDep, viewer: ViewerDep) -> list[PublicPolicy]:
    """The community rules: the global policy and each regional one, in English and Chinese
    (``language`` names the reader's UI language, so a client can pick one)."""
    return [_public(v) for v in await service.list_policies(session) if v.is_active]


@router.get("/policies/{code}", response_model=PublicPolicy, tags=["policies"])
async def get_policy(code: Annotated[str, Path(max_length=16)], session: SessionDep, viewer: ViewerDep) -> PublicPolicy:
    """One region's rules page (``global``, ``CN``, ``US``, ``EU`` ...)."""
    view = await service.get_policy(session, code=code)
    if not view.is_active:
        raise NotFound("There is no policy with that code.", code="policy_not_found")
    return _public(view)


# ---------------------------------------------------------------- reports, decisions, appeals (members)


@router.post("/reports", response_model=ReportRead, status_code=status.HTTP_201_CREATED, tags=["reports"])
async def create_report(data: ReportCreate, viewer: UserDep, session: SessionDep, response: Response) -> ReportRead:
    """Report a note, comment or account. Reporting the same thing again changes nothing (200)."""
    row, created = await service.report(session, viewer=viewer, data=data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReportRead(
        id=row.id,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        created_at=row.created_at,
        duplicate=not created,
    )


@router.get("/moderation/decisions", response_model=Page[DecisionRead], tags=["moderation"])
async def my_decisions(
    viewer: ViewerDep, session: SessionDep, cursor: Cursor = None, limit: Limit = None
) -> Page[DecisionRead]:
    """What moderation decided about your content, newest first, each with its rules and whether
    you can appeal. Suspended accounts can read this too."""
    page = await service.my_decisions(session, viewer=viewer, cursor=cursor, limit=limit)
    return Page[DecisionRead](items=await decision_reads(session, viewer, page.items), next_cursor=page.next_cursor)


@router.get("/moderation/decisions/{target_type}/{target_id}", response_model=list[DecisionRead], tags=["moderation"])
async def target_decisions(
    target_type: TargetPath, target_id: IdPath, viewer: ViewerDep, session: SessionDep
) -> list[DecisionRead]:
    """Decisions about one note, comment or account (its owner, or moderators)."""
    rows = await service.decisions_for(session, viewer=viewer, target_type=target_type, target_id=target_id)
    return await decision_reads(session, viewer, rows)


@router.post("/appeals", response_model=AppealRead, status_code=status.HTTP_201_CREATED, tags=["moderation"])
async def create_appeal(data: AppealCreate, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep) -> AppealRead:
    """Appeal a decision about your content or account; a different moderator decides it."""
    row = await service.appeal(
        session,
        viewer=viewer,
        decision_id=data.decision_id,
        statement=data.statement,
        settings=runtime.settings.moderation,
    )
    return appeal_read(row)


@router.get("/moderation/standing", response_model=StandingRead, tags=["moderation"])
async def my_standing(viewer: ViewerDep, session: SessionDep) -> StandingRead:
    state, strikes = await service.standing(session, viewer=viewer)
    return standing_read(state, strikes)


# ---------------------------------------------------------------- moderators


@router.get("/moderation/queue", response_model=Page[CaseRead], tags=["moderation"])
async def review_queue(
    viewer: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    language: Annotated[Literal["en", "zh", "mixed", "other"] | None, Query()] = None,
    region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[CaseRead]:
    """Open cases, highest priority first, routed to the languages the moderator reads unless
    ``language`` is given. Each shows the content, its translation, the rule hits and reports."""
    page = await service.queue(session, viewer=viewer, language=language, region=region, cursor=cursor, limit=limit)
    return Page[CaseRead](items=await case_reads(session, runtime, viewer, page.items), next_cursor=page.next_cursor)


@router.get("/moderation/cases/{case_id}", response_model=CaseRead, tags=["moderation"])
async def get_case(case_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> CaseRead:
    case = await service.get_case(session, viewer=viewer, case_id=case_id)
    return (await case_reads(session, runtime, viewer, [case]))[0]


@router.post(
    "/moderation/actions", response_model=DecisionRead, status_code=status.HTTP_201_CREATED, tags=["moderation"]
)
async def take_action(data: ActionCreate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> DecisionRead:
    """approve, remove, limit (in regions), label, warn, strike or suspend, with a reason."""
    decision = await service.act(session, viewer=viewer, data=data, settings=runtime.settings.moderation)
    return (await decision_reads(session, viewer, [decision]))[0]


@router.get("/moderation/appeals", response_model=Page[AppealRead], tags=["moderation"])
async def appeals_queue(
    viewer: UserDep,
    session: SessionDep,
    state: Literal["open", "upheld", "overturned"] = "open",
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[AppealRead]:
    """Appeals to decide (never ones against the viewer's own decisions)."""
    page = await service.list_appeals(session, viewer=viewer, state=state, cursor=cursor, limit=limit)
    return Page[AppealRead](items=[appeal_read(a) for a in page.items], next_cursor=page.next_cursor)


@router.post("/moderation/appeals/{appeal_id}/decide", response_model=AppealRead, tags=["moderation"])
async def decide_appeal(
    appeal_id: IdPath, data: AppealDecide, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> AppealRead:
    row = await service.decide_appeal(
        session,
        viewer=viewer,
        appeal_id=appeal_id,
        outcome=data.outcome,
        reason=data.reason,
        settings=runtime.settings.moderation,
    )
    return appeal_read(row)


@router.get("/moderation/audit", response_model=Page[AuditRead], tags=["moderation"])
async def audit_log(
    viewer: UserDep,
    session: SessionDep,
    target_type: Annotated[str | None, Query(max_length=16)] = None,
    target_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    actor_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[AuditRead]:
    """The append-only audit log, newest first."""
    page = await service.audit_log(
        session,
        viewer=viewer,
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        cursor=cursor,
        limit=limit,
    )
    return Page[AuditRead](items=[audit_read(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/moderation/users/{user_id}/standing", response_model=StandingRead, tags=["moderation"])
async def user_standing(user_id: IdPath, viewer: UserDep, session: SessionDep) -> StandingRead:
    state, strikes = await service.standing(session, viewer=viewer, user_id=user_id)
    return standing_read(state, strikes)


# ---------------------------------------------------------------- admins


@router.get("/admin/policies", response_model=list[PolicyRead], tags=["admin"])
async def admin_policies(viewer: UserDep, session: SessionDep) -> list[PolicyRead]:
    """Every policy with its full document (keywords and patterns included)."""
    service.require_admin(viewer)
    return [_policy_read(v) for v in await service.list_policies(session)]


@router.put("/admin/policies/{code}", response_model=PolicyRead, tags=["admin"])
async def put_policy(code: str, data: PolicyWrite, viewer: UserDep, session: SessionDep) -> PolicyRead:
    """Create or replace a policy; takes effect for content screened from now on, without a deploy."""
    return _policy_read(await service.put_policy(session, viewer=viewer, code=code, data=data))


@router.get("/admin/policies/{code}/versions", response_model=list[PolicyVersionRead], tags=["admin"])
async def policy_versions(code: str, viewer: UserDep, session: SessionDep) -> list[PolicyVersionRead]:
    rows = await service.policy_versions(session, viewer=viewer, code=code)
    return [PolicyVersionRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/admin/switches", response_model=Switches, tags=["admin"])
async def get_switches(viewer: UserDep, session: SessionDep) -> Switches:
    service.require_staff(viewer)
    return Switches(**await service.get_switches(session))


@router.put("/admin/switches", response_model=Switches, tags=["admin"])
async def set_switches(data: SwitchesWrite, viewer: UserDep, session: SessionDep) -> Switches:
    """Surge switches for new accounts: slow mode, link limits, extra screening."""
    return Switches(**await service.set_switches(session, viewer=viewer, data=data))


@router.put("/admin/users/{username}/role", response_model=OK, tags=["admin"])
async def set_role(username: str, data: RoleWrite, viewer: UserDep, session: SessionDep) -> OK:
    await service.set_role(session, viewer=viewer, username=username, role=data.role, reason=data.reason)
    return OK()
