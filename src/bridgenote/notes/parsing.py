"""Hashtags and @mentions in note and comment text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridgenote.core.text import fold

MAX_TAGS = 30
MAX_MENTIONS = 20

# "#" or full-width "＃", then letters of any script, digits, "_" or "·". RedNote writes
# "#旅行#" (and "#旅行[话题]#" internally): the closing "#" is consumed with the tag, so in
# "#旅行##美食#" the next "#" opens a new tag and in "#旅行#好玩" the rest is plain text.
# Not after a word character ("C#", "a#b"), "&" (HTML entities such as "&#123;") or "/".
HASHTAG_RE = re.compile(r"(?<![\w&/])[#＃]([\w·]{1,50})(?:\[话题\])?[#＃]?")
MENTION_RE = re.compile(r"(?<![\w@/])[@＠]([\w.]{3,30})")
# Blanked out before parsing: a "#fragment" or "?q=#x" in a link, or "@example.com" in an
# e-mail address, is part of an address, not a tag or a mention.
URL_RE = re.compile(
    r"(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"'，。！？、）】」]+"
    r"|(?<![A-Za-z0-9.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/[^\s<>\"'，。！？、）】」]*",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Tag:
    key: str
    display: str


def _without_addresses(text: str) -> str:
    text = URL_RE.sub(lambda m: " " * len(m.group(0)), text)
    return EMAIL_RE.sub(lambda m: " " * len(m.group(0)), text)


def hashtags(text: str) -> list[Tag]:
    """Unique tags in order of first appearance; the first written form is the display form."""
    seen: dict[str, Tag] = {}
    for match in HASHTAG_RE.finditer(_without_addresses(text)):
        display = match.group(1).strip("_·")
        if not display or display.isdigit():
            continue
        key = fold(display)[:100]
        if key and key not in seen:
            seen[key] = Tag(key=key, display=display[:100])
        if len(seen) >= MAX_TAGS:
            break
    return list(seen.values())


def tag_key(name: str) -> str:
    return fold(name.lstrip("#＃").strip())[:100]


def mentions(text: str) -> list[str]:
    """Unique @names in order of first appearance (deduplicated on the folded name)."""
    names: dict[str, str] = {}
    for match in MENTION_RE.finditer(_without_addresses(text)):
        name = match.group(1).rstrip(".")
        if len(name) >= 3:
            names.setdefault(fold(name), name)
        if len(names) >= MAX_MENTIONS:
            break
    return list(names.values())
