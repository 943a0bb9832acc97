"""Boards as a search result type: indexed from board events and by ``reindex``, found in
Chinese (also Traditional and by pinyin) and English, and filtered per reader when searched
(private boards, blocks, suspended or deleted owners), on both databases."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import BoardCreate, BoardUpdate
from bridgenote.search import service as search_service
from bridgenote.search.models import SearchDocument
from tests.factories import PASSWORD, create_user, viewer
from tests.search.conftest import NoteMaker, search
from tests.search.test_api import BAD_QUERIES

Drain = Callable[[], Awaitable[int]]
BoardMaker = Callable[..., Awaitable[int]]

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def board(runtime: Runtime) -> BoardMaker:
    """``await board(owner, "title", "description", is_private=False)``: a new board's id (not yet indexed)."""

    async def make(owner: User, title: str, description: str = "", *, is_private: bool = False) -> int:
        async with runtime.db.transaction() as session:
            created = await notes_service.create_board(
                session,
                viewer=viewer(owner),
                data=BoardCreate(title=title, description=description, is_private=is_private),
            )
        return created.id

    return make


async def board_ids(runtime: Runtime, q: str, *, who: User | None = None, **kwargs: Any) -> list[int]:
    return [b.id for b in (await search(runtime, q, who=who, type="boards", **kwargs)).boards]


async def update(runtime: Runtime, owner: User, board_id: int, **fields: Any) -> None:
    async with runtime.db.transaction() as session:
        await notes_service.update_board(session, viewer=viewer(owner), board_id=board_id, data=BoardUpdate(**fields))


async def test_boards_are_found_in_chinese_english_traditional_and_pinyin(
    runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    coffee = await board(author, "北京咖啡地图", "胡同里的小店 and specialty roasters")
    hiking = await board(author, "Weekend hiking trails", "Routes near Shanghai")
    await drain()
    for q in ("咖啡", "北京咖啡", "北京咖啡地圖", "咖啡 roasters", "胡同", "kafei", "beijingkafei", "bjkf", "Roaster"):
        assert await board_ids(runtime, q) == [coffee], q
    for q in ("hiking", "HIKE", "trail", "shanghai", "weekend hik"):
        assert await board_ids(runtime, q) == [hiking], q
    assert await board_ids(runtime, "sourdough") == []
    # Boards are their own type: they never turn up among notes, people or hashtags.
    for kind in ("notes", "users", "hashtags"):
        result = await search(runtime, "咖啡", type=kind)
        assert not result.boards and coffee not in [h.note_id for h in result.notes], kind


async def test_private_boards_are_found_only_by_their_owner(
    runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    secret = await board(author, "Gift ideas", "for my sister", is_private=True)
    public = await board(author, "Gift wrapping", "")
    other = await create_user(runtime)
    await drain()
    assert await board_ids(runtime, "gift") == [public]
    assert await board_ids(runtime, "gift", who=other) == [public]
    assert set(await board_ids(runtime, "gift", who=author)) == {secret, public}
    assert await board_ids(runtime, "sister", who=author) == [secret]


async def test_blocks_hide_boards_both_ways(runtime: Runtime, drain: Drain, board: BoardMaker, author: User) -> None:
    reader = await create_user(runtime)
    found = await board(author, "Hotpot places", "Chongqing")
    await drain()
    assert await board_ids(runtime, "hotpot", who=reader) == [found]
    async with runtime.db.transaction() as session:
        await accounts_service.block(session, viewer=viewer(author), username=reader.username)
    assert await board_ids(runtime, "hotpot", who=reader) == []
    assert await board_ids(runtime, "hotpot", who=author) == [found]
    async with runtime.db.transaction() as session:
        await accounts_service.unblock(session, viewer=viewer(author), username=reader.username)
        await accounts_service.block(session, viewer=viewer(reader), username=author.username)
    assert await board_ids(runtime, "hotpot", who=reader) == []
    assert await board_ids(runtime, "hotpot") == [found]


async def test_suspended_and_deleted_owners_boards_are_hidden(
    runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    gone = await create_user(runtime)
    kept = await board(author, "Lantern festival", "")
    suspended_board = await board(author, "Lantern making", "")
    deleted_board = await board(gone, "Lantern photos", "")
    await drain()
    assert set(await board_ids(runtime, "lantern")) == {kept, suspended_board, deleted_board}
    async with runtime.db.transaction() as session:
        await accounts_service.delete_account(session, viewer=viewer(gone), password=PASSWORD)
    # Hidden at once, before the purge job runs; the purge then drops the board from the index.
    assert set(await board_ids(runtime, "lantern")) == {kept, suspended_board}
    await drain()
    assert set(await board_ids(runtime, "lantern")) == {kept, suspended_board}
    async with runtime.db.transaction(write=False) as session:
        document = await session.get(SearchDocument, deleted_board)
    assert document is not None and document.deleted
    async with runtime.db.transaction() as session:
        await accounts_service.set_account_state(session, user_id=author.id, state="suspended")
    assert await board_ids(runtime, "lantern") == []


async def test_renamed_private_and_deleted_boards_update_results(
    runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    other = await create_user(runtime)
    found = await board(author, "Sourdough bakes", "")
    await drain()
    assert await board_ids(runtime, "sourdough", who=other) == [found]
    await update(runtime, author, found, title="Focaccia bakes", description="olive oil")
    await drain()
    assert await board_ids(runtime, "sourdough", who=other) == []
    assert await board_ids(runtime, "focaccia", who=other) == [found]
    assert await board_ids(runtime, "olive", who=other) == [found]
    # Made private: gone from other people's results at once, before any job runs.
    await update(runtime, author, found, is_private=True)
    assert await board_ids(runtime, "focaccia", who=other) == []
    assert await board_ids(runtime, "focaccia", who=author) == [found]
    await drain()
    await update(runtime, author, found, is_private=False)
    assert await board_ids(runtime, "focaccia", who=other) == [found]
    async with runtime.db.transaction() as session:
        await notes_service.delete_board(session, viewer=viewer(author), board_id=found)
    assert await board_ids(runtime, "focaccia", who=author) == []  # before the job too
    await drain()
    assert await board_ids(runtime, "focaccia", who=author) == []
    async with runtime.db.transaction(write=False) as session:
        document = await session.get(SearchDocument, found)
    assert document is not None and document.deleted


async def test_default_saved_boards_are_not_indexed(
    runtime: Runtime, drain: Drain, post: NoteMaker, author: User, board: BoardMaker
) -> None:
    note = await post(author, "Dumplings", "")
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(author), note_id=note)
    named = await board(author, "Saved recipes", "")
    await drain()
    assert await board_ids(runtime, "saved", who=author) == [named]


async def test_board_results_are_paged_and_rank_fuller_boards_first(
    runtime: Runtime, drain: Drain, post: NoteMaker, board: BoardMaker, author: User
) -> None:
    ids = [await board(author, f"Dumpling board {i}", "") for i in range(5)]
    note = await post(author, "Dumplings", "")
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(author), note_id=note, board_id=ids[0])
    await drain()
    first = await search(runtime, "dumpling", type="boards", limit=2)
    assert first.boards[0].id == ids[0] and first.next_cursor
    seen = [b.id for b in first.boards]
    cursor = first.next_cursor
    while cursor:
        page = await search(runtime, "dumpling", type="boards", limit=2, cursor=cursor)
        seen.extend(b.id for b in page.boards)
        cursor = page.next_cursor
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


async def test_reindex_rebuilds_board_documents(
    runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    found = await board(author, "Snow mountains", "ski trips")
    await drain()
    async with runtime.db.transaction() as session:
        await session.execute(delete(SearchDocument))
    search_service.forget_engine(runtime)
    assert await board_ids(runtime, "snow") == []
    report = await search_service.reindex(runtime, batch=2, embed=False)
    assert report.boards == 1
    assert await board_ids(runtime, "snow") == [found]
    # A board deleted while its event was lost leaves the index on the next reindex.
    async with runtime.db.transaction() as session:
        await notes_service.delete_board(session, viewer=viewer(author), board_id=found)
    await search_service.reindex(runtime, batch=2, embed=False)
    async with runtime.db.transaction(write=False) as session:
        document = await session.get(SearchDocument, found)
    assert document is not None and document.deleted


# ---------------------------------------------------------------- the API


async def test_api_answers_board_reads_with_a_cursor(
    client_for: Callable[[User], Awaitable[httpx.AsyncClient]],
    client: httpx.AsyncClient,
    runtime: Runtime,
    drain: Drain,
    board: BoardMaker,
    author: User,
) -> None:
    first = await board(author, "Tea houses", "Chengdu")
    second = await board(author, "Tea sets", "")
    mine = await board(author, "Tea wishlist", "", is_private=True)
    await drain()
    body = (await client.get("/api/v1/search", params={"q": "tea", "type": "boards", "limit": 1})).json()
    assert body["type"] == "boards" and body["notes"] == body["users"] == body["hashtags"] == []
    item = body["boards"][0]
    assert item["id"] in (str(first), str(second))
    assert item["owner"]["username"] == "writer"
    assert {"title", "description", "is_private", "is_default", "note_count", "created_at", "cover_url"} <= set(item)
    assert body["next_cursor"]
    rest = (
        await client.get("/api/v1/search", params={"q": "tea", "type": "boards", "cursor": body["next_cursor"]})
    ).json()
    assert {b["id"] for b in rest["boards"]} | {item["id"]} == {str(first), str(second)}
    assert rest["next_cursor"] is None
    owner = await client_for(author)
    own = (await owner.get("/api/v1/search", params={"q": "wishlist", "type": "boards"})).json()
    assert [(b["id"], b["is_private"]) for b in own["boards"]] == [(str(mine), True)]
    assert (await client.get("/api/v1/search", params={"q": "wishlist", "type": "boards"})).json()["boards"] == []


@pytest.mark.parametrize("q", BAD_QUERIES)
async def test_bad_board_queries_never_fail(
    client: httpx.AsyncClient, drain: Drain, board: BoardMaker, author: User, q: str
) -> None:
    await board(author, "Travel", "spring trips")
    await drain()
    r = await client.get("/api/v1/search", params={"q": q, "type": "boards"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"]["code"]
    else:
        assert isinstance(r.json()["boards"], list)


async def test_a_tampered_board_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    for cursor in ("%%%", "bm90IGEgY3Vyc29y", "W10", "WyJ4IiwieSJd"):
        r = await client.get("/api/v1/search", params={"q": "tea", "type": "boards", "cursor": cursor})
        assert r.status_code == 400, cursor
        assert r.json()["error"]["code"] == "invalid_cursor"


async def test_openapi_documents_board_results(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    read = doc["components"]["schemas"]["SearchRead"]["properties"]["boards"]
    assert read["items"]["$ref"].endswith("/BoardRead")
    params = {p["name"]: p for p in doc["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert "boards" in params["type"]["description"]


# ---------------------------------------------------------------- the web page


async def test_search_page_has_a_boards_tab_with_escaped_tiles(
    client: httpx.AsyncClient, runtime: Runtime, drain: Drain, board: BoardMaker, author: User
) -> None:
    plain = await board(author, "Hotpot spots", "")
    evil = await board(author, XSS[:90] + " hotpot", "")
    await drain()
    r = await client.get("/search", params={"q": "hotpot"})
    assert r.status_code == 200 and 'type=boards"' in r.text and ">Boards<" in r.text
    r = await client.get("/search", params={"q": "hotpot", "type": "boards"})
    assert r.status_code == 200
    assert f'href="/boards/{plain}"' in r.text and f'href="/boards/{evil}"' in r.text
    assert "Hotpot spots" in r.text and "@writer" in r.text
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert 'onerror="alert' not in r.text
    r = await client.get("/search", params={"q": "nothing-like-this", "type": "boards"})
    assert r.status_code == 200 and "No boards match" in r.text
    r = await client.get("/search", params={"q": "hotpot", "type": "boards"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200 and "专辑" in r.text


async def test_search_page_loads_more_boards_with_htmx(
    client: httpx.AsyncClient, drain: Drain, board: BoardMaker, author: User
) -> None:
    ids = [await board(author, f"Noodle board {i}", "") for i in range(25)]
    await drain()
    page = await client.get("/search", params={"q": "noodle", "type": "boards"})
    found = set(re.findall(r'href="/boards/(\d+)"', page.text))
    assert len(found) == 20
    more = re.search(r'hx-get="([^"]+)"', page.text.split('id="more"', 1)[1])
    assert more
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers={"hx-request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text
    found |= set(re.findall(r'href="/boards/(\d+)"', rest.text))
    assert found == {str(i) for i in ids}
