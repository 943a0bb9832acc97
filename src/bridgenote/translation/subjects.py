"""What can be translated, and how its text is read from the domain that owns it.

Each kind has a loader. With a viewer it enforces that domain's visibility (a
404 for what the viewer may not see); without one (``None``: background jobs,
moderation, search) it returns any live object. Other domains add kinds with
:func:`register` (messaging will add ``message``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import ANONYMOUS, Viewer
from bridgenote.core.errors import NotFound
from bridgenote.notes import service as notes_service


@dataclass(frozen=True)
class Subject:
    kind: str
    object_id: int
    # Field name -> text, in display order; empty fields are left out.
    fields: dict[str, str]

    @property
    def joined(self) -> str:
        return "\n".join(self.fields.values())


Loader = Callable[[AsyncSession, int, Viewer | None], Awaitable[Subject]]

_LOADERS: dict[str, Loader] = {}


def register(kind: str, loader: Loader) -> None:
    _LOADERS[kind] = loader


def kinds() -> tuple[str, ...]:
    return tuple(_LOADERS)


async def load(session: AsyncSession, *, kind: str, object_id: int, viewer: Viewer | None) -> Subject:
    loader = _LOADERS.get(kind)
    if loader is None:
        raise NotFound("There is nothing to translate here.", code="unknown_kind")
    return await loader(session, object_id, viewer)


def _fields(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value and value.strip()}


async def _note(session: AsyncSession, object_id: int, viewer: Viewer | None) -> Subject:
    if viewer is not None:
        note = await notes_service.access_note(session, viewer=viewer, note_id=object_id)
    else:
        found = await notes_service.get_note(session, note_id=object_id)
        if found is None or found.deleted_at is not None:
            raise NotFound("That note does not exist or is not available.", code="note_not_found")
        note = found
    return Subject("note", note.id, _fields(title=note.title, body=note.body))


async def _comment(session: AsyncSession, object_id: int, viewer: Viewer | None) -> Subject:
    if viewer is not None:
        comment = await notes_service.access_comment(session, viewer=viewer, comment_id=object_id)
    else:
        found = await notes_service.get_comment(session, comment_id=object_id)
        if found is None or found.deleted_at is not None:
            raise NotFound("That comment does not exist.", code="comment_not_found")
        comment = found
    return Subject("comment", comment.id, _fields(body=comment.body))


async def _bio(session: AsyncSession, object_id: int, viewer: Viewer | None) -> Subject:
    user = await accounts_service.get_user(session, user_id=object_id)
    if viewer is not None:
        user = await accounts_service.access_user(session, viewer=viewer, username=user.username)
    return Subject("bio", user.id, _fields(bio=user.bio))


async def _board(session: AsyncSession, object_id: int, viewer: Viewer | None) -> Subject:
    # Background work sees boards as an anonymous visitor would: private boards are
    # translated only when their owner asks.
    board = await notes_service.access_board(session, viewer=viewer or ANONYMOUS, board_id=object_id)
    return Subject("board", board.id, _fields(title=board.title, description=board.description))


register("note", _note)
register("comment", _comment)
register("bio", _bio)
register("board", _board)
