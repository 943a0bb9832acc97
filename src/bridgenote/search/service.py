"""Search: one ``search()`` over notes, users, hashtags and boards, indexing, suggestions and trends.

Reads are hybrid. Keyword candidates come from the tier's full-text backend
(``backends.py``) and semantic candidates from the in-process ANN index over
multilingual note embeddings (``core.vectors``); the two rankings are fused with
reciprocal rank fusion, then blended with engagement (saves weigh more than likes),
freshness and the viewer's languages. Every candidate note passes
``notes_service.visible_note_stats`` (``visible_to``) before it is counted, so blocked,
private, removed or region-limited notes never appear, even while an index lags; boards
pass ``notes_service.visible_boards`` (``board_visible_to``) the same way.

Writes happen in jobs (``tasks.py``) after the source rows commit: they refresh
``search_documents`` and ``search_vectors``; the in-memory indexes follow those
tables by sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import math
import weakref
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.config import Settings
from bridgenote.core import embeddings
from bridgenote.core.auth import Viewer
from bridgenote.core.db import Database, on_commit, utcnow
from bridgenote.core.errors import AppError, BadRequest
from bridgenote.core.i18n import N_
from bridgenote.core.ids import id_floor_for_ms, new_id
from bridgenote.core.jobs import enqueue, insert_ignore
from bridgenote.core.pagination import clamp_limit, decode_cursor, encode_cursor
from bridgenote.core.vectors import SyncedVectorIndex, VectorChanges
from bridgenote.notes import service as notes_service
from bridgenote.search import analysis
from bridgenote.search.analysis import ParsedQuery
from bridgenote.search.backends import KeywordBackend, PostgresFullText, SqliteFts, ts_vector
from bridgenote.search.models import SearchDocument, SearchQuery, SearchVector
from bridgenote.translation import service as translation_service

log = logging.getLogger(__name__)

RRF_K = 60
# Per ranked list (keyword, semantic): enough for ten pages, few enough to filter and rank quickly.
CANDIDATES = 100
# Cosine similarity below which a semantic neighbour is noise: unrelated short texts score about
# 0.05-0.15, while a 1-3 word query and a note about it in the other language often score only 0.2-0.3.
MIN_SIMILARITY = 0.15
TYPES = ("notes", "users", "hashtags", "boards")
SORTS = ("relevance", "newest", "most_liked")
NOTE_KINDS = ("image", "video", "text")
TIME_WINDOWS = {"day": 1, "week": 7, "month": 30, "year": 365}
TREND_HALF_LIFE_HOURS = 12.0
TREND_WINDOW_DAYS = 3
# Query or tag names this similar (multilingual embeddings) are one trend: #travel / #旅行 / #旅游.
TREND_MERGE_SIMILARITY = 0.65


# ---------------------------------------------------------------- the per-process engine


class _VectorTable:
    """``core.vectors.VectorSource`` over ``search_vectors``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def changes(self, *, after: int, limit: int, applied: Mapping[int, int]) -> VectorChanges:
        async with self.db.transaction(write=False) as session:
            listed = (
                await session.execute(
                    select(SearchVector.id, SearchVector.seq)
                    .where(SearchVector.seq > after)
                    .order_by(SearchVector.seq)
                    .limit(limit)
                )
            ).all()
            wanted = [(int(i), int(s)) for i, s in listed if applied.get(int(i)) != int(s)]
            blobs: dict[int, bytes | None] = {}
            for start in range(0, len(wanted), 500):
                chunk = [i for i, _s in wanted[start : start + 500]]
                found = await session.execute(
                    select(SearchVector.id, SearchVector.vector).where(SearchVector.id.in_(chunk))
                )
                blobs.update((int(i), v) for i, v in found)
        if not listed:
            return VectorChanges.empty(embeddings.DIM)
        matrix = np.full((len(wanted), embeddings.DIM), np.nan, dtype=np.float32)
        for row, (key, _seq) in enumerate(wanted):
            blob = blobs.get(key)
            if blob is not None:
                matrix[row] = embeddings.from_blob(blob)
        return VectorChanges(
            [k for k, _s in wanted],
            [s for _k, s in wanted],
            matrix,
            scanned=len(listed),
            high=int(listed[-1][1]),
        )


@dataclass
class Engine:
    """What one process needs to answer searches against one database."""

    db: Database
    keywords: KeywordBackend
    vectors: SyncedVectorIndex
    reindexing: bool = False
    # Set after this process commits index changes: the next search catches up at once
    # instead of waiting out the throttle (other processes converge within it).
    dirty: bool = True

    async def catch_up(self, session: AsyncSession) -> None:
        force, self.dirty = self.dirty, False
        await self.keywords.catch_up(session, force=force)
        await self.vectors.catch_up(force=force)


_engines: weakref.WeakKeyDictionary[Database, Engine] = weakref.WeakKeyDictionary()


def fts_path_for(db: Database) -> Path:
    database = make_url(db.url).database or "bridgenote.db"
    path = Path(database)
    return path.with_name(path.name + ".fts")


def engine_for(runtime: Any) -> Engine:
    db: Database = runtime.db
    found = _engines.get(db)
    if found is None:
        keywords: KeywordBackend = SqliteFts(fts_path_for(db)) if db.is_sqlite else PostgresFullText()
        # Saved by ``reindex`` so a new process loads it and catches up instead of
        # reading every vector from the database before its first search.
        digest = hashlib.blake2b(db.url.encode(), digest_size=6).hexdigest()
        saved = Path(runtime.settings.var_dir) / "search" / f"notes-{digest}.usearch"
        vectors = SyncedVectorIndex(source=_VectorTable(db), dim=embeddings.DIM, path=saved)
        found = _engines[db] = Engine(db=db, keywords=keywords, vectors=vectors)
    return found


def _changed_after_commit(session: AsyncSession) -> None:
    if session.info.get("search_changed"):
        return
    session.info["search_changed"] = True

    async def mark() -> None:
        for engine in list(_engines.values()):
            engine.dirty = True

    on_commit(session, mark)


def forget_engine(runtime: Any) -> None:
    """Drop this process's indexes for the runtime's database (tests, shutdown)."""
    found = _engines.pop(runtime.db, None)
    if found is not None and isinstance(found.keywords, SqliteFts):
        found.keywords.close()


# ---------------------------------------------------------------- indexing


def _terms(*texts: str | None) -> str:
    return " ".join(t for text in texts if text for t in analysis.tokens(text))


def _language(stored: str | None, *texts: str) -> str | None:
    if stored:
        return "zh" if stored.startswith("zh") else stored.split("-")[0]
    return analysis.script_language(" ".join(texts))


async def _upsert_document(session: AsyncSession, values: dict[str, Any]) -> None:
    values = {**values, "seq": new_id()}
    values.setdefault("deleted", False)
    for column in ("title_terms", "body_terms", "extra_terms", "translation_terms"):
        values.setdefault(column, "")
    values.setdefault("translation_languages", [])
    values.setdefault("popularity", 0)
    values.setdefault("language", None)
    is_pg = session.bind is not None and session.bind.dialect.name == "postgresql"
    values["tsv"] = (
        ts_vector(values["title_terms"], values["body_terms"], values["extra_terms"], values["translation_terms"])
        if is_pg and not values["deleted"]
        else None
    )
    _changed_after_commit(session)
    document = await session.get(SearchDocument, values["id"])
    if document is None and not await insert_ignore(session, SearchDocument, values):
        document = await session.get(SearchDocument, values["id"], populate_existing=True)
    if document is not None:
        for key, value in values.items():
            setattr(document, key, value)
    await session.flush()


async def _mark_deleted(session: AsyncSession, *, kind: str, object_ids: Sequence[int]) -> None:
    for object_id in object_ids:
        existing = await session.get(SearchDocument, object_id)
        if existing is not None and not existing.deleted:
            await _upsert_document(session, {"id": object_id, "kind": kind, "deleted": True})
        if kind == "note":
            vector = await session.get(SearchVector, object_id)
            if vector is not None and vector.vector is not None:
                vector.vector = None
                vector.text_hash = ""
                vector.seq = new_id()


async def stored_translations(
    session: AsyncSession, *, settings: Settings, kind: str, object_id: int
) -> list[tuple[str, str]]:
    """(target language, text) of every finished stored translation of an object, through
    ``translation_service.get_translation``; none (and never an error) when the object is gone,
    nothing is stored, or a language is not offered."""
    found: list[tuple[str, str]] = []
    for target in settings.site_languages:
        try:
            view = await translation_service.get_translation(
                session, settings=settings, kind=kind, object_id=object_id, target=target
            )
        except AppError:
            continue  # a site language the translator does not offer
        if view is None:
            return []
        found.extend((view.target, f.text) for f in view.fields if f.status == "done" and f.text)
    return found


def _text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


async def index_notes(
    session: AsyncSession, *, settings: Settings, note_ids: Sequence[int], embed_queue: str | None = "default"
) -> int:
    """Refresh the documents of these notes (and of their hashtags), with the words of their
    stored translations; queue embeddings for notes whose text changed. Notes that are gone or
    deleted leave the index. Idempotent."""
    texts = await notes_service.note_texts(session, note_ids=note_ids)
    found = {t.id for t in texts}
    await _mark_deleted(session, kind="note", object_ids=[i for i in note_ids if i not in found])
    await _mark_deleted(session, kind="note", object_ids=[t.id for t in texts if not t.live])
    to_embed: list[int] = []
    tag_ids: set[int] = set()
    for note in (t for t in texts if t.live):
        analysis.add_words(key for _id, key, _display in note.hashtags)
        tag_ids.update(tag_id for tag_id, _k, _d in note.hashtags)
        translations = await stored_translations(session, settings=settings, kind="note", object_id=note.id)
        extra = " ".join(
            [_terms(*(d for _i, _k, d in note.hashtags), note.place_name, *note.comments)]
            + [analysis.tag_token(k) for _i, k, _d in note.hashtags]
        )
        await _upsert_document(
            session,
            {
                "id": note.id,
                "kind": "note",
                "language": _language(note.language, note.title, note.body),
                "title_terms": _terms(note.title),
                "body_terms": _terms(note.body),
                "extra_terms": extra,
                "translation_terms": _terms(*(text for _lang, text in translations)),
                "translation_languages": sorted({lang for lang, _text in translations}),
            },
        )
        sentence = analysis.sentence_for_embedding([note.title, note.body, *(d for _i, _k, d in note.hashtags)])
        vector = await session.get(SearchVector, note.id)
        if vector is None or vector.text_hash != _text_hash(sentence) or vector.vector is None:
            to_embed.append(note.id)
    if tag_ids:
        await index_hashtags(session, hashtag_ids=sorted(tag_ids))
    if to_embed and embed_queue is not None:
        await enqueue(session, "search.embed_notes", {"note_ids": to_embed}, queue=embed_queue)
    return len(texts)


async def embed_notes(session: AsyncSession, *, note_ids: Sequence[int]) -> int:
    """Compute and store the embeddings of these notes (CPU work runs in a thread)."""
    texts = [t for t in await notes_service.note_texts(session, note_ids=note_ids, comments=0) if t.live]
    if not texts:
        return 0
    sentences = [analysis.sentence_for_embedding([t.title, t.body, *(d for _i, _k, d in t.hashtags)]) for t in texts]
    vectors = await embeddings.embed_async(sentences)
    _changed_after_commit(session)
    for note, sentence, vector in zip(texts, sentences, vectors, strict=True):
        seq, text_hash, blob = new_id(), _text_hash(sentence), embeddings.to_blob(vector)
        row = await session.get(SearchVector, note.id)
        if row is None:
            values = {"id": note.id, "seq": seq, "text_hash": text_hash, "vector": blob}
            if await insert_ignore(session, SearchVector, values):
                continue
            row = await session.get(SearchVector, note.id, populate_existing=True)
        if row is not None:
            row.seq, row.text_hash, row.vector = seq, text_hash, blob
    await session.flush()
    return len(texts)


async def index_hashtags(session: AsyncSession, *, hashtag_ids: Sequence[int]) -> int:
    tags = await notes_service.get_hashtags(session, hashtag_ids=hashtag_ids)
    for tag in tags:
        analysis.add_words([tag.key])
        await _upsert_document(
            session,
            {
                "id": tag.id,
                "kind": "hashtag",
                "language": analysis.script_language(tag.key),
                "title_terms": " ".join([analysis.tag_token(tag.key), _terms(tag.display_name)]),
                "extra_terms": " ".join(analysis.pinyin_tokens(tag.key)),
                "popularity": tag.note_count,
            },
        )
    return len(tags)


async def index_users(session: AsyncSession, *, user_ids: Sequence[int]) -> int:
    users = await accounts_service.get_users(session, user_ids=user_ids)
    await _mark_deleted(session, kind="user", object_ids=[i for i in user_ids if i not in users])
    for user in users.values():
        if user.state == "deleted":
            await _mark_deleted(session, kind="user", object_ids=[user.id])
            continue
        pinyin = analysis.pinyin_tokens(user.display_name)
        await _upsert_document(
            session,
            {
                "id": user.id,
                "kind": "user",
                "language": analysis.script_language(user.display_name),
                "title_terms": " ".join(
                    [_terms(user.display_name), _terms(user.username), analysis.clean(user.username)]
                ),
                "body_terms": _terms(user.bio),
                "extra_terms": " ".join(pinyin),
                "popularity": user.follower_count,
            },
        )
    return len(users)


async def index_boards(session: AsyncSession, *, board_ids: Sequence[int]) -> int:
    """Refresh the documents of these boards (title and description, with pinyin of the title).
    Boards that are gone leave the index; every member's default "Saved" board is never indexed
    (they all share that name). Private boards are indexed: search filters them per viewer when
    it reads, so a board made private disappears from other people's results at once."""
    boards = await notes_service.get_boards(session, board_ids=board_ids)
    found = {b.id for b in boards}
    await _mark_deleted(session, kind="board", object_ids=[i for i in board_ids if i not in found])
    await _mark_deleted(session, kind="board", object_ids=[b.id for b in boards if b.is_default])
    for board in boards:
        if board.is_default:
            continue
        await _upsert_document(
            session,
            {
                "id": board.id,
                "kind": "board",
                "language": analysis.script_language(f"{board.title} {board.description}"),
                "title_terms": _terms(board.title),
                "body_terms": _terms(board.description),
                "extra_terms": " ".join(analysis.title_pinyin_tokens(board.title)),
                "popularity": board.note_count,
            },
        )
    return len(boards)


async def index_translation(session: AsyncSession, *, settings: Settings, kind: str, object_id: int) -> None:
    """A translation was stored: re-index the object so its translated terms are searchable."""
    if kind == "note":
        await index_notes(session, settings=settings, note_ids=[object_id])


# ---------------------------------------------------------------- reindex


@dataclass
class ReindexReport:
    notes: int = 0
    users: int = 0
    hashtags: int = 0
    boards: int = 0
    embedded: int = 0
    seconds: float = 0.0


async def reindex(
    runtime: Any,
    *,
    batch: int = 500,
    embed: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> ReindexReport:
    """Rebuild every document and vector, then rebuild this process's indexes beside the live
    ones and swap them in. Search keeps answering from the old indexes the whole time: each
    batch is its own short transaction, and documents are replaced in place, never dropped."""
    engine = engine_for(runtime)
    report = ReindexReport()
    loop = asyncio.get_running_loop()
    started = loop.time()
    engine.reindexing = True
    try:
        for kind, lister, indexer in (
            ("users", accounts_service.user_ids_after, index_users),
            ("notes", notes_service.note_ids_after, None),
        ):
            after = 0
            while True:
                async with runtime.db.transaction(write=False) as session:
                    ids = await lister(session, after_id=after, limit=batch)
                if not ids:
                    break
                async with runtime.db.transaction() as session:
                    if indexer is not None:
                        await indexer(session, user_ids=ids)
                    else:
                        await index_notes(session, settings=runtime.settings, note_ids=ids, embed_queue=None)
                        if embed:
                            report.embedded += await embed_notes(
                                session, note_ids=await _stale_vectors(session, note_ids=ids)
                            )
                setattr(report, kind, getattr(report, kind) + len(ids))
                after = ids[-1]
                if progress is not None:
                    progress(kind, len(ids))
                await asyncio.sleep(0)  # let searches and requests run between batches
        after = 0
        while True:
            async with runtime.db.transaction(write=False) as session:
                tags = await notes_service.hashtags_after(session, after_id=after, limit=batch)
            if not tags:
                break
            async with runtime.db.transaction() as session:
                await index_hashtags(session, hashtag_ids=[t.id for t in tags])
            report.hashtags += len(tags)
            after = tags[-1].id
            if progress is not None:
                progress("hashtags", len(tags))
        after = 0
        while True:
            async with runtime.db.transaction(write=False) as session:
                board_ids = await notes_service.board_ids_after(session, after_id=after, limit=batch)
            if not board_ids:
                break
            async with runtime.db.transaction() as session:
                await index_boards(session, board_ids=board_ids)
            report.boards += len(board_ids)
            after = board_ids[-1]
            if progress is not None:
                progress("boards", len(board_ids))
            await asyncio.sleep(0)
        await _drop_orphans(runtime)
        await engine.keywords.rebuild(lambda: runtime.db.transaction(write=False))
        await engine.vectors.rebuild()
        await asyncio.to_thread(engine.vectors.save)
    finally:
        engine.reindexing = False
    report.seconds = loop.time() - started
    return report


async def _stale_vectors(session: AsyncSession, *, note_ids: Sequence[int]) -> list[int]:
    """Notes among ``note_ids`` whose stored vector is missing or made from other text."""
    texts = await notes_service.note_texts(session, note_ids=note_ids, comments=0)
    hashes = {
        t.id: _text_hash(analysis.sentence_for_embedding([t.title, t.body, *(d for _i, _k, d in t.hashtags)]))
        for t in texts
        if t.live
    }
    hash_rows = await session.execute(
        select(SearchVector.id, SearchVector.text_hash).where(SearchVector.id.in_(hashes))
    )
    stored = {int(i): h for i, h in hash_rows}
    return [i for i, h in hashes.items() if stored.get(i) != h]


async def _drop_orphans(runtime: Any) -> None:
    """Documents whose object no longer exists (missed events) are marked deleted."""
    after = 0
    while True:
        async with runtime.db.transaction(write=False) as session:
            rows = (
                await session.execute(
                    select(SearchDocument.id, SearchDocument.kind)
                    .where(SearchDocument.id > after, SearchDocument.deleted.is_(False))
                    .order_by(SearchDocument.id)
                    .limit(1000)
                )
            ).all()
            if not rows:
                return
            note_ids = [i for i, k in rows if k == "note"]
            user_ids = [i for i, k in rows if k == "user"]
            board_ids = [i for i, k in rows if k == "board"]
            live_notes = {
                t.id for t in await notes_service.note_texts(session, note_ids=note_ids, comments=0) if t.live
            }
            live_users = {
                u.id
                for u in (await accounts_service.get_users(session, user_ids=user_ids)).values()
                if u.state != "deleted"
            }
            live_boards = {
                b.id for b in await notes_service.get_boards(session, board_ids=board_ids) if not b.is_default
            }
        gone_notes = [i for i in note_ids if i not in live_notes]
        gone_users = [i for i in user_ids if i not in live_users]
        gone_boards = [i for i in board_ids if i not in live_boards]
        if gone_notes or gone_users or gone_boards:
            async with runtime.db.transaction() as session:
                await _mark_deleted(session, kind="note", object_ids=gone_notes)
                await _mark_deleted(session, kind="user", object_ids=gone_users)
                await _mark_deleted(session, kind="board", object_ids=gone_boards)
        after = rows[-1][0]


# ---------------------------------------------------------------- reading


@dataclass
class NoteHit:
    note_id: int
    score: float
    matched: str  # "keyword", "translation", "semantic" or "keyword+semantic"
    language: str | None


@dataclass
class SearchResult:
    query: ParsedQuery
    type: str
    notes: list[NoteHit] = field(default_factory=list)
    users: list[Any] = field(default_factory=list)  # accounts' User rows, best first
    hashtags: list[notes_service.HashtagInfo] = field(default_factory=list)
    boards: list[Any] = field(default_factory=list)  # notes' Board rows, best first
    next_cursor: str | None = None


def _rrf(rankings: Sequence[tuple[Sequence[int], float]]) -> dict[int, float]:
    fused: dict[int, float] = defaultdict(float)
    for ids, weight in rankings:
        for rank, doc_id in enumerate(ids):
            fused[doc_id] += weight / (RRF_K + rank + 1)
    return fused


async def _keyword_hits(
    engine: Engine, session: AsyncSession, *, kind: str, query: ParsedQuery, limit: int
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """((id, score) matching every query word, (id, score) matching some word but not all), best first."""
    if not query.groups:
        return [], []
    strict = await engine.keywords.search(session, kind=kind, query=query, mode="all", limit=limit)
    loose: list[tuple[int, float]] = []
    if len(query.groups) > 1 and len(strict) < limit:
        seen = {i for i, _s in strict}
        found = await engine.keywords.search(session, kind=kind, query=query, mode="any", limit=limit)
        # Partial matches only fill the keyword list up to ``limit``: every candidate costs a
        # visibility check and a ranking, and the fill-up ones rank low anyway.
        loose = [(i, score) for i, score in found if i not in seen][: limit - len(strict)]
    return strict, loose


async def _keyword_candidates(
    engine: Engine, session: AsyncSession, *, kind: str, query: ParsedQuery, limit: int
) -> tuple[list[int], list[int]]:
    """(ids matching every query word, ids matching some word but not all)."""
    strict, loose = await _keyword_hits(engine, session, kind=kind, query=query, limit=limit)
    return [i for i, _s in strict], [i for i, _s in loose]


def _rrf_tied(rankings: Sequence[tuple[Sequence[tuple[int, float]], float]]) -> dict[int, float]:
    """:func:`_rrf` where documents the backend scored equally share a rank, so that among equally
    relevant objects (boards with the same title words) the order is left to popularity and not
    to how each backend happens to break ties."""
    fused: dict[int, float] = defaultdict(float)
    for hits, weight in rankings:
        rank, previous = 0, None
        for position, (doc_id, score) in enumerate(hits):
            if previous is None or not math.isclose(score, previous, rel_tol=1e-9, abs_tol=1e-12):
                rank, previous = position, score
            fused[doc_id] += weight / (RRF_K + rank + 1)
    return fused


def reader_languages(viewer: Viewer) -> set[str]:
    return {("zh" if lang.startswith("zh") else lang.split("-")[0]) for lang in viewer.read_languages}


_FILTER_ERRORS = {
    "type": N_("Unknown result type: use notes, users, hashtags or boards."),
    "sort": N_("Unknown sort order: use relevance, newest or most_liked."),
    "kind": N_("Unknown note type: use image, video or text."),
    "time": N_("Unknown time range: use day, week, month or year."),
    "language": N_("Unknown language filter: use zh or en."),
}


def _check_choice(value: str | None, allowed: Sequence[str], what: str) -> None:
    if value is not None and value not in allowed:
        raise BadRequest(_FILTER_ERRORS[what], code="invalid_filter")


async def search(
    session: AsyncSession,
    *,
    runtime: Any,
    viewer: Viewer,
    q: str,
    type: str = "notes",
    note_kind: str | None = None,
    language: str | None = None,
    time: str | None = None,
    sort: str = "relevance",
    cursor: str | None = None,
    limit: int | None = None,
) -> SearchResult:
    """The one search. Never raises on what was typed (any text is a query, possibly with no
    results); unknown filters and tampered cursors are a 400."""
    _check_choice(type, TYPES, "type")
    _check_choice(sort, SORTS, "sort")
    _check_choice(note_kind, NOTE_KINDS, "kind")
    _check_choice(time, tuple(TIME_WINDOWS), "time")
    _check_choice(language, ("zh", "en"), "language")
    n = clamp_limit(limit)
    after = decode_cursor(cursor, arity=2)
    query = analysis.parse_query(q)
    result = SearchResult(query=query, type=type)
    if query.is_empty:
        return result
    engine = engine_for(runtime)
    await engine.catch_up(session)
    if type == "users":
        await _search_users(engine, session, viewer=viewer, query=query, result=result, n=n, after=after)
        return result
    if type == "hashtags":
        await _search_hashtags(engine, session, query=query, result=result, n=n, after=after)
        return result
    if type == "boards":
        await _search_boards(engine, session, viewer=viewer, query=query, result=result, n=n, after=after)
        return result

    # The keyword backend (a thread over the FTS5 file, or PostgreSQL over the network) and the
    # query encoder plus ANN lookup (a thread) wait on different things: run them side by side.
    (strict, loose), neighbours = await asyncio.gather(
        _keyword_candidates(engine, session, kind="note", query=query, limit=CANDIDATES),
        _semantic_candidates(engine, query.text),
    )
    similarity = {note_id: sim for note_id, sim in neighbours if sim >= MIN_SIMILARITY}
    fused = _rrf([(strict, 1.0), (loose, 0.35), (list(similarity), 0.9)])
    if not fused:
        return result
    since = utcnow() - dt.timedelta(days=TIME_WINDOWS[time]) if time else None
    visible = await notes_service.visible_note_stats(
        session, viewer=viewer, note_ids=list(fused), kind=note_kind, since=since
    )
    docs = await _document_languages(session, [v.id for v in visible])
    if language is not None:
        visible = [v for v in visible if docs.get(v.id, (None, False))[0] == language]
    scored = _score_notes(visible, fused, docs, viewer_languages=reader_languages(viewer), sort=sort)
    page, result.next_cursor = _keyset_page(scored, after, n)
    keyword_set = set(strict) | set(loose)
    translated: list[NoteHit] = []
    for key, note_id in page:
        in_keyword = note_id in keyword_set
        matched = "keyword" if in_keyword else "semantic"
        if in_keyword and note_id in similarity:
            matched = "keyword+semantic"
        lang, has_translation = docs.get(note_id, (None, False))
        hit = NoteHit(note_id=note_id, score=key, matched=matched, language=lang)
        result.notes.append(hit)
        if in_keyword and has_translation:
            translated.append(hit)
    await _mark_translation_matches(session, query, translated)
    return result


async def _semantic_candidates(engine: Engine, text: str) -> list[tuple[int, float]]:
    """(note id, cosine similarity) of the query's nearest note vectors, best first."""
    if not len(engine.vectors.index):
        return []
    cached = embeddings.cached_query(text)
    if cached is not None:
        # A cached vector leaves only the ANN lookup (a millisecond or two): not worth a thread hop.
        return engine.vectors.search(cached, CANDIDATES)

    def embed_and_search() -> list[tuple[int, float]]:
        return engine.vectors.search(embeddings.embed_query(text), CANDIDATES)

    return await asyncio.to_thread(embed_and_search)


# Built once: a statement made per call spends more in SQLAlchemy (coercing every id of the IN list,
# computing the cache key) than in the database.
_LANGUAGES = select(SearchDocument.id, SearchDocument.language, SearchDocument.translation_terms != "").where(
    SearchDocument.id.in_(bindparam("ids", expanding=True))
)
_TERMS = select(
    SearchDocument.id,
    SearchDocument.title_terms,
    SearchDocument.body_terms,
    SearchDocument.extra_terms,
    SearchDocument.translation_terms,
).where(SearchDocument.id.in_(bindparam("ids", expanding=True)))


async def _document_languages(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[str | None, bool]]:
    """id -> (the document's language, whether it holds words of stored translations)."""
    if not ids:
        return {}
    rows = await session.execute(_LANGUAGES, {"ids": list(ids)})
    return {int(i): (lang, bool(translated)) for i, lang, translated in rows}


_FRESHNESS_DAYS = 30.0


def _score_notes(
    notes: Sequence[Any],
    fused: Mapping[int, float],
    docs: Mapping[int, tuple[str | None, bool]],
    *,
    viewer_languages: set[str],
    sort: str,
) -> list[tuple[float, int]]:
    """(sort key, id) of each note: fused relevance times a boost for engagement, freshness and
    the viewer's languages (or, for the other sorts, newest or most liked first)."""
    if not notes:
        return []
    ids = [note.id for note in notes]
    now = utcnow().timestamp()
    counts = np.array(
        [(n.save_count, n.like_count, n.comment_count, n.created_at.timestamp()) for n in notes], dtype=np.float64
    )
    # Saves say "I will come back to this", a stronger signal than a like.
    engagement = np.log1p(2.0 * counts[:, 0] + counts[:, 1] + 0.5 * counts[:, 2])
    age_days = np.maximum(0.0, (now - counts[:, 3]) / 86400)
    boost = 1.0 + 0.08 * engagement + 0.15 * np.exp(-age_days / _FRESHNESS_DAYS)
    if viewer_languages:
        boost += 0.1 * np.array([docs.get(i, (None, False))[0] in viewer_languages for i in ids])
    # 1.0 for a note ranked first by one list.
    relevance = np.array([fused[i] for i in ids]) * (RRF_K + 1)
    score = relevance * boost
    if sort == "newest":
        keys = [float(i) for i in ids]
    elif sort == "most_liked":
        keys = (counts[:, 1] + score / 1000.0).tolist()
    else:
        keys = score.tolist()
    return list(zip(keys, ids, strict=True))


def _keyset_page(
    scored: list[tuple[float, int]], after: Sequence[Any] | None, n: int
) -> tuple[list[tuple[float, int]], str | None]:
    """One page of (sort key, id) pairs, best first, after the cursor's pair; and the next cursor."""
    scored = sorted(scored, key=lambda s: (s[0], s[1]), reverse=True)
    if after is not None:
        try:
            last_key, last_id = float(after[0]), int(after[1])
        except (TypeError, ValueError) as exc:
            raise BadRequest("That page cursor is not valid.", code="invalid_cursor") from exc
        scored = [s for s in scored if (s[0], s[1]) < (last_key, last_id)]
    page = scored[: n + 1]
    if len(page) > n:
        last = page[n - 1]
        return page[:n], encode_cursor(repr(last[0]), last[1])
    return page, None


async def _mark_translation_matches(session: AsyncSession, query: ParsedQuery, hits: list[NoteHit]) -> None:
    """A keyword hit whose terms occur only in a stored translation is a cross-lingual match."""
    if not hits:
        return
    rows = await session.execute(_TERMS, {"ids": [h.note_id for h in hits]})
    terms = query.all_terms()
    for doc_id, title, body, extra, translated in rows:
        original = set(f"{title} {body} {extra}".split())
        if terms and not terms & original and terms & set(translated.split()):
            for hit in hits:
                if hit.note_id == doc_id:
                    hit.matched = "translation"


async def _search_users(
    engine: Engine,
    session: AsyncSession,
    *,
    viewer: Viewer,
    query: ParsedQuery,
    result: SearchResult,
    n: int,
    after: Sequence[Any] | None,
) -> None:
    """People by name, username and pinyin; equally relevant ones by followers; keyset-paged."""
    strict, loose = await _keyword_candidates(engine, session, kind="user", query=query, limit=CANDIDATES)
    fused = _rrf([(strict, 1.0), (loose, 0.3)])
    users = {u.id: u for u in await accounts_service.visible_users(session, viewer=viewer, user_ids=list(fused))}
    scored = [(fused[u.id] * (RRF_K + 1) * (1 + 0.05 * math.log1p(u.follower_count)), u.id) for u in users.values()]
    page, result.next_cursor = _keyset_page(scored, after, n)
    result.users = [users[user_id] for _key, user_id in page]


async def _search_hashtags(
    engine: Engine,
    session: AsyncSession,
    *,
    query: ParsedQuery,
    result: SearchResult,
    n: int,
    after: Sequence[Any] | None,
) -> None:
    """Hashtags in use, by name and pinyin; equally relevant ones by how many notes carry them;
    keyset-paged."""
    strict, loose = await _keyword_candidates(engine, session, kind="hashtag", query=query, limit=CANDIDATES)
    fused = _rrf([(strict, 1.0), (loose, 0.3)])
    tags = {t.id: t for t in await notes_service.get_hashtags(session, hashtag_ids=list(fused)) if t.note_count > 0}
    scored = [(fused[t.id] * (RRF_K + 1) * (1 + 0.1 * math.log1p(t.note_count)), t.id) for t in tags.values()]
    page, result.next_cursor = _keyset_page(scored, after, n)
    result.hashtags = [tags[tag_id] for _key, tag_id in page]


async def _search_boards(
    engine: Engine,
    session: AsyncSession,
    *,
    viewer: Viewer,
    query: ParsedQuery,
    result: SearchResult,
    n: int,
    after: Sequence[Any] | None,
) -> None:
    """Boards by title and description (and pinyin of the title), equally relevant ones by how many
    notes they hold, keyset-paged like notes. Every
    candidate passes ``notes_service.visible_boards`` now, not when it was indexed: a board made
    private, or an owner blocked, suspended or deleted, drops out of the next search."""
    strict, loose = await _keyword_hits(engine, session, kind="board", query=query, limit=CANDIDATES)
    fused = _rrf_tied([(strict, 1.0), (loose, 0.3)])
    boards = {
        b.id: b
        for b in await notes_service.visible_boards(session, viewer=viewer, board_ids=list(fused))
        if not b.is_default
    }
    scored = [
        (fused[b.id] * (RRF_K + 1) * (1 + 0.05 * math.log1p(max(b.note_count, 0))), b.id) for b in boards.values()
    ]
    page, result.next_cursor = _keyset_page(scored, after, n)
    result.boards = [boards[board_id] for _key, board_id in page]


# ---------------------------------------------------------------- recent searches, suggestions, trends

_pending_logs: set[asyncio.Task[None]] = set()


def record_search_after_commit(runtime: Any, *, viewer: Viewer, query: ParsedQuery) -> None:
    """Log a search in its own short write transaction, off the request's read transaction
    (a GET never upgrades to a write: ADR 0002). Best effort: a lost log line loses nothing."""
    if query.is_empty:
        return

    # The id (time order) is taken now: the writes may finish in any order.
    row = {"id": new_id(), "user_id": viewer.id, "key": query.key[:256], "text": query.text[:256]}

    async def write() -> None:
        try:
            async with runtime.db.transaction() as session:
                session.add(SearchQuery(**row))
        except Exception:
            log.exception("could not record a search")

    task = asyncio.get_running_loop().create_task(write())
    _pending_logs.add(task)
    task.add_done_callback(_pending_logs.discard)


async def wait_for_search_logs() -> None:
    """Let pending search-log writes finish (tests; shutdown)."""
    while _pending_logs:
        await asyncio.gather(*list(_pending_logs), return_exceptions=True)


async def recent_searches(session: AsyncSession, *, viewer: Viewer, limit: int = 10) -> list[str]:
    if viewer.id is None:
        return []
    rows = await session.execute(
        select(SearchQuery.key, func.max(SearchQuery.text), func.max(SearchQuery.id).label("last"))
        .where(SearchQuery.user_id == viewer.id)
        .group_by(SearchQuery.key)
        .order_by(func.max(SearchQuery.id).desc())
        .limit(limit)
    )
    return [str(text) for _key, text, _last in rows]


async def clear_recent_searches(session: AsyncSession, *, viewer: Viewer, q: str | None = None) -> None:
    """Forget the viewer's searches (all, or one query)."""
    if viewer.id is None:
        return
    stmt = delete(SearchQuery).where(SearchQuery.user_id == viewer.id)
    if q is not None:
        stmt = stmt.where(SearchQuery.key == analysis.parse_query(q).key)
    await session.execute(stmt)


@dataclass
class Trend:
    key: str
    display: str
    score: float
    # The same trend as written in each language: {"en": "travel", "zh": "旅行"}.
    variants: dict[str, str] = field(default_factory=dict)


def _decay(age: dt.timedelta) -> float:
    return float(0.5 ** (age.total_seconds() / 3600 / TREND_HALF_LIFE_HOURS))


def _merge_trends(candidates: list[Trend], *, limit: int) -> list[Trend]:
    """Merge names that mean the same thing across languages into the strongest of them."""
    candidates = sorted(candidates, key=lambda t: t.score, reverse=True)[: limit * 4]
    if not candidates:
        return []
    vectors = np.stack([embeddings.embed_query(t.display) for t in candidates])
    merged: list[tuple[Trend, np.ndarray[Any, Any]]] = []
    for trend, vector in zip(candidates, vectors, strict=True):
        lang = analysis.script_language(trend.display) or "other"
        for head, head_vector in merged:
            if float(head_vector @ vector) >= TREND_MERGE_SIMILARITY:
                head.score += trend.score
                head.variants.setdefault(lang, trend.display)
                break
        else:
            trend.variants = {lang: trend.display}
            merged.append((trend, vector))
    out = sorted((t for t, _v in merged), key=lambda t: t.score, reverse=True)
    return out[:limit]


async def trending_searches(session: AsyncSession, *, limit: int = 10) -> list[Trend]:
    """Queries many accounts ran lately: each account counts once per query, decayed by age;
    anonymous searches count a quarter. Merged across languages."""
    now = utcnow()
    since = id_floor_for_ms(int((now - dt.timedelta(days=TREND_WINDOW_DAYS)).timestamp() * 1000))
    rows = await session.execute(
        select(SearchQuery.key, SearchQuery.text, SearchQuery.user_id, func.max(SearchQuery.created_at))
        .where(SearchQuery.id >= since)
        .group_by(SearchQuery.key, SearchQuery.text, SearchQuery.user_id)
        .limit(100_000)
    )
    scores: dict[str, Trend] = {}
    for key, text, user_id, last in rows:
        weight = (1.0 if user_id is not None else 0.25) * _decay(now - last)
        trend = scores.setdefault(str(key), Trend(key=str(key), display=str(text), score=0.0))
        trend.score += weight
    return await asyncio.to_thread(_merge_trends, list(scores.values()), limit=limit)


async def trending_hashtags(session: AsyncSession, *, limit: int = 10) -> list[Trend]:
    """Hashtags used by many accounts lately (each author once per tag, decayed), merged across
    languages (#travel, #旅行 and #旅游 are one trend with per-language names)."""
    now = utcnow()
    uses = await notes_service.hashtag_uses_since(session, since=now - dt.timedelta(days=TREND_WINDOW_DAYS))
    best: dict[tuple[int, int], float] = {}
    for tag_id, author_id, created in uses:
        weight = _decay(now - created)
        best[(tag_id, author_id)] = max(best.get((tag_id, author_id), 0.0), weight)
    per_tag: dict[int, float] = defaultdict(float)
    for (tag_id, _author), weight in best.items():
        per_tag[tag_id] += weight
    tags = {t.id: t for t in await notes_service.get_hashtags(session, hashtag_ids=list(per_tag))}
    candidates = [
        Trend(key=tags[i].key, display=tags[i].display_name, score=s) for i, s in per_tag.items() if i in tags
    ]
    return await asyncio.to_thread(_merge_trends, candidates, limit=limit)


@dataclass
class Suggestion:
    kind: str  # "query", "hashtag" or "user"
    text: str
    id: int | None = None


async def suggest(session: AsyncSession, *, runtime: Any, viewer: Viewer, q: str, limit: int = 8) -> list[Suggestion]:
    """As-you-type completions: popular past queries, hashtags and accounts (names and pinyin)."""
    query = analysis.parse_query(q)
    if query.is_empty:
        return []
    out: list[Suggestion] = []
    prefix = query.key
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    month = id_floor_for_ms(int((utcnow() - dt.timedelta(days=30)).timestamp() * 1000))
    popular = await session.execute(
        select(SearchQuery.key, func.max(SearchQuery.text), func.count(func.distinct(SearchQuery.user_id)).label("n"))
        .where(SearchQuery.id >= month, SearchQuery.key.like(f"{escaped}%", escape="\\"))
        .group_by(SearchQuery.key)
        .order_by(func.count(func.distinct(SearchQuery.user_id)).desc(), SearchQuery.key)
        .limit(limit)
    )
    out.extend(Suggestion(kind="query", text=str(text)) for _key, text, _n in popular)
    engine = engine_for(runtime)
    await engine.catch_up(session)
    prefixed = _all_prefix(query)
    tag_result = SearchResult(query=prefixed, type="hashtags")
    await _search_hashtags(engine, session, query=prefixed, result=tag_result, n=limit, after=None)
    out.extend(Suggestion(kind="hashtag", text=t.display_name, id=t.id) for t in tag_result.hashtags)
    user_result = SearchResult(query=prefixed, type="users")
    await _search_users(engine, session, viewer=viewer, query=prefixed, result=user_result, n=limit, after=None)
    out.extend(Suggestion(kind="user", text=u.username, id=u.id) for u in user_result.users)
    seen: set[tuple[str, str]] = set()
    unique = []
    for s in out:
        if (s.kind, s.text.casefold()) not in seen:
            seen.add((s.kind, s.text.casefold()))
            unique.append(s)
    return unique[: limit * 2]


def _all_prefix(query: ParsedQuery) -> ParsedQuery:
    """For completions every Latin word may be unfinished (``xiaoh`` -> xiaohongshu)."""
    groups = []
    for group in query.groups:
        alts = list(group.alternatives)
        for alt in group.alternatives:
            if len(alt.terms) == 1 and alt.terms[0].isascii() and not alt.prefix:
                alts.append(analysis.Alternative(alt.terms, prefix=True))
        groups.append(analysis.Group(tuple(dict.fromkeys(alts))))
    return ParsedQuery(text=query.text, key=query.key, groups=tuple(groups), hashtag=query.hashtag)


async def close_for(runtime: Any) -> None:
    with contextlib.suppress(Exception):
        await wait_for_search_logs()
    forget_engine(runtime)
