from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from bridgenote.core.schemas import Id, ReadSchema, Schema


class MediaStatusRead(ReadSchema):
    """An upload as its pipeline sees it: the author polls this while a video is processed."""

    id: Id
    kind: str
    state: str  # uploaded | processing | ready | failed
    stage: str | None = None
    progress: float
    failure_code: str | None = None
    failure_reason: str | None = None  # in the request's language
    width: int | None
    height: int | None
    duration_ms: int | None
    blurhash: str | None
    dominant_color: str | None
    url: str | None
    picture: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    subtitles: list[dict[str, Any]] = Field(default_factory=list)


class SubtitleCreate(Schema):
    language: Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    label: Annotated[str, Field(min_length=1, max_length=100)]
    text: Annotated[str, Field(min_length=1, max_length=512 * 1024, description="SRT or WebVTT")]


class SubtitleRead(ReadSchema):
    id: Id
    language: str
    label: str
    source: str
    kind: str = "subtitles"
    url: str
