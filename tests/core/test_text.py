from __future__ import annotations

import pytest

from bridgenote.core.text import clean_user_text, fold


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("CatTax", "cattax"),
        ("ＣａｔＴａｘ", "cattax"),  # full-width
        ("旅遊", "旅游"),  # Traditional -> Simplified
        ("旅游", "旅游"),
        ("猫\u200b税", "猫税"),  # zero-width space
        ("soft\u00adhyphen", "softhyphen"),
        ("\ufeffbom", "bom"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("ｌｉｌｙ１２３", "lily123"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_is_idempotent() -> None:
    for text in ("ＣａｔＴａｘ 旅遊", "Ⅻ ﬁ", "Ｅｍｏｊｉ 😀"):
        assert fold(fold(text)) == fold(text)


def test_clean_user_text() -> None:
    assert clean_user_text("  a\r\nb\rc\x00\x07\td  ") == "a\nb\nc\td"
