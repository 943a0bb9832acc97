"""Screenshots of the web app for the README (``make screenshots``).

Seeds a small demo community into a throw-away SQLite database, serves it, signs in as the
demo member in Chromium and saves Discover, a note, compose and a profile at 1280 and 360
pixels wide, in English and in Simplified Chinese, under ``docs/screenshots/``
(``discover-phone.png``, ``discover-phone-zh.png``, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright  # noqa: E402
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: E402

from bridgenote import migrate  # noqa: E402
from bridgenote.config import Settings  # noqa: E402
from bridgenote.seed import DEMO_PASSWORD, DEMO_USERNAME, run_seed  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 860), "phone": (360, 780)}
# The browser's language (Accept-Language picks the UI language) -> file name suffix.
LANGUAGES = {"en-GB": "", "zh-CN": "-zh"}
UI_LANGUAGE = {"en-GB": "en", "zh-CN": "zh-Hans"}


async def settle(page: Page) -> None:
    """Wait until the visible images have loaded (placeholders give way to photos)."""
    await page.wait_for_load_state("networkidle")
    await page.evaluate(
        """() => Promise.all([...document.images].filter((img) => !img.complete && img.loading !== 'lazy')
              .map((img) => new Promise((done) => { img.onload = img.onerror = done; })))"""
    )
    await page.wait_for_timeout(300)


async def shoot(url: str, language: str, suffix: str) -> list[Path]:
    saved: list[Path] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, (width, height) in WIDTHS.items():
            context = await browser.new_context(
                base_url=url, viewport={"width": width, "height": height}, device_scale_factor=1, locale=language
            )
            page = await context.new_page()
            await page.goto("/login")
            await page.fill("#login", DEMO_USERNAME)
            await page.fill("#password", DEMO_PASSWORD)
            await page.click("form [type=submit]")
            await page.wait_for_url(f"{url}/")
            # A member's pages follow their saved UI language: switch it as a person would.
            ui = UI_LANGUAGE[language]
            await page.locator(f".lang-switch button[value={ui}]").click()
            await page.wait_for_selector(f"html[lang={ui}]")
            note = await page.evaluate(
                """async () => {
                    const feed = await (await fetch('/api/v1/feeds/latest?limit=50')).json();
                    const best = feed.items.find((n) => n.media.length >= 3 && n.comment_count > 0)
                        || feed.items.find((n) => n.media.length > 1) || feed.items[0];
                    return best.id;
                }"""
            )
            pages = {
                "discover": "/",
                "note": f"/notes/{note}",
                "compose": "/compose",
                "profile": f"/u/{DEMO_USERNAME}",
            }
            for name, path in pages.items():
                await page.goto(path)
                await settle(page)
                target = OUT / f"{name}-{label}{suffix}.png"
                await page.screenshot(path=str(target))
                saved.append(target)
            await context.close()
        await browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--notes", type=int, default=80)
    parser.add_argument(
        "--language", choices=sorted(LANGUAGES), help="only this browser language (default: English and Chinese)"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bridgenote-shots-") as tmp:
        var_dir = Path(tmp) / "var"
        database_url = f"sqlite+aiosqlite:///{tmp}/shots.db"
        migrate.upgrade(database_url)
        settings = Settings(database_url=database_url, var_dir=var_dir)
        asyncio.run(run_seed(settings, users=args.users, notes=args.notes))
        with live_server(database_url, var_dir) as url:
            for language, suffix in LANGUAGES.items():
                if args.language not in (None, language):
                    continue
                for path in asyncio.run(shoot(url, language, suffix)):
                    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
