"""The web app in Debian's Chromium, driven by Playwright, against a real server and database.

Skipped (with the reason) only where Chromium is not installed; `make test` installs it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.translation import fakes as libretranslate
from tests.web.browser import BROWSER_MARKS, PASSWORD, api_token, chromium, live_server, new_page, photo

pytestmark = BROWSER_MARKS

# Assertions wait longer than Playwright's 5 s: the test machine may be busy.
expect.set_options(timeout=20_000)

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    # Machine translation through the real LibreTranslate provider, against the test stand-in
    # (the default local model is not installed on test machines).
    with (
        libretranslate.serve() as translator,
        live_server(
            database_url,
            tmp_path / "var",
            BRIDGENOTE_TRANSLATION__PROVIDER="libretranslate",
            BRIDGENOTE_TRANSLATION__LIBRETRANSLATE_URL=translator.url,
        ) as url,
    ):
        yield url


@pytest.fixture
def api(server: str) -> Iterator[Callable[[str], httpx.Client]]:
    """``api("alice")``: an API client for an account, closed after the test."""
    clients: list[httpx.Client] = []

    def make(username: str) -> httpx.Client:
        clients.append(api_token(server, username))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def sign_up(page: Page, username: str, *, onboarding: bool = False) -> None:
    await page.goto("/signup")
    await page.fill("#f-username", username)
    await page.fill("#f-display_name", username.title())
    await page.fill("#f-email", f"{username}@example.com")
    await page.fill("#f-password", PASSWORD)
    await page.click("form [type=submit]")
    await expect(page).to_have_url(re.compile(r"/welcome$"))
    if onboarding:
        await page.check("input[name=read_languages][value=zh-Hans]")
        await page.click("text=Next")
        await expect(page).to_have_url(re.compile(r"step=interests"))
        await page.check("input[name=interests][value=food]")
        await page.click("text=Next")
        await expect(page.get_by_role("heading", name="Our community rules")).to_be_visible()
        await expect(page.locator(".rules li")).to_have_count(5)
        await page.click("text=I agree, start exploring")
        await expect(page).to_have_url(re.compile(r"/$"))


async def test_post_discover_interact_and_notify(
    browser: Browser, server: str, api: Callable[[str], httpx.Client], tmp_path: Path
) -> None:
    """Sign up with onboarding, post 3 photos, find the note on Discover; someone else likes,
    saves to a new board and comments; the author sees all three as notifications."""
    alice = await new_page(browser, server)
    await sign_up(alice, "alice", onboarding=True)
    member = api("alice")
    me = member.get("/api/v1/me").json()
    assert me["read_languages"] == ["en", "zh-Hans"] and me["interests"] == ["food"]

    await alice.goto("/compose")
    files = [
        str(photo(tmp_path / f"p{i}.jpg", colour))
        for i, colour in enumerate([(200, 40, 40), (40, 160, 60), (30, 60, 200)])
    ]
    await alice.set_input_files("#compose-form input[type=file]", files)
    await expect(alice.locator(".upload[data-media-id]")).to_have_count(3)
    # Reorder from the keyboard: the second photo becomes the first.
    await alice.locator(".upload").nth(1).get_by_role("button", name="Move earlier").click()
    await alice.fill("#title", "Three dumplings")
    await alice.fill("#body", "Lunch in Chengdu #dumplings")
    await alice.click("text=Publish")
    await expect(alice).to_have_url(re.compile(r"/notes/\d+$"))
    note_url = alice.url
    await expect(alice.locator(".slide")).to_have_count(3)
    await expect(alice.locator(".counter")).to_have_text("1/3")
    await expect(alice.locator(".carousel[data-ready]")).to_have_count(1)  # app.js has run
    await alice.keyboard.press("ArrowRight")
    await expect(alice.locator(".counter")).to_have_text("2/3")
    await expect(alice.get_by_role("link", name="#dumplings").first).to_be_visible()

    bob = await new_page(browser, server, width=390)
    await sign_up(bob, "bob")
    # Discover's candidate pool picks the note up once the feed has indexed it (a job).
    card = bob.locator(".card", has_text="Three dumplings")
    for _ in range(30):
        await bob.goto("/")
        if await card.count():
            break
        await bob.wait_for_timeout(300)
    await expect(card).to_be_visible()
    await expect(card.locator(".why summary")).to_have_text("Why this?")
    await card.locator(".card-link").click()
    await expect(bob).to_have_url(note_url)
    await bob.locator(".actions .like").click()
    await expect(bob.locator(".actions .like")).to_have_attribute("aria-pressed", "true")
    await expect(bob.locator(".actions .like span")).to_have_text("1")
    await bob.locator(".actions .save").click()
    await expect(bob.locator("#save-dialog")).to_be_visible()
    await bob.fill("#new-board", "Food ideas")
    await bob.locator("#save-dialog [type=submit]").click()
    await expect(bob.locator(".actions .save")).to_have_attribute("aria-pressed", "true")
    await bob.fill("#comment-body", "Looks great! <b>yum</b>")
    await bob.click("#comment-form [type=submit]")
    await expect(bob.locator("#comment-list .comment")).to_have_count(1)
    await expect(bob.locator("#comment-list .comment .text")).to_have_text("Looks great! <b>yum</b>")
    bob_api = api("bob")
    boards = bob_api.get("/api/v1/users/bob/boards").json()["items"]
    assert [b["title"] for b in boards if b["note_count"]] == ["Food ideas"]

    # The author: the unread badge counts the three, the list says what happened.
    await alice.goto("/")
    for _ in range(50):
        if (await alice.locator("#badge-top").inner_text()).startswith("3"):
            break
        await alice.wait_for_timeout(200)
        await alice.reload()
    await expect(alice.locator("#badge-top")).to_contain_text("3")
    await alice.goto("/notifications")
    texts = await alice.locator(".notification p").all_inner_texts()
    assert any("Bob liked your note" in t for t in texts), texts
    assert any("Bob saved your note" in t for t in texts), texts
    assert any("Bob commented on your note" in t for t in texts), texts
    await expect(alice.locator("#badge-top")).to_be_hidden()  # marked read once shown
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)  # type: ignore[attr-defined]


def visible_text_without(text: str, *known: str) -> str:
    for value in sorted(known, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


async def page_strings(page: Page) -> str:
    """What a person reads or hears: the text, and labels, placeholders and titles."""
    return str(
        await page.evaluate(
            """() => [document.title, document.body.innerText,
                ...[...document.querySelectorAll('[placeholder],[aria-label],[title],img[alt]')]
                   .filter((e) => e.offsetParent !== null || e.tagName === 'DIALOG')
                   .map((e) => ['placeholder', 'aria-label', 'title', 'alt'].map((a) => e.getAttribute(a)).join(' '))
               ].join('\\n')"""
        )
    )


async def test_language_switch_changes_every_visible_string(
    browser: Browser, server: str, api: Callable[[str], httpx.Client]
) -> None:
    page = await new_page(browser, server)
    await sign_up(page, "carol")
    member = api("carol")
    note = member.post("/api/v1/notes", json={"title": "火锅", "body": "好吃 #美食"}).json()
    member.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "超级好吃"})
    # Content and names are not interface strings: everything else must change language.
    # "API" is the name of the thing in Chinese too; "test" names the access token the test made.
    known = ("Bridgenote", "English", "Carol", "carol", "API", "test", "@")
    pages = ["/", f"/notes/{note['id']}", "/u/carol", "/u/carol?tab=boards", "/compose", "/notifications", "/settings",
             "/tags/美食", "/search?q=x", "/welcome?step=interests", "/welcome?step=rules"]  # fmt: skip
    await page.goto("/")
    await page.locator(".lang-switch button[value=zh-Hans]").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    for path in pages:
        await page.goto(path)
        leftover = visible_text_without(await page_strings(page), *known)
        english = re.findall(r"[A-Za-z]{2,}", leftover)
        # Region names and language names are CLDR's, in Chinese; "ID"-like codes do not occur.
        assert not english, (path, english[:20])
        assert CJK.search(leftover), path
    await page.locator(".lang-switch button[value=en]").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    for path in pages:
        await page.goto(path)
        leftover = visible_text_without(await page_strings(page), "中文", "火锅", "好吃", "美食", "超级好吃")
        assert not CJK.search(leftover), (path, CJK.findall(leftover)[:20])
    # A visitor gets the language of their browser, and can switch too.
    visitor = await new_page(browser, server, locale="zh-CN")
    await visitor.goto("/login")
    await expect(visitor.get_by_role("heading", name="登录")).to_be_visible()
    await visitor.locator(".lang-switch button[value=en]").click()
    await expect(visitor.get_by_role("heading", name="Log in")).to_be_visible()


XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


async def test_user_text_renders_inert(browser: Browser, server: str, api: Callable[[str], httpx.Client]) -> None:
    page = await new_page(browser, server)
    await sign_up(page, "mallory")
    client = api("mallory")
    client.patch("/api/v1/me", json={"display_name": XSS[:50], "bio": XSS})
    note = client.post("/api/v1/notes", json={"title": XSS[:100], "body": f"{XSS} #tag{XSS}"}).json()
    client.post(f"/api/v1/notes/{note['id']}/comments", json={"body": XSS})
    board = client.post("/api/v1/boards", json={"title": XSS[:100], "description": XSS}).json()
    client.post(f"/api/v1/notes/{note['id']}/like")
    paths = (
        f"/notes/{note['id']}",
        "/u/mallory",
        "/u/mallory?tab=boards",
        "/u/mallory?tab=liked",
        f"/boards/{board['id']}",
    )
    for path in paths:
        await page.goto(path)
        assert await page.evaluate("() => window.__xss") is None, path
        assert await page.locator("img[src=x], main script").count() == 0, path
        assert "<img src=x" in await page.locator("main").inner_text(), path
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    # Discover leaves out one's own notes: a visitor's Discover shows the card.
    visitor = await new_page(browser, server)
    for _ in range(30):
        await visitor.goto("/")
        if await visitor.locator(".card").count():
            break
        await visitor.wait_for_timeout(300)
    assert await visitor.evaluate("() => window.__xss") is None
    assert await visitor.locator("img[src=x], main script").count() == 0
    assert "<img src=x" in await visitor.locator("main").inner_text()
    assert not visitor.errors, visitor.errors  # type: ignore[attr-defined]


async def test_translate_buttons_beside_the_note_and_each_comment(
    browser: Browser, server: str, api: Callable[[str], httpx.Client]
) -> None:
    page = await new_page(browser, server)
    await sign_up(page, "dave")
    member = api("dave")
    assert member.patch("/api/v1/me/translation-settings", json={"auto_translate_notes": False}).status_code == 200
    note = member.post("/api/v1/notes", json={"title": "火锅", "body": "今天的火锅很好吃"}).json()
    member.post(f"/api/v1/notes/{note['id']}/comments", json={"body": "超级好吃"})
    await page.goto(f"/notes/{note['id']}")
    body = page.locator(".note-body")
    button = page.locator('button[data-translate^="note/"]')
    await button.click()
    # The stand-in turns Chinese into its pinyin; the original comes back on request.
    await expect(body).to_have_text(re.compile(r"jin tian de huo guo hen hao chi"))
    await expect(page.locator(".note-side .mt-label")).to_be_visible()
    await expect(button).to_have_text("Show original")
    await button.click()
    await expect(body).to_have_text("今天的火锅很好吃")
    comment = page.locator("#comment-list .comment").first
    await comment.locator("button.translate").click()
    await expect(comment.locator(".text")).to_have_text(re.compile(r"chao ji hao chi"))
    # "Translate notes automatically" in Settings: the note opens translated (once the
    # translation domain has recorded the note's language, a background job).
    await page.goto("/settings")
    await page.check("input[name=auto_notes]")
    await page.click("#translation [type=submit]")
    await expect(page.locator("input[name=auto_notes]")).to_be_checked()
    for _ in range(30):
        await page.goto(f"/notes/{note['id']}")
        if await page.locator('button[data-translate^="note/"][data-auto]').count():
            break
        await page.wait_for_timeout(500)
    await expect(body).to_have_text(re.compile(r"jin tian de huo guo"))
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_search_from_the_header(browser: Browser, server: str, api: Callable[[str], httpx.Client]) -> None:
    page = await new_page(browser, server, width=390)
    await sign_up(page, "erin")
    api("erin").post("/api/v1/notes", json={"title": "Night market snacks", "body": "#streetfood in Taipei"})
    await page.goto("/")
    # Indexing is a background job: the suggestion appears once it has run.
    for _ in range(50):
        await page.fill("#site-search", "")
        await page.type("#site-search", "street")
        try:
            await expect(page.locator("#site-suggest a", has_text="#streetfood")).to_be_visible(timeout=2_000)
            break
        except AssertionError:
            continue
    await page.press("#site-search", "Enter")
    await expect(page).to_have_url(re.compile(r"/search\?q=street"))
    await expect(page.locator(".card", has_text="Night market snacks")).to_be_visible()
    await page.get_by_role("link", name="Hashtags").click()
    await expect(page.get_by_role("link", name="#streetfood")).to_be_visible()
    assert not page.errors, page.errors  # type: ignore[attr-defined]
