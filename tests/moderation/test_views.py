"""The moderation pages over HTTP (no browser): rules, reports, standing and appeals,
the review queue, cases, the appeals queue, the audit log and the admin pages, each for
the right role and refused for the wrong one, with CSRF, escaping and both UI languages."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest

from bridgenote.config import Settings, TranslationSettings
from bridgenote.core.runtime import Runtime
from bridgenote.moderation import views
from bridgenote.moderation.schemas import ReportReason
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.moderation.conftest import Person, PersonFactory, audit_actions, post_note

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CASE_ID = re.compile(r'id="case-(\d+)"')
HTMX = {"hx-request": "true"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Machine translation off, as for the other page tests (no local model on test machines)."""
    return make_settings(database_url, tmp_path, translation=TranslationSettings(provider="none"))


class Browser:
    """A cookie session on the pages, as a browser has it: the session's CSRF token is read
    from a rendered form, and forms send it back as the ``csrf_token`` field."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict[str, str] | None = None, *, htmx: bool = False) -> httpx.Response:
        return await self.client.post(
            path, data={"csrf_token": self.token, **(data or {})}, headers=HTMX if htmx else None
        )


BrowserFactory = Callable[[Person], Awaitable[Browser]]


@pytest.fixture
async def browser_for(app: Any) -> AsyncIterator[BrowserFactory]:
    clients: list[httpx.AsyncClient] = []

    async def make(who: Person) -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(client)
        page = await client.get("/login")
        found = CSRF_FIELD.search(page.text)
        assert found, page.text[:500]
        r = await client.post(
            "/login", data={"csrf_token": found.group(1), "login": who.username, "password": PASSWORD, "next": "/"}
        )
        assert r.status_code == 303, r.text[:2000]
        rules = await client.get("/rules")
        token = CSRF_FIELD.search(rules.text)
        assert token, rules.text[:500]
        return Browser(client, token.group(1))

    yield make
    for c in clients:
        await c.aclose()


def shown_policies(html: str) -> list[str]:
    return re.findall(r'<h2 id="h-policy-[^"]+">([^<]+)</h2>', html)


def case_ids(html: str) -> list[str]:
    return CASE_ID.findall(html)


async def note_state(author: Person, note_id: str) -> str:
    r = await author.client.get(f"/api/v1/notes/{note_id}")
    assert r.status_code == 200, r.text
    state: str = r.json()["state"]
    return state


# ---------------------------------------------------------------- the whole flow


async def test_report_queue_remove_appeal_decide_and_audit(person: PersonFactory, browser_for: BrowserFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="Weekend hike", body="A quiet trail by the lake")
    bob = await browser_for(await person("bob"))
    mod1 = await browser_for(await person("modone", role="moderator", read_languages=["en"]))
    mod2 = await browser_for(await person("modtwo", role="moderator", read_languages=["en"]))

    # Bob finds the Report action on the note, opens the dialog and reports it.
    detail = await bob.get(f"/notes/{note['id']}")
    assert f'hx-get="/report/note/{note["id"]}"' in detail.text and 'id="report-dialog"' in detail.text
    dialog = await bob.get(f"/report/note/{note['id']}", headers=HTMX)
    assert dialog.status_code == 200 and 'name="reason"' in dialog.text and "<html" not in dialog.text
    for code in get_args(ReportReason):
        assert f'<option value="{code}">' in dialog.text
    r = await bob.post(f"/report/note/{note['id']}", {"reason": "spam", "details": XSS}, htmx=True)
    assert r.status_code == 200 and 'class="toast"' in r.text and "Thank you" in r.text, r.text
    again = await bob.post(f"/report/note/{note['id']}", {"reason": "scam"}, htmx=True)
    assert again.status_code == 200 and "already reported" in again.text

    # It is in the first moderator's queue, with the content and the report.
    queue = await mod1.get("/moderation")
    assert queue.status_code == 200, queue.text[:2000]
    [case_id] = case_ids(queue.text)
    assert "Weekend hike" in queue.text and "1 report" in queue.text and "Spam (1)" in queue.text
    case = await mod1.get(f"/moderation/cases/{case_id}")
    assert case.status_code == 200 and "@bob" in case.text
    # The report's text renders inert.
    assert "<script>alert(1)" not in case.text and 'onerror="alert' not in case.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case.text

    # The moderator removes it from the queue page (htmx answers with the resolved card).
    r = await mod1.post(
        f"/moderation/cases/{case_id}/act", {"action": "remove", "reason": "Spam links", "from": "queue"}, htmx=True
    )
    assert r.status_code == 200 and f'id="case-{case_id}"' in r.text and "Done: Removed" in r.text, r.text
    assert await note_state(alice, note["id"]) == "removed"
    assert case_ids((await mod1.get("/moderation")).text) == []
    assert case_ids((await mod1.get("/moderation?state=resolved")).text) == [case_id]

    # The author sees the decision, in words, and appeals it.
    alice_page = await browser_for(alice)
    standing = await alice_page.get("/moderation/standing")
    assert standing.status_code == 200
    assert "A moderator removed your note. Reason: Spam links. You can appeal." in standing.text
    decision_id = re.search(r'action="/moderation/decisions/(\d+)/appeal"', standing.text)
    assert decision_id, standing.text
    r = await alice_page.post(
        f"/moderation/decisions/{decision_id.group(1)}/appeal", {"statement": "It is a hiking note."}, htmx=True
    )
    assert r.status_code == 200 and "Waiting for review" in r.text, r.text
    standing = await alice_page.get("/moderation/standing")
    assert "Waiting for review" in standing.text and "/appeal" not in standing.text  # no second appeal form

    # The appeal goes to another moderator: the one who decided neither sees nor decides it.
    assert "It is a hiking note." not in (await mod1.get("/moderation/appeals")).text
    appeals = await mod2.get("/moderation/appeals")
    assert "It is a hiking note." in appeals.text and "Weekend hike" in appeals.text
    appeal_id = re.search(r'action="/moderation/appeals/(\d+)/decide"', appeals.text)
    assert appeal_id
    refused = await mod1.post(
        f"/moderation/appeals/{appeal_id.group(1)}/decide", {"outcome": "overturn", "reason": "looks fine"}
    )
    assert refused.status_code == 403
    r = await mod2.post(
        f"/moderation/appeals/{appeal_id.group(1)}/decide",
        {"outcome": "overturn", "reason": "A hiking note, not spam"},
        htmx=True,
    )
    assert r.status_code == 200 and "Decision reversed" in r.text, r.text
    assert await note_state(alice, note["id"]) == "published"
    assert "It is a hiking note." in (await mod2.get("/moderation/appeals?state=overturned")).text
    standing = await alice_page.get("/moderation/standing")
    assert "Your appeal was accepted and the decision was reversed." in standing.text
    assert "This decision was reversed." in standing.text

    # Every step is in the audit log, which the page lists (and filters by target).
    audit = await mod2.get("/moderation/audit")
    assert audit.status_code == 200
    for action in ("report", "moderator.remove", "appeal.file", "appeal.overturn"):
        assert f"<code>{action}</code>" in audit.text, action
    assert "<script>alert(1)" not in audit.text
    by_target = await mod2.get("/moderation/audit", params={"target_type": "note", "target_id": note["id"]})
    assert by_target.text.count("<code>appeal.") == 2
    assert (await mod2.get("/moderation/audit", params={"actor": "modtwo"})).text.count("<tr>") == 2  # head + one


async def test_reports_of_comments_and_accounts(person: PersonFactory, browser_for: BrowserFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="Dumplings", body="Recipe inside")
    comment = (await alice.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "my own"})).json()
    carol = await person("carol")
    other = (await carol.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "buy followers"})).json()
    bob = await browser_for(await person("bob"))
    detail = (await bob.get(f"/notes/{note['id']}")).text
    assert f'hx-get="/report/comment/{comment["id"]}"' in detail and f'hx-get="/report/comment/{other["id"]}"' in detail
    profile = (await bob.get("/u/alice")).text
    assert f'hx-get="/report/user/{alice.id}"' in profile
    r = await bob.post(f"/report/comment/{other['id']}", {"reason": "spam"}, htmx=True)
    assert r.status_code == 200 and "Thank you" in r.text
    # Without script: a page with the form, then a page that says it was sent.
    page = await bob.get(f"/report/user/{alice.id}?next=/u/alice")
    assert page.status_code == 200 and "<html" in page.text and "Report this account" in page.text
    r = await bob.post(f"/report/user/{alice.id}", {"reason": "harassment", "next": "/u/alice"})
    assert r.status_code == 200 and "Thank you" in r.text and 'href="/u/alice"' in r.text
    # Nobody is offered to report their own things.
    own = await browser_for(alice)
    assert f'hx-get="/report/note/{note["id"]}"' not in (await own.get(f"/notes/{note['id']}")).text
    assert f"/report/comment/{comment['id']}" not in (await own.get(f"/notes/{note['id']}")).text
    assert (await own.post(f"/report/note/{note['id']}", {"reason": "spam"})).status_code == 400
    mod = await browser_for(await person("mod", role="moderator", read_languages=["en"]))
    queue = (await mod.get("/moderation")).text
    assert len(case_ids(queue)) == 2 and "buy followers" in queue and "Harassment or bullying (1)" in queue


# ---------------------------------------------------------------- roles


async def test_each_page_is_for_its_role(
    client: httpx.AsyncClient, person: PersonFactory, browser_for: BrowserFactory
) -> None:
    member = await browser_for(await person("member"))
    mod = await browser_for(await person("mod", role="moderator"))
    admin = await browser_for(await person("boss", role="admin"))
    public = ["/rules", "/rules/global", "/rules/EU", "/rules?region=DE", "/rules?region="]
    members = ["/moderation/standing"]
    staff = ["/moderation", "/moderation?state=resolved", "/moderation/appeals", "/moderation/appeals?state=upheld",
             "/moderation/audit"]  # fmt: skip
    admins = ["/admin", "/admin/policies", "/admin/policies/global", "/admin/policies/CN", "/admin/policies/JP"]
    for path in public:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
    for path in members + staff + admins:
        r = await client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in public + members:
        assert (await member.get(path)).status_code == 200, path
    for path in staff + admins:
        r = await member.get(path)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), path
    for path in public + members + staff:
        r = await mod.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
    for path in admins:
        assert (await mod.get(path)).status_code == 403, path
    for path in public + members + staff + admins:
        r = await admin.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
    # A case that does not exist is a 404 for staff and a 403 for members (who learn nothing).
    assert (await mod.get("/moderation/cases/123")).status_code == 404
    assert (await member.get("/moderation/cases/123")).status_code == 403
    assert (await member.post("/moderation/cases/123/act", {"action": "remove", "reason": "nope"})).status_code == 403
    assert (
        await member.post("/moderation/appeals/1/decide", {"outcome": "uphold", "reason": "x" * 5})
    ).status_code == 403
    assert (await mod.post("/admin/switches", {"slow_mode_seconds": "30", "reason": "surge"})).status_code == 403
    # The staff link is in the header for staff only; the rules link is on every page.
    assert 'href="/moderation"' in (await mod.get("/")).text
    assert 'href="/moderation"' not in (await member.get("/")).text
    assert 'href="/rules"' in (await client.get("/")).text
    assert (
        'href="/admin"' in (await admin.get("/moderation")).text
        and 'href="/admin"' not in (await mod.get("/moderation")).text
    )


async def test_admin_edits_a_policy_switches_and_roles(person: PersonFactory, browser_for: BrowserFactory) -> None:
    boss = await person("boss", role="admin")
    admin = await browser_for(boss)
    page = await admin.get("/admin/policies/US")
    document = re.search(r'<textarea id="policy-document"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert document
    doc = json.loads(html.unescape(document.group(1)))
    doc["summary"]["en"] = "Edited summary for the US."
    form = {"document": json.dumps(doc), "regions": "US", "is_active": "on", "change_note": "clarify the summary"}
    r = await admin.post("/admin/policies/US", form)
    assert r.status_code == 303 and r.headers["location"] == "/admin/policies/US?saved=1"
    saved = await admin.get("/admin/policies/US?saved=1")
    assert "Version 1" in saved.text and "clarify the summary" in saved.text
    assert "Edited summary for the US." in (await admin.get("/rules/US")).text
    # A rule whose pattern could hang the worker is refused with the reason, and nothing is stored.
    doc["rules"][0]["patterns"] = ["(a+)+"]
    doc["rules"][0].pop("category", None)
    form = {"document": json.dumps(doc), "regions": "US", "is_active": "on", "change_note": "bad pattern"}
    r = await admin.post("/admin/policies/US", form)
    assert r.status_code == 422 and "Nothing was saved" in r.text, r.text[:3000]
    assert "(a+)+" in r.text  # the form keeps what was typed
    r = await admin.post("/admin/policies/US", {"document": "{not json", "regions": "US", "change_note": "oops"})
    assert r.status_code == 422 and "not valid JSON" in r.text
    r = await admin.post("/admin/policies/US", {"document": json.dumps({**doc, "extra": 1}), "change_note": "x"})
    assert r.status_code == 422
    assert "Version 2" not in (await admin.get("/admin/policies/US")).text
    # A new regional policy, from the list page's form to the public rules page.
    r = await admin.get("/admin/policies?new=jp")
    assert r.status_code == 303 and r.headers["location"] == "/admin/policies/JP"
    text = {"en": "Betting offers are hidden in Japan.", "zh-Hans": "在日本隐藏博彩推广。"}
    japan = {
        "name": {"en": "Rules for viewers in Japan", "zh-Hans": "日本地区规则"},
        "summary": text,
        "rules": [{"code": "betting", "category": "gambling", "action": "limit", "title": {"en": "Betting",
                   "zh-Hans": "博彩"}, "description": text}],
    }  # fmt: skip
    form = {"document": json.dumps(japan), "regions": "JP", "is_active": "on", "change_note": "new region"}
    assert (await admin.post("/admin/policies/JP", form)).status_code == 303
    assert shown_policies((await admin.get("/rules?region=JP")).text) == [
        "Community rules (everywhere)",
        "Rules for viewers in Japan",
    ]
    assert "Hidden in these regions" in (await admin.get("/rules/JP")).text
    # Switches and roles.
    switches = {
        "slow_mode_seconds": "45",
        "link_limit": "2",
        "extra_screening": "on",
        "reason": "surge of new accounts",
    }
    r = await admin.post("/admin/switches", switches)
    assert r.status_code == 303
    page = await admin.get("/admin?saved=switches")
    assert 'value="45"' in page.text and 'value="2"' in page.text and "The switches are saved." in page.text
    assert (await admin.post("/admin/switches", {"slow_mode_seconds": "-1", "reason": "bad"})).status_code == 400
    target = await person("helper")
    r = await admin.post("/admin/roles", {"username": "helper", "role": "moderator", "reason": "new team member"})
    assert r.status_code == 303
    assert (await target.client.get("/api/v1/moderation/queue")).status_code == 200
    assert (
        await admin.post("/admin/roles", {"username": "nobody", "role": "moderator", "reason": "x" * 5})
    ).status_code == 404
    actions = await audit_actions(boss.client)
    assert {"policy.update", "switches.update", "role.set"} <= set(actions)
    assert actions.count("policy.update") == 2
    # The audit log pages: 50 entries a page, then "Older entries".
    for n in range(50):
        await admin.post("/admin/switches", {"slow_mode_seconds": str(n), "reason": f"step {n}"})
    first = await admin.get("/moderation/audit")
    older = re.search(r'<a class="btn" href="([^"]+)">Older entries</a>', first.text)
    assert older and first.text.count("<code>switches.update</code>") == 50
    second = await admin.get(html.unescape(older.group(1)))
    assert second.status_code == 200 and "<code>role.set</code>" in second.text and "step 49" not in second.text


# ---------------------------------------------------------------- CSRF, bad input, languages


async def test_forms_need_the_session_token(person: PersonFactory, browser_for: BrowserFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="hello", body="world")
    bob = await browser_for(await person("bob"))
    mod = await browser_for(await person("mod", role="moderator", read_languages=["en"]))
    for token in (None, "forged"):
        data = {"reason": "spam"} | ({"csrf_token": token} if token else {})
        r = await bob.client.post(f"/report/note/{note['id']}", data=data)
        assert r.status_code == 403 and "security token" in r.text
    assert case_ids((await mod.get("/moderation")).text) == []
    await bob.post(f"/report/note/{note['id']}", {"reason": "spam"})
    [case_id] = case_ids((await mod.get("/moderation")).text)
    r = await mod.client.post(f"/moderation/cases/{case_id}/act", data={"action": "remove", "reason": "spam links"})
    assert r.status_code == 403
    assert await note_state(alice, note["id"]) == "published"
    r = await mod.client.post(
        f"/moderation/cases/{case_id}/act",
        data={"action": "remove", "reason": "spam links"},
        headers={"x-csrf-token": mod.token, **HTMX},
    )
    assert r.status_code == 204 and r.headers["hx-redirect"] == f"/moderation/cases/{case_id}?done=1"
    assert await note_state(alice, note["id"]) == "removed"


async def test_bad_input_is_a_clear_4xx(person: PersonFactory, browser_for: BrowserFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="hello", body="world")
    bob = await browser_for(await person("bob"))
    mod = await browser_for(await person("mod", role="moderator", read_languages=["en"]))
    assert (await bob.get("/report/planet/1")).status_code == 404
    assert (await bob.get("/report/note/abc")).status_code == 404
    assert (await bob.get("/report/note/99999")).status_code == 404
    assert (await bob.post("/report/note/99999", {"reason": "spam"})).status_code == 404
    r = await bob.post(f"/report/note/{note['id']}", {"reason": "because"}, htmx=True)
    assert r.status_code == 400 and 'class="toast"' in r.text and "Choose a reason" in r.text
    assert (await bob.post(f"/report/note/{note['id']}", {"reason": "spam", "details": "x" * 5000})).status_code == 400
    assert (await bob.post(f"/report/note/{note['id']}", {"reason": "spam", "details": "a\x00b"})).status_code == 200
    bad_pages = [
        "/moderation?state=bogus",
        "/moderation?region=XX",
        "/moderation?language=klingon",
        "/moderation?cursor=garbage",
        "/moderation?cursor=W0luZmluaXR5LCAxXQ",  # [Infinity, 1]
        "/moderation?cursor=WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCwgMV0",  # a priority beyond any integer column
        "/moderation?cursor=WzUsIDEwMDAwMDAwMDAwMDAwMDAwMDAwMF0",  # an id beyond 64 bits
        "/moderation/audit?target_id=abc",
        "/moderation/audit?target_id=99999999999999999999",
        "/moderation/audit?cursor=bad",
        "/moderation/appeals?state=bogus",
        "/rules?region=XX",
        "/rules?region=ZZZZZZZZZ",
    ]
    for path in bad_pages:
        r = await mod.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:500])
    assert (await mod.get("/moderation/audit?actor=nobody")).status_code == 404
    assert (await mod.get("/rules/nope")).status_code == 404
    [case_id] = case_ids((await mod.get("/moderation")).text)
    bad_actions = [
        {"action": "explode", "reason": "because"},
        {"action": "remove", "reason": "x"},
        {"action": "limit", "reason": "regional", "regions": "XX1"},
        {"action": "limit", "reason": "no regions"},
    ]
    for data in bad_actions:
        r = await mod.post(f"/moderation/cases/{case_id}/act", data, htmx=True)
        assert r.status_code in (400, 422) and 'class="toast"' in r.text, (data, r.status_code, r.text[:500])
    assert await note_state(alice, note["id"]) == "published"
    r = await mod.post(
        f"/moderation/cases/{case_id}/act", {"action": "limit", "reason": "regional", "regions": "EU, cn"}
    )
    assert r.status_code == 303
    limited = (await mod.get(f"/moderation/cases/{case_id}")).text
    assert "Limited" in limited and "DE" in limited and "CN" in limited
    standing = await browser_for(alice)
    decision_id = re.search(
        r'action="/moderation/decisions/(\d+)/appeal"', (await standing.get("/moderation/standing")).text
    )
    assert decision_id
    assert (
        await standing.post(f"/moderation/decisions/{decision_id.group(1)}/appeal", {"statement": ""})
    ).status_code == 400
    assert (await standing.post("/moderation/decisions/1/appeal", {"statement": "why"})).status_code == 404
    assert (
        await bob.post(f"/moderation/decisions/{decision_id.group(1)}/appeal", {"statement": "me"})
    ).status_code == 404


async def test_chinese_interface(person: PersonFactory, browser_for: BrowserFactory) -> None:
    alice = await person("alice", ui_language="zh-Hans", region="CN")
    note = await post_note(alice.client, title="周末爬山", body="湖边的小路")
    li = await browser_for(alice)
    rules = await li.get("/rules")
    assert '<html lang="zh-Hans">' in rules.text
    # The viewer's region decides which regional rules are shown, in their language.
    assert shown_policies(rules.text) == ["社区规则（全球）", "中国大陆地区规则"]
    assert "Community rules (everywhere)" not in rules.text and "<h1>社区规则</h1>" in rules.text
    assert shown_policies((await li.get("/rules?region=US")).text) == ["社区规则（全球）", "美国地区规则"]
    assert shown_policies((await li.get("/rules?region=FR")).text) == ["社区规则（全球）", "欧盟地区规则"]
    assert shown_policies((await li.get("/rules?region=")).text) == ["社区规则（全球）"]
    assert shown_policies((await li.get("/rules/eu")).text) == ["欧盟地区规则"]
    mod = await browser_for(await person("mod", role="moderator", ui_language="zh-Hans", read_languages=["zh-Hans"]))
    r = await mod.post("/moderation/cases/1/act", {"action": "remove", "reason": "x"})
    assert r.status_code == 404
    bob = await browser_for(await person("bob", ui_language="zh-Hans"))
    dialog = await bob.get(f"/report/note/{note['id']}", headers=HTMX)
    assert "举报这篇笔记" in dialog.text and "垃圾信息" in dialog.text
    await bob.post(f"/report/note/{note['id']}", {"reason": "spam"})
    queue = await mod.get("/moderation")
    assert "审核队列" in queue.text or "内容审核" in queue.text
    [case_id] = case_ids(queue.text)
    short = await mod.post(f"/moderation/cases/{case_id}/act", {"action": "remove", "reason": "广告"}, htmx=True)
    assert short.status_code == 400 and "请选择处理方式" in short.text  # the error, in Chinese too
    r = await mod.post(f"/moderation/cases/{case_id}/act", {"action": "remove", "reason": "广告链接"})
    assert r.status_code == 303
    case = (await mod.get(f"/moderation/cases/{case_id}")).text
    assert "已移除" in case and "举报" in case and "垃圾信息" in case
    standing = await li.get("/moderation/standing")
    assert "<h1>账号状态</h1>" in standing.text and "提交申诉" in standing.text
    assert "A moderator removed" not in standing.text and "理由：广告链接" in standing.text


def test_every_report_reason_and_action_has_words() -> None:
    assert set(views.REPORT_REASONS) == set(get_args(ReportReason))
    assert {a for actions in views.ACTIONS_FOR.values() for a in actions} <= set(views.MODERATOR_ACTIONS)


async def test_suspended_members_can_still_appeal(
    person: PersonFactory, browser_for: BrowserFactory, runtime: Runtime
) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="hello", body="world")
    page = await browser_for(alice)
    mod = await person("mod", role="moderator")
    r = await mod.client.post(
        "/api/v1/moderation/actions",
        json={"target_type": "note", "target_id": note["id"], "action": "suspend", "reason": "repeated spam"},
    )
    assert r.status_code == 201, r.text
    refused = await page.post(f"/notes/{note['id']}/like")  # writes check the account afresh
    assert refused.status_code == 403 and "suspended" in refused.text
    standing = await page.get("/moderation/standing")
    assert standing.status_code == 200 and "Suspended" in standing.text
    decision_id = re.search(r'action="/moderation/decisions/(\d+)/appeal"', standing.text)
    assert decision_id
    r = await page.post(f"/moderation/decisions/{decision_id.group(1)}/appeal", {"statement": "I am not a bot"})
    assert r.status_code == 303 and r.headers["location"].startswith("/moderation/standing")
