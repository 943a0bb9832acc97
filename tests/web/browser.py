"""A real server and a real Chromium for the browser tests (and ``make screenshots``).

The server is ``uvicorn bridgenote.app:create_app`` in a subprocess on a free port, on the
test's own database (the SQLite copy, or the truncated PostgreSQL database), with the
in-process worker on, so notifications and other jobs happen as in production.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.processes import free_port, running

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery"


@contextmanager
def live_server(database_url: str, var_dir: Path, **env: str) -> Iterator[str]:
    """Serve the app until the block ends; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "BRIDGENOTE_DATABASE_URL": database_url,
        "BRIDGENOTE_VAR_DIR": str(var_dir),
        "BRIDGENOTE_RATELIMIT_ENABLED": "false",
        "BRIDGENOTE_WORKER_POLL_SECONDS": "0.2",
        **env,
    }
    environment.pop("BRIDGENOTE_REDIS_URL", None)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bridgenote.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(
        command,
        name="the app",
        log_path=var_dir.parent / f"server-{port}.log",
        ready=lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200,
        poll=0.1,
        env=environment,
    ):
        yield url


def photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (300, 400)) -> Path:
    """A JPEG with a simple picture on it (a disc), so screenshots show something."""
    image = Image.new("RGB", size, colour)
    pixels = image.load()
    assert pixels is not None
    cx, cy, r = size[0] // 2, size[1] // 2, min(size) // 4
    for x in range(cx - r, cx + r):
        for y in range(cy - r, cy + r):
            if (x - cx) ** 2 + (y - cy) ** 2 < r * r:
                pixels[x, y] = (255, 255, 255)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def api_token(url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An API client for an account (used to set up data the test is not about)."""
    r = httpx.post(
        f"{url}/api/v1/auth/login", json={"login": username, "password": password, "token_name": "test"}, timeout=60
    )
    r.raise_for_status()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=60)


# Every browser test module: marked, and skipped with the reason where Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (make test installs it)"),
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, server: str, *, locale: str = "en-GB", width: int = 1280) -> Page:
    """A page in a fresh context on ``server``; ``page.errors`` collects script errors and dialogs."""
    context: BrowserContext = await browser.new_context(
        base_url=server, locale=locale, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(30_000)  # the test machine may be busy
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.errors = errors  # type: ignore[attr-defined]
    return page
