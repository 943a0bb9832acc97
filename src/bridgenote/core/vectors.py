"""An in-process approximate nearest-neighbour index, kept current from the database.

Vectors are stored in the application database (a domain's own table, as
``core.embeddings.to_blob`` bytes); this module serves them from memory with
usearch's HNSW graph, on SQLite and PostgreSQL alike (see
docs/decisions/0007-search-storage.md for why not sqlite-vec or pgvector).

* :class:`VectorIndex` - id -> unit vector: ``upsert``, ``remove``, ``search``,
  ``save``/``load``. Not thread-safe for writes; the owner serialises them.
* :class:`SyncedVectorIndex` - a ``VectorIndex`` plus a *change feed*: the owning
  domain gives it a :class:`VectorSource` that returns rows changed after a sequence
  number (its table has a ``seq`` column set to ``core.ids.new_id()`` on every write,
  and deletions are kept as rows without a vector). ``catch_up()`` applies what
  changed since the last call, so every process - web or worker - converges on the
  table without messages between processes. ``rebuild()`` builds a fresh index beside
  the live one and swaps it in; searches keep using the old one meanwhile.

Sequence numbers are time-ordered ids, but a transaction can commit after one with a
larger id; catching up therefore re-reads a short overlap window and skips rows it
has already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from usearch.index import Index

from bridgenote.core.ids import EPOCH_MS, id_floor_for_ms

log = logging.getLogger(__name__)

# Rows committed up to this long after a larger sequence number was seen are still picked up.
OVERLAP_MS = 30_000


class VectorIndex:
    """HNSW over cosine similarity. Scores returned are similarities in [-1, 1]."""

    def __init__(self, dim: int, *, dtype: str = "f16", connectivity: int = 16, expansion_search: int = 96) -> None:
        self.dim = dim
        self._dtype = dtype
        self._connectivity = connectivity
        self._expansion_search = expansion_search
        self._index = Index(
            ndim=dim, metric="cos", dtype=dtype, connectivity=connectivity, expansion_search=expansion_search
        )

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return bool(self._index.contains(key))

    def upsert(self, keys: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        if not len(keys):
            return
        ids = np.asarray(keys, dtype=np.uint64)
        present = np.asarray(self._index.contains(ids), dtype=bool).reshape(-1)
        if present.any():
            self._index.remove(ids[present])
        self._index.add(ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim))

    def remove(self, keys: Sequence[int]) -> None:
        ids = np.asarray([k for k in keys if self._index.contains(k)], dtype=np.uint64)
        if len(ids):
            self._index.remove(ids)

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their cosine similarity, best first."""
        if len(self._index) == 0 or k <= 0:
            return []
        matches = self._index.search(np.asarray(vector, dtype=np.float32), min(k, len(self._index)))
        return [(int(key), 1.0 - float(dist)) for key, dist in zip(matches.keys, matches.distances, strict=True)]

    def save(self, path: Path) -> None:
        """Write atomically (a temporary file renamed over the old one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        self._index.save(str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, *, dtype: str = "f16") -> VectorIndex:
        index = cls(dim, dtype=dtype)
        index._index.load(str(path))
        if index._index.ndim != dim:
            raise ValueError(f"{path} holds {index._index.ndim}-d vectors, expected {dim}")
        return index


@dataclass
class VectorChanges:
    """Rows of a vector table changed after some sequence number, in sequence order."""

    keys: list[int]
    seqs: list[int]
    # One row per key in ``keys``; a row of NaN marks a deletion (the key leaves the index).
    vectors: npt.NDArray[np.float32]
    # Rows the source looked at and the highest seq among them: rows already applied at the
    # same seq are counted here but left out of ``keys`` (their vectors are never read).
    scanned: int = -1
    high: int = -1

    def __post_init__(self) -> None:
        if self.scanned < 0:
            self.scanned = len(self.keys)
        if self.high < 0:
            self.high = max(self.seqs, default=0)

    @classmethod
    def empty(cls, dim: int) -> VectorChanges:
        return cls([], [], np.zeros((0, dim), dtype=np.float32))


class VectorSource(Protocol):
    async def changes(self, *, after: int, limit: int, applied: Mapping[int, int]) -> VectorChanges:
        """Rows with ``seq > after``, ordered by ``seq``, at most ``limit`` scanned; deleted rows as
        NaN vectors. A row whose key maps to its seq in ``applied`` is already in the index: count
        it in ``scanned``/``high`` but do not read its vector (the overlap window re-scans recent
        rows on every catch-up, and after a bulk write that can be every vector)."""
        ...


ProgressCallback = Callable[[int], None]


def overlap_floor(seq: int) -> int:
    ms = (seq >> 22) + EPOCH_MS
    return id_floor_for_ms(ms - OVERLAP_MS)


def rescan_from(watermark: int) -> int:
    """Where a catch-up starts reading: ``OVERLAP_MS`` before the watermark, but never earlier
    than ``OVERLAP_MS`` before now. A transaction that has not committed yet took its seq less
    than ``OVERLAP_MS`` ago, so older rows cannot still appear; without the second bound, a
    table that stopped changing would be re-read back to its last burst on every catch-up."""
    if not watermark:
        return 0
    recent = id_floor_for_ms(int(time.time() * 1000) - OVERLAP_MS)
    return min(watermark, max(overlap_floor(watermark), recent))


@dataclass
class SyncedVectorIndex:
    """A :class:`VectorIndex` that follows a vector table (see the module docstring)."""

    source: VectorSource
    dim: int
    path: Path | None = None  # where the index is saved between runs (optional)
    min_interval: float = 0.5  # seconds between two catch-ups
    batch: int = 5000
    index: VectorIndex = field(init=False)
    watermark: int = field(default=0, init=False)
    _applied: dict[int, int] = field(default_factory=dict, init=False)  # key -> seq, inside the overlap window
    _last_sync: float = field(default=float("-inf"), init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _loaded: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.index = VectorIndex(self.dim)

    @staticmethod
    def _apply(index: VectorIndex, applied: dict[int, int], changes: VectorChanges) -> None:
        keep = [i for i, (k, s) in enumerate(zip(changes.keys, changes.seqs, strict=True)) if applied.get(k) != s]
        if not keep:
            return
        rows = changes.vectors[keep]
        deleted = np.asarray(np.isnan(rows).any(axis=1), dtype=bool).reshape(-1)
        keys = [changes.keys[i] for i in keep]
        # A key may appear twice in one batch (two updates); the later row wins.
        last: dict[int, int] = {}
        for pos, key in enumerate(keys):
            last[key] = pos
        order = sorted(last.values())
        index.remove([keys[p] for p in order if deleted[p]])
        live = [p for p in order if not deleted[p]]
        index.upsert([keys[p] for p in live], rows[live])
        for i in keep:
            applied[changes.keys[i]] = changes.seqs[i]

    def _forget_old(self) -> None:
        floor = overlap_floor(self.watermark)
        if len(self._applied) > 10_000:
            self._applied = {k: s for k, s in self._applied.items() if s >= floor}

    async def _follow(
        self, index: VectorIndex, applied: dict[int, int], after: int, progress: ProgressCallback | None = None
    ) -> int:
        """Apply every change after ``after`` to ``index``; returns the highest sequence seen."""
        high = after
        while True:
            changes = await self.source.changes(after=after, limit=self.batch, applied=applied)
            if not changes.scanned:
                return high
            self._apply(index, applied, changes)
            after = changes.high
            high = max(high, after)
            if progress is not None:
                progress(changes.scanned)
            if changes.scanned < self.batch:
                return high

    async def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is not None and self.path.exists():
            try:
                index = VectorIndex.load(self.path, self.dim)
                marker = self.path.with_suffix(self.path.suffix + ".seq")
                self.index = index
                self.watermark = int(marker.read_text()) if marker.exists() else 0
            except Exception:  # a corrupt or stale file is rebuilt from the table
                log.exception("could not load vector index %s; rebuilding", self.path)
                self.index, self.watermark = VectorIndex(self.dim), 0

    async def catch_up(self, *, force: bool = False) -> None:
        """Apply changes committed since the last call (at most every ``min_interval`` s)."""
        now = time.monotonic()
        if not force and now - self._last_sync < self.min_interval:
            return
        async with self._lock:
            await self._load()
            if not force and now - self._last_sync < self.min_interval:
                return
            after = rescan_from(self.watermark)
            self.watermark = max(self.watermark, await self._follow(self.index, self._applied, after))
            self._last_sync = time.monotonic()
            self._forget_old()

    async def rebuild(self, progress: ProgressCallback | None = None) -> int:
        """Build a new index from the whole table beside the live one, then swap. Returns its size."""
        fresh = VectorIndex(self.dim)
        fresh_applied: dict[int, int] = {}
        high = await self._follow(fresh, fresh_applied, 0, progress)
        async with self._lock:
            self.index, self.watermark, self._applied = fresh, high, fresh_applied
            self._loaded = True
            self._last_sync = float("-inf")
        await self.catch_up(force=True)
        return len(self.index)

    def save(self) -> None:
        if self.path is None:
            return
        self.index.save(self.path)
        self.path.with_suffix(self.path.suffix + ".seq").write_text(str(self.watermark))

    def search(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        return self.index.search(vector, k)


def remove_files(path: Path) -> None:
    for p in (path, path.with_suffix(path.suffix + ".seq")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
