from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bridgenote.accounts.schemas import UserBrief
from bridgenote.core.schemas import Id, ReadSchema
from bridgenote.notes.schemas import BoardRead, NoteRead


class NoteHitRead(BaseModel):
    note: NoteRead
    # How the note matched: its own words, a stored translation, or meaning (embeddings).
    matched: Literal["keyword", "translation", "semantic", "keyword+semantic"]
    # The note's language ("zh", "en"); clients offer a translation when it differs from the reader's.
    language: str | None
    translation_offered: bool


class HashtagHitRead(ReadSchema):
    id: Id
    name: str
    note_count: int


class SearchRead(BaseModel):
    query: str
    type: str
    notes: list[NoteHitRead] = []
    users: list[UserBrief] = []
    hashtags: list[HashtagHitRead] = []
    # type=boards: public boards and the reader's own private ones, as ``GET /boards/{id}`` shows them.
    boards: list[BoardRead] = []
    next_cursor: str | None = None


class SuggestionRead(BaseModel):
    kind: Literal["query", "hashtag", "user"]
    text: str
    id: Id | None = None


class SuggestionsRead(BaseModel):
    items: list[SuggestionRead]


class RecentSearchesRead(BaseModel):
    items: list[str]


class TrendRead(BaseModel):
    name: str
    score: float
    # The same trend in each language it was written in: {"en": "travel", "zh": "旅行"}.
    variants: dict[str, str]


class TrendingRead(BaseModel):
    searches: list[TrendRead]
    hashtags: list[TrendRead]
