"""Text normalisation shared by hashtags, search and moderation."""

from __future__ import annotations

import unicodedata
from functools import cache

import opencc

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def fold(text: str) -> str:
    """Matching key: NFKC (full-width -> half-width), case-folded, Traditional -> Simplified,
    zero-width characters removed. The displayed form is kept elsewhere."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).casefold()
    return to_simplified(text)


def clean_user_text(text: str) -> str:
    """Normalise line endings and drop control characters other than newline and tab."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co"}).strip()
