"""Shared pydantic types for the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema, field_validator

MAX_ID = 2**63 - 1


def _parse_id(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be an id")
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    raise ValueError("must be an id (a positive integer, as a string)")


# 64-bit ids exceed JavaScript's safe integers, so JSON carries them as strings.
Id = Annotated[
    int,
    BeforeValidator(_parse_id),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,19}$", "examples": ["7263584123904"]}),
]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def reject_unstorable_text(value: Any) -> Any:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses NUL, UTF-8 has no
    surrogates); refuse them with a clear message instead of failing at the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    elif isinstance(value, list | tuple):
        for item in value:
            reject_unstorable_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_unstorable_text(key)
            reject_unstorable_text(item)
    return value


class Schema(BaseModel):
    """Request bodies: unknown fields are an error, so typos do not pass silently, and text
    that no database can store is refused before any validator sees it."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return reject_unstorable_text(value)


class ReadSchema(BaseModel):
    """Responses: built from ORM rows or dicts; extra attributes are ignored."""

    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class OK(BaseModel):
    ok: bool = True
