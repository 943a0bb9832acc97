from __future__ import annotations

import base64

import pytest

from bridgenote.core.errors import BadRequest
from bridgenote.core.pagination import clamp_limit, decode_cursor, encode_cursor, next_cursor_for


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor(7263584123904)) == [7263584123904]
    assert decode_cursor(encode_cursor(5, "x"), arity=2) == [5, "x"]
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%%",
        "a",
        _raw("not json"),
        _raw("{}"),
        _raw('{"id": 1}'),
        _raw("12"),
        _raw("[]"),
        _raw("[1, 2]"),
        _raw("[1.5]"),
        _raw("[null]"),
        _raw("[[1]]"),
        _raw('[{"a": 1}]'),
        _raw("[1e400]"),
        base64.urlsafe_b64encode(b"\xff\xfe\x00[1]").decode(),
        encode_cursor(1)[:-1] + "é",
    ],
)
def test_tampered_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode_cursor(cursor)
    assert info.value.code == "invalid_cursor"
    assert info.value.status_code == 400


def test_wrong_arity_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor(1), arity=2)


def test_limits_are_clamped() -> None:
    assert clamp_limit(None) == 20
    assert clamp_limit(0) == 1
    assert clamp_limit(-5) == 1
    assert clamp_limit(10_000) == 100


def test_next_cursor_only_when_the_extra_row_came_back() -> None:
    assert next_cursor_for([3, 2], 2, lambda r: r) is None
    assert decode_cursor(next_cursor_for([3, 2, 1], 2, lambda r: r)) == [2]
