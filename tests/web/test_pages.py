"""The pages over HTTP (no browser): rendering, CSRF, escaping, security headers, language."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx

from bridgenote.core.runtime import Runtime
from bridgenote.search import service as search_service
from tests.notes.conftest import PersonFactory

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def browser_session(client: httpx.AsyncClient, username: str, *, language: str = "en") -> str:
    """Sign up through the page, as a browser would; returns the session's CSRF token."""
    page = await client.get("/signup", headers={"Accept-Language": language})
    token = CSRF_FIELD.search(page.text)
    assert token, page.text[:500]
    r = await client.post(
        "/signup",
        data={
            "csrf_token": token.group(1),
            "username": username,
            "email": f"{username}@example.com",
            "password": "correct horse battery",
            "display_name": username.title(),
        },
        headers={"Accept-Language": language},
    )
    assert r.status_code == 303, r.text[:2000]
    assert r.headers["location"] == "/welcome"
    welcome = await client.get("/welcome")
    found = CSRF_FIELD.search(welcome.text)
    assert found
    return found.group(1)


async def test_every_page_renders_for_visitors_and_members(
    client: httpx.AsyncClient, person: PersonFactory, runtime: Runtime
) -> None:
    alice = await person("alice")
    note = (await alice.client.post("/api/v1/notes", json={"title": "Hotpot", "body": "So good #hotpot @alice"})).json()
    comment = (await alice.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "first"})).json()
    await alice.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "reply", "parent_id": comment["id"]})
    for path in ("/", "/?tab=nearby", "/?topic=food", f"/notes/{note['id']}", "/u/alice", "/u/alice?tab=boards",
                 "/tags/hotpot", "/search?q=hotpot", "/login", "/signup"):  # fmt: skip
        r = await client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200, (path, r.text[:3000])
        assert r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert (await client.get("/?tab=following", follow_redirects=False)).status_code == 303
    token = await browser_session(client, "bob")
    member_pages = ["/", "/?tab=following", "/compose", "/notifications", "/settings", "/welcome?step=interests",
                    "/welcome?step=rules", f"/notes/{note['id']}", f"/notes/{note['id']}/save"]  # fmt: skip
    for path in member_pages:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:3000])
    assert token
    # Machine translation is off on this site (provider "none"): no Translate buttons anywhere.
    assert "data-translate" not in (await client.get(f"/notes/{note['id']}")).text
    assert 'id="translation"' not in (await client.get("/settings")).text


async def test_forms_need_the_csrf_token(client: httpx.AsyncClient, person: PersonFactory) -> None:
    alice = await person("alice")
    note = (await alice.client.post("/api/v1/notes", json={"title": "hi"})).json()
    # A visitor's form without the double-submit value is refused, and nothing is created.
    r = await client.post("/signup", data={"username": "eve", "email": "e@example.com", "password": "x" * 10})
    assert r.status_code == 403 and "security token" in r.text
    assert (await client.get("/u/eve")).status_code == 404
    token = await browser_session(client, "bob")
    # A member's form with a wrong token (another site posting it) is refused.
    r = await client.post(f"/notes/{note['id']}/like", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert (await alice.client.get(f"/api/v1/notes/{note['id']}")).json()["like_count"] == 0
    r = await client.post(f"/notes/{note['id']}/like", data={"csrf_token": token})
    assert r.status_code == 303
    # htmx sends the header instead of the field.
    r = await client.post(
        f"/notes/{note['id']}/comments", data={"body": "nice"}, headers={"x-csrf-token": token, "hx-request": "true"}
    )
    assert r.status_code == 200 and "nice" in r.text
    liked = (await alice.client.get(f"/api/v1/notes/{note['id']}")).json()
    assert liked["like_count"] == 1 and liked["comment_count"] == 1


async def test_user_text_is_escaped_and_pages_carry_a_strict_policy(
    client: httpx.AsyncClient, person: PersonFactory
) -> None:
    alice = await person("alice", display_name="<b>Al</b>")
    await alice.client.patch("/api/v1/me", json={"bio": XSS})
    note = (await alice.client.post("/api/v1/notes", json={"title": XSS[:100], "body": f"#tag {XSS} @alice"})).json()
    await alice.client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": XSS})
    for path in ("/", f"/notes/{note['id']}", "/u/alice"):
        r = await client.get(path)
        assert "<script>alert(1)" not in r.text and 'onerror="alert' not in r.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text, path
        policy = r.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
        assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "private, no-store"
    detail = (await client.get(f"/notes/{note['id']}")).text
    assert '<a class="tag" href="/tags/tag">#tag</a>' in detail
    assert '<a class="mention" href="/u/alice">@alice</a>' in detail
    # The API documentation keeps its own (CDN) page; the JSON API is unchanged.
    assert "content-security-policy" not in (await client.get("/api/docs")).headers
    assert (await client.get("/api/v1/notes/1")).json()["error"]["code"] == "note_not_found"


async def test_errors_are_pages_outside_the_api_and_follow_the_language(client: httpx.AsyncClient) -> None:
    r = await client.get("/notes/123", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "这篇笔记不存在" in r.text or "找不到" in r.text or "不存在" in r.text
    assert (await client.get("/notes/abc")).status_code == 404
    assert (await client.get("/no/such/page")).status_code == 404
    r = await client.get("/settings", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/settings"
    r = await client.post("/notes/1/like", headers={"hx-request": "true"})
    assert r.status_code == 403 and 'class="toast"' in r.text
    page = await client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in page.text and "登录" in page.text


async def test_search_page_finds_notes_people_and_tags(
    client: httpx.AsyncClient, person: PersonFactory, drain: Callable[[], Awaitable[int]]
) -> None:
    alice = await person("alice", display_name="Alice Chen")
    await alice.client.post("/api/v1/notes", json={"title": "Spicy hotpot in Chengdu", "body": "#hotpot night"})
    await alice.client.post("/api/v1/notes", json={"title": XSS[:100], "body": "hotpot again"})
    await drain()
    # Before typing: the trending searches and tags (none yet) and no results.
    r = await client.get("/search")
    assert r.status_code == 200 and "Trending" in r.text
    r = await client.get("/search", params={"q": "hotpot"})
    assert r.status_code == 200 and "Spicy hotpot in Chengdu" in r.text
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = await client.get("/search", params={"q": "alice", "type": "users"})
    assert 'href="/u/alice"' in r.text and "Alice Chen" in r.text
    r = await client.get("/search", params={"q": "hotpot", "type": "hashtags"})
    assert 'href="/tags/hotpot"' in r.text
    # Typed text is only ever shown escaped; unknown tabs fall back to notes.
    r = await client.get("/search", params={"q": XSS, "type": "nonsense", "sort": "nonsense"})
    assert r.status_code == 200 and "<script>alert(1)" not in r.text
    r = await client.get("/search/suggest", params={"q": "hot"}, headers={"hx-request": "true"})
    assert r.status_code == 200 and 'href="/tags/hotpot"' in r.text
    # The searches are remembered for the person who made them.
    token = await browser_session(client, "bob")
    await client.get("/search", params={"q": "dumplings"})
    await search_service.wait_for_search_logs()
    page = await client.get("/search")
    assert "Recent searches" in page.text and "/search?q=dumplings" in page.text
    r = await client.post("/search/recent/clear", data={"csrf_token": token})
    assert r.status_code == 303
    assert "/search?q=dumplings" not in (await client.get("/search")).text


async def test_the_topics_discover_names_in_settings_lead_somewhere(
    client: httpx.AsyncClient, person: PersonFactory, drain: Callable[[], Awaitable[int]]
) -> None:
    """Picking "Food" at onboarding gives the profile words such as "foodie" that no note has
    tagged: those link to a search, while a topic some note has tagged links to its page."""
    alice = await person("alice")
    await alice.client.post("/api/v1/notes", json={"title": "Hotpot night", "body": "#hotpot"})
    token = await browser_session(client, "bob")
    r = await client.post("/welcome", data={"csrf_token": token, "step": "interests", "interests": "food"})
    assert r.status_code == 303
    await drain()
    page = (await client.get("/settings")).text
    found = re.search(r"Discover thinks you like:(.*?)</p>", page, re.S)
    assert found, page[:3000]
    links = dict((text, href) for href, text in re.findall(r'<a href="([^"]+)">#([^<]+)</a>', found.group(1)))
    assert links.get("hotpot") == "/tags/hotpot"
    assert links.get("foodie") == "/search?q=foodie"
    for href in links.values():
        assert (await client.get(href.replace("&amp;", "&"))).status_code == 200, href


async def test_pages_name_an_icon_and_the_fixed_icon_path_finds_it(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login")).text
    linked = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert linked, page[:1000]
    icon = await client.get(linked.group(1))
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    r = await client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == linked.group(1)
