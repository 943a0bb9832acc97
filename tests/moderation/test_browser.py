"""Moderation in Debian's Chromium, driven by Playwright, against a real server and database:
a member reports a note from its page, a moderator removes it from the review queue.

Skipped (with the reason) only where Chromium is not installed; `make test` installs it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bridgenote.core.runtime import Runtime
from tests.factories import create_user
from tests.web.browser import BROWSER_MARKS, PASSWORD, api_token, chromium, live_server, new_page

pytestmark = BROWSER_MARKS

# Assertions wait longer than Playwright's 5 s: the test machine may be busy.
expect.set_options(timeout=20_000)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    # Machine translation off: the queue shows the original text (translation is tested elsewhere).
    with live_server(database_url, tmp_path / "var", BRIDGENOTE_TRANSLATION__PROVIDER="none") as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def log_in(page: Page, username: str) -> None:
    await page.goto("/login")
    await page.fill("#login", username)
    await page.fill("#password", PASSWORD)
    await page.click("form [type=submit]")
    await expect(page).to_have_url(re.compile(r"/$"))


async def test_a_member_reports_a_note_and_a_moderator_removes_it(
    browser: Browser, server: str, runtime: Runtime
) -> None:
    for username, role in (("author", "user"), ("reporter", "user"), ("warden", "moderator")):
        await create_user(runtime, username=username, email=f"{username}@example.com", role=role)
    with api_token(server, "author") as author:
        note = author.post("/api/v1/notes", json={"title": "Weekend hike", "body": "A quiet trail by the lake"})
        assert note.status_code == 201, note.text
        note_id = note.json()["id"]

        # The reporter opens the note, reports it in the dialog and is thanked in a toast.
        reporter = await new_page(browser, server, width=390)
        await log_in(reporter, "reporter")
        await reporter.goto(f"/notes/{note_id}")
        await reporter.get_by_role("link", name="Report").first.click()
        dialog = reporter.locator("#report-dialog")
        await expect(dialog.get_by_role("heading", name="Report this note")).to_be_visible()
        await dialog.get_by_label("Why are you reporting it?").select_option("spam")
        await dialog.get_by_label("Anything else our moderators should know? (optional)").fill("Selling followers")
        await dialog.get_by_role("button", name="Send report").click()
        await expect(reporter.locator("#toasts .toast")).to_contain_text("Thank you")
        await expect(dialog).not_to_be_visible()
        assert not reporter.errors, reporter.errors  # type: ignore[attr-defined]

        # The moderator finds it in the queue (link in the header) and removes it there.
        warden = await new_page(browser, server)
        await log_in(warden, "warden")
        await warden.locator(".mainnav").get_by_role("link", name="Moderation").click()
        await expect(warden).to_have_url(re.compile(r"/moderation$"))
        card = warden.locator("article.case", has_text="Weekend hike")
        await expect(card).to_contain_text("1 report")
        await expect(card).to_contain_text("Spam (1)")
        await card.get_by_label("Action").select_option("remove")
        await card.get_by_label("Reason").fill("Selling followers is spam")
        await card.get_by_role("button", name="Apply").click()
        await expect(warden.locator("article.case.done")).to_contain_text("Done: Removed")
        assert not warden.errors, warden.errors  # type: ignore[attr-defined]

        assert author.get(f"/api/v1/notes/{note_id}").json()["state"] == "removed"
        await reporter.goto(f"/notes/{note_id}")
        await expect(reporter.locator("main")).to_contain_text("not available")
