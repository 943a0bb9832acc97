"""Regional policies end to end: a note limited in CN is invisible to CN viewers on every read
path (detail, latest feed, profile, board, hashtag, search) and visible elsewhere; the author
sees exactly what happened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from bridgenote.core.runtime import Runtime
from bridgenote.notes.cards import CARD_TTL
from bridgenote.search import service as search_service
from tests.moderation.conftest import Person, PersonFactory, post_note

Drain = Callable[[], Awaitable[int]]
CANNABIS = {"title": "Homemade cannabis gummies", "body": "Weed edibles from my garden, dm me #gardening"}


@pytest.fixture(autouse=True)
async def search_engine_cleanup(runtime: Runtime) -> AsyncIterator[None]:
    yield
    await search_service.close_for(runtime)


async def _ids(client: httpx.AsyncClient, url: str, **params: str) -> set[str]:
    r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    return {n["id"] for n in r.json()["items"]}


async def _sees(viewer: Person, note_id: str, *, author: str, board_id: str) -> dict[str, bool]:
    c = viewer.client
    search = (await c.get("/api/v1/search", params={"q": "gummies"})).json()
    return {
        "detail": (await c.get(f"/api/v1/notes/{note_id}")).status_code == 200,
        "feed": note_id in await _ids(c, "/api/v1/feeds/latest"),
        "profile": note_id in await _ids(c, f"/api/v1/users/{author}/notes"),
        "board": note_id in await _ids(c, f"/api/v1/boards/{board_id}/notes"),
        "hashtag": note_id in await _ids(c, "/api/v1/hashtags/gardening/notes"),
        "search": note_id in {n["note"]["id"] for n in search["notes"]},
    }


async def test_note_limited_in_cn_is_hidden_there_on_every_read_path(person: PersonFactory, drain: Drain) -> None:
    author = await person("grower", region="US")
    curator = await person("curator", region="US")
    cn = await person("shanghai", region="CN", read_languages=["zh-Hans", "en"])
    us = await person("ohio", region="US")
    eu = await person("berlin", region="DE")
    note = await post_note(author.client, **CANNABIS)
    board = (await curator.client.post("/api/v1/boards", json={"title": "Garden ideas"})).json()
    r = await curator.client.post(f"/api/v1/notes/{note['id']}/save", json={"board_id": board["id"]})
    assert r.status_code == 200, r.text
    await drain()

    assert set((await _sees(cn, note["id"], author="grower", board_id=board["id"])).values()) == {False}
    assert set((await _sees(us, note["id"], author="grower", board_id=board["id"])).values()) == {True}
    assert set((await _sees(eu, note["id"], author="grower", board_id=board["id"])).values()) == {True}

    # The author sees exactly what happened, and may appeal.
    [decision] = (await author.client.get(f"/api/v1/moderation/decisions/note/{note['id']}")).json()
    assert decision["action"] == "limit" and decision["regions"] == ["CN"], decision
    assert decision["regional"]["CN"] == "limit" and decision["regional"]["US"] == "label"
    assert decision["labels"] == ["cannabis"]
    assert decision["appealable"]
    assert "CN" in decision["explanation"] and "Cannabis" in decision["explanation"], decision
    items = (await author.client.get("/api/v1/notifications")).json()["items"]
    assert any(n["kind"] == "moderation" and "CN" in n["text"] for n in items), items


async def test_chinese_reader_gets_the_explanation_in_chinese(person: PersonFactory, drain: Drain) -> None:
    author = await person("wang", region="CN", read_languages=["zh-Hans"], ui_language="zh-Hans")
    note = await post_note(author.client, title="电子烟 现货 私聊", body="各种口味烟弹，包邮")
    await drain()
    [decision] = (await author.client.get(f"/api/v1/moderation/decisions/note/{note['id']}")).json()
    assert decision["action"] == "limit" and "CN" in decision["regions"], decision
    assert "电子烟" in decision["explanation"], decision
    # The author still sees their own note; other CN viewers do not.
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).status_code == 200
    other = await person("lili", region="CN")
    assert (await other.client.get(f"/api/v1/notes/{note['id']}")).status_code == 404
    us = await person("nyc", region="US")
    assert (await us.client.get(f"/api/v1/notes/{note['id']}")).status_code == 200


async def test_benign_look_alikes_pass(person: PersonFactory, drain: Drain) -> None:
    author = await person("baker", region="CN")
    texts = [("乳酸菌饮料", "早餐配一瓶乳酸菌饮料"), ("Cat tax", "Here is the cat tax, Scunthorpe edition")]
    ids = [(await post_note(author.client, title=t, body=b))["id"] for t, b in texts]
    await drain()
    viewer = await person("reader", region="CN")
    for note_id in ids:
        assert (await viewer.client.get(f"/api/v1/notes/{note_id}")).status_code == 200
        assert (await author.client.get(f"/api/v1/moderation/decisions/note/{note_id}")).json() == []


async def test_a_labelled_note_carries_its_notice_for_every_reader(person: PersonFactory, drain: Drain) -> None:
    author = await person("grower", region="US")
    note = await post_note(author.client, **CANNABIS)
    await drain()
    # Screening labels the note in a job; cards cached by the post expire within CARD_TTL.
    await asyncio.sleep(CARD_TTL)
    reader = await person("ohio", region="US")
    got = (await reader.client.get(f"/api/v1/notes/{note['id']}")).json()
    assert got["labels"] == ["cannabis"]
    assert (await reader.client.get("/api/v1/feeds/latest")).json()["items"][0]["labels"] == ["cannabis"]
    page = await reader.client.get(f"/notes/{note['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'class="notice label-notice"' in page.text and "Legal in some states only" in page.text
    zh = await person("lin", region="US", ui_language="zh-Hans")
    page = await zh.client.get(f"/notes/{note['id']}", headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
    assert "大麻" in page.text
    # The author's notification about it leads to their standing page, where they can appeal.
    notes_page = await author.client.get("/notifications", headers={"Accept": "text/html"})
    assert 'href="/moderation/standing"' in notes_page.text
    # An unlabelled note has no notice.
    plain = await post_note(author.client, title="Tomatoes", body="First harvest of the summer")
    await drain()
    await asyncio.sleep(CARD_TTL)
    assert (await reader.client.get(f"/api/v1/notes/{plain['id']}")).json()["labels"] == []
    assert (
        "label-notice" not in (await reader.client.get(f"/notes/{plain['id']}", headers={"Accept": "text/html"})).text
    )


async def test_a_comment_limited_in_cn_is_hidden_there_only(person: PersonFactory, drain: Drain) -> None:
    author = await person("poster", region="US")
    note = await post_note(author.client, title="Garden diary", body="Tomatoes and basil")
    commenter = await person("grower", region="US")
    r = await commenter.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": CANNABIS["body"]})
    assert r.status_code == 201, r.text
    comment_id = r.json()["id"]
    plain = (await commenter.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "Lovely basil"})).json()
    await drain()

    async def sees(who: Person) -> set[str]:
        got = await who.client.get(f"/api/v1/notes/{note['id']}/comments")
        assert got.status_code == 200, got.text
        return {c["id"] for c in got.json()["items"]}

    cn = await person("beijing", region="CN")
    us = await person("texas", region="US")
    assert await sees(cn) == {plain["id"]}
    assert await sees(us) == {comment_id, plain["id"]}
    assert comment_id in await sees(commenter)  # its author still sees it
    [decision] = (await commenter.client.get(f"/api/v1/moderation/decisions/comment/{comment_id}")).json()
    assert decision["action"] == "limit" and decision["regions"] == ["CN"], decision

    # A moderator can limit a comment by region too (here: the plain one, in the US), and approve it back.
    mod = await person("mod", role="moderator")
    r = await mod.client.post(
        "/api/v1/moderation/actions",
        json={
            "target_type": "comment",
            "target_id": plain["id"],
            "action": "limit",
            "regions": ["US"],
            "reason": "test",
        },
    )
    assert r.status_code == 201, r.text
    assert await sees(us) == {comment_id}
    assert plain["id"] in await sees(cn)
    bad = await mod.client.post(
        "/api/v1/moderation/actions",
        json={"target_type": "comment", "target_id": plain["id"], "action": "limit", "reason": "no regions"},
    )
    assert bad.status_code == 422
    r = await mod.client.post(
        "/api/v1/moderation/actions",
        json={"target_type": "comment", "target_id": plain["id"], "action": "approve", "reason": "fine after all"},
    )
    assert r.status_code == 201, r.text
    assert await sees(us) == {comment_id, plain["id"]}
