"""Mask what must survive translation unchanged, then restore it.

Hashtags, @mentions, URLs, e-mail addresses, emoji, numbers and code are replaced
by numbered placeholders ``[[1]]``, ``[[2]]`` (the form small models copied most
reliably in our trials). Neighbours separated only by spaces share one placeholder,
and masked runs at the very start or end of the text are not sent at all: they are
put back around the translation. That keeps the number of placeholders a model
must carry small, which is where small models slip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Same shapes as the notes domain's parser (kept here because that parser is private to it).
_HASHTAG = r"(?<![\w&/])[#＃][\w·]{1,50}(?:\[话题\])?[#＃]?"
_MENTION = r"(?<![\w@/])[@＠][\w.]{3,30}"
_URL = (
    r"(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"'，。！？、）】」]+"
    r"|(?<![A-Za-z0-9.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/[^\s<>\"'，。！？、）】」]*"
)
_EMAIL = r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_CODE = r"```.*?```|`[^`\n]+`"
# Pictographs with their modifiers, joiners and variation selectors; flags; keycaps.
_EMOJI = (
    r"(?:[\U0001F1E6-\U0001F1FF]{2})"
    r"|(?:[0-9#*]\uFE0F?\u20E3)"
    r"|(?:[\u2600-\u27BF\U0001F000-\U0001FAFF\u2B00-\u2BFF\u2300-\u23FF\u3030\u303D\u3297\u3299]"
    r"[\uFE0E\uFE0F\U0001F3FB-\U0001F3FF]*"
    r"(?:\u200D[\u2600-\u27BF\U0001F000-\U0001FAFF\u2640\u2642\u2695\u2708\u2764][\uFE0F\U0001F3FB-\U0001F3FF]*)*)"
)
# Digits with their separators, signs, decimals, percent and ranges: 3, 1,299.50, 9:30, 50%, 2024-05-01.
_NUMBER = r"(?<![\w.])[-+]?\d+(?:[.,:/-]\d+)*%?"
# Placeholders already present in the text must not be confused with ours.
_LITERAL_PLACEHOLDER = r"\[\[\s*\d+\s*\]\]"

MASK_RE = re.compile(
    "|".join(
        f"(?P<{name}>{pattern})"
        for name, pattern in (
            ("code", _CODE),
            ("literal", _LITERAL_PLACEHOLDER),
            ("url", _URL),
            ("email", _EMAIL),
            ("hashtag", _HASHTAG),
            ("mention", _MENTION),
            ("emoji", _EMOJI),
            ("number", _NUMBER),
        )
    ),
    re.IGNORECASE | re.DOTALL,
)
# What models write back: [[3]], [[ 3 ]], [3] and full-width 【【3】】 all mean placeholder 3.
PLACEHOLDER_RE = re.compile(r"[\[【]{1,2}\s*(\d{1,3})\s*[\]】]{1,2}")


def placeholder(n: int) -> str:
    return f"[[{n}]]"


@dataclass(frozen=True)
class Masked:
    """``text`` is what the translator sees; ``prefix`` and ``suffix`` are put back around it."""

    text: str
    items: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    kinds: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing left to translate (only tags, emoji, numbers, links...)."""
        return not self.text.strip()


def numbers(text: str) -> list[str]:
    """The numbers :func:`mask` would mask in ``text`` (digits with their separators), in order."""
    return [text[start:end] for start, end, kind in _spans(text) if kind == "number"]


def _spans(text: str, keep: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for match in MASK_RE.finditer(text):
        kind = match.lastgroup or "item"
        if kind in keep:
            continue
        start, end = match.span()
        if kind == "url":
            # Trailing sentence punctuation belongs to the sentence, not the link.
            while end > start and text[end - 1] in ".,;:!?)":
                end -= 1
        if end > start:
            spans.append((start, end, kind))
    return spans


def _merge(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end, merged[-1][2] + "+" + kind)
        else:
            merged.append((start, end, kind))
    return merged


def mask(text: str, *, keep: frozenset[str] = frozenset()) -> Masked:
    """Mask every item of ``text`` except the kinds in ``keep`` (``{"number"}``: numbers stay
    in the text, for a translator that copies them, checked by the pipeline)."""
    spans = _merge(text, _spans(text, keep))
    prefix_end, suffix_start = 0, len(text)
    if spans and not text[: spans[0][0]].strip():
        prefix_end = spans.pop(0)[1]
    if spans and not text[spans[-1][1] :].strip():
        suffix_start = spans.pop()[0]
    body = text[prefix_end:suffix_start]
    lead = len(body) - len(body.lstrip())
    trail = len(body) - len(body.rstrip())
    prefix = text[: prefix_end + lead]
    suffix = text[suffix_start - trail :] if body.strip() else text[prefix_end + lead :]
    if not body.strip():
        return Masked(text="", items=(), prefix=prefix, suffix=suffix)
    pieces: list[str] = []
    items: list[str] = []
    kinds: list[str] = []
    cursor = prefix_end + lead
    for start, end, kind in spans:
        pieces.append(text[cursor:start])
        items.append(text[start:end])
        kinds.append(kind)
        pieces.append(placeholder(len(items)))
        cursor = end
    pieces.append(text[cursor : suffix_start - trail])
    return Masked(text="".join(pieces), items=tuple(items), prefix=prefix, suffix=suffix, kinds=tuple(kinds))


@dataclass(frozen=True)
class PlaceholderCheck:
    missing: tuple[int, ...]
    repeated: tuple[int, ...]
    unknown: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.repeated or self.unknown)


def check(translated: str, masked: Masked) -> PlaceholderCheck:
    found = [int(m.group(1)) for m in PLACEHOLDER_RE.finditer(translated)]
    expected = range(1, len(masked.items) + 1)
    return PlaceholderCheck(
        missing=tuple(n for n in expected if n not in found),
        repeated=tuple(n for n in expected if found.count(n) > 1),
        unknown=tuple(sorted({n for n in found if n not in expected})),
    )


def restore(translated: str, masked: Masked) -> str:
    """Put the masked items back. A placeholder the translator dropped is appended (the
    item must survive even when a model misplaces it); a repeated one is kept once;
    numbers it invented are left as the model wrote them."""
    used: set[int] = set()

    def put_back(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(masked.items):
            if n in used:
                return ""
            used.add(n)
            return masked.items[n - 1]
        return match.group(0)

    body = PLACEHOLDER_RE.sub(put_back, translated) if masked.items else translated
    missing = [masked.items[n - 1] for n in range(1, len(masked.items) + 1) if n not in used]
    if missing:
        body = body.rstrip() + " " + " ".join(missing)
    body = re.sub(r"[ \t]{2,}", " ", body).strip()
    return _join(masked.prefix, body, masked.suffix)


def _join(prefix: str, body: str, suffix: str) -> str:
    if not body:
        return prefix + suffix
    if prefix and not prefix[-1].isspace() and not body[0].isspace():
        prefix += " " if _needs_space(prefix[-1], body[0]) else ""
    if suffix and not suffix[0].isspace() and not body[-1].isspace():
        suffix = (" " if _needs_space(body[-1], suffix[0]) else "") + suffix
    return prefix + body + suffix


def _needs_space(left: str, right: str) -> bool:
    """Latin text wants a space between a word and a tag; Chinese does not."""
    return not (_is_cjk(left) or _is_cjk(right))


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"
