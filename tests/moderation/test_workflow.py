"""Reports -> review queue -> decisions -> appeals, strikes, roles and the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from bridgenote.config import ModerationSettings
from bridgenote.core.runtime import Runtime
from tests.moderation.conftest import Person, PersonFactory, audit_actions, post_note

Drain = Callable[[], Awaitable[int]]


async def _report(who: Person, target_type: str, target_id: str, reason: str = "spam", **extra: Any) -> Any:
    return await who.client.post(
        "/api/v1/reports", json={"target_type": target_type, "target_id": target_id, "reason": reason, **extra}
    )


async def _act(mod: Person, target_type: str, target_id: str, action: str, **extra: Any) -> Any:
    body = {"target_type": target_type, "target_id": target_id, "action": action, "reason": "rule 3", **extra}
    return await mod.client.post("/api/v1/moderation/actions", json=body)


async def test_reports_aggregate_on_one_case_and_route_by_language(person: PersonFactory, drain: Drain) -> None:
    author = await person("author")
    note = await post_note(author.client, title="Weekend hike", body="A quiet trail by the lake")
    await drain()
    reporters = [await person(f"reporter{i}") for i in range(3)]
    for i, r in enumerate(reporters):
        resp = await _report(r, "note", note["id"], "spam" if i else "scam")
        assert resp.status_code == 201, resp.text
    again = await _report(reporters[0], "note", note["id"], "spam")
    assert again.status_code == 200 and again.json()["id"], again.text  # the first report, not a new one

    en_mod = await person("enmod", role="moderator", read_languages=["en"])
    zh_mod = await person("zhmod", role="moderator", read_languages=["zh-Hans"])
    [case] = (await en_mod.client.get("/api/v1/moderation/queue")).json()["items"]
    assert case["report_count"] == 3 and case["report_reasons"] == {"scam": 1, "spam": 2}
    assert case["content"]["text"].startswith("Weekend hike")
    assert case["content"]["translated_to"] == "en" and case["content"]["translation_status"] is not None
    assert (await zh_mod.client.get("/api/v1/moderation/queue")).json()["items"] == []
    assert len((await zh_mod.client.get("/api/v1/moderation/queue", params={"language": "en"})).json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"target_type": "note", "target_id": "1", "reason": "spam"}, 404),
        ({"target_type": "note", "target_id": "x", "reason": "spam"}, 422),
        ({"target_type": "planet", "target_id": "1", "reason": "spam"}, 422),
        ({"target_type": "note", "target_id": "1", "reason": "because"}, 422),
        ({"target_type": "note", "target_id": "1", "reason": "spam", "details": "x" * 5000}, 422),
    ],
)
async def test_bad_reports_are_4xx(person: PersonFactory, body: dict[str, Any], status: int) -> None:
    someone = await person("someone")
    r = await someone.client.post("/api/v1/reports", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"]


async def test_reports_on_own_removed_or_oversized_bodies(person: PersonFactory, drain: Drain) -> None:
    author = await person("author")
    mod = await person("mod", role="moderator")
    note = await post_note(author.client, title="hello", body="world")
    assert (await _report(author, "note", note["id"])).status_code == 400
    assert (await _act(mod, "note", note["id"], "remove")).status_code == 201
    r = await _report(await person("late"), "note", note["id"])
    assert r.status_code in (404, 409), r.text
    r = await author.client.post("/api/v1/reports", content=b"{" + b" " * 2_000_000 + b"}")
    assert 400 <= r.status_code < 500


async def test_actions_need_a_moderator_and_a_reason(person: PersonFactory) -> None:
    author = await person("author")
    user = await person("plainuser")
    mod = await person("mod", role="moderator")
    note = await post_note(author.client, title="hello", body="world")
    assert (await _act(user, "note", note["id"], "remove")).status_code == 403
    assert (await user.client.get("/api/v1/moderation/queue")).status_code == 403
    assert (await user.client.get("/api/v1/moderation/audit")).status_code == 403
    r = await mod.client.post(
        "/api/v1/moderation/actions",
        json={"target_type": "note", "target_id": note["id"], "action": "remove", "reason": "  "},
    )
    assert r.status_code == 422
    assert (await _act(mod, "note", note["id"], "limit")).status_code == 422  # no regions
    assert (await _act(mod, "note", note["id"], "limit", regions=["XX1"])).status_code == 422
    own = await post_note(mod.client, title="mine", body="mine")
    assert (await _act(mod, "note", own["id"], "remove")).status_code == 403
    # Nothing half-applied: the note is untouched and nothing was audited as done.
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).json()["state"] == "published"
    assert not [a for a in await audit_actions(mod.client) if a.startswith("moderator.")]


async def test_moderator_limit_by_policy_code_then_appeal_to_another_moderator(
    person: PersonFactory, drain: Drain
) -> None:
    author = await person("author", ui_language="zh-Hans")
    mod1 = await person("modone", role="moderator")
    mod2 = await person("modtwo", role="moderator")
    de = await person("berlin", region="DE")
    note = await post_note(author.client, title="My garden", body="Tomatoes this year")
    r = await _act(mod1, "note", note["id"], "limit", regions=["EU"])
    assert r.status_code == 201, r.text
    decision = r.json()
    assert "DE" in decision["regions"] and "FR" in decision["regions"]
    assert (await de.client.get(f"/api/v1/notes/{note['id']}")).status_code == 404

    # The author was told, in Chinese, and appeals.
    [notice] = [
        n for n in (await author.client.get("/api/v1/notifications")).json()["items"] if n["kind"] == "moderation"
    ]
    assert "rule 3" in notice["text"] and notice["data"]["decision_id"] == decision["id"], notice
    appeal = await author.client.post(
        "/api/v1/appeals", json={"decision_id": decision["id"], "statement": "Just tomatoes"}
    )
    assert appeal.status_code == 201, appeal.text
    dup = await author.client.post("/api/v1/appeals", json={"decision_id": decision["id"], "statement": "again"})
    assert dup.status_code == 409
    appeal_id = appeal.json()["id"]

    # The moderator who decided cannot decide the appeal, nor even see it in their queue.
    assert (await mod1.client.get("/api/v1/moderation/appeals")).json()["items"] == []
    same = await mod1.client.post(
        f"/api/v1/moderation/appeals/{appeal_id}/decide", json={"outcome": "overturn", "reason": "mine"}
    )
    assert same.status_code == 403 and same.json()["error"]["code"] == "same_moderator"
    assert [a["id"] for a in (await mod2.client.get("/api/v1/moderation/appeals")).json()["items"]] == [appeal_id]
    ok = await mod2.client.post(
        f"/api/v1/moderation/appeals/{appeal_id}/decide", json={"outcome": "overturn", "reason": "harmless"}
    )
    assert ok.status_code == 200 and ok.json()["state"] == "overturned", ok.text
    again = await mod2.client.post(
        f"/api/v1/moderation/appeals/{appeal_id}/decide", json={"outcome": "uphold", "reason": "second look"}
    )
    assert again.status_code == 409
    assert (await de.client.get(f"/api/v1/notes/{note['id']}")).status_code == 200

    # Every step is in the audit log, with who did it.
    actions = await audit_actions(mod2.client, target_type="note", target_id=note["id"])
    assert actions == ["appeal.overturn", "appeal.file", "moderator.limit"], actions


async def test_screening_hold_then_moderator_approves_and_rescreening_respects_it(
    person: PersonFactory, drain: Drain
) -> None:
    author = await person("author")
    mod = await person("mod", role="moderator")
    note = await post_note(author.client, title="You absolute f.u.c.k.i.n.g idiot", body="seriously")
    await drain()
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).json()["state"] == "held"
    [case] = (await mod.client.get("/api/v1/moderation/queue")).json()["items"]
    assert case["sources"] == ["screening"] and any(h["category"] == "abuse" for h in case["hits"])
    assert (await _act(mod, "note", note["id"], "approve")).status_code == 201
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).json()["state"] == "published"
    assert (await mod.client.get("/api/v1/moderation/queue")).json()["items"] == []
    await drain()  # screening the same text again does not undo a moderator's decision
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).json()["state"] == "published"
    assert await audit_actions(mod.client, target_id=note["id"]) == ["moderator.approve", "auto.hold"]


async def test_strikes_limit_then_suspend_and_an_appeal_lifts_them(
    person: PersonFactory, runtime: Runtime, drain: Drain
) -> None:
    limits: ModerationSettings = runtime.settings.moderation
    author = await person("author")
    mod = await person("mod", role="moderator")
    mod2 = await person("modtwo", role="moderator")
    decisions = []
    for i in range(limits.strikes_to_limit):
        note = await post_note(author.client, title=f"note {i}", body="text")
        r = await _act(mod, "note", note["id"], "strike")
        assert r.status_code == 201, r.text
        decisions.append(r.json())
    standing = (await author.client.get("/api/v1/moderation/standing")).json()
    assert standing["state"] == "limited" and standing["active_strikes"] == limits.strikes_to_limit
    appeal = await author.client.post("/api/v1/appeals", json={"decision_id": decisions[0]["id"], "statement": "no"})
    assert appeal.status_code == 201, appeal.text
    r = await mod2.client.post(
        f"/api/v1/moderation/appeals/{appeal.json()['id']}/decide",
        json={"outcome": "overturn", "reason": "not a violation"},
    )
    assert r.status_code == 200, r.text
    standing = (await author.client.get("/api/v1/moderation/standing")).json()
    assert standing["state"] == "active" and standing["active_strikes"] == limits.strikes_to_limit - 1

    r = await _act(mod, "user", str(author.id), "suspend")
    assert r.status_code == 201, r.text
    assert "moderator.suspend" in await audit_actions(mod.client, target_type="user")
    # Staff accounts are out of a moderator's reach.
    assert (await _act(mod, "user", str(mod2.id), "suspend")).status_code == 403


async def test_admin_edits_policy_without_deploy_and_bad_rules_are_refused(person: PersonFactory, drain: Drain) -> None:
    admin = await person("boss", role="admin")
    mod = await person("mod", role="moderator")
    current = (await admin.client.get("/api/v1/policies/CN")).json()
    rule = {
        "code": "durian",
        "action": "limit",
        "keywords": {"en": ["durian delivery"], "zh": ["榴莲外卖"]},
        "patterns": [r"durian\s+express"],
        "title": {"en": "Durian", "zh-Hans": "榴莲"},
        "description": {"en": "Test rule", "zh-Hans": "测试规则"},
    }
    doc = {
        "regions": ["CN"],
        "name": current["name"],
        "summary": current["summary"],
        "rules": [rule],
        "change_note": "durian test",
    }
    for bad, code in [
        ({**rule, "patterns": ["(a+)+$"]}, "invalid_pattern"),
        ({**rule, "patterns": ["(unclosed"]}, "invalid_pattern"),
        ({**rule, "patterns": ["x*"]}, "invalid_pattern"),
        ({**rule, "keywords": {}, "patterns": []}, "empty_rule"),
    ]:
        r = await admin.client.put("/api/v1/admin/policies/CN", json={**doc, "rules": [bad]})
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert (await admin.client.put("/api/v1/admin/policies/CN", json={**doc, "rules": [rule, rule]})).status_code == 422
    assert (await mod.client.put("/api/v1/admin/policies/CN", json=doc)).status_code == 403
    assert (await admin.client.get("/api/v1/policies/CN")).json()["version"] == current["version"]

    r = await admin.client.put("/api/v1/admin/policies/CN", json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == current["version"] + 1
    page = (await (await person("visitor", ui_language="zh-Hans")).client.get("/api/v1/policies/CN")).json()
    assert page["language"] == "zh-Hans" and page["rules"][0]["title"]["zh-Hans"] == "榴莲"
    versions = (await admin.client.get("/api/v1/admin/policies/CN/versions")).json()
    assert versions[0]["change_note"] == "durian test"
    assert "policy.update" in await audit_actions(admin.client)

    author = await person("seller")
    note = await post_note(author.client, title="Durian express to your door", body="fresh")
    await drain()
    cn = await person("cnviewer", region="CN")
    assert (await cn.client.get(f"/api/v1/notes/{note['id']}")).status_code == 404
    assert (await admin.client.get(f"/api/v1/notes/{note['id']}")).status_code == 200


async def test_public_rules_pages_in_both_languages(person: PersonFactory) -> None:
    visitor = await person("visitor")
    pages = (await visitor.client.get("/api/v1/policies")).json()
    assert {p["code"] for p in pages} >= {"global", "CN", "US", "EU"}
    for page in pages:
        assert page["name"]["en"] and page["name"]["zh-Hans"]
        for rule in page["rules"]:
            assert rule["title"]["en"] and rule["title"]["zh-Hans"], rule
            assert rule["description"]["en"] and rule["description"]["zh-Hans"], rule
    assert (await visitor.client.get("/api/v1/policies/XX")).status_code == 404


async def test_audit_log_is_append_only_in_the_database(person: PersonFactory, runtime: Runtime) -> None:
    author = await person("author")
    mod = await person("mod", role="moderator")
    note = await post_note(author.client, title="hello", body="world")
    assert (await _act(mod, "note", note["id"], "warn")).status_code == 201
    for statement in ("UPDATE moderation_audit_log SET reason = 'x'", "DELETE FROM moderation_audit_log"):
        with pytest.raises(Exception, match="append-only"):
            async with runtime.db.transaction() as session:
                await session.execute(text(statement))
    assert await audit_actions(mod.client) == ["moderator.warn"]


async def test_surge_switches_hold_new_accounts_links(person: PersonFactory, drain: Drain) -> None:
    admin = await person("boss", role="admin")
    r = await admin.client.put(
        "/api/v1/admin/switches", json={"link_limit": 0, "extra_screening": False, "reason": "spam wave"}
    )
    assert r.status_code == 200, r.text
    newbie = await person("newbie")
    note = await post_note(newbie.client, title="Look", body="see https://example.com/deal")
    await drain()
    [decision] = (await newbie.client.get(f"/api/v1/moderation/decisions/note/{note['id']}")).json()
    assert decision["action"] == "hold", decision
    assert "switches.update" in await audit_actions(admin.client)


async def test_only_what_the_reporter_can_see_can_be_reported(person: PersonFactory) -> None:
    author = await person("author")
    stranger = await person("stranger")
    note = await post_note(author.client, title="Weekend hike", body="A quiet trail")
    comment = (await author.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "my own words"})).json()
    assert (await author.client.post("/api/v1/users/stranger/block")).status_code in (200, 201, 204)
    # Hidden from the stranger by the block: a report must not confirm that either exists.
    for target_type, target_id in (("note", note["id"]), ("comment", comment["id"])):
        r = await _report(stranger, target_type, target_id)
        assert r.status_code == 404 and r.json()["error"]["code"] == "target_not_found", r.text
    bystander = await person("bystander")
    assert (await _report(bystander, "comment", comment["id"])).status_code == 201
