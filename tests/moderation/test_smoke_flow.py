from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.moderation.conftest import PersonFactory, audit_actions, post_note


async def test_screening_holds_abuse_and_the_author_sees_why(
    person: PersonFactory, drain: Callable[[], Awaitable[int]]
) -> None:
    alice = await person("alice", read_languages=["zh-Hans"], ui_language="zh-Hans")
    mod = await person("mod", role="moderator", read_languages=["zh-Hans", "en"])
    note = await post_note(alice.client, title="你个傻逼", body="真是脑残")
    await drain()
    own = (await alice.client.get(f"/api/v1/notes/{note['id']}")).json()
    assert own["state"] == "held", own
    r = await alice.client.get(f"/api/v1/moderation/decisions/note/{note['id']}")
    assert r.status_code == 200, r.text
    [decision] = r.json()
    assert decision["action"] == "hold" and decision["appealable"]
    assert "辱骂" in decision["explanation"], decision
    notes = (await alice.client.get("/api/v1/notifications")).json()["items"]
    assert notes and notes[0]["kind"] == "moderation", notes
    queue = (await mod.client.get("/api/v1/moderation/queue")).json()["items"]
    assert [c["target_id"] for c in queue] == [note["id"]], queue
    assert "auto.hold" in await audit_actions(mod.client)
