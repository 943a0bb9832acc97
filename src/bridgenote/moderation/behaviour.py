"""Near-duplicate detection with MinHash (datasketch), for copy-paste floods.

A signature is 64 permutations of 32-bit hashes over character 4-grams of the folded text
(works the same for Chinese and English, and survives small edits); it is stored as 256
bytes. Similar texts are found by comparing a new signature against the recent ones with
numpy: with a few thousand recent posts that is faster than maintaining an LSH index, and
it needs no state outside the database.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

NUM_PERM = 64
SHINGLE = 4


@cache
def _minhash_class() -> Any:
    return importlib.import_module("datasketch").MinHash


@cache
def _template() -> Any:
    # Permutations are derived from a fixed seed; copying a template skips regenerating them.
    return _minhash_class()(num_perm=NUM_PERM, seed=20250118)


def shingles(text: str) -> list[bytes]:
    compact = re.sub(r"\s+", " ", text).strip()
    if len(compact) <= SHINGLE:
        return [compact.encode()]
    return [compact[i : i + SHINGLE].encode() for i in range(len(compact) - SHINGLE + 1)]


def signature(text: str) -> bytes:
    m = _template().copy()
    m.update_batch(shingles(text))
    return bytes(np.asarray(m.hashvalues, dtype=np.uint32).tobytes())


def similarity(a: bytes, b: bytes) -> float:
    x = np.frombuffer(a, dtype=np.uint32)
    y = np.frombuffer(b, dtype=np.uint32)
    return float(np.mean(x == y)) if len(x) == len(y) else 0.0


def near_duplicates(new: bytes, recent: Sequence[bytes], *, threshold: float) -> int:
    """How many of ``recent`` have an estimated Jaccard similarity of at least ``threshold``."""
    usable = [r for r in recent if len(r) == len(new)]
    if not usable:
        return 0
    matrix = np.frombuffer(b"".join(usable), dtype=np.uint32).reshape(len(usable), -1)
    target = np.frombuffer(new, dtype=np.uint32)
    return int(np.count_nonzero((matrix == target).mean(axis=1) >= threshold))
