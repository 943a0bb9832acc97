from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, model_validator

from bridgenote.accounts.schemas import UserBrief
from bridgenote.core.schemas import Id, ReadSchema, Schema

MAX_MARK_READ_IDS = 500


class NotificationRead(ReadSchema):
    id: Id
    kind: str
    actor: UserBrief | None = Field(description="who did it; null for system notices or a gone account")
    note_id: Id | None
    comment_id: Id | None
    data: dict[str, Any]
    read: bool
    created_at: dt.datetime
    text: str = Field(description="a one-line summary in the viewer's UI language")


class UnreadCount(ReadSchema):
    unread: int


class MarkRead(Schema):
    """Either ``{"ids": [...]}`` or ``{"all": true}``, never both."""

    ids: Annotated[list[Id] | None, Field(min_length=1, max_length=MAX_MARK_READ_IDS)] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> MarkRead:
        if self.ids is not None and self.all:
            raise ValueError('send either "ids" or "all": true, not both')
        if self.ids is None and not self.all:
            raise ValueError('send "ids" (a list of notification ids) or "all": true')
        return self


class MarkReadResult(ReadSchema):
    ok: bool = True
    updated: int
