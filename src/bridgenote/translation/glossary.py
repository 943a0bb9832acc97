"""Platform slang and names, per language pair.

The built-in terms below are the starting point; admins add or override terms
per pair in the ``translation_glossary`` table (an override with the same term
wins). LLM providers get the matching terms as an instruction; providers that
take no instructions get them substituted through placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridgenote.core.text import fold

BUILT_IN: dict[tuple[str, str], dict[str, str]] = {
    ("zh-Hans", "en"): {
        "小红书": "RedNote",
        "猫税": "cat tax",
        "种草": "get hooked on (a recommendation)",
        "拔草": "finally buy the thing",
        "打卡": "check in",
        "英语角": "English corner",
        "探店": "shop visit",
        "避雷": "steer clear",
        "宝藏": "hidden gem",
        "安利": "recommend",
        "绝绝子": "absolutely amazing",
        "出片": "photogenic",
        "博主": "creator",
        "笔记": "note",
        "三里屯": "Sanlitun",
        "TikTok难民": "TikTok refugee",
    },
    ("en", "zh-Hans"): {
        "RedNote": "小红书",
        "Xiaohongshu": "小红书",
        "cat tax": "猫税",
        "English corner": "英语角",
        "TikTok refugee": "TikTok难民",
        "hidden gem": "宝藏",
        "check-in": "打卡",
        "photogenic": "出片",
    },
}


@dataclass(frozen=True)
class Term:
    term: str
    translation: str

    @property
    def key(self) -> str:
        return term_key(self.term)


def term_key(term: str) -> str:
    return fold(term.strip())


def merged(pair: tuple[str, str], overrides: Mapping[str, str]) -> list[Term]:
    """Built-in terms of ``pair`` with admin overrides applied (keys are folded terms)."""
    terms = {term_key(term): Term(term, translation) for term, translation in BUILT_IN.get(pair, {}).items()}
    for key, (term, translation) in _split(overrides).items():
        terms[key] = Term(term, translation)
    # Longest first, so "TikTok refugee" wins over a shorter term inside it.
    return sorted(terms.values(), key=lambda t: -len(t.term))


def _split(overrides: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    return {term_key(term): (term, translation) for term, translation in overrides.items()}


def _pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term)
    if term[:1].isascii() and term[:1].isalnum():
        escaped = r"(?<![A-Za-z0-9])" + escaped
    if term[-1:].isascii() and term[-1:].isalnum():
        escaped += r"(?![A-Za-z0-9])"
    return re.compile(escaped, re.IGNORECASE)


def matches(text: str, terms: Iterable[Term]) -> list[Term]:
    """Terms that occur in ``text`` (whole words for Latin terms, case-insensitive)."""
    found: list[Term] = []
    taken: list[tuple[int, int]] = []
    for term in terms:
        for match in _pattern(term.term).finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            if term not in found:
                found.append(term)
    return found


def substitute(text: str, terms: Iterable[Term], first_index: int) -> tuple[str, list[str]]:
    """Replace each matched term by a placeholder numbered from ``first_index``; return the
    new text and the target-language replacements, in placeholder order."""
    replacements: list[str] = []
    for term in terms:

        def replace(_match: re.Match[str], term: Term = term) -> str:
            replacements.append(term.translation)
            return f"[[{first_index + len(replacements) - 1}]]"

        text = _pattern(term.term).sub(replace, text)
    return text, replacements
