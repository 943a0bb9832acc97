"""Opaque cursors for keyset pagination (never OFFSET)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from bridgenote.core.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass
class Window(Generic[T]):
    """A page of rows as services return it (rows may be ORM objects); the API turns it into a :class:`Page`."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, arity: int = 1) -> list[Any] | None:
    """Decode a cursor made by :func:`encode_cursor`; a tampered one is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("That page cursor is not valid.", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, int | str) for v in values):
        raise BadRequest("That page cursor is not valid.", code="invalid_cursor")
    return values


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


def next_cursor_for(rows: Sequence[T], limit: int, key: Any) -> str | None:
    """Rows were fetched with ``limit + 1``: a cursor exists only if the extra row came back."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    values = key(last)
    return encode_cursor(*values) if isinstance(values, tuple) else encode_cursor(values)


def decode_id_cursor(cursor: str | None) -> int | None:
    """The id in a one-value cursor (ids and time-ordered sequence numbers); anything else,
    including values outside a signed 64-bit id, is a 400, never a 500."""
    after = decode_cursor(cursor)
    if after is None:
        return None
    value = after[0]
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**63 - 1:
        return value
    raise BadRequest("That page cursor is not valid.", code="invalid_cursor")
