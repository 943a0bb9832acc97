"""Translations of user-visible strings (Babel/gettext catalogs ``en`` and ``zh_Hans``).

The ``.po`` files under ``web/locale`` are the source of truth; they are compiled
in memory on first use, so running from a checkout needs no build step.
"""

from __future__ import annotations

import contextvars
import io
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"
# BCP 47 tags used in the API and the database -> gettext catalog names.
UI_LANGUAGES = {"en": "en", "zh-Hans": "zh_Hans"}
DEFAULT_LANGUAGE = "en"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ui_language", default=DEFAULT_LANGUAGE)


@cache
def catalog(language: str) -> NullTranslations:
    name = UI_LANGUAGES.get(language)
    po_path = LOCALE_DIR / str(name) / "LC_MESSAGES" / "messages.po"
    if name is None or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as fh:
        parsed = read_po(fh, locale=name)
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return Translations(buffer)


def set_language(language: str) -> contextvars.Token[str]:
    return _current.set(language if language in UI_LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def gettext(message: str, /, language: str | None = None, **params: Any) -> str:
    text = catalog(language or _current.get()).gettext(message)
    return text.format(**params) if params else text


_ = gettext


def N_(message: str, /) -> str:
    """Mark ``message`` for extraction without translating it yet (module-level
    constants, tables of templates); translate it with :func:`gettext` when rendered."""
    return message


def ngettext(singular: str, plural: str, n: int, /, language: str | None = None, **params: Any) -> str:
    text = catalog(language or _current.get()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def normalise_language_tag(tag: str) -> str | None:
    """Map a BCP 47 tag (``zh-CN``, ``zh_Hant_TW``, ``EN-gb``) to a supported UI language."""
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if locale.language == "zh":
        return "zh-Hans"
    if locale.language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """Pick the UI language from an ``Accept-Language`` header (quality-ordered)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, q = piece.partition(";q=")
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            continue
        weighted.append((-quality, index, tag.strip()))
    for _q, _index, tag in sorted(weighted):
        language = normalise_language_tag(tag)
        if language:
            return language
    return DEFAULT_LANGUAGE
