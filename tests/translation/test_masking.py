"""Every kind of item survives mask -> translate -> restore unchanged."""

from __future__ import annotations

import pytest

from bridgenote.translation import masking

CASES = [
    ("hashtag", "今天去爬山 #徒步 真累", "#徒步"),
    ("mention", "谢谢 @lily_chen 的推荐", "@lily_chen"),
    ("url", "看这里 https://example.com/a?b=1 很有用", "https://example.com/a?b=1"),
    ("email", "联系 me@example.org 就好", "me@example.org"),
    ("emoji", "太好吃了 👨‍👩‍👧 真的", "👨‍👩‍👧"),
    ("number", "花了 1,299.50 元买的", "1,299.50"),
    ("code", "运行 `make test` 就行", "`make test`"),
]


@pytest.mark.parametrize(("kind", "text", "item"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_is_masked_and_restored(kind: str, text: str, item: str) -> None:
    masked = masking.mask(text)
    assert item not in masked.text
    assert masked.items == (item,) and kind in masked.kinds[0]
    # A "translation" that keeps the placeholder gets the item back exactly.
    translated = masked.text.replace("今天去爬山", "Hiking today").replace("真累", "tired")
    assert item in masking.restore(translated, masked)


def test_dropped_and_repeated_placeholders_are_repaired() -> None:
    masked = masking.mask("买了 2 个 和 3 个")
    assert masked.items == ("2", "3")
    assert masking.restore("bought [[1]] and [[1]]", masked) == "bought 2 and 3"


def test_leading_and_trailing_items_are_not_sent() -> None:
    masked = masking.mask("#旅行 今天很开心 🎉🎉")
    assert masked.text == "今天很开心" and masked.prefix == "#旅行 " and masked.suffix == " 🎉🎉"
    assert masking.restore("Very happy today", masked) == "#旅行 Very happy today 🎉🎉"


def test_emoji_only_has_nothing_to_translate() -> None:
    assert masking.mask("👍👍🔥").empty
