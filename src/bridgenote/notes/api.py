from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import BadRequest
from bridgenote.core.pagination import Page, Window
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import OK, ErrorResponse, IdPath, storable_text
from bridgenote.core.storage import Storage
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep, rate_limit
from bridgenote.media import service as media_service
from bridgenote.notes import cards, service
from bridgenote.notes.models import Comment, MediaAttachment
from bridgenote.notes.schemas import (
    BoardCreate,
    BoardRead,
    BoardUpdate,
    CommentCreate,
    CommentRead,
    HashtagRead,
    MediaRead,
    MediaUpdate,
    NoteCreate,
    NoteRead,
    NoteUpdate,
    SaveRequest,
)

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS)

Cursor = Annotated[str | None, Query(max_length=200, description="opaque cursor from the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=100)]


def media_read(storage: Storage, media: MediaAttachment) -> MediaRead:
    return MediaRead.model_validate(
        {
            **{c.key: getattr(media, c.key) for c in MediaAttachment.__table__.columns},
            "url": service.media_url(storage, media),
        }
    )


def json_response(payload: object, status_code: int = 200) -> Response:
    """Already-shaped JSON (the route's ``response_model`` documents it; tests check the shape)."""
    return Response(cards.dumps(payload), status_code=status_code, media_type="application/json")


async def note_json(
    session: AsyncSession, runtime: Runtime, viewer: Viewer, note_ids: Sequence[int], *, fresh: bool = False
) -> list[dict[str, Any]]:
    return await cards.render(session, runtime=runtime, viewer=viewer, note_ids=note_ids, fresh=fresh)


async def note_page(session: AsyncSession, runtime: Runtime, viewer: Viewer, page: Window[service.NoteRef]) -> Response:
    flags = ({ref.id for ref in page.items if ref.liked}, {ref.id for ref in page.items if ref.saved})
    items = await cards.render(
        session, runtime=runtime, viewer=viewer, note_ids=[ref.id for ref in page.items], flags=flags
    )
    return json_response({"items": items, "next_cursor": page.next_cursor})


async def comment_reads(
    session: AsyncSession, *, viewer: Viewer, storage: Storage, threads: Sequence[tuple[Comment, Sequence[Comment]]]
) -> list[CommentRead]:
    everything = [c for root, replies in threads for c in (root, *replies)]
    user_ids = {c.author_id for c in everything} | {c.reply_to_user_id for c in everything if c.reply_to_user_id}
    authors = await accounts_service.briefs(session, storage=storage, user_ids=list(user_ids))
    liked = await service.comments_liked_by(session, viewer=viewer, comment_ids=[c.id for c in everything])

    def one(c: Comment, replies: Sequence[Comment] = ()) -> CommentRead:
        return CommentRead(
            id=c.id,
            note_id=c.note_id,
            author=authors[c.author_id],
            body=c.body,
            language=c.language,
            root_id=c.root_id,
            parent_id=c.parent_id,
            reply_to=authors.get(c.reply_to_user_id) if c.reply_to_user_id and c.parent_id != c.root_id else None,
            like_count=c.like_count,
            reply_count=c.reply_count,
            liked=c.id in liked,
            created_at=c.created_at,
            replies=[one(r) for r in replies],
        )

    return [one(root, replies) for root, replies in threads]


# ---------------------------------------------------------------- uploads


@router.post("/media", status_code=status.HTTP_201_CREATED, response_model=MediaRead, tags=["media"])
async def upload_media(
    viewer: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="a photo (JPEG, PNG, WebP, GIF, AVIF) or a video (MP4, MOV, WebM)")],
    alt_text: Annotated[str, Form(max_length=1000)] = "",
) -> MediaRead:
    """Upload one photo or video; attach it to a note by listing its id in ``media_ids``."""
    try:
        alt_text = storable_text(alt_text)
    except ValueError as exc:
        raise BadRequest("The image description must be plain text.", code="invalid_text") from exc
    settings = runtime.settings
    limit = max(settings.max_upload_bytes, settings.max_video_bytes)
    data = await file.read(limit + 1)
    # The media domain checks a video's header, stores through notes' store_upload and lists the files.
    media = await media_service.accept_upload(session, runtime=runtime, viewer=viewer, data=data, alt_text=alt_text)
    return media_read(runtime.storage, media)


@router.patch("/media/{media_id}", response_model=MediaRead, tags=["media"])
async def update_media(
    media_id: IdPath, data: MediaUpdate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> MediaRead:
    media = await service.update_media(session, viewer=viewer, media_id=media_id, alt_text=data.alt_text)
    return media_read(runtime.storage, media)


# ---------------------------------------------------------------- notes


@router.post(
    "/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteRead,
    dependencies=[Depends(rate_limit("post"))],
    tags=["notes"],
)
async def create_note(data: NoteCreate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    note = await service.create_note(session, viewer=viewer, data=data, max_images=runtime.settings.max_images_per_note)
    return json_response((await note_json(session, runtime, viewer, [note.id], fresh=True))[0], status_code=201)


@router.get("/notes/{note_id}", response_model=NoteRead, tags=["notes"])
async def get_note(note_id: IdPath, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    note = await service.access_note(session, viewer=viewer, note_id=note_id)
    service.record_view(runtime.views, note_id=note.id)
    return json_response((await note_json(session, runtime, viewer, [note.id]))[0])


@router.patch("/notes/{note_id}", response_model=NoteRead, tags=["notes"])
async def update_note(
    note_id: IdPath, data: NoteUpdate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    note = await service.update_note(session, viewer=viewer, note_id=note_id, data=data)
    cards.forget_after_commit(session, runtime, note.id)
    return json_response((await note_json(session, runtime, viewer, [note.id], fresh=True))[0])


@router.delete("/notes/{note_id}", response_model=OK, tags=["notes"])
async def delete_note(note_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> OK:
    await service.delete_note(session, viewer=viewer, note_id=note_id)
    cards.forget_after_commit(session, runtime, note_id)
    return OK()


@router.post("/notes/{note_id}/like", response_model=OK, dependencies=[Depends(rate_limit("like"))], tags=["notes"])
async def like_note(note_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> OK:
    await service.like_note(session, viewer=viewer, note_id=note_id)
    cards.forget_after_commit(session, runtime, note_id)
    return OK()


@router.delete("/notes/{note_id}/like", response_model=OK, dependencies=[Depends(rate_limit("like"))], tags=["notes"])
async def unlike_note(note_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> OK:
    await service.unlike_note(session, viewer=viewer, note_id=note_id)
    cards.forget_after_commit(session, runtime, note_id)
    return OK()


@router.post(
    "/notes/{note_id}/save", response_model=BoardRead, dependencies=[Depends(rate_limit("like"))], tags=["boards"]
)
async def save_note(
    note_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep, data: SaveRequest | None = None
) -> BoardRead:
    """Save into a board (the default "Saved" board when ``board_id`` is omitted)."""
    board = await service.save_note(session, viewer=viewer, note_id=note_id, board_id=data.board_id if data else None)
    cards.forget_after_commit(session, runtime, note_id)
    await session.refresh(board)
    return (await service.board_reads(session, viewer=viewer, storage=runtime.storage, boards=[board]))[0]


@router.delete("/notes/{note_id}/save", response_model=OK, tags=["boards"])
async def unsave_note(
    note_id: IdPath,
    viewer: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> OK:
    await service.unsave_note(session, viewer=viewer, note_id=note_id, board_id=board_id)
    cards.forget_after_commit(session, runtime, note_id)
    return OK()


# ---------------------------------------------------------------- comments


@router.get("/notes/{note_id}/comments", response_model=Page[CommentRead], tags=["comments"])
async def list_comments(
    note_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[CommentRead]:
    page = await service.list_comments(session, viewer=viewer, note_id=note_id, cursor=cursor, limit=limit)
    items = await comment_reads(
        session, viewer=viewer, storage=runtime.storage, threads=[(t.comment, t.replies) for t in page.items]
    )
    return Page[CommentRead](items=items, next_cursor=page.next_cursor)


@router.post(
    "/notes/{note_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentRead,
    dependencies=[Depends(rate_limit("comment"))],
    tags=["comments"],
)
async def create_comment(
    note_id: IdPath, data: CommentCreate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> CommentRead:
    comment = await service.create_comment(session, viewer=viewer, note_id=note_id, data=data)
    cards.forget_after_commit(session, runtime, note_id)
    return (await comment_reads(session, viewer=viewer, storage=runtime.storage, threads=[(comment, [])]))[0]


@router.get("/comments/{comment_id}/replies", response_model=Page[CommentRead], tags=["comments"])
async def list_replies(
    comment_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[CommentRead]:
    page = await service.list_replies(session, viewer=viewer, comment_id=comment_id, cursor=cursor, limit=limit)
    items = await comment_reads(session, viewer=viewer, storage=runtime.storage, threads=[(c, []) for c in page.items])
    return Page[CommentRead](items=items, next_cursor=page.next_cursor)


@router.delete("/comments/{comment_id}", response_model=OK, tags=["comments"])
async def delete_comment(comment_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> OK:
    note_id = await service.delete_comment(session, viewer=viewer, comment_id=comment_id)
    cards.forget_after_commit(session, runtime, note_id)
    return OK()


@router.post(
    "/comments/{comment_id}/like", response_model=OK, dependencies=[Depends(rate_limit("like"))], tags=["comments"]
)
async def like_comment(comment_id: IdPath, viewer: UserDep, session: SessionDep) -> OK:
    await service.like_comment(session, viewer=viewer, comment_id=comment_id)
    return OK()


@router.delete("/comments/{comment_id}/like", response_model=OK, tags=["comments"])
async def unlike_comment(comment_id: IdPath, viewer: UserDep, session: SessionDep) -> OK:
    await service.unlike_comment(session, viewer=viewer, comment_id=comment_id)
    return OK()


# ---------------------------------------------------------------- boards


@router.post("/boards", status_code=status.HTTP_201_CREATED, response_model=BoardRead, tags=["boards"])
async def create_board(data: BoardCreate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> BoardRead:
    board = await service.create_board(session, viewer=viewer, data=data)
    return (await service.board_reads(session, viewer=viewer, storage=runtime.storage, boards=[board]))[0]


@router.get("/boards/{board_id}", response_model=BoardRead, tags=["boards"])
async def get_board(board_id: IdPath, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep) -> BoardRead:
    board = await service.access_board(session, viewer=viewer, board_id=board_id)
    return (await service.board_reads(session, viewer=viewer, storage=runtime.storage, boards=[board]))[0]


@router.patch("/boards/{board_id}", response_model=BoardRead, tags=["boards"])
async def update_board(
    board_id: IdPath, data: BoardUpdate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> BoardRead:
    board = await service.update_board(session, viewer=viewer, board_id=board_id, data=data)
    return (await service.board_reads(session, viewer=viewer, storage=runtime.storage, boards=[board]))[0]


@router.delete("/boards/{board_id}", response_model=OK, tags=["boards"])
async def delete_board(board_id: IdPath, viewer: UserDep, session: SessionDep) -> OK:
    await service.delete_board(session, viewer=viewer, board_id=board_id)
    return OK()


@router.get("/boards/{board_id}/notes", response_model=Page[NoteRead], tags=["boards", "feeds"])
async def board_notes(
    board_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Response:
    page = await service.board_notes(session, viewer=viewer, board_id=board_id, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)


@router.get("/users/{username}/boards", response_model=Page[BoardRead], tags=["boards"])
async def user_boards(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Page[BoardRead]:
    page = await service.list_boards(session, viewer=viewer, username=username, cursor=cursor, limit=limit)
    items = await service.board_reads(session, viewer=viewer, storage=runtime.storage, boards=page.items)
    return Page[BoardRead](items=items, next_cursor=page.next_cursor)


# ---------------------------------------------------------------- feeds and hashtags


@router.get("/feeds/latest", response_model=Page[NoteRead], tags=["feeds"])
async def latest_feed(
    viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = None
) -> Response:
    page = await service.latest_feed(session, viewer=viewer, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)


@router.get("/feeds/following", response_model=Page[NoteRead], tags=["feeds"])
async def following_feed(
    viewer: UserDep, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = None
) -> Response:
    page = await service.following_feed(session, viewer=viewer, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)


@router.get("/users/{username}/liked", response_model=Page[NoteRead], tags=["feeds"])
async def liked_notes(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Response:
    """Notes the person liked, most recent like first. Only they see it unless they set
    ``likes_public`` on their profile (403 ``likes_private`` otherwise)."""
    page = await service.liked_notes(session, viewer=viewer, username=username, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)


@router.get("/users/{username}/notes", response_model=Page[NoteRead], tags=["feeds"])
async def user_notes(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: Limit = None,
) -> Response:
    page = await service.user_notes(session, viewer=viewer, username=username, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)


@router.get("/hashtags/{name}", response_model=HashtagRead, tags=["hashtags"])
async def get_hashtag(name: str, session: SessionDep, runtime: RuntimeDep) -> HashtagRead:
    """A hashtag page's header: how many notes use it and how often it was viewed.
    ``#旅遊``, ``旅游`` and ``＃旅遊`` all name the same tag."""
    tag = await service.get_hashtag(session, name=name)
    service.record_hashtag_view(runtime.views, hashtag_id=tag.id)
    return HashtagRead(name=tag.display_name, key=tag.key, note_count=tag.note_count, view_count=tag.view_count)


@router.get("/hashtags/{name}/notes", response_model=Page[NoteRead], tags=["hashtags", "feeds"])
async def hashtag_notes(
    name: str, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = None
) -> Response:
    page = await service.hashtag_notes(session, viewer=viewer, name=name, cursor=cursor, limit=limit)
    return await note_page(session, runtime, viewer, page)
