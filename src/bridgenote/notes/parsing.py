"""Hashtags and @mentions in note and comment text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridgenote.core.text import fold

MAX_TAGS = 30
MAX_MENTIONS = 20

# "#" or full-width "＃", then letters of any script, digits, "_" or "·"; a closing "#"
# (RedNote writes #旅行#) simply ends the tag. Not inside words, URLs or e-mail addresses.
HASHTAG_RE = re.compile(r"(?<![\w&#＃/])[#＃]([\w·]{1,50})")
MENTION_RE = re.compile(r"(?<![\w@/])[@＠]([\w.]{3,30})")


@dataclass(frozen=True)
class Tag:
    key: str
    display: str


def hashtags(text: str) -> list[Tag]:
    """Unique tags in order of first appearance; the first written form is the display form."""
    seen: dict[str, Tag] = {}
    for match in HASHTAG_RE.finditer(text):
        display = match.group(1).strip("_·")
        if not display or display.isdigit():
            continue
        key = fold(display)
        if key not in seen:
            seen[key] = Tag(key=key[:100], display=display[:100])
        if len(seen) >= MAX_TAGS:
            break
    return list(seen.values())


def tag_key(name: str) -> str:
    return fold(name.lstrip("#＃").strip())[:100]


def mentions(text: str) -> list[str]:
    names: dict[str, str] = {}
    for match in MENTION_RE.finditer(text):
        name = match.group(1).rstrip(".")
        if len(name) >= 3:
            names.setdefault(fold(name), name)
        if len(names) >= MAX_MENTIONS:
            break
    return list(names.values())
