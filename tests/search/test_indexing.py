"""Notes, users and hashtags become searchable through the event jobs, on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteUpdate
from tests.factories import create_user, viewer
from tests.search.conftest import NoteMaker, note_ids, search


async def test_a_note_is_found_by_chinese_english_and_mixed_words(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    mixed = await post(author, "周末", "今天去了三里屯 and it was amazing")
    other = await post(author, "Hiking", "A long hike in the western hills near Beijing")
    await drain()
    assert await note_ids(runtime, "三里屯") == [mixed]
    assert await note_ids(runtime, "amazing") == [mixed]
    assert await note_ids(runtime, "AMAZED") == [mixed]  # stemmed and case-folded
    assert await note_ids(runtime, "三里屯 amazing") == [mixed]
    assert (await note_ids(runtime, "hiking beijing"))[0] == other
    assert (await note_ids(runtime, "hik"))[0] == other  # the last word is a prefix


async def test_traditional_and_simplified_match_each_other(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    simplified = await post(author, "旅游攻略", "台湾环岛旅游")
    await drain()
    assert simplified in await note_ids(runtime, "旅遊攻略")
    traditional = await post(author, "臺灣美食", "夜市的蚵仔煎")
    await drain()
    assert traditional in await note_ids(runtime, "台湾美食")


async def test_platform_words_and_hashtags_are_whole_words(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    note = await post(author, "绝绝子", "这款面霜真的种草了 #早C晚A#")
    await drain()
    assert await note_ids(runtime, "种草") == [note]
    assert await note_ids(runtime, "绝绝子") == [note]
    assert await note_ids(runtime, "#早C晚A") == [note]


async def test_edits_and_deletions_reach_the_index(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    note = await post(author, "Sourdough", "my first loaf")
    await drain()
    assert await note_ids(runtime, "sourdough") == [note]
    async with runtime.db.transaction() as session:
        await notes_service.update_note(
            session, viewer=viewer(author), note_id=note, data=NoteUpdate(title="Focaccia", body="olive oil bread")
        )
    await drain()
    assert note in await note_ids(runtime, "focaccia")
    result = await search(runtime, "sourdough")
    assert all(h.matched == "semantic" for h in result.notes)  # the old word is gone from the keyword index
    async with runtime.db.transaction() as session:
        await notes_service.delete_note(session, viewer=viewer(author), note_id=note)
    await drain()
    assert await note_ids(runtime, "focaccia") == []


async def test_comments_make_a_note_findable(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    from bridgenote.notes.schemas import CommentCreate

    note = await post(author, "Weekend", "photos from Saturday")
    reader = await create_user(runtime)
    async with runtime.db.transaction() as session:
        await notes_service.create_comment(
            session,
            viewer=viewer(reader),
            note_id=note,
            data=CommentCreate(body="Is that the Zhangjiajie glass bridge?"),
        )
    await drain()
    assert await note_ids(runtime, "zhangjiajie") == [note]


async def test_users_by_name_display_name_and_pinyin(runtime: Runtime, drain: Callable[[], Awaitable[int]]) -> None:
    shop = await create_user(runtime, username="redbook_fan", display_name="小红书")
    await create_user(runtime, username="someone_else", display_name="Tea lover")
    await drain()
    for q in ("小红书", "xiaohongshu", "xhs", "redbook_fan", "小紅書"):
        found = (await search(runtime, q, type="users")).users
        assert [u.id for u in found] == [shop.id], q
    assert [u.id for u in (await search(runtime, "tea", type="users")).users] != [shop.id]


async def test_hashtags_by_name_and_pinyin(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User
) -> None:
    await post(author, "日常", "#小红书# #travel")
    await drain()
    names = [t.display_name for t in (await search(runtime, "xiaohongshu", type="hashtags")).hashtags]
    assert names == ["小红书"]
    names = [t.display_name for t in (await search(runtime, "trav", type="hashtags")).hashtags]
    assert names == ["travel"]
