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
    # Babel's territory keys include numeric UN M.49 areas ("001", "419"); keep ISO 3166 alpha-2 codes.
    return frozenset(
        code for code in Locale("en").territories if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


def valid_region(code: str) -> bool:
    return code in regions()
