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


def storable_text(value: Any) -> Any:
    """Make request text storable: NUL characters (PostgreSQL refuses them, and they are never
    meaningful in user text) are dropped; lone surrogates (not encodable as UTF-8) are refused."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
        return value
    if isinstance(value, list):
        return [storable_text(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): storable_text(item) for key, item in value.items()}
    return value


class Schema(BaseModel):
    """Request bodies: unknown fields are an error, so typos do not pass silently, and text
    is made storable (see :func:`storable_text`) before any validator sees it."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return storable_text(value)


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
