from __future__ import annotations

import pytest

from bridgenote.core import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh-TW;q=0.5,en;q=0.4", "zh-Hans"),
        ("en;q=0.2,zh-Hant;q=0.8", "zh-Hans"),
        ("zh_Hant_TW", "zh-Hans"),
        ("EN-gb", "en"),
        ("de, fr", "en"),
        ("", "en"),
        (None, "en"),
        ("*", "en"),
        ("zh;q=abc,en", "en"),
        (";;;,,,;q=", "en"),
        ("x" * 5000, "en"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_unknown_language_falls_back_to_default() -> None:
    token = i18n.set_language("klingon")
    try:
        assert i18n.current_language() == "en"
    finally:
        i18n._current.reset(token)


def test_gettext_formats_placeholders_in_english() -> None:
    message = "Too many requests. Please try again in {retry_after} seconds."
    assert i18n.gettext(message, language="en", retry_after=5) == "Too many requests. Please try again in 5 seconds."
