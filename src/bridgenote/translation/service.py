"""Translation: language detection, stored translations, on-demand and eager requests,
glossary and per-user settings. Other domains use this module only.

For other domains:

* ``detect_language(text)`` / ``detect_text(text)``: the language (and segments) of a text;
* ``get_translation(session, settings=..., kind=..., object_id=..., target=...)``: what is stored
  for an object (moderation's review queue, search indexing), without a viewer check;
* ``request_translation(session, settings=..., kind=..., object_id=..., target=...)``: queue one;
* ``register_subject(kind, loader)``: make a new kind translatable (chat messages);
* ``translate_cues(db, ...)``: subtitle cue texts, stored like any other text (media builds the
  bilingual WebVTT track from them with ``media.subtitles.bilingual``).

Translations are keyed by the text's sha256, source, target and engine (provider, model
hash, prompt version), so every viewer shares them and an edit misses. Slow work (the
model) never runs inside a request or a write transaction: requests queue a job
(``interactive`` for on-demand, ``backfill`` for eager note translation) and the job
reads, translates with no transaction open, then writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.config import Settings
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import AppError, BadRequest, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from bridgenote.core.events import publish
from bridgenote.core.i18n import N_, normalise_language_tag
from bridgenote.core.ids import new_id
from bridgenote.core.jobs import QUEUE_PRIORITY, Job, enqueue, insert_ignore
from bridgenote.translation import glossary, policy, subjects, translator
from bridgenote.translation.detect import Detection, Segment, detect
from bridgenote.translation.models import GlossaryTerm, StoredTranslation, TranslationPreference, TranslationSubject
from bridgenote.translation.providers import Provider, ProviderUnavailable, Status, StatusCache, build
from bridgenote.translation.subjects import Loader, Subject

MACHINE_TRANSLATION = N_("Machine translation")
TRANSLATE_JOB = "translation.translate"

register_subject = subjects.register


class TranslationUnavailable(ServiceUnavailable):
    code = "translation_unavailable"
    message = "Translation is unavailable right now. Please try again in a little while."


class ModelInstalling(ServiceUnavailable):
    code = "model_installing"
    message = "Translation is getting ready: the translation model is still installing."


class TranslationDisabled(ServiceUnavailable):
    code = "translation_disabled"
    message = "Translation is turned off on this site."


# ---------------------------------------------------------------- engine (provider per settings)


@dataclass
class Engine:
    provider: Provider
    status: StatusCache = field(default_factory=StatusCache)


_engines: dict[str, Engine] = {}


def models_dir(settings: Settings) -> Path:
    return settings.translation.models_dir or settings.var_dir / "models"


def engine_for(settings: Settings) -> Engine:
    """The provider for these settings, built once per process (a loaded model is shared)."""
    key = f"{settings.translation.model_dump_json()}|{models_dir(settings)}"
    found = _engines.get(key)
    if found is None:
        found = _engines[key] = Engine(build(settings.translation, models_dir=models_dir(settings)))
    return found


async def provider_status(*, settings: Settings) -> Status:
    engine = engine_for(settings)
    return await engine.status.get(engine.provider)


def unavailable_error(status: Status) -> ServiceUnavailable:
    retry = str(max(1, status.retry_after or 30))
    if status.state == "installing":
        return ModelInstalling(headers={"Retry-After": retry})
    if status.state == "disabled":
        return TranslationDisabled(headers={"Retry-After": retry})
    return TranslationUnavailable(headers={"Retry-After": retry})


# ---------------------------------------------------------------- detection


def detect_text(text: str) -> Detection:
    """Language and per-segment languages of ``text`` (BCP 47 tags; None when it has no words)."""
    return detect(text)


def detect_language(text: str) -> str | None:
    return detect(text).language


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def record_subject(session: AsyncSession, *, subject: Subject) -> TranslationSubject:
    """Store the detected language of an object (idempotent; re-detects when the text changed)."""
    joined = subject.joined
    digest = content_hash(joined)
    row = await session.get(TranslationSubject, (subject.kind, subject.object_id))
    if row is not None and row.content_hash == digest:
        return row
    detection = detect(joined)
    values: dict[str, Any] = {
        "language": detection.language,
        "mixed": detection.mixed,
        "segments": [[s.start, s.end, s.language] for s in detection.segments],
        "content_hash": digest,
        "updated_at": utcnow(),
    }
    if row is None:
        await insert_ignore(
            session, TranslationSubject, {"kind": subject.kind, "object_id": subject.object_id, **values}
        )
        row = await session.get(TranslationSubject, (subject.kind, subject.object_id))
        assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    await session.flush()
    return row


async def forget_subject(session: AsyncSession, *, kind: str, object_id: int) -> None:
    await session.execute(
        delete(TranslationSubject).where(TranslationSubject.kind == kind, TranslationSubject.object_id == object_id)
    )


async def get_subject_language(session: AsyncSession, *, kind: str, object_id: int) -> str | None:
    row = await session.get(TranslationSubject, (kind, object_id))
    return row.language if row is not None else None


# ---------------------------------------------------------------- views of stored translations


@dataclass
class FieldTranslation:
    name: str
    original: str
    source: str | None
    # done | failed | pending | not_needed | unsupported
    status: str
    text: str | None = None
    reason: str | None = None
    segments: tuple[Segment, ...] = ()
    content_hash: str = ""


@dataclass
class TranslationView:
    kind: str
    object_id: int
    target: str
    source: str | None
    # done | pending | not_requested | failed | not_needed | unsupported
    status: str
    fields: list[FieldTranslation]
    engine: str
    queue_position: int | None = None
    retry_after: int | None = None
    job_key: str = ""

    @property
    def text(self) -> dict[str, str]:
        return {f.name: f.text for f in self.fields if f.text is not None}


def _field_plan(name: str, text: str, *, target: str) -> FieldTranslation:
    detection = detect(text)
    source = detection.language
    if source is None:
        return FieldTranslation(name, text, None, "not_needed", text=text)
    if source not in translator.SOURCES:
        return FieldTranslation(name, text, source, "unsupported", segments=detection.segments)
    if source == target:
        others = [s.language for s in detection.segments if s.language != target]
        if not others or others[0] not in translator.SOURCES:
            return FieldTranslation(name, text, source, "not_needed", text=text)
        # Mixed text mostly in the target language: translate the rest of it.
        source = others[0]
    return FieldTranslation(name, text, source, "pending", segments=detection.segments, content_hash=content_hash(text))


def _overall(fields: Sequence[FieldTranslation]) -> str:
    states = {f.status for f in fields}
    if not fields or states == {"not_needed"}:
        return "not_needed"
    if states <= {"not_needed", "unsupported"}:
        return "unsupported"
    if "failed" in states:
        return "failed"
    if "pending" in states:
        return "pending"
    return "done"


def _job_key(kind: str, object_id: int, target: str, fields: Sequence[FieldTranslation], engine: str) -> str:
    digest = hashlib.sha256("|".join([engine, *(f.content_hash for f in fields)]).encode()).hexdigest()[:24]
    return f"translation:{kind}:{object_id}:{target}:{digest}"


async def _view(session: AsyncSession, *, settings: Settings, subject: Subject, target: str) -> TranslationView:
    if target not in settings.site_languages or target not in translator.TARGETS:
        raise translator.UnsupportedLanguage()
    engine = engine_for(settings).provider.engine
    fields = [_field_plan(name, text, target=target) for name, text in subject.fields.items()]
    wanted = [f for f in fields if f.status == "pending"]
    if wanted:
        rows = await session.scalars(
            select(StoredTranslation).where(
                StoredTranslation.content_hash.in_({f.content_hash for f in wanted}),
                StoredTranslation.target == target,
                StoredTranslation.engine == engine,
            )
        )
        stored = {(r.content_hash, r.source): r for r in rows}
        for f in wanted:
            row = stored.get((f.content_hash, _canonical_source(f.source)))
            if row is not None:
                f.status, f.text, f.reason = row.status, row.text, row.failure_reason
    view = TranslationView(
        kind=subject.kind,
        object_id=subject.object_id,
        target=target,
        source=_dominant(fields),
        status=_overall(fields),
        fields=fields,
        engine=engine,
    )
    view.job_key = _job_key(subject.kind, subject.object_id, target, wanted, engine)
    return view


def _canonical_source(source: str | None) -> str:
    return source or ""


def _dominant(fields: Sequence[FieldTranslation]) -> str | None:
    weights: dict[str, int] = {}
    for f in fields:
        if f.source:
            weights[f.source] = weights.get(f.source, 0) + len(f.original)
    return max(weights, key=lambda k: weights[k]) if weights else None


async def _attach_job(session: AsyncSession, view: TranslationView) -> Job | None:
    if view.status != "pending":
        return None
    job = await session.scalar(select(Job).where(Job.dedupe_key == view.job_key))
    if job is None or job.state == "done":
        view.status = "not_requested"
        return job
    if job.state == "failed":
        view.status = "unavailable"
        return job
    ahead = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.state == "queued", Job.priority <= job.priority, Job.id < job.id)
    )
    view.queue_position = int(ahead or 0)
    view.retry_after = 1 if job.queue == "interactive" else 10
    return job


async def get_translation(
    session: AsyncSession, *, settings: Settings, kind: str, object_id: int, target: str
) -> TranslationView | None:
    """What is stored for an object in ``target`` (no viewer check: for moderation and search).
    None when the object is gone."""
    try:
        subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=None)
    except NotFound:
        return None
    view = await _view(session, settings=settings, subject=subject, target=target)
    await _attach_job(session, view)
    return view


async def access_translation(
    session: AsyncSession, *, settings: Settings, viewer: Viewer, kind: str, object_id: int, target: str
) -> TranslationView:
    """The translation state of an object the viewer may see (404 otherwise). Read-only."""
    subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=viewer)
    view = await _view(session, settings=settings, subject=subject, target=target)
    await _attach_job(session, view)
    return view


async def request_translation(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: str,
    object_id: int,
    target: str,
    viewer: Viewer | None = None,
    queue: str = "interactive",
    check_provider: bool = True,
) -> TranslationView:
    """Translate an object into ``target``: stored -> returned as is; otherwise a job is queued
    (``interactive`` goes ahead of all ``backfill``) and the view says ``pending``.

    With ``check_provider`` (requests from people), a provider that is down, a model that is
    still installing or translation turned off raise a 503 with Retry-After, and nothing is
    queued or stored.
    """
    subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=viewer)
    view = await _view(session, settings=settings, subject=subject, target=target)
    if view.status == "not_needed" and view.source == target:
        raise BadRequest("The text is already in that language.", code="same_language")
    if view.status == "unsupported":
        raise translator.UnsupportedLanguage()
    if view.status != "pending":
        return view
    job = await _attach_job(session, view)
    if view.status == "pending":
        return view
    if check_provider:
        status = await provider_status(settings=settings)
        if status.state != "ready":
            raise unavailable_error(status)
    payload = {"kind": kind, "object_id": object_id, "target": target}
    if job is None:
        await enqueue(session, TRANSLATE_JOB, payload, queue=queue, dedupe_key=view.job_key)
    else:
        # Asked again after the last attempt gave up (provider down then) or after its
        # result was dropped: the same job row runs again.
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(
                state="queued",
                attempts=0,
                run_at=utcnow(),
                queue=queue,
                priority=QUEUE_PRIORITY[queue],
                last_error=None,
                finished_at=None,
            )
        )
    await session.flush()
    view.status = "pending"
    await _attach_job(session, view)
    return view


# ---------------------------------------------------------------- the job's three steps


@dataclass
class Work:
    kind: str
    object_id: int
    target: str
    engine: str
    fields: list[FieldTranslation]
    terms: dict[str, list[glossary.Term]]
    subject: Subject


async def plan_work(
    session: AsyncSession, *, settings: Settings, kind: str, object_id: int, target: str
) -> Work | None:
    """Step 1 (read transaction): what is still missing. None when the object is gone."""
    try:
        subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=None)
    except NotFound:
        return None
    view = await _view(session, settings=settings, subject=subject, target=target)
    missing = [f for f in view.fields if f.status == "pending"]
    terms: dict[str, list[glossary.Term]] = {}
    for source in {_pair_source(f.source) for f in missing}:
        terms[source] = await glossary_terms(session, source=source, target=target)
    return Work(kind, object_id, target, view.engine, missing, terms, subject)


def _pair_source(source: str | None) -> str:
    return "zh-Hans" if source == "zh-Hant" else source or ""


async def perform(work: Work, *, settings: Settings) -> list[tuple[FieldTranslation, translator.Outcome]]:
    """Step 2 (no transaction open): run the provider. Raises ``ProviderUnavailable``."""
    provider = engine_for(settings).provider
    results = []
    for f in work.fields:
        assert f.source is not None
        try:
            outcome = await translator.translate_text(
                provider,
                f.original,
                source=f.source,
                target=work.target,
                terms=work.terms.get(_pair_source(f.source), []),
                segments=f.segments,
                chunk_chars=settings.translation.max_chunk_chars,
                max_chars=settings.translation.max_text_chars,
            )
        except ProviderUnavailable:
            raise
        except AppError as exc:  # the text itself cannot be translated (too long, ...)
            outcome = translator.Outcome("failed", None, provider.engine, reason=exc.code)
        results.append((f, outcome))
    return results


async def store_results(
    session: AsyncSession, *, work: Work, results: Sequence[tuple[FieldTranslation, translator.Outcome]]
) -> int:
    """Step 3 (the job's write transaction): store outcomes, record the language, publish
    ``translation.stored`` when the object now has a translation. Returns rows written."""
    written = 0
    for f, outcome in results:
        if outcome.status == "not_needed":
            continue
        written += await insert_ignore(
            session,
            StoredTranslation,
            {
                "id": new_id(),
                "content_hash": f.content_hash,
                "source": _canonical_source(f.source),
                "target": work.target,
                "engine": work.engine,
                "status": "done" if outcome.status == "done" else "failed",
                "text": outcome.text if outcome.status == "done" else None,
                "failure_reason": outcome.reason,
                "created_at": utcnow(),
            },
        )
    await record_subject(session, subject=work.subject)
    if any(outcome.status == "done" for _f, outcome in results):
        sources = [f.source for f, _o in results if f.source]
        await publish(
            session,
            "translation.stored",
            {
                "kind": work.kind,
                "object_id": work.object_id,
                "source": max(set(sources), key=sources.count) if sources else None,
                "target": work.target,
            },
        )
    return written


# ---------------------------------------------------------------- eager note translation


async def on_content_changed(
    session: AsyncSession, *, settings: Settings, kind: str, object_id: int, eager: bool
) -> list[str]:
    """After a note, comment or bio is written: detect its language and, with ``eager``,
    queue translations into every other site language (backfill). Returns the targets queued."""
    try:
        subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=None)
    except NotFound:
        return []
    row = await record_subject(session, subject=subject)
    if not eager or settings.translation.provider == "none":
        return []
    queued = []
    for target in settings.site_languages:
        if target not in translator.TARGETS or (target == row.language and not row.mixed):
            continue
        try:
            view = await request_translation(
                session,
                settings=settings,
                kind=kind,
                object_id=object_id,
                target=target,
                queue="backfill",
                check_provider=False,
            )
        except AppError:
            continue  # same language, unsupported: nothing to queue
        if view.status == "pending":
            queued.append(target)
    return queued


# ---------------------------------------------------------------- several objects at once


async def translations_for(
    session: AsyncSession, *, settings: Settings, viewer: Viewer, kind: str, object_ids: Sequence[int], target: str
) -> list[TranslationView]:
    """Stored translations of the objects the viewer may see (others are left out), for
    showing a page of notes or comments already translated."""
    views = []
    for object_id in dict.fromkeys(object_ids):
        try:
            subject = await subjects.load(session, kind=kind, object_id=object_id, viewer=viewer)
        except NotFound:
            continue
        view = await _view(session, settings=settings, subject=subject, target=target)
        await _attach_job(session, view)
        views.append(view)
    return views


# ---------------------------------------------------------------- subtitles


def subtitle_plan(settings: Settings, language: str) -> tuple[str | None, list[str]]:
    """(source, targets) for an author's subtitle track declared in ``language``: the source
    to give ``translate_cues`` (None: detect each cue, for a tag the translator does not know
    as such, e.g. ``zh-CN``), and every site language it is to be translated into."""
    declared = normalise_language_tag(language)
    targets = [t for t in settings.site_languages if t in translator.TARGETS and t != declared]
    if settings.translation.provider == "none":
        targets = []
    return (language if language in translator.SOURCES else None), targets


async def translate_cues(
    db: Any, *, settings: Settings, texts: Sequence[str], target: str, source: str | None = None
) -> list[str | None]:
    """Translations of subtitle cue texts, in order: the text itself where none is needed,
    None where a cue failed. For media's bilingual tracks (``media.subtitles.bilingual``).

    ``db`` is the runtime's database (``runtime.db``). Stored translations are looked up in a
    read transaction, the model runs with no transaction open (a repeated cue once), and the
    new rows are stored in a short write transaction of their own: a video's hundreds of cues
    never hold SQLite's write lock while the model works. Call it from a job, outside the
    job's own transaction. Raises ``ProviderUnavailable``.
    """
    provider = engine_for(settings).provider
    engine = provider.engine
    plans = []
    for text in texts:
        plan = _field_plan("cue", text, target=target)
        if source is not None and plan.status == "pending":
            plan.source = source
        plans.append(plan)
    pending = [p for p in plans if p.status == "pending"]
    stored: dict[tuple[str, str], StoredTranslation] = {}
    terms: dict[str, list[glossary.Term]] = {}
    if pending:
        async with db.transaction(write=False) as read:
            rows = await read.scalars(
                select(StoredTranslation).where(
                    StoredTranslation.content_hash.in_({p.content_hash for p in pending}),
                    StoredTranslation.target == target,
                    StoredTranslation.engine == engine,
                )
            )
            stored = {(r.content_hash, r.source): r for r in rows}
            for pair_source in {_pair_source(p.source) for p in pending}:
                terms[pair_source] = await glossary_terms(read, source=pair_source, target=target)
    results: list[str | None] = []
    made: dict[tuple[str, str], translator.Outcome] = {}
    for plan in plans:
        if plan.status != "pending":
            results.append(plan.original)
            continue
        key = (plan.content_hash, _canonical_source(plan.source))
        row = stored.get(key)
        if row is not None:
            results.append(row.text if row.status == "done" else None)
            continue
        outcome = made.get(key)
        if outcome is None:
            assert plan.source is not None
            try:
                outcome = await translator.translate_text(
                    provider,
                    plan.original,
                    source=plan.source,
                    target=target,
                    terms=terms.get(_pair_source(plan.source), []),
                    segments=plan.segments,
                    chunk_chars=settings.translation.max_chunk_chars,
                    max_chars=settings.translation.max_text_chars,
                )
            except ProviderUnavailable:
                raise
            except AppError as exc:
                outcome = translator.Outcome("failed", None, engine, reason=exc.code)
            made[key] = outcome
        results.append(outcome.text if outcome.status in ("done", "not_needed") else None)
    rows_to_store = [(key, outcome) for key, outcome in made.items() if outcome.status != "not_needed"]
    if rows_to_store:
        async with db.transaction() as write:
            for (digest, plan_source), outcome in rows_to_store:
                await insert_ignore(
                    write,
                    StoredTranslation,
                    {
                        "id": new_id(),
                        "content_hash": digest,
                        "source": plan_source,
                        "target": target,
                        "engine": engine,
                        "status": "done" if outcome.status == "done" else "failed",
                        "text": outcome.text if outcome.status == "done" else None,
                        "failure_reason": outcome.reason,
                        "created_at": utcnow(),
                    },
                )
    return results


# ---------------------------------------------------------------- glossary


@dataclass(frozen=True)
class GlossaryEntry:
    source: str
    target: str
    term: str
    translation: str
    id: int | None = None  # None: built in
    built_in: bool = False


def _check_pair(source: str, target: str) -> None:
    if source not in translator.TARGETS or target not in translator.TARGETS or source == target:
        raise translator.UnsupportedLanguage()


async def glossary_terms(session: AsyncSession, *, source: str, target: str) -> list[glossary.Term]:
    rows = await session.execute(
        select(GlossaryTerm.term, GlossaryTerm.translation).where(
            GlossaryTerm.source == source, GlossaryTerm.target == target
        )
    )
    return glossary.merged((source, target), {term: translation for term, translation in rows.all()})


async def list_glossary(session: AsyncSession, *, source: str, target: str) -> list[GlossaryEntry]:
    _check_pair(source, target)
    rows = (
        await session.scalars(
            select(GlossaryTerm)
            .where(GlossaryTerm.source == source, GlossaryTerm.target == target)
            .order_by(GlossaryTerm.term_key)
        )
    ).all()
    overridden = {r.term_key for r in rows}
    entries = [
        GlossaryEntry(source, target, term, translation, built_in=True)
        for term, translation in glossary.BUILT_IN.get((source, target), {}).items()
        if glossary.term_key(term) not in overridden
    ]
    entries += [GlossaryEntry(source, target, r.term, r.translation, id=r.id) for r in rows]
    return sorted(entries, key=lambda e: glossary.term_key(e.term))


def _require_admin(viewer: Viewer) -> None:
    if viewer.id is None:
        raise Unauthorized()
    if not policy.can_edit_glossary(viewer):
        raise Forbidden("Only administrators can change the translation glossary.", code="not_admin")


async def set_glossary_term(
    session: AsyncSession, *, viewer: Viewer, source: str, target: str, term: str, translation: str
) -> GlossaryEntry:
    """Add a term or override one (built-in or earlier); admins only."""
    _require_admin(viewer)
    _check_pair(source, target)
    term, translation = term.strip(), translation.strip()
    if not term or not translation:
        raise BadRequest("A glossary entry needs a term and its translation.", code="empty_term")
    key = glossary.term_key(term)
    row = await session.scalar(
        select(GlossaryTerm).where(
            GlossaryTerm.source == source, GlossaryTerm.target == target, GlossaryTerm.term_key == key
        )
    )
    if row is None:
        row = GlossaryTerm(
            source=source, target=target, term=term, term_key=key, translation=translation, created_by=viewer.id
        )
        session.add(row)
    else:
        row.term, row.translation, row.created_by = term, translation, viewer.id
    await session.flush()
    return GlossaryEntry(source, target, row.term, row.translation, id=row.id)


async def delete_glossary_term(session: AsyncSession, *, viewer: Viewer, term_id: int) -> None:
    _require_admin(viewer)
    result = await session.execute(delete(GlossaryTerm).where(GlossaryTerm.id == term_id))
    if not getattr(result, "rowcount", 0):
        raise NotFound("That glossary entry does not exist.", code="term_not_found")


# ---------------------------------------------------------------- per-user settings


@dataclass(frozen=True)
class Preferences:
    auto_translate_notes: bool = True
    auto_translate_comments: bool = False
    updated_at: dt.datetime | None = None


async def get_preferences(session: AsyncSession, *, viewer: Viewer) -> Preferences:
    if viewer.id is None:
        return Preferences()
    row = await session.get(TranslationPreference, viewer.id)
    if row is None:
        return Preferences()
    return Preferences(row.auto_translate_notes, row.auto_translate_comments, row.updated_at)


async def update_preferences(
    session: AsyncSession, *, viewer: Viewer, notes: bool | None = None, comments: bool | None = None
) -> Preferences:
    if viewer.id is None:
        raise Unauthorized()
    current = await get_preferences(session, viewer=viewer)
    prefs = Preferences(
        auto_translate_notes=current.auto_translate_notes if notes is None else notes,
        auto_translate_comments=current.auto_translate_comments if comments is None else comments,
        updated_at=utcnow(),
    )
    values = {
        "user_id": viewer.id,
        "auto_translate_notes": prefs.auto_translate_notes,
        "auto_translate_comments": prefs.auto_translate_comments,
        "updated_at": prefs.updated_at,
    }
    if not await insert_ignore(session, TranslationPreference, values):
        await session.execute(
            update(TranslationPreference).where(TranslationPreference.user_id == viewer.id).values(**values)
        )
    return prefs


def wants_auto_translation(prefs: Preferences, *, viewer: Viewer, kind: str, language: str | None) -> bool:
    """ "Automatically translate content in languages I don't read": notes by default, comments
    when the user turned it on; never for a language the viewer reads."""
    if language is None:
        return False
    reads = {"zh-Hans" if lang == "zh-Hant" else lang for lang in viewer.read_languages}
    if ("zh-Hans" if language == "zh-Hant" else language) in reads:
        return False
    if kind == "note":
        return prefs.auto_translate_notes
    if kind in ("comment", "bio", "board"):
        return prefs.auto_translate_comments
    return False


__all__ = ["Loader", "Subject", "register_subject"]
