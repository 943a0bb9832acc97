"""Cross-lingual keyword matches through stored translations (translation domain), with the
LibreTranslate-compatible loopback server standing in for the outside translator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bridgenote.accounts.models import User
from bridgenote.config import Settings
from bridgenote.core.runtime import Runtime
from tests.search.conftest import NoteMaker, search
from tests.translation.fakes import FakeLibreTranslate, libre_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path, libre: FakeLibreTranslate) -> Settings:
    return libre_settings(database_url, tmp_path, libre, timeout=5.0)


async def test_an_english_query_finds_a_chinese_note_by_its_stored_translation(
    runtime: Runtime,
    drain: Callable[[], Awaitable[int]],
    post: NoteMaker,
    author: User,
    libre: FakeLibreTranslate,
    client_for: Callable[..., Awaitable[httpx.AsyncClient]],
) -> None:
    libre.script.append("Queued two hours for the Ferris wheel in Tianjin")
    note = await post(author, body="在天津排队两个小时坐摩天轮")
    await drain()
    assert libre.requests, "the note was not translated"

    result = await search(runtime, "ferris wheel tianjin")
    hits = {h.note_id: h for h in result.notes}
    assert note in hits
    assert hits[note].matched == "translation"
    assert hits[note].language == "zh"

    # The API says how it matched and that a translation is on offer to an English reader.
    reader = await client_for(author)  # reads English (the default)
    body = (await reader.get("/api/v1/search", params={"q": "ferris wheel"})).json()
    found = [n for n in body["notes"] if n["note"]["id"] == str(note)]
    assert found and found[0]["matched"] == "translation"
    assert found[0]["language"] == "zh" and found[0]["translation_offered"] is True


async def test_without_a_translator_search_still_indexes_the_original(
    runtime: Runtime, drain: Callable[[], Awaitable[int]], post: NoteMaker, author: User, libre: FakeLibreTranslate
) -> None:
    libre.down = True  # every translation attempt fails
    note = await post(author, body="在天津排队两个小时坐摩天轮")
    await drain()
    assert [h.note_id for h in (await search(runtime, "摩天轮")).notes] == [note]
    assert all(h.matched != "translation" for h in (await search(runtime, "ferris wheel")).notes)
