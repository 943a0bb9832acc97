"""Keyword backends over ``search_documents``: FTS5 on SQLite, GIN ``tsvector`` on PostgreSQL.

Both receive the tokens made by ``search.analysis`` and never parse text
themselves, so Chinese segmentation, folding and stemming are identical on both
tiers, and no user input is ever spliced into FTS5 or ``tsquery`` syntax: every
token is quoted, and tokens contain word characters only.

SQLite: the FTS5 index lives in a file beside the database (``<db>.fts``), not in
it. It is derived data, like the vector index: it follows ``search_documents`` by
``seq`` (:meth:`SqliteFts.catch_up`) and is rebuilt beside the live file and swapped
in by ``bridgenote reindex``. Keeping it out of the application database keeps
FTS5's virtual and shadow tables out of the Alembic schema (see ADR 0007).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core.vectors import overlap_floor, rescan_from
from bridgenote.search.analysis import ParsedQuery
from bridgenote.search.models import DOCUMENT_KINDS, SearchDocument

# Column weights: title, body, extra (tags, pinyin, place, comments), translations.
FTS_WEIGHTS = (4.0, 1.0, 2.0, 0.8)
MAX_POSITIONS = 4000
# Matches scored per keyword query, newest first. Scoring (bm25, ts_rank) costs per match, so
# without a cap a common word ("coffee" in a million notes) costs tens of milliseconds while the
# page needs a hundred candidates; a query matching fewer documents than this is ranked exactly
# as before. Newest first because freshness is part of the final blend anyway.
SCAN_CAP = 1000

Progress = Callable[[int], None]


def fts5_query(query: ParsedQuery, *, mode: str) -> str:
    """FTS5 MATCH expression: groups joined by AND (``mode="all"``) or OR; every token quoted."""
    groups = []
    for group in query.groups:
        alts = []
        for alt in group.alternatives:
            parts = [f'"{t}"' for t in alt.terms]
            if alt.prefix:
                parts[-1] += "*"
            alts.append("(" + " AND ".join(parts) + ")")
        groups.append("(" + " OR ".join(alts) + ")")
    return f" {'AND' if mode == 'all' else 'OR'} ".join(groups)


def ts_query(query: ParsedQuery, *, mode: str) -> str:
    """PostgreSQL ``tsquery`` literal with the same structure as :func:`fts5_query`."""
    groups = []
    for group in query.groups:
        alts = []
        for alt in group.alternatives:
            parts = [f"'{t}'" for t in alt.terms]
            if alt.prefix:
                parts[-1] += ":*"
            alts.append("(" + " & ".join(parts) + ")")
        groups.append("(" + " | ".join(alts) + ")")
    return f" {'&' if mode == 'all' else '|'} ".join(groups)


def ts_vector(title: str, body: str, extra: str, translation: str) -> str:
    """``tsvector`` literal with positions and weights (title A, extra B, translations C, body D)."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for terms, weight in ((title, "A"), (extra, "B"), (translation, "C"), (body, "D")):
        for token in terms.split():
            pos += 1
            if pos > MAX_POSITIONS:
                break
            slot = positions.setdefault(token, [])
            if len(slot) < 250:
                slot.append(f"{pos}{weight}")
    return " ".join(f"'{token}':{','.join(p)}" for token, p in positions.items())


class KeywordBackend(Protocol):
    async def catch_up(self, session: AsyncSession, *, force: bool = False) -> None: ...

    async def search(
        self, session: AsyncSession, *, kind: str, query: ParsedQuery, mode: str, limit: int
    ) -> list[tuple[int, float]]:
        """Ids of matching documents of ``kind`` with a score (higher is better), best first."""
        ...

    async def rebuild(self, session_factory: Callable[[], Any], progress: Progress | None = None) -> None: ...


# The newest ``SCAN_CAP`` matches, then ``ts_rank`` on those only. With table statistics the
# planner walks the primary key backwards for a common word (stopping after ``SCAN_CAP``
# matches) and takes the GIN index for a rare one.
_PG_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
_PG_SEARCH = text(
    "SELECT c.id, ts_rank(c.tsv, q.q) AS r FROM ("
    "SELECT d.id, d.tsv FROM search_documents d WHERE d.kind = :kind AND d.tsv @@ CAST(:q AS tsquery) "
    "AND NOT d.deleted ORDER BY d.id DESC LIMIT :cap"
    ") AS c, CAST(:q AS tsquery) AS q(q) ORDER BY r DESC, c.id DESC LIMIT :n"
)


class PostgresFullText:
    """GIN over ``search_documents.tsv``; the database is the index, nothing to catch up."""

    async def catch_up(self, session: AsyncSession, *, force: bool = False) -> None:
        return None

    async def search(
        self, session: AsyncSession, *, kind: str, query: ParsedQuery, mode: str, limit: int
    ) -> list[tuple[int, float]]:
        if not query.groups:
            return []
        transaction = session.get_transaction()
        if transaction is None or session.info.get("search_custom_plans") is not transaction:
            # asyncpg prepares statements, and after five runs PostgreSQL may keep a generic plan made
            # without the query's words: the backwards primary-key walk, which reads the whole table
            # for a rare word. Plan each search for its own words (until the transaction ends).
            await session.execute(_PG_CUSTOM_PLANS)
            session.info["search_custom_plans"] = session.get_transaction()
        rows = await session.execute(
            _PG_SEARCH, {"q": ts_query(query, mode=mode), "kind": kind, "n": limit, "cap": SCAN_CAP}
        )
        return [(int(i), float(r)) for i, r in rows]

    async def rebuild(self, session_factory: Callable[[], Any], progress: Progress | None = None) -> None:
        return None


_ROWS = select(
    SearchDocument.id,
    SearchDocument.kind,
    SearchDocument.title_terms,
    SearchDocument.body_terms,
    SearchDocument.extra_terms,
    SearchDocument.translation_terms,
    SearchDocument.seq,
    SearchDocument.deleted,
)

_FTS_SEARCH = {
    kind: f"SELECT rowid, bm25(fts_{kind}, {', '.join(str(w) for w in FTS_WEIGHTS)}) FROM fts_{kind} "
    f"WHERE fts_{kind} MATCH ? ORDER BY rowid DESC LIMIT ?"
    for kind in DOCUMENT_KINDS
}


@dataclass
class _DocRow:
    id: int
    kind: str
    title: str
    body: str
    extra: str
    trans: str
    seq: int
    deleted: bool


class SqliteFts:
    """FTS5 tables (one per document kind) in a side file that follows ``search_documents``."""

    def __init__(self, path: Path, *, min_interval: float = 0.25, batch: int = 5000) -> None:
        self.path = path
        self.min_interval = min_interval
        self.batch = batch
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._sync = asyncio.Lock()
        self._last_sync = float("-inf")
        # id -> seq of documents this process applied lately: every catch-up re-scans the overlap
        # window, and during a burst of writes that window holds thousands of documents whose
        # terms need not be read again (the same scheme as ``core.vectors``).
        self._applied: dict[int, int] = {}

    # -------------------------------------------------------- file handling

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for kind in DOCUMENT_KINDS:
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS fts_{kind} USING fts5("
                "title, body, extra, trans, tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
            )
        conn.execute("CREATE TABLE IF NOT EXISTS applied (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open(self.path)
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @staticmethod
    def _watermark(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _apply(conn: sqlite3.Connection, rows: Sequence[_DocRow], *, check_applied: bool = True, high: int = 0) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                if check_applied:
                    found = conn.execute("SELECT seq FROM applied WHERE id = ?", (row.id,)).fetchone()
                    if found is not None and found[0] >= row.seq:
                        continue
                    for kind in DOCUMENT_KINDS:
                        conn.execute(f"DELETE FROM fts_{kind} WHERE rowid = ?", (row.id,))
                if not row.deleted:
                    conn.execute(
                        f"INSERT INTO fts_{row.kind} (rowid, title, body, extra, trans) VALUES (?, ?, ?, ?, ?)",
                        (row.id, row.title, row.body, row.extra, row.trans),
                    )
                conn.execute("INSERT OR REPLACE INTO applied (id, seq) VALUES (?, ?)", (row.id, row.seq))
            high = max([high, *(r.seq for r in rows)])
            if high:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('watermark', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                    (high,),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    async def _changes(session: AsyncSession, after: int, limit: int) -> list[_DocRow]:
        result = await session.execute(
            _ROWS.where(SearchDocument.seq > after).order_by(SearchDocument.seq).limit(limit)
        )
        return [_DocRow(*row) for row in result]

    async def _new_changes(self, session: AsyncSession, after: int, limit: int) -> tuple[list[_DocRow], int, int]:
        """Rows after ``after`` not yet applied at their seq, and how many were scanned, and the highest
        seq among them. Lists ``(id, seq)`` first and reads terms only for the rows it needs."""
        listed = (
            await session.execute(
                select(SearchDocument.id, SearchDocument.seq)
                .where(SearchDocument.seq > after)
                .order_by(SearchDocument.seq)
                .limit(limit)
            )
        ).all()
        if not listed:
            return [], 0, after
        wanted = [int(i) for i, seq in listed if self._applied.get(int(i)) != int(seq)]
        rows: list[_DocRow] = []
        for start in range(0, len(wanted), 500):
            found = await session.execute(_ROWS.where(SearchDocument.id.in_(wanted[start : start + 500])))
            rows.extend(_DocRow(*row) for row in found)
        rows.sort(key=lambda r: r.seq)
        return rows, len(listed), int(listed[-1][1])

    # -------------------------------------------------------- following the table

    async def catch_up(self, session: AsyncSession, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_sync < self.min_interval:
            return
        async with self._sync:
            conn = self._connection()
            watermark = self._watermark(conn)
            after = rescan_from(watermark)
            while True:
                rows, scanned, high = await self._new_changes(session, after, self.batch)
                if rows:
                    await asyncio.to_thread(self._locked_apply, conn, rows, high)
                    self._applied.update((r.id, r.seq) for r in rows)
                after = high
                if scanned < self.batch:
                    break
            if len(self._applied) > 10_000:
                floor = overlap_floor(self._watermark(conn))
                self._applied = {k: v for k, v in self._applied.items() if v >= floor}
            self._last_sync = time.monotonic()

    def _locked_apply(self, conn: sqlite3.Connection, rows: Sequence[_DocRow], high: int) -> None:
        with self._lock:
            self._apply(conn, rows, high=high)

    async def rebuild(self, session_factory: Callable[[], Any], progress: Progress | None = None) -> None:
        """Build a complete new file beside the live one, then swap it in."""
        fresh_path = self.path.with_name(f"{self.path.name}.{os.getpid()}.new")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{fresh_path}{suffix}").unlink()
        fresh = self._open(fresh_path)
        try:
            after = 0
            while True:
                async with session_factory() as session:
                    rows = await self._changes(session, after, self.batch)
                if not rows:
                    break
                await asyncio.to_thread(self._apply, fresh, [r for r in rows], check_applied=False)
                after = rows[-1].seq
                if progress is not None:
                    progress(len(rows))
            fresh.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            fresh.close()
        async with self._sync:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                os.replace(fresh_path, self.path)
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        Path(f"{self.path}{suffix}").unlink()
            # What was applied to the old file may be missing from the new one (a row that
            # committed after the rebuild read past its seq): the next catch-up reads it again.
            self._applied = {}
        self._last_sync = float("-inf")
        # Rows written while the new file was being built.
        async with session_factory() as session:
            await self.catch_up(session, force=True)

    # -------------------------------------------------------- queries

    def _query(self, kind: str, match: str, limit: int) -> list[tuple[int, float]]:
        # FTS5 walks the doclist by rowid (the id, time-ordered), so "ORDER BY rowid DESC LIMIT"
        # stops after ``SCAN_CAP`` matches and bm25 runs on those only (see ``SCAN_CAP``).
        with self._lock:
            conn = self._connection()
            rows = conn.execute(_FTS_SEARCH[kind], (match, SCAN_CAP)).fetchall()
        scored = sorted(((-float(r), int(i)) for i, r in rows), reverse=True)[:limit]
        return [(i, score) for score, i in scored]

    async def search(
        self, session: AsyncSession, *, kind: str, query: ParsedQuery, mode: str, limit: int
    ) -> list[tuple[int, float]]:
        if not query.groups or kind not in DOCUMENT_KINDS:
            return []
        return await asyncio.to_thread(self._query, kind, fts5_query(query, mode=mode), limit)
