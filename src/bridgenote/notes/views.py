"""Pages of the notes domain: Discover, note detail, video view, compose, profiles with
their notes and boards, boards, hashtags and search. Every read and write goes through
``notes.service`` (and ``cards`` for the shared note JSON), exactly as the API does."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.schemas import UserBrief
from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import BadRequest, NotFound
from bridgenote.core.pagination import Window, encode_cursor
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import IdPath, storable_text
from bridgenote.core.web import RuntimeDep, SessionDep, rate_limit
from bridgenote.feed import service as feed_service
from bridgenote.moderation import service as moderation_service
from bridgenote.notes import cards, parsing, policy, service
from bridgenote.notes.models import Comment
from bridgenote.notes.schemas import BoardCreate, BoardUpdate, CommentCreate, NoteCreate
from bridgenote.translation import service as translation_service
from bridgenote.web.routing import (
    LoginRequired,
    PageUser,
    PageViewer,
    form_data,
    is_htmx,
    next_page_url,
    redirect,
    views_router,
)
from bridgenote.web.templating import TOPICS, add_filter, render, tag_url, translation_available, user_url

router = views_router()

Cursor = Annotated[str | None, Query(max_length=200)]
# Discover's cursor carries the scroll session's seen-notes filter.
FeedCursor = Annotated[str | None, Query(max_length=3000)]
GRID_PAGE = 20
COMMENT_PAGE = 20
TABS = ("discover", "following", "nearby")


# ---------------------------------------------------------------- text with links


def rich_text(text: str | None) -> Markup:
    """Escaped user text with #hashtags and @mentions turned into links (nothing else is
    ever interpreted: the text is escaped piece by piece, and links are built here)."""
    if not text:
        return Markup("")
    # Tags and mentions inside URLs and e-mail addresses are not links (as in parsing.py).
    blanked = parsing.URL_RE.sub(lambda m: " " * len(m.group(0)), text)
    blanked = parsing.EMAIL_RE.sub(lambda m: " " * len(m.group(0)), blanked)
    spans: list[tuple[int, int, Markup]] = []
    for match in parsing.HASHTAG_RE.finditer(blanked):
        name = match.group(1).strip("_·")
        if name and not name.isdigit():
            link = Markup('<a class="tag" href="{}">{}</a>').format(tag_url(name), text[match.start() : match.end()])
            spans.append((match.start(), match.end(), link))
    for match in parsing.MENTION_RE.finditer(blanked):
        name = match.group(1).rstrip(".")
        if len(name) >= 3 and not any(s <= match.start() < e for s, e, _l in spans):
            end = match.start(1) + len(name)
            link = Markup('<a class="mention" href="{}">{}</a>').format(user_url(name), text[match.start() : end])
            spans.append((match.start(), end, link))
    out: list[str] = []
    position = 0
    for start, end, link in sorted(spans, key=lambda s: s[0]):
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(link)
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


add_filter("rich", rich_text)


# ---------------------------------------------------------------- note cards


async def note_cards(
    session: AsyncSession, runtime: Runtime, viewer: Viewer, note_ids: Sequence[int], *, fresh: bool = False
) -> list[dict[str, Any]]:
    """Notes as the API shows them (``NoteRead`` JSON), for visible ids only."""
    return await cards.render(session, runtime=runtime, viewer=viewer, note_ids=note_ids, fresh=fresh)


async def grid(
    request: Request,
    session: AsyncSession,
    runtime: Runtime,
    viewer: Viewer,
    window: Window[Any],
    template: str,
    context: dict[str, Any],
    *,
    reasons: dict[int, str] | None = None,
) -> Response:
    """A page with a note grid; htmx asks for the next page (infinite scroll) and gets the
    cards alone. ``reasons`` puts a "Why this?" line (and the feed controls) on cards."""
    items = await note_cards(session, runtime, viewer, [n.id for n in window.items])
    if reasons:
        for item in items:
            item["why"] = reasons.get(int(item["id"]))
    values = {**context, "notes": items, "next_url": next_page_url(request, window.next_cursor)}
    if is_htmx(request) and request.query_params.get("cursor"):
        return await render(request, "_grid_page.html", values, viewer=viewer)
    return await render(request, template, values, viewer=viewer, session=session)


# ---------------------------------------------------------------- Discover


def topic_tag(topic: str) -> str | None:
    entry = TOPICS.get(topic)
    if entry is None:
        return None
    return entry[1].get(i18n.current_language()) or entry[1]["en"]


async def discover_source(
    session: AsyncSession,
    *,
    runtime: Runtime,
    viewer: Viewer,
    tab: str,
    topic: str | None,
    cursor: str | None,
) -> Window[Any] | None:
    """Where each Discover tab gets its notes; ``None`` means the tab cannot serve this
    viewer yet (Nearby without a region).

    Discover is the feed domain's ranked, interest-based page (a topic chip narrows it to
    that topic's tag, newest first), Following the newest notes of followed accounts,
    Nearby the newest notes posted from the reader's region.
    """
    if tab == "following":
        if not viewer.is_authenticated:
            raise LoginRequired()
        return await feed_service.following(session, viewer=viewer, cursor=cursor, limit=GRID_PAGE)
    if tab == "nearby":
        if not viewer.region:
            return None
        return await feed_service.nearby(session, viewer=viewer, cursor=cursor, limit=GRID_PAGE)
    tag = topic_tag(topic) if topic else None
    if tag is not None:
        try:
            return await service.hashtag_notes(session, viewer=viewer, name=tag, cursor=cursor, limit=GRID_PAGE)
        except NotFound:
            return Window(items=[])
    return await feed_service.discover(session, runtime=runtime, viewer=viewer, cursor=cursor, limit=GRID_PAGE)


@router.get("/")
async def discover(
    request: Request,
    viewer: PageViewer,
    session: SessionDep,
    runtime: RuntimeDep,
    tab: Annotated[str, Query(max_length=20)] = "discover",
    topic: Annotated[str | None, Query(max_length=40)] = None,
    cursor: FeedCursor = None,
) -> Response:
    tab = tab if tab in TABS else "discover"
    topic = topic if topic in TOPICS else None
    window = await discover_source(session, runtime=runtime, viewer=viewer, tab=tab, topic=topic, cursor=cursor)
    context = {"tab": tab, "topic": topic, "unavailable": window is None}
    # Ranked Discover cards say why they are there and take "not interested" / "more like this".
    reasons = (
        {e.id: feed_service.explain(e) for e in window.items if isinstance(e, feed_service.FeedEntry)}
        if window is not None and tab == "discover"
        else None
    )
    return await grid(
        request, session, runtime, viewer, window or Window(items=[]), "discover.html", context, reasons=reasons
    )


# ---------------------------------------------------------------- note detail


def _brief(people: dict[int, UserBrief], user_id: int | None) -> UserBrief | None:
    return people.get(user_id) if user_id is not None else None


async def comment_views(
    session: AsyncSession,
    runtime: Runtime,
    viewer: Viewer,
    threads: Sequence[tuple[Comment, Sequence[Comment]]],
    *,
    note_author_id: int,
) -> list[dict[str, Any]]:
    everything = [c for root, replies in threads for c in (root, *replies)]
    user_ids = {c.author_id for c in everything} | {c.reply_to_user_id for c in everything if c.reply_to_user_id}
    people = await accounts_service.briefs(session, storage=runtime.storage, user_ids=list(user_ids))
    liked = await service.comments_liked_by(session, viewer=viewer, comment_ids=[c.id for c in everything])

    def one(c: Comment, replies: Sequence[Comment] = ()) -> dict[str, Any]:
        shown = len(replies)
        return {
            "id": c.id,
            "note_id": c.note_id,
            "author": people.get(c.author_id),
            "body": c.body,
            "reply_to": _brief(people, c.reply_to_user_id) if c.parent_id != c.root_id else None,
            "like_count": c.like_count,
            "reply_count": c.reply_count,
            "liked": c.id in liked,
            "created_at": c.created_at,
            "is_reply": c.root_id is not None,
            "root_id": c.root_id,
            "can_delete": viewer.id is not None and (viewer.id in (c.author_id, note_author_id) or viewer.is_staff),
            "replies": [one(r) for r in replies],
            "more_replies": max(0, c.reply_count - shown) if c.root_id is None else 0,
            "more_cursor": encode_cursor(replies[-1].id) if replies else None,
        }

    return [one(root, replies) for root, replies in threads if root.author_id in people]


@router.get("/notes/{note_id}")
async def note_detail(
    note_id: IdPath, request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    note = await service.access_note(session, viewer=viewer, note_id=note_id)
    service.record_view(runtime.views, note_id=note.id)
    card = (await note_cards(session, runtime, viewer, [note.id]))[0]
    page = await service.list_comments(session, viewer=viewer, note_id=note.id, cursor=None, limit=COMMENT_PAGE)
    comments = await comment_views(
        session, runtime, viewer, [(t.comment, t.replies) for t in page.items], note_author_id=note.author_id
    )
    relations = await accounts_service.relations(session, viewer=viewer, user_id=note.author_id)
    context = {
        "note": card,
        "auto_translate": await _auto_translate(request, session, viewer, note.id),
        "comments": comments,
        "comments_next": f"/notes/{note.id}/comments?cursor={page.next_cursor}" if page.next_cursor else None,
        "is_author": viewer.id == note.author_id,
        "can_delete": policy.can_delete_note(viewer, note),
        "following": relations["is_following"],
        "share_url": str(request.url_for("note_detail", note_id=note.id)),
        "notices": await moderation_service.label_notices(
            session, labels=card["labels"], language=i18n.current_language(), region=viewer.region
        ),
    }
    return await render(request, "note.html", context, viewer=viewer, session=session)


async def _auto_translate(request: Request, session: AsyncSession, viewer: Viewer, note_id: int) -> bool:
    """Whether the reader asked for notes in languages they do not read to be shown
    translated (the translation domain's preference); the page then asks for it at once."""
    if not viewer.is_authenticated or not await translation_available(request):
        return False
    prefs = await translation_service.get_preferences(session, viewer=viewer)
    language = await translation_service.get_subject_language(session, kind="note", object_id=note_id)
    return translation_service.wants_auto_translation(prefs, viewer=viewer, kind="note", language=language)


@router.get("/notes/{note_id}/watch")
async def watch(
    note_id: IdPath, request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The full-height player of a video note, actions on the right (RedNote / Douyin style)."""
    note = await service.access_note(session, viewer=viewer, note_id=note_id)
    if note.kind != "video":
        return redirect(request, f"/notes/{note.id}")
    service.record_view(runtime.views, note_id=note.id)
    card = (await note_cards(session, runtime, viewer, [note.id]))[0]
    relations = await accounts_service.relations(session, viewer=viewer, user_id=note.author_id)
    context = {"note": card, "following": relations["is_following"], "is_author": viewer.id == note.author_id}
    return await render(request, "watch.html", context, viewer=viewer, session=session)


@router.get("/notes/{note_id}/comments")
async def more_comments(
    note_id: IdPath, request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep, cursor: Cursor
) -> Response:
    note = await service.access_note(session, viewer=viewer, note_id=note_id)
    page = await service.list_comments(session, viewer=viewer, note_id=note.id, cursor=cursor, limit=COMMENT_PAGE)
    comments = await comment_views(
        session, runtime, viewer, [(t.comment, t.replies) for t in page.items], note_author_id=note.author_id
    )
    context = {
        "comments": comments,
        "note": {"id": str(note.id)},
        "comments_next": f"/notes/{note.id}/comments?cursor={page.next_cursor}" if page.next_cursor else None,
    }
    return await render(request, "_comments_page.html", context, viewer=viewer)


@router.get("/comments/{comment_id}/replies")
async def more_replies(
    comment_id: IdPath, request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep, cursor: Cursor
) -> Response:
    page = await service.list_replies(session, viewer=viewer, comment_id=comment_id, cursor=cursor, limit=COMMENT_PAGE)
    note_author = None
    if page.items:
        note = await service.access_note(session, viewer=viewer, note_id=page.items[0].note_id)
        note_author = note.author_id
    replies = await comment_views(
        session, runtime, viewer, [(c, []) for c in page.items], note_author_id=note_author or 0
    )
    more = f"/comments/{comment_id}/replies?cursor={page.next_cursor}" if page.next_cursor else None
    return await render(request, "_replies.html", {"replies": replies, "more_url": more}, viewer=viewer)


@router.post("/notes/{note_id}/comments", dependencies=[Depends(rate_limit("comment"))])
async def post_comment(
    note_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await form_data(request)
    parent = form.get("parent_id") or None
    try:
        data = CommentCreate(body=str(form.get("body", "")), parent_id=parent)
    except ValidationError as exc:
        raise BadRequest("Write something before you post.", code="empty_comment") from exc
    comment = await service.create_comment(session, viewer=viewer, note_id=note_id, data=data)
    cards.forget_after_commit(session, runtime, note_id)
    note = await service.access_note(session, viewer=viewer, note_id=note_id)
    if not is_htmx(request):
        return redirect(request, f"/notes/{note_id}#c{comment.id}")
    view = (await comment_views(session, runtime, viewer, [(comment, [])], note_author_id=note.author_id))[0]
    return await render(request, "_comment.html", {"c": view, "note": {"id": str(note_id)}}, viewer=viewer)


@router.post("/comments/{comment_id}/delete")
async def delete_comment(
    comment_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    note_id = await service.delete_comment(session, viewer=viewer, comment_id=comment_id)
    cards.forget_after_commit(session, runtime, note_id)
    if is_htmx(request):
        return Response("")
    return redirect(request, f"/notes/{note_id}")


@router.post("/notes/{note_id}/like", dependencies=[Depends(rate_limit("like"))])
async def toggle_like(
    note_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Like, or unlike when ``action=unlike``; answers with the new button."""
    form = await form_data(request)
    if form.get("action") == "unlike":
        await service.unlike_note(session, viewer=viewer, note_id=note_id)
    else:
        await service.like_note(session, viewer=viewer, note_id=note_id)
    cards.forget_after_commit(session, runtime, note_id)
    if not is_htmx(request):
        return redirect(request, f"/notes/{note_id}")
    card = (await note_cards(session, runtime, viewer, [note_id], fresh=True))[0]
    variant = form.get("variant") if form.get("variant") in ("card", "side") else "bar"
    return await render(request, "_like_button.html", {"note": card, "variant": variant}, viewer=viewer)


@router.get("/notes/{note_id}/save")
async def save_dialog(
    note_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The board picker: the viewer's boards (the default "Saved" first) and a new-board field."""
    await service.access_note(session, viewer=viewer, note_id=note_id)
    boards = await service.list_boards(session, viewer=viewer, username=viewer.username or "", cursor=None, limit=100)
    card = (await note_cards(session, runtime, viewer, [note_id]))[0]
    return await render(request, "_save_dialog.html", {"note": card, "boards": boards.items}, viewer=viewer)


@router.post("/notes/{note_id}/save", dependencies=[Depends(rate_limit("like"))])
async def save(
    note_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await form_data(request)
    if form.get("action") == "unsave":
        await service.unsave_note(session, viewer=viewer, note_id=note_id)
    else:
        board_id: int | None = None
        new_title = str(form.get("new_board") or "").strip()
        if new_title:
            try:
                data = BoardCreate(title=new_title, is_private=form.get("private") == "on")
            except ValidationError as exc:
                raise BadRequest("Give the board a name of up to 100 characters.", code="invalid_board") from exc
            board_id = (await service.create_board(session, viewer=viewer, data=data)).id
        elif str(form.get("board_id") or "").isdigit():
            board_id = int(str(form["board_id"]))
        await service.save_note(session, viewer=viewer, note_id=note_id, board_id=board_id)
    cards.forget_after_commit(session, runtime, note_id)
    if not is_htmx(request):
        return redirect(request, f"/notes/{note_id}")
    card = (await note_cards(session, runtime, viewer, [note_id], fresh=True))[0]
    variant = form.get("variant") if form.get("variant") == "side" else "bar"
    return await render(request, "_save_button.html", {"note": card, "variant": variant}, viewer=viewer)


@router.post("/notes/{note_id}/delete")
async def delete_note(
    note_id: IdPath, request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await service.delete_note(session, viewer=viewer, note_id=note_id)
    cards.forget_after_commit(session, runtime, note_id)
    return redirect(request, user_url(viewer.username or ""))


# ---------------------------------------------------------------- compose


@router.get("/compose")
async def compose(request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    context = {
        "max_images": settings.max_images_per_note,
        "max_title": settings.max_note_title,
        "max_body": settings.max_note_body,
    }
    return await render(request, "compose.html", context, viewer=viewer, session=session)


@router.post("/compose", dependencies=[Depends(rate_limit("post"))])
async def publish(request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await request.form()
    media_ids = [int(v) for v in form.getlist("media_id") if isinstance(v, str) and v.isdigit()]
    for media_id in media_ids:
        alt = form.get(f"alt_{media_id}")
        if isinstance(alt, str) and alt.strip():
            try:
                text = storable_text(alt.strip())[:1000]
            except ValueError as exc:
                raise BadRequest("The image description must be plain text.", code="invalid_text") from exc
            await service.update_media(session, viewer=viewer, media_id=media_id, alt_text=text)
    try:
        data = NoteCreate(
            title=str(form.get("title") or ""),
            body=str(form.get("body") or ""),
            place_name=str(form.get("place_name") or "") or None,
            media_ids=media_ids,
        )
    except ValidationError as exc:
        raise BadRequest(
            "Titles have up to {title} characters and the text up to {body}.",
            code="note_too_long",
            title=runtime.settings.max_note_title,
            body=runtime.settings.max_note_body,
        ) from exc
    note = await service.create_note(session, viewer=viewer, data=data, max_images=runtime.settings.max_images_per_note)
    return redirect(request, f"/notes/{note.id}")


TOKEN_RE = re.compile(r"^[#＃@＠][\w.·]{0,50}$")


@router.get("/compose/suggest")
async def suggest(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    """Autocomplete for the word being typed: ``@`` suggests people you follow, ``#`` tags
    of recent notes and the topic tags."""
    q = q.strip()
    items: list[dict[str, str]] = []
    if TOKEN_RE.match(q):
        prefix = q[1:].casefold()
        if q[0] in "@＠":
            window = await accounts_service.following(
                session, viewer=viewer, username=viewer.username or "", cursor=None, limit=100
            )
            for user in window.items:
                if user.username.casefold().startswith(prefix) or user.display_name.casefold().startswith(prefix):
                    items.append(
                        {"insert": f"@{user.username} ", "label": f"@{user.username}", "hint": user.display_name}
                    )
        else:
            recent = await service.latest_feed(session, viewer=viewer, cursor=None, limit=50)
            names: dict[str, None] = {tag: None for _label, tags in TOPICS.values() for tag in tags.values()}
            for card in await note_cards(session, runtime, viewer, [n.id for n in recent.items]):
                names.update({tag["name"]: None for tag in card["hashtags"]})
            for name in names:
                if name.casefold().startswith(prefix):
                    items.append({"insert": f"#{name} ", "label": f"#{name}", "hint": ""})
    return await render(request, "_suggest.html", {"items": items[:8]}, viewer=viewer)


# ---------------------------------------------------------------- profiles and boards


PROFILE_TABS = ("notes", "boards", "liked")


@router.get("/u/{username}")
async def profile(
    username: str,
    request: Request,
    viewer: PageViewer,
    session: SessionDep,
    runtime: RuntimeDep,
    tab: Annotated[str, Query(max_length=20)] = "notes",
    cursor: Cursor = None,
) -> Response:
    user = await accounts_service.access_user(session, viewer=viewer, username=username)
    tab = tab if tab in PROFILE_TABS else "notes"
    context: dict[str, Any] = {
        "user": user,
        "avatar_url": accounts_service.avatar_url(runtime.storage, user),
        "relations": await accounts_service.relations(session, viewer=viewer, user_id=user.id),
        "is_me": viewer.id == user.id,
        "tab": tab,
    }
    if tab == "boards":
        boards = await service.list_boards(session, viewer=viewer, username=user.username, cursor=cursor, limit=100)
        covers = await service.board_covers(session, storage=runtime.storage, boards=boards.items, viewer=viewer)
        context.update(boards=boards.items, covers=covers, next_url=None, notes=[])
        return await render(request, "profile.html", context, viewer=viewer, session=session)
    if tab == "liked" and policy.can_see_likes_of(viewer, user_id=user.id, likes_public=user.likes_public):
        window = await service.liked_notes(
            session, viewer=viewer, username=user.username, cursor=cursor, limit=GRID_PAGE
        )
        return await grid(request, session, runtime, viewer, window, "profile.html", context)
    context["tab"] = "notes"
    window = await service.user_notes(session, viewer=viewer, username=user.username, cursor=cursor, limit=GRID_PAGE)
    return await grid(request, session, runtime, viewer, window, "profile.html", context)


@router.post("/boards")
async def create_board(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        data = BoardCreate(
            title=str(form.get("title") or ""),
            description=str(form.get("description") or ""),
            is_private=form.get("private") == "on",
        )
    except ValidationError as exc:
        raise BadRequest("Give the board a name of up to 100 characters.", code="invalid_board") from exc
    board = await service.create_board(session, viewer=viewer, data=data)
    return redirect(request, f"/boards/{board.id}")


@router.get("/boards/{board_id}")
async def board(
    board_id: IdPath,
    request: Request,
    viewer: PageViewer,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
) -> Response:
    found = await service.access_board(session, viewer=viewer, board_id=board_id)
    owner = await accounts_service.get_user(session, user_id=found.owner_id)
    window = await service.board_notes(session, viewer=viewer, board_id=found.id, cursor=cursor, limit=GRID_PAGE)
    context = {"board": found, "owner": owner, "is_owner": policy.can_manage_board(viewer, found)}
    return await grid(request, session, runtime, viewer, window, "board.html", context)


@router.post("/boards/{board_id}")
async def update_board(board_id: IdPath, request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    if form.get("action") == "delete":
        await service.delete_board(session, viewer=viewer, board_id=board_id)
        return redirect(request, user_url(viewer.username or "") + "?tab=boards")
    try:
        data = BoardUpdate(
            title=str(form.get("title") or ""),
            description=str(form.get("description") or ""),
            is_private=form.get("private") == "on",
        )
    except ValidationError as exc:
        raise BadRequest("Give the board a name of up to 100 characters.", code="invalid_board") from exc
    await service.update_board(session, viewer=viewer, board_id=board_id, data=data)
    return redirect(request, f"/boards/{board_id}")


# ---------------------------------------------------------------- hashtags


@router.get("/tags/{name}")
async def hashtag(
    name: str, request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep, cursor: Cursor = None
) -> Response:
    tag = await service.get_hashtag(session, name=name)
    if cursor is None:
        service.record_hashtag_view(runtime.views, hashtag_id=tag.id)
    window = await service.hashtag_notes(session, viewer=viewer, name=name, cursor=cursor, limit=GRID_PAGE)
    return await grid(request, session, runtime, viewer, window, "hashtag.html", {"tag": tag})


__all__ = ["discover_source", "router"]
