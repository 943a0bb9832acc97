"""The gettext catalogs cover every user-visible message in the source.

Message ids are extracted the same way ``make messages`` does it (gettext calls
plus the messages given to AppError subclasses), so a new message without a
Chinese translation fails here until the catalogs are updated and translated.
"""

from __future__ import annotations

import importlib.util
import string
import sys
from pathlib import Path
from types import ModuleType

import httpx
from babel.messages.pofile import read_po

from bridgenote.core import i18n

ROOT = Path(__file__).resolve().parent.parent
ZH_HANS = ROOT / "src" / "bridgenote" / "web" / "locale" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def _extractor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_messages", ROOT / "scripts" / "extract_messages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("extract_messages", module)
    spec.loader.exec_module(module)
    return module


extractor = _extractor()


def placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    messages = extractor.collect()
    assert len(messages) > 50, "extraction found suspiciously few messages"
    with ZH_HANS.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")

    problems: list[str] = []
    seen: set[str | tuple[str, str]] = set()
    for message in messages:
        if message.msgid in seen:
            continue
        seen.add(message.msgid)
        ids = message.msgid if isinstance(message.msgid, tuple) else (message.msgid,)
        entry = catalog.get(message.msgid)
        where = f"{message.path}:{message.lineno}: {ids[0]!r}"
        if entry is None:
            problems.append(f"{where} is not in the zh_Hans catalog (run `make messages`)")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"{where} has no (or only a fuzzy) Chinese translation")
            continue
        for translated in strings:
            if placeholders(translated) != placeholders(ids[0]):
                problems.append(f"{where}: placeholders differ in {translated!r}")
    assert not problems, "\n".join(problems)


def test_extractor_finds_error_messages_but_not_builtin_exceptions() -> None:
    source = """
class TakenError(Conflict):
    message = "That is taken."

class NotAnError:
    message = "Not a message."

def f():
    raise errors.NotFound("No {thing} here.", code="missing", thing=1)
    raise Forbidden(message="Keyword message.")
    raise ValueError("Internal detail.")
    raise BadRequest()
"""
    found = {m.msgid for m in extractor.error_messages(source, "example.py")}
    assert found == {"That is taken.", "No {thing} here.", "Keyword message."}


def test_extraction_covers_core_error_defaults_and_gettext_calls() -> None:
    found = {m.msgid for m in extractor.collect()}
    # A class attribute default, a call argument and a gettext() call respectively.
    assert {
        "We could not find that.",
        "That access token is not valid.",
        "The request body is not valid JSON.",
    } <= found


def test_gettext_translates_into_simplified_chinese() -> None:
    assert i18n.gettext("We could not find that.", language="zh-Hans") == "找不到你要的内容。"
    assert i18n.gettext("We could not find that.", language="en") == "We could not find that."
    retry = "Too many requests. Please try again in {retry_after} seconds."
    assert i18n.gettext(retry, language="zh-Hans", retry_after=7) == "操作过于频繁，请在 7 秒后重试。"


async def test_api_errors_follow_accept_language(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert r.status_code == 404
    assert r.json()["error"] == {"code": "not_found", "message": "找不到你要的内容。"}
    r = await client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "en-GB"})
    assert r.json()["error"]["message"] == "We could not find that."


async def test_lang_query_parameter_beats_cookie_and_accept_language(client: httpx.AsyncClient) -> None:
    headers = {"Accept-Language": "en", "Cookie": "bn_lang=en"}
    r = await client.get("/api/v1/no-such-endpoint?lang=zh-Hans", headers=headers)
    assert r.json()["error"]["message"] == "找不到你要的内容。"
    r = await client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "en", "Cookie": "bn_lang=zh-Hans"})
    assert r.json()["error"]["message"] == "找不到你要的内容。"
