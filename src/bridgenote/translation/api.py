from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import BadRequest
from bridgenote.core.schemas import OK, ErrorResponse, IdPath
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep, rate_limit
from bridgenote.translation import service
from bridgenote.translation.schemas import (
    DetectRead,
    DetectRequest,
    FieldTranslationRead,
    GlossaryEntryRead,
    GlossaryEntryWrite,
    PreferencesRead,
    PreferencesUpdate,
    ProviderStatusRead,
    SegmentRead,
    TranslationList,
    TranslationRead,
)

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 422, 429, 503)
}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS, tags=["translation"])

Kind = Annotated[str, Path(pattern=r"^[a-z_]{1,16}$", description="note, comment (also replies), bio, board")]
Target = Annotated[
    str | None, Query(max_length=16, description="language to translate into (default: the viewer's UI language)")
]


def _target(viewer: Viewer, target: str | None) -> str:
    return target or viewer.ui_language


def translation_read(view: service.TranslationView, *, auto: bool = False) -> TranslationRead:
    return TranslationRead(
        kind=view.kind,
        id=view.object_id,
        target=view.target,
        source=view.source,
        status=view.status,
        label=i18n.gettext(service.MACHINE_TRANSLATION),
        engine=view.engine,
        fields={
            f.name: FieldTranslationRead(
                original=f.original, translation=f.text, source=f.source, status=f.status, failure_reason=f.reason
            )
            for f in view.fields
        },
        queue_position=view.queue_position,
        retry_after=view.retry_after,
        auto_translate=auto,
    )


def _answer(view: service.TranslationView, response: Response) -> TranslationRead:
    if view.status == "unavailable":
        # The last attempt gave up (provider down or timing out); nothing was stored.
        raise service.TranslationUnavailable(headers={"Retry-After": "30"})
    if view.retry_after is not None:
        response.headers["Retry-After"] = str(view.retry_after)
    return translation_read(view)


@router.get("/translations/{kind}/{object_id}", response_model=TranslationRead)
async def get_translation(
    kind: Kind,
    object_id: IdPath,
    session: SessionDep,
    viewer: ViewerDep,
    runtime: RuntimeDep,
    response: Response,
    target: Target = None,
) -> TranslationRead:
    """The stored translation of a note, comment, bio or board, or where its request stands
    (``pending`` with ``queue_position`` and a Retry-After header: poll until ``done``)."""
    view = await service.access_translation(
        session,
        settings=runtime.settings,
        viewer=viewer,
        kind=kind,
        object_id=object_id,
        target=_target(viewer, target),
    )
    return _answer(view, response)


@router.post(
    "/translations/{kind}/{object_id}",
    response_model=TranslationRead,
    responses={202: {"model": TranslationRead}},
    dependencies=[Depends(rate_limit("translate"))],
)
async def request_translation(
    kind: Kind,
    object_id: IdPath,
    session: SessionDep,
    viewer: UserDep,
    runtime: RuntimeDep,
    response: Response,
    target: Target = None,
) -> TranslationRead:
    """Translate now: ``200`` with the stored translation, or ``202`` while it is being made
    (on-demand requests run ahead of all background translation). ``503`` with Retry-After when
    the translation provider is down or its model is still installing; nothing is stored."""
    view = await service.request_translation(
        session,
        settings=runtime.settings,
        viewer=viewer,
        kind=kind,
        object_id=object_id,
        target=_target(viewer, target),
    )
    if view.status == "pending":
        response.status_code = status.HTTP_202_ACCEPTED
    return _answer(view, response)


@router.get("/translations", response_model=TranslationList)
async def list_translations(
    session: SessionDep,
    viewer: ViewerDep,
    runtime: RuntimeDep,
    kind: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")],
    ids: Annotated[str, Query(max_length=1000, description="comma-separated ids (at most 50)")],
    target: Target = None,
) -> TranslationList:
    """Stored translations for a page of objects (those the viewer may not see are left out),
    each with ``auto_translate``: whether the viewer's settings say to show it translated."""
    try:
        object_ids = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise BadRequest("ids must be a comma-separated list of ids.", code="invalid_ids") from None
    if not object_ids or len(object_ids) > 50 or any(i <= 0 or i >= 2**63 for i in object_ids):
        raise BadRequest("ids must be a comma-separated list of ids.", code="invalid_ids")
    views = await service.translations_for(
        session,
        settings=runtime.settings,
        viewer=viewer,
        kind=kind,
        object_ids=object_ids,
        target=_target(viewer, target),
    )
    prefs = await service.get_preferences(session, viewer=viewer)
    return TranslationList(
        items=[
            translation_read(
                view, auto=service.wants_auto_translation(prefs, viewer=viewer, kind=kind, language=view.source)
            )
            for view in views
        ]
    )


@router.get("/translation/status", response_model=ProviderStatusRead)
async def provider_status(runtime: RuntimeDep) -> ProviderStatusRead:
    """Whether translation works right now (``installing`` while the model downloads)."""
    found = await service.provider_status(settings=runtime.settings)
    message = None
    if found.state != "ready":
        error = service.unavailable_error(found)
        message = i18n.gettext(error.message)
    engine = service.engine_for(runtime.settings).provider
    return ProviderStatusRead(
        provider=engine.name,
        engine=engine.engine,
        state=found.state,
        message=message,
        languages=list(runtime.settings.site_languages),
    )


@router.post("/translation/detect", response_model=DetectRead)
async def detect(data: DetectRequest, _viewer: ViewerDep) -> DetectRead:
    """The language of a text and, for mixed text, of each segment (e.g. for a composer)."""
    found = service.detect_text(data.text)
    return DetectRead(
        language=found.language,
        mixed=found.mixed,
        segments=[SegmentRead(start=s.start, end=s.end, language=s.language) for s in found.segments],
    )


@router.get("/me/translation-settings", response_model=PreferencesRead)
async def get_preferences(session: SessionDep, viewer: UserDep) -> PreferencesRead:
    prefs = await service.get_preferences(session, viewer=viewer)
    return PreferencesRead.model_validate(prefs)


@router.patch("/me/translation-settings", response_model=PreferencesRead)
async def update_preferences(data: PreferencesUpdate, session: SessionDep, viewer: UserDep) -> PreferencesRead:
    """ "Automatically translate content in languages I don't read" (notes on by default)."""
    prefs = await service.update_preferences(
        session, viewer=viewer, notes=data.auto_translate_notes, comments=data.auto_translate_comments
    )
    return PreferencesRead.model_validate(prefs)


def _entry(entry: service.GlossaryEntry) -> GlossaryEntryRead:
    return GlossaryEntryRead(
        id=entry.id,
        source=entry.source,
        target=entry.target,
        term=entry.term,
        translation=entry.translation,
        built_in=entry.built_in,
    )


@router.get("/translation/glossary", response_model=list[GlossaryEntryRead])
async def list_glossary(
    session: SessionDep,
    _viewer: ViewerDep,
    source: Annotated[str, Query(max_length=16)] = "zh-Hans",
    target: Annotated[str, Query(max_length=16)] = "en",
) -> list[GlossaryEntryRead]:
    """The glossary of a language pair: built-in terms and administrators' entries."""
    return [_entry(e) for e in await service.list_glossary(session, source=source, target=target)]


@router.put("/translation/glossary", response_model=GlossaryEntryRead)
async def set_glossary_term(data: GlossaryEntryWrite, session: SessionDep, viewer: UserDep) -> GlossaryEntryRead:
    """Add or override a term (administrators). Applies to translations made from now on."""
    entry = await service.set_glossary_term(
        session, viewer=viewer, source=data.source, target=data.target, term=data.term, translation=data.translation
    )
    return _entry(entry)


@router.delete("/translation/glossary/{term_id}", response_model=OK)
async def delete_glossary_term(term_id: IdPath, session: SessionDep, viewer: UserDep) -> OK:
    await service.delete_glossary_term(session, viewer=viewer, term_id=term_id)
    return OK()
