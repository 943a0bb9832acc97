from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridgenote.config import Settings, TranslationSettings
from bridgenote.core.runtime import Runtime
from bridgenote.feed import service as feed_service
from bridgenote.search import service as search_service
from tests.conftest import make_settings
from tests.notes.conftest import person

__all__ = ["person"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Machine translation off for the in-process page tests (the default local model is not
    installed on test machines); the browser tests run theirs against a LibreTranslate stand-in."""
    return make_settings(database_url, tmp_path, translation=TranslationSettings(provider="none"))


@pytest.fixture(autouse=True)
async def search_engine_cleanup(runtime: Runtime) -> AsyncIterator[None]:
    yield
    await search_service.wait_for_search_logs()
    await search_service.close_for(runtime)
    await feed_service.close_for(runtime)
