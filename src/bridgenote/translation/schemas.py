from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from bridgenote.core.schemas import Id, ReadSchema, Schema

LanguageTag = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class FieldTranslationRead(ReadSchema):
    original: str
    translation: str | None
    source: str | None
    # done | failed | pending | not_needed | unsupported
    status: str
    failure_reason: str | None = None


class TranslationRead(ReadSchema):
    kind: str
    id: Id
    target: str
    source: str | None
    # done | pending | not_requested | failed | not_needed | unsupported
    status: str
    # Always true: every text here was produced by a machine, and clients must say so.
    machine_translation: bool = True
    label: str
    engine: str
    fields: dict[str, FieldTranslationRead]
    # While pending: jobs ahead of this one, and when to look again (seconds).
    queue_position: int | None = None
    retry_after: int | None = None
    # Whether the viewer's settings ask for this to be shown translated without a click.
    auto_translate: bool = False


class TranslationList(ReadSchema):
    items: list[TranslationRead]


class DetectRequest(Schema):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]


class SegmentRead(ReadSchema):
    start: int
    end: int
    language: str


class DetectRead(ReadSchema):
    language: str | None
    mixed: bool
    segments: list[SegmentRead]


class ProviderStatusRead(ReadSchema):
    provider: str
    engine: str
    # ready | installing | missing | unavailable | disabled
    state: str
    message: str | None = None
    languages: list[str]


class PreferencesRead(ReadSchema):
    auto_translate_notes: bool
    auto_translate_comments: bool
    updated_at: dt.datetime | None = None


class PreferencesUpdate(Schema):
    auto_translate_notes: bool | None = None
    auto_translate_comments: bool | None = None


class GlossaryEntryRead(ReadSchema):
    id: Id | None
    source: str
    target: str
    term: str
    translation: str
    built_in: bool


class GlossaryEntryWrite(Schema):
    source: LanguageTag
    target: LanguageTag
    term: Annotated[str, Field(min_length=1, max_length=100)]
    translation: Annotated[str, Field(min_length=1, max_length=200)]
