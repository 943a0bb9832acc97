"""Server-rendered pages: the Jinja2 environment, the page chrome and ``render()``.

Templates call ``_("...")`` with ``{name}`` placeholders (the same message ids and
catalogs as the API), so `make messages` extracts them with Babel's Jinja2
extractor (``babel.cfg``). Autoescaping is on for every template: user text is
only ever inserted escaped, and the few filters that return markup
(``rich`` in notes/views.py) escape first and add links afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.core import Locale
from babel.dates import format_date, format_timedelta
from babel.numbers import format_compact_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.languages import CONTENT_LANGUAGES, regions

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# Topic chips on Discover and the interests offered at onboarding: the label is a
# message id; the tag is the hashtag the chip opens, per UI language (the seeded and
# real communities tag in their own language).
TOPICS: dict[str, tuple[str, dict[str, str]]] = {
    "food": (i18n.N_("Food"), {"en": "foodie", "zh-Hans": "美食"}),
    "travel": (i18n.N_("Travel"), {"en": "travel", "zh-Hans": "旅行"}),
    "pets": (i18n.N_("Pets"), {"en": "cattax", "zh-Hans": "猫税"}),
    "beauty": (i18n.N_("Beauty"), {"en": "skincare", "zh-Hans": "护肤"}),
    "study": (i18n.N_("Study"), {"en": "studywithme", "zh-Hans": "学习打卡"}),
    "fashion": (i18n.N_("Fashion"), {"en": "ootd", "zh-Hans": "穿搭"}),
    "newcomers": (i18n.N_("Newcomers"), {"en": "tiktokrefugee", "zh-Hans": "欢迎新朋友"}),
}


def babel_locale(language: str | None = None) -> str:
    return i18n.UI_LANGUAGES.get(language or i18n.current_language(), "en")


def compact(value: int | None) -> str:
    """1234 -> "1.2K" / "1234"; 12345 -> "12K" / "1.2万" (CLDR, so no catalog entry)."""
    return format_compact_decimal(value or 0, format_type="short", locale=babel_locale(), fraction_digits=1)


def ago(value: dt.datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime.now(dt.UTC)
    if delta < dt.timedelta(days=-7):
        return format_date(value, format="medium", locale=babel_locale())
    return format_timedelta(delta, add_direction=True, format="short", locale=babel_locale(), threshold=1)


@cache
def autonym(tag: str) -> str:
    """A UI language named in itself ("English", "中文"), the same on every page."""
    locale = Locale.parse(tag.split("-")[0])
    return str(locale.get_display_name(locale)).split(" (")[0]


def language_name(tag: str) -> str:
    """``zh-Hant`` in the reader's language (CLDR names, not catalog entries)."""
    locale = Locale.parse(babel_locale(), sep="_")
    parts = tag.split("-")
    name = locale.languages.get(parts[0], tag)
    if len(parts) > 1:
        script = locale.scripts.get(parts[1])
        if script:
            return f"{name} ({script})"
    return str(name)


@cache
def _region_names(locale_name: str) -> list[tuple[str, str]]:
    territories = Locale.parse(locale_name, sep="_").territories
    # Codes CLDR has no name for in this language are left out rather than shown raw.
    named = ((code, str(territories[code])) for code in regions() if code in territories)
    return sorted(named, key=lambda item: item[1])


def region_choices() -> list[tuple[str, str]]:
    return _region_names(babel_locale())


def region_name(code: str | None) -> str:
    if not code:
        return ""
    return str(Locale.parse(babel_locale(), sep="_").territories.get(code, code))


@cache
def _static_version(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.is_file() else "0"


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``: files can be cached for a year and still change."""
    return f"/static/{path}?v={_static_version(path)}"


def gettext(message: str, /, **params: Any) -> str:
    return i18n.gettext(message, **params)


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    return i18n.ngettext(singular, plural, n, **params)


def tag_url(name: str) -> str:
    return "/tags/" + quote(name.lstrip("#＃"), safe="")


def user_url(username: str) -> str:
    return "/u/" + quote(username, safe="")


def translation_enabled(request: Request) -> bool:
    """Translate buttons call the translation domain's API: they are shown when that domain
    is installed, the site has not turned machine translation off (provider ``none``) and
    its provider is not known to be missing (the answer of the last status check)."""
    from bridgenote import registry

    settings = request.app.state.settings
    if "translation" not in registry.DOMAINS or getattr(settings.translation, "provider", "none") == "none":
        return False
    return getattr(request.state, "translation_state", "ready") not in ("missing", "disabled")


async def translation_available(request: Request) -> bool:
    """:func:`translation_enabled`, after asking the provider's state once per request (the
    translation domain caches the answer for a few seconds)."""
    from bridgenote import registry

    if "translation" in registry.DOMAINS and not hasattr(request.state, "translation_state"):
        from bridgenote.translation import service as translation_service

        status = await translation_service.provider_status(settings=request.app.state.settings)
        request.state.translation_state = status.state
    return translation_enabled(request)


def _json_script(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (``<`` escaped, so no ``</script>``)."""
    text = json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Plain functions rather than the i18n extension's callables, which format with "%";
    # the catalogs use {placeholders}, like the rest of the code.
    env.globals.update(
        _=gettext,
        gettext=gettext,
        ngettext=ngettext,
        static_url=static_url,
        tag_url=tag_url,
        user_url=user_url,
        language_name=language_name,
        autonym=autonym,
        region_name=region_name,
        region_choices=region_choices,
        content_languages=CONTENT_LANGUAGES,
        topics=TOPICS,
    )
    env.filters.update(compact=compact, ago=ago, json_script=_json_script)
    return env


env = _environment()

# Per-request chrome (the unread badge) comes from domains; they register a provider here
# so that this package needs no domain import at module level.
ChromeProvider = Callable[[AsyncSession, Viewer], Any]
_chrome_providers: dict[str, ChromeProvider] = {}


def register_chrome(name: str, provider: ChromeProvider) -> None:
    _chrome_providers[name] = provider


def add_filter(name: str, function: Callable[..., Any]) -> None:
    env.filters[name] = function


def add_global(name: str, value: Any) -> None:
    env.globals[name] = value


# Strings the scripts show (upload progress, copy confirmations); passed as JSON data.
SCRIPT_STRINGS = {
    "copied": i18n.N_("Link copied"),
    "copyFailed": i18n.N_("Copy this link:"),
    "uploading": i18n.N_("Uploading {name}…"),
    "uploadFailed": i18n.N_("{name} could not be uploaded."),
    "tooMany": i18n.N_("A note has either one video or up to {n} images."),
    "remove": i18n.N_("Remove"),
    "moveEarlier": i18n.N_("Move earlier"),
    "moveLater": i18n.N_("Move later"),
    "altText": i18n.N_("Describe this image (alt text)"),
    "networkError": i18n.N_("The connection failed. Check your network and try again."),
    "waitUploads": i18n.N_("Wait until every upload has finished."),
    "translate": i18n.N_("Translate"),
    "translating": i18n.N_("Translating…"),
    "showOriginal": i18n.N_("Show original"),
}


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer,
    session: AsyncSession | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A full page, or only its fragment blocks when the template is a partial (``_*.html``)."""
    if viewer.is_authenticated:
        await translation_available(request)
    values: dict[str, Any] = {
        "request": request,
        "viewer": viewer,
        "lang": i18n.current_language(),
        "html_lang": "zh-Hans" if i18n.current_language() == "zh-Hans" else "en",
        "csrf_token": csrf_token_for(request, viewer),
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "site_name": request.app.state.settings.site_name,
        "script_strings": {key: i18n.gettext(text) for key, text in SCRIPT_STRINGS.items()},
        "unread": 0,
        "translation_on": translation_enabled(request),
    }
    if session is not None and viewer.is_authenticated and not template.rsplit("/", 1)[-1].startswith("_"):
        for name, provider in _chrome_providers.items():
            values[name] = await provider(session, viewer)
    values.update(context or {})
    body = env.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    _remember_anonymous_csrf(request, response, values["csrf_token"], viewer)
    return response


# ---------------------------------------------------------------- CSRF for pages

ANON_CSRF_COOKIE = "bn_form"


def csrf_token_for(request: Request, viewer: Viewer) -> str:
    """The token forms must send back: the session's, or for visitors (sign-up, log-in,
    language) a random double-submit value kept in a cookie."""
    if viewer.is_authenticated and viewer.csrf_token:
        return viewer.csrf_token
    existing = request.cookies.get(ANON_CSRF_COOKIE, "")
    if len(existing) >= 20:
        return existing
    cached: str | None = getattr(request.state, "new_anon_csrf", None)
    if cached is None:
        import secrets

        cached = secrets.token_urlsafe(24)
        request.state.new_anon_csrf = cached
    return cached


def _remember_anonymous_csrf(request: Request, response: HTMLResponse, token: str, viewer: Viewer) -> None:
    if viewer.is_authenticated or request.cookies.get(ANON_CSRF_COOKIE) == token:
        return
    response.set_cookie(
        ANON_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )
