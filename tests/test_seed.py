"""``bridgenote seed``: the bilingual demo community, written through the services."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import Follow, User
from bridgenote.config import Settings
from bridgenote.core import security
from bridgenote.core.jobs import Job
from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import BoardNote, Comment, Hashtag, Like, MediaAttachment, Note
from bridgenote.notifications.models import Notification
from bridgenote.seed import DEMO_PASSWORD, DEMO_USERNAME, plan, run_seed
from bridgenote.seed_data import images

CJK = re.compile(r"[\u4e00-\u9fff]")


async def _count(session: AsyncSession, model: type[Any], *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_plan_is_deterministic_and_within_limits() -> None:
    users, notes = plan(36, 300)
    again_users, again_notes = plan(36, 300)
    assert [u.username for u in users] == [u.username for u in again_users]
    assert [(n.title, n.body, n.photos) for n in notes] == [(n.title, n.body, n.photos) for n in again_notes]
    assert len(users) == 36 and len({u.username for u in users}) == 36
    assert users[0].username == DEMO_USERNAME
    assert all(len(n.title) <= 100 and 0 < len(n.body) <= 1000 for n in notes)
    # Both languages, a spread of lengths, text-only notes and notes with up to 4 photos.
    assert sum(1 for n in notes if CJK.search(n.title)) > 100
    assert sum(1 for n in notes if not CJK.search(n.title)) > 100
    lengths = sorted(len(n.body) for n in notes)
    assert lengths[0] < 60 and lengths[-1] > 300
    assert {len(n.photos) for n in notes} == {0, 1, 2, 3, 4}
    bodies = "\n".join(n.body for n in notes)
    for tag in ("#猫税", "#cattax", "#tiktokrefugee", "#旅遊", "#英语角", "#火锅", "#hotpot", "@"):
        assert tag in bodies


def test_plan_avoids_taken_usernames() -> None:
    users, _ = plan(3, 0, taken={"demo", "maomao_mama"})
    assert [u.username for u in users] == ["demo_2", "maomao_mama_2", "tiktok_refugee_jess"]


def test_images_are_deterministic_jpegs() -> None:
    for kind in images.KINDS:
        data = images.render(kind, 7, (360, 480))
        assert data == images.render(kind, 7, (360, 480))
        with Image.open(io.BytesIO(data)) as img:
            assert (img.format, img.size) == ("JPEG", (360, 480))
    assert images.render("cat", 1, (200, 200)) != images.render("cat", 2, (200, 200))


@pytest.mark.slow
async def test_seed_builds_a_consistent_bilingual_community(settings: Settings, runtime: Runtime) -> None:
    report = await run_seed(settings, users=8, notes=20, force=False)
    assert report is not None and report.users == 8 and report.notes == 20

    async with runtime.db.transaction(write=False) as session:
        assert await _count(session, User) == 8
        notes = (await session.scalars(select(Note))).all()
        assert len(notes) == 20
        texts = [f"{n.title}\n{n.body}" for n in notes]
        assert any(CJK.search(n.title) for n in notes)
        assert any(not CJK.search(n.title) and re.search(r"[A-Za-z]{4}", n.title) for n in notes)
        tag = await session.scalar(select(Hashtag).where(Hashtag.key == "猫税"))
        assert tag is not None and tag.note_count == sum("#猫税" in t or "#貓稅" in t for t in texts) > 0

        # Counters were kept by the services, not written by hand.
        for note in notes:
            likes = await _count(session, Like, Like.note_id == note.id)
            saves = await _count(session, BoardNote, BoardNote.note_id == note.id)
            comments = await _count(session, Comment, Comment.note_id == note.id)
            assert (note.like_count, note.save_count, note.comment_count) == (likes, saves, comments)
        assert report.likes == await _count(session, Like) > 0
        assert report.comments == await _count(session, Comment) > 0
        assert report.follows == await _count(session, Follow) > 0
        users = (await session.scalars(select(User))).all()
        for user in users:
            followers = await _count(session, Follow, Follow.followee_id == user.id)
            authored = sum(1 for n in notes if n.author_id == user.id)
            assert (user.follower_count, user.note_count) == (followers, authored)
            assert user.bio and user.avatar_key

        # Photos are stored like uploads and decode.
        media = (await session.scalars(select(MediaAttachment).where(MediaAttachment.note_id.is_not(None)))).all()
        assert media and report.images == len(media)
        with Image.open(io.BytesIO(await runtime.storage.get(media[0].storage_key))) as img:
            img.load()
            assert img.width >= 700

        # The worker ran: nothing is left queued and people were notified.
        assert await _count(session, Job, Job.state != "done") == 0
        assert await _count(session, Notification) > 0

        demo = await session.scalar(select(User).where(User.username == DEMO_USERNAME))
        assert demo is not None and await security.verify_password(demo.password_hash, DEMO_PASSWORD)
        assert set(demo.read_languages) == {"zh-Hans", "en"}

    # A second run finds users and adds nothing.
    assert await run_seed(settings, users=8, notes=20, force=False) is None
    async with runtime.db.transaction(write=False) as session:
        assert await _count(session, User) == 8
        assert await _count(session, Note) == 20


@pytest.mark.slow
async def test_forced_seed_adds_a_second_cast(settings: Settings, runtime: Runtime) -> None:
    assert await run_seed(settings, users=2, notes=1, force=False) is not None
    report = await run_seed(settings, users=2, notes=1, force=True)
    assert report is not None and report.users == 2
    async with runtime.db.transaction(write=False) as session:
        names = set((await session.scalars(select(User.username))).all())
        assert names == {"demo", "maomao_mama", "demo_2", "maomao_mama_2"}
        assert await _count(session, Note) == 2
        found = await accounts_service.find_by_usernames(session, usernames=["demo"])
        assert found["demo"].display_name == "Demo 演示账号"
