"""The discover cursor: which notes this scroll session has already shown.

A ranked feed has no stable sort key to page by, and the ranking itself moves while
the user scrolls (every like shifts the profile). So the cursor carries the session:
a random seed (for exploration draws) and a Bloom filter of the notes already served.
It is stateless (any process can serve the next page, nothing is written on a read)
and bounded: 8,192 bits, deflated, so a cursor is a few hundred bytes early in a
session and at most about 1.4 KB. After 1,000 notes a fresh note is wrongly taken
for seen about 3% of the time, which only means it is skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bridgenote.core.errors import BadRequest

BITS = 8192
HASHES = 3
VERSION = 1
_HEADER = struct.Struct(">BIH")  # version, seed, page
MAX_CURSOR_CHARS = 3000


def _positions(key: int) -> list[int]:
    digest = hashlib.blake2b(key.to_bytes(8, "big", signed=False), digest_size=8).digest()
    a, b = struct.unpack(">II", digest)
    return [(a + i * b) % BITS for i in range(HASHES)]


def bit_positions(keys: Iterable[int]) -> np.ndarray:
    """``(n, HASHES)`` bit positions of ``keys`` (a pool computes them once per build)."""
    rows = [_positions(k) for k in keys]
    return np.array(rows, dtype=np.int64).reshape(len(rows), HASHES)


@dataclass
class SeenFilter:
    seed: int
    page: int = 0
    bits: np.ndarray = field(default_factory=lambda: np.zeros(BITS // 8, dtype=np.uint8))

    def add(self, keys: Iterable[int]) -> None:
        self.add_positions(np.array([p for key in keys for p in _positions(key)], dtype=np.int64))

    def add_positions(self, positions: np.ndarray) -> None:
        """Add keys by their :func:`bit_positions` (a pool has its notes' already)."""
        flat = np.asarray(positions, dtype=np.int64).reshape(-1)
        np.bitwise_or.at(self.bits, flat >> 3, np.left_shift(1, flat & 7).astype(np.uint8))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        return all(self.bits[p >> 3] & (1 << (p & 7)) for p in _positions(key))

    def contains_many(self, positions: np.ndarray) -> np.ndarray:
        """Vectorised membership for keys whose bit positions were computed once with
        :func:`bit_positions` (``(n, HASHES)``): a boolean per key."""
        if positions.size == 0 or not self.bits.any():  # the first page of a session
            return np.zeros(len(positions), dtype=bool)
        seen = np.unpackbits(self.bits, bitorder="little").view(bool)
        # Column by column: ``.all(axis=1)`` over an (n, 3) array costs several times more.
        hit = seen[positions[:, 0]]
        for column in range(1, positions.shape[1]):
            hit &= seen[positions[:, column]]
        return np.asarray(hit, dtype=bool)

    def encode(self) -> str:
        # Level 6: early in a session (a few dozen bits set) level 9 costs four times the
        # CPU for a cursor a few bytes shorter; later they make the same bytes.
        raw = _HEADER.pack(VERSION, self.seed & 0xFFFFFFFF, min(self.page, 0xFFFF)) + zlib.compress(
            self.bits.tobytes(), 6
        )
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> SeenFilter:
        """A cursor made by :meth:`encode`; anything else is a 400, never a 500."""
        try:
            if len(cursor) > MAX_CURSOR_CHARS:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            version, seed, page = _HEADER.unpack_from(raw)
            # Bounded, so a crafted cursor cannot inflate into megabytes.
            inflater = zlib.decompressobj()
            bits = inflater.decompress(raw[_HEADER.size :], BITS // 8 + 1)
            if version != VERSION or len(bits) != BITS // 8 or inflater.unconsumed_tail or not inflater.eof:
                raise ValueError("wrong shape")
        except (ValueError, struct.error, zlib.error, binascii.Error) as exc:
            raise BadRequest("That page cursor is not valid.", code="invalid_cursor") from exc
        return cls(seed=seed, page=page, bits=np.frombuffer(bits, dtype=np.uint8).copy())
