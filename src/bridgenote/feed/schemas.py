from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from bridgenote.core.schemas import Id, Schema
from bridgenote.notes.schemas import NoteRead


class ReasonRead(BaseModel):
    # Stable code for programs: saved_topic, liked_topic, commented_topic, interest_topic,
    # more_like_this, new_creator, similar, creator_you_like, following, popular_region,
    # trending, popular, fresh, nearby.
    code: str
    text: str
    topic: str | None = None


class FeedEntryRead(BaseModel):
    note: NoteRead
    reason: ReasonRead
    # The note holds an exploration slot (a fresh note by a small creator).
    exploration: bool = False


class FeedPageRead(BaseModel):
    items: list[FeedEntryRead]
    next_cursor: str | None = None


class FeedbackCreate(Schema):
    note_id: Id
    kind: Literal["not_interested", "more_like_this", "view"]


class FeedSettingsUpdate(Schema):
    # Share of Discover in languages you do not read (shown translated), 0-1; null: by relevance.
    other_language_share: float | None = Field(default=None, ge=0.0, le=1.0)


class TopicWeightRead(BaseModel):
    topic: str
    weight: float


class FeedSettingsRead(BaseModel):
    interests: list[str]
    other_language_share: float | None
    top_topics: list[TopicWeightRead]
