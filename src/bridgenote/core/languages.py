"""Languages and regions the platform knows about."""

from __future__ import annotations

from functools import cache

from babel import Locale

# Content languages a user can declare that they read or write (BCP 47 tags).
CONTENT_LANGUAGES = (
    "en", "zh-Hans", "zh-Hant", "ja", "ko", "es", "fr", "de", "pt", "it", "ru", "vi", "th", "id", "ms", "ar", "hi",
)  # fmt: skip


@cache
def regions() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())


def valid_region(code: str) -> bool:
    return code in regions()
