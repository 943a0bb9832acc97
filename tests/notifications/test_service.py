from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bridgenote.accounts import service as accounts_service
from bridgenote.core.errors import BadRequest
from bridgenote.core.pagination import encode_cursor
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import BoardCreate, NoteUpdate
from bridgenote.notifications import service
from tests.factories import PASSWORD, create_user, viewer
from tests.notifications.support import (
    job_states,
    like,
    make_comment,
    make_note,
    notifications_of,
    publish,
    requeue_notification_jobs,
)

Drain = Callable[[], Awaitable[int]]


# ---------------------------------------------------------------- event subscribers


async def test_like_notifies_the_note_author_once(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    await drain()
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await drain()
    [n] = await notifications_of(runtime, alice)
    assert (n.kind, n.actor_id, n.note_id, n.comment_id, n.read_at) == ("like", bob.id, note, None, None)
    assert await notifications_of(runtime, bob) == []


async def test_self_like_is_not_notified(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    note = await make_note(runtime, alice)
    await publish(runtime, "interaction.recorded", like(alice, alice, note))
    await drain()
    assert await notifications_of(runtime, alice) == []


@pytest.mark.parametrize("recipient_blocks", [True, False])
async def test_no_notification_across_a_block(runtime: Runtime, drain: Drain, recipient_blocks: bool) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    blocker, blocked = (alice, bob) if recipient_blocks else (bob, alice)
    async with runtime.db.transaction() as session:
        await accounts_service.block(session, viewer=viewer(blocker), username=blocked.username)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await publish(runtime, "user.followed", {"follower_id": bob.id, "followee_id": alice.id})
    await drain()
    assert await notifications_of(runtime, alice) == []


async def test_no_notification_from_a_muted_account(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    async with runtime.db.transaction() as session:
        await accounts_service.mute(session, viewer=viewer(alice), username=bob.username)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await drain()
    assert await notifications_of(runtime, alice) == []


@pytest.mark.parametrize("who", ["recipient", "actor"])
async def test_no_notification_to_or_from_a_deleted_account(runtime: Runtime, drain: Drain, who: str) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    gone = alice if who == "recipient" else bob
    async with runtime.db.transaction() as session:
        await accounts_service.delete_account(session, viewer=viewer(gone), password=PASSWORD)
    await drain()
    await publish(runtime, "user.followed", {"follower_id": bob.id, "followee_id": alice.id})
    await drain()
    assert await notifications_of(runtime, alice) == []


async def test_rerunning_the_job_does_not_notify_twice(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    comment = await make_comment(runtime, bob, note, body="hi @" + alice.username)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await publish(runtime, "user.followed", {"follower_id": bob.id, "followee_id": alice.id})
    await drain()
    first = sorted((n.kind, n.comment_id) for n in await notifications_of(runtime, alice))
    assert first == sorted([("comment", comment), ("like", None), ("follow", None)])
    assert await requeue_notification_jobs(runtime) >= 4
    assert await drain() >= 4
    again = sorted((n.kind, n.comment_id) for n in await notifications_of(runtime, alice))
    assert again == first
    assert set(await job_states(runtime)) == {"done"}


async def test_like_undone_and_redone_notifies_once(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    for _ in range(2):
        async with runtime.db.transaction() as session:
            await notes_service.like_note(session, viewer=viewer(bob), note_id=note)
        async with runtime.db.transaction() as session:
            await notes_service.unlike_note(session, viewer=viewer(bob), note_id=note)
    async with runtime.db.transaction() as session:
        await notes_service.like_note(session, viewer=viewer(bob), note_id=note)
    await drain()
    assert [n.kind for n in await notifications_of(runtime, alice)] == ["like"]


async def test_saving_into_two_boards_notifies_once(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    async with runtime.db.transaction() as session:
        board = await notes_service.create_board(session, viewer=viewer(bob), data=BoardCreate(title="trips"))
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(bob), note_id=note)
    async with runtime.db.transaction() as session:
        await notes_service.save_note(session, viewer=viewer(bob), note_id=note, board_id=board.id)
    await drain()
    [n] = await notifications_of(runtime, alice)
    assert (n.kind, n.actor_id, n.data) == ("save", bob.id, {})


async def test_two_people_liking_make_two_notifications(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    note = await make_note(runtime, alice)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await publish(runtime, "interaction.recorded", like(carol, alice, note))
    await drain()
    assert sorted(n.actor_id or 0 for n in await notifications_of(runtime, alice)) == sorted([bob.id, carol.id])


async def test_comment_and_reply_go_to_note_author_and_parent_author(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    note = await make_note(runtime, alice)
    top = await make_comment(runtime, bob, note, body="first!")
    reply = await make_comment(runtime, carol, note, body="agreed", parent_id=top)
    await drain()
    assert [(n.kind, n.actor_id, n.comment_id) for n in await notifications_of(runtime, alice)] == [
        ("comment", bob.id, top)
    ]
    assert [(n.kind, n.actor_id, n.comment_id, n.note_id) for n in await notifications_of(runtime, bob)] == [
        ("reply", carol.id, reply, note)
    ]
    assert await notifications_of(runtime, carol) == []


async def test_comment_like_goes_to_the_comment_author(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    comment = await make_comment(runtime, bob, note)
    async with runtime.db.transaction() as session:
        await notes_service.like_comment(session, viewer=viewer(alice), comment_id=comment)
    await drain()
    [n] = await notifications_of(runtime, bob)
    assert (n.kind, n.actor_id, n.comment_id, n.note_id) == ("comment_like", alice.id, comment, note)


async def test_note_mentions_notify_each_user_once_even_after_edits(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    note = await make_note(runtime, alice, body=f"with @{bob.username} and @{carol.username} and @{bob.username}")
    await drain()
    for user in (bob, carol):
        [n] = await notifications_of(runtime, user)
        assert (n.kind, n.actor_id, n.note_id, n.comment_id) == ("mention", alice.id, note, None)
    async with runtime.db.transaction() as session:
        await notes_service.update_note(session, viewer=viewer(alice), note_id=note, data=NoteUpdate(body="just me"))
    async with runtime.db.transaction() as session:
        await notes_service.update_note(
            session, viewer=viewer(alice), note_id=note, data=NoteUpdate(body=f"back @{bob.username}")
        )
    await drain()
    assert len(await notifications_of(runtime, bob)) == 1


async def test_mention_added_by_an_edit_notifies(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice, body="nobody yet")
    async with runtime.db.transaction() as session:
        await notes_service.update_note(
            session, viewer=viewer(alice), note_id=note, data=NoteUpdate(body=f"now @{bob.username}")
        )
    await drain()
    assert [(n.kind, n.note_id) for n in await notifications_of(runtime, bob)] == [("mention", note)]


async def test_mention_in_a_comment(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    note = await make_note(runtime, alice)
    comment = await make_comment(runtime, bob, note, body=f"look @{carol.username}")
    await drain()
    [n] = await notifications_of(runtime, carol)
    assert (n.kind, n.actor_id, n.note_id, n.comment_id) == ("mention", bob.id, note, comment)


async def test_reply_that_also_mentions_its_recipient_is_one_reply(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    top = await make_comment(runtime, bob, note)
    reply = await make_comment(runtime, alice, note, body=f"thanks @{bob.username}", parent_id=top)
    await drain()
    assert [(n.kind, n.comment_id) for n in await notifications_of(runtime, bob)] == [("reply", reply)]


@pytest.mark.parametrize("mention_first", [True, False])
async def test_reply_wins_over_mention_whatever_the_job_order(
    runtime: Runtime, drain: Drain, mention_first: bool
) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    top = await make_comment(runtime, bob, note)
    reply = await make_comment(runtime, alice, note, body="no mention here", parent_id=top)
    await drain()
    async with runtime.db.transaction() as session:
        await service.delete_for_user(session, user_id=bob.id)
    assert await notifications_of(runtime, bob) == []
    mention = (
        "comment.created",
        {"comment_id": reply, "note_id": note, "author_id": alice.id, "mentioned_user_ids": [bob.id]},
    )
    interaction = (
        "interaction.recorded",
        {"kind": "reply", "actor_id": alice.id, "note_id": note, "comment_id": reply, "target_user_id": bob.id},
    )
    for event, payload in [mention, interaction] if mention_first else [interaction, mention]:
        await publish(runtime, event, payload)
        await drain()
    assert [(n.kind, n.comment_id) for n in await notifications_of(runtime, bob)] == [("reply", reply)]


async def test_follow_notifies_once_even_after_unfollow_and_refollow(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    for _ in range(2):
        async with runtime.db.transaction() as session:
            await accounts_service.follow(session, viewer=viewer(bob), username=alice.username)
        async with runtime.db.transaction() as session:
            await accounts_service.unfollow(session, viewer=viewer(bob), username=alice.username)
    await drain()
    [n] = await notifications_of(runtime, alice)
    assert (n.kind, n.actor_id, n.note_id) == ("follow", bob.id, None)


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("interaction.recorded", {"kind": "view", "actor_id": 1, "note_id": 1, "target_user_id": 2}),
        ("interaction.recorded", {"kind": "like", "actor_id": "bob", "note_id": 1, "target_user_id": 2}),
        ("interaction.recorded", {"kind": "comment", "actor_id": 1, "note_id": 1, "target_user_id": 2}),
        ("user.followed", {"follower_id": None}),
        ("user.followed", {"follower_id": 2**64, "followee_id": 1}),
        ("note.created", {"note_id": 1, "author_id": 1, "mentioned_user_ids": "everyone"}),
    ],
)
async def test_unknown_or_malformed_events_are_dropped_not_retried(
    runtime: Runtime, drain: Drain, event: str, payload: dict[str, object]
) -> None:
    await publish(runtime, event, payload)
    await drain()
    assert await job_states(runtime) == ["done"]


async def test_content_purged_before_the_job_ran_is_not_an_error(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    await drain()
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    async with runtime.db.transaction() as session:
        await notes_service.delete_note(session, viewer=viewer(alice), note_id=note)
    async with runtime.db.transaction() as session:
        await notes_service.purge_note(session, storage=runtime.storage, note_id=note)
    await drain()
    assert set(await job_states(runtime)) == {"done"}
    assert await notifications_of(runtime, alice) == []


async def test_deleting_a_note_or_comment_drops_its_notifications(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    other = await make_note(runtime, alice)
    comment = await make_comment(runtime, bob, other)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await publish(runtime, "interaction.recorded", like(bob, alice, other))
    await drain()
    assert len(await notifications_of(runtime, alice)) == 3
    # Published directly: the notes domain also purges soft-deleted notes in a job,
    # which would hide whether this subscriber did its part.
    await publish(runtime, "note.deleted", {"note_id": note, "author_id": alice.id})
    await publish(runtime, "comment.deleted", {"comment_id": comment, "note_id": other, "author_id": bob.id})
    await drain()
    assert [(n.kind, n.note_id) for n in await notifications_of(runtime, alice)] == [("like", other)]


async def test_deleted_note_leaves_no_notifications_end_to_end(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    note = await make_note(runtime, alice)
    await publish(runtime, "interaction.recorded", like(bob, alice, note))
    await drain()
    async with runtime.db.transaction() as session:
        await notes_service.delete_note(session, viewer=viewer(alice), note_id=note)
    await drain()
    assert await notifications_of(runtime, alice) == []


# ---------------------------------------------------------------- reading and marking


async def _notify_many(runtime: Runtime, recipient_id: int, actor_ids: list[int]) -> None:
    async with runtime.db.transaction() as session:
        for actor_id in actor_ids:
            assert await service.notify(session, user_id=recipient_id, actor_id=actor_id, kind="follow")


async def test_pages_by_cursor_newest_first(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    actors = [await create_user(runtime) for _ in range(5)]
    await _notify_many(runtime, alice.id, [a.id for a in actors])
    seen: list[int] = []
    cursor = None
    pages = 0
    async with runtime.db.transaction(write=False) as session:
        while True:
            page = await service.list_notifications(session, viewer=viewer(alice), cursor=cursor, limit=2)
            seen += [n.actor_id or 0 for n in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert pages == 3
    assert seen == [a.id for a in reversed(actors)]


async def test_unread_only_count_and_mark_read_by_ids(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    actors = [await create_user(runtime) for _ in range(3)]
    await _notify_many(runtime, alice.id, [a.id for a in actors])
    await _notify_many(runtime, bob.id, [actors[0].id])
    [bobs] = await notifications_of(runtime, bob)
    first, second, _third = await notifications_of(runtime, alice)
    async with runtime.db.transaction() as session:
        assert await service.unread_count(session, viewer=viewer(alice)) == 3
        updated = await service.mark_read(session, viewer=viewer(alice), ids=[first.id, second.id, bobs.id], all=False)
        assert updated == 2
        # Marking again changes nothing.
        assert await service.mark_read(session, viewer=viewer(alice), ids=[first.id], all=False) == 0
    [bobs_after] = await notifications_of(runtime, bob)
    assert bobs_after.read_at is None
    async with runtime.db.transaction(write=False) as session:
        assert await service.unread_count(session, viewer=viewer(alice)) == 1
        assert await service.unread_count(session, viewer=viewer(bob)) == 1
        page = await service.list_notifications(
            session, viewer=viewer(alice), cursor=None, limit=None, unread_only=True
        )
        assert [n.actor_id for n in page.items] == [actors[2].id]


async def test_mark_all_read_touches_only_the_viewers(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    await _notify_many(runtime, alice.id, [bob.id, carol.id])
    await _notify_many(runtime, bob.id, [carol.id])
    async with runtime.db.transaction() as session:
        assert await service.mark_read(session, viewer=viewer(alice), ids=None, all=True) == 2
    async with runtime.db.transaction(write=False) as session:
        assert await service.unread_count(session, viewer=viewer(alice)) == 0
        assert await service.unread_count(session, viewer=viewer(bob)) == 1


async def test_mark_read_needs_exactly_one_target(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    async with runtime.db.transaction(write=False) as session:
        with pytest.raises(BadRequest):
            await service.mark_read(session, viewer=viewer(alice), ids=None, all=False)
        with pytest.raises(BadRequest):
            await service.mark_read(session, viewer=viewer(alice), ids=[1], all=True)


async def test_notifications_from_later_blocked_or_deleted_accounts_are_hidden(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    dave = await create_user(runtime)
    await _notify_many(runtime, alice.id, [bob.id, carol.id, dave.id])
    async with runtime.db.transaction() as session:
        await service.notify(session, user_id=alice.id, actor_id=None, kind="moderation", data={"note": "system"})
    async with runtime.db.transaction() as session:
        await accounts_service.block(session, viewer=viewer(bob), username=alice.username)
    async with runtime.db.transaction() as session:
        await accounts_service.delete_account(session, viewer=viewer(carol), password=PASSWORD)
    async with runtime.db.transaction(write=False) as session:
        page = await service.list_notifications(session, viewer=viewer(alice), cursor=None, limit=None)
        assert [(n.kind, n.actor_id) for n in page.items] == [("moderation", None), ("follow", dave.id)]
        assert await service.unread_count(session, viewer=viewer(alice)) == 2


async def test_invalid_cursors_are_bad_requests(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    async with runtime.db.transaction(write=False) as session:
        for cursor in (
            "not-a-cursor!",
            encode_cursor("abc"),
            encode_cursor(-5),
            encode_cursor(True),
            encode_cursor(2**70),
        ):
            with pytest.raises(BadRequest):
                await service.list_notifications(session, viewer=viewer(alice), cursor=cursor, limit=5)


async def test_notify_rejects_an_unknown_kind(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    async with runtime.db.transaction() as session:
        with pytest.raises(ValueError, match="unknown notification kind"):
            await service.notify(session, user_id=alice.id, actor_id=bob.id, kind="poke")


async def test_delete_for_user_removes_received_and_caused(runtime: Runtime) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    carol = await create_user(runtime)
    await _notify_many(runtime, alice.id, [bob.id, carol.id])
    await _notify_many(runtime, bob.id, [alice.id, carol.id])
    await _notify_many(runtime, carol.id, [bob.id])
    async with runtime.db.transaction() as session:
        assert await service.delete_for_user(session, user_id=alice.id) == 3
    assert await notifications_of(runtime, alice) == []
    assert [n.actor_id for n in await notifications_of(runtime, bob)] == [carol.id]
    assert [n.actor_id for n in await notifications_of(runtime, carol)] == [bob.id]


async def test_account_deletion_purges_notifications(runtime: Runtime, drain: Drain) -> None:
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    await _notify_many(runtime, alice.id, [bob.id])
    await _notify_many(runtime, bob.id, [alice.id])
    async with runtime.db.transaction() as session:
        await accounts_service.delete_account(session, viewer=viewer(alice), password=PASSWORD)
    await drain()
    assert await notifications_of(runtime, alice) == []
    assert await notifications_of(runtime, bob) == []
