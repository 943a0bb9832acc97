from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, field_validator

from bridgenote.accounts.service import UserBrief
from bridgenote.core.schemas import Id, ReadSchema, Schema
from bridgenote.core.text import clean_user_text
from bridgenote.media.schemas import SubtitleRead

Title = Annotated[str, Field(max_length=100)]
Body = Annotated[str, Field(max_length=1000)]
Place = Annotated[str | None, Field(max_length=200)]


def required_text(value: str) -> str:
    """Cleaned user text that must not end up empty (titles, comment bodies)."""
    value = clean_user_text(value)
    if not value:
        raise ValueError("must not be blank")
    return value


class _Text(Schema):
    @field_validator("title", "body", "place_name", check_fields=False)
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return clean_user_text(value) if isinstance(value, str) else value


class NoteCreate(_Text):
    title: Title = ""
    body: Body = ""
    place_name: Place = None
    media_ids: Annotated[list[Id], Field(max_length=18)] = Field(default_factory=list)


class NoteUpdate(_Text):
    title: Title | None = None
    body: Body | None = None
    place_name: Place = None


class MediaRead(ReadSchema):
    id: Id
    kind: str
    state: str
    url: str | None
    content_type: str
    width: int | None
    height: int | None
    duration_ms: int | None
    alt_text: str
    blurhash: str | None
    dominant_color: str | None
    variants: dict[str, Any]
    failure_reason: str | None = None
    # From the media pipeline once ready (see docs/media.md): {"sources": [{type, srcset}],
    # "img": {src, srcset, width, height}} and {"mp4", "hls", "poster", "renditions"}.
    picture: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    # A video's <track>s: the author's first, then machine-translated bilingual ones
    # (source "translation"); empty for photos.
    subtitles: list[SubtitleRead] = Field(default_factory=list)


class MediaUpdate(Schema):
    alt_text: Annotated[str, Field(max_length=1000)]


class HashtagRef(ReadSchema):
    name: str
    key: str


class NoteRead(ReadSchema):
    id: Id
    author: UserBrief
    kind: str
    title: str
    body: str
    place_name: str | None
    language: str | None
    hashtags: list[HashtagRef]
    mentions: list[str]
    media: list[MediaRead]
    like_count: int
    save_count: int
    comment_count: int
    view_count: int
    liked: bool = False
    saved: bool = False
    # Moderation notices every reader sees (rule labels such as "cannabis"); the rules pages explain them.
    labels: list[str] = Field(default_factory=list)
    created_at: dt.datetime
    updated_at: dt.datetime | None
    # Only shown to the author (and staff): what moderation or processing did to the note.
    state: str | None = None
    state_reason: str | None = None
    limited_regions: list[str] | None = None


class SaveRequest(Schema):
    board_id: Id | None = None


class BoardCreate(Schema):
    title: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=500)] = ""
    is_private: bool = False

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return required_text(value)


class BoardUpdate(Schema):
    title: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    description: Annotated[str | None, Field(max_length=500)] = None
    is_private: bool | None = None

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return None if value is None else required_text(value)


class BoardRead(ReadSchema):
    id: Id
    owner: UserBrief
    title: str
    description: str
    is_private: bool
    is_default: bool
    note_count: int
    created_at: dt.datetime
    cover_url: str | None = None


class CommentCreate(Schema):
    body: Annotated[str, Field(min_length=1, max_length=1000)]
    parent_id: Id | None = None

    @field_validator("body")
    @classmethod
    def _clean(cls, value: str) -> str:
        return required_text(value)


class CommentRead(ReadSchema):
    id: Id
    note_id: Id
    author: UserBrief
    body: str
    language: str | None
    root_id: Id | None
    parent_id: Id | None
    reply_to: UserBrief | None = None
    like_count: int
    reply_count: int
    liked: bool = False
    created_at: dt.datetime
    replies: list[CommentRead] = Field(default_factory=list)


class HashtagRead(ReadSchema):
    name: str
    key: str
    note_count: int
    view_count: int
