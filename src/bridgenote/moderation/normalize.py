"""Views of a text that undo the usual evasion tricks before rules look at it.

One :class:`Analysis` per screened text holds every view, computed once:

* ``folded``: ``core.text.fold`` (NFKC so full-width letters become ASCII, case folding,
  Traditional -> Simplified, zero-width characters removed);
* ``latin``: the folded text with look-alike letters from other scripts (Cyrillic "а",
  Greek "ο"), leetspeak digits and symbols (``fr3e``, ``$h!t``) mapped to letters, and words
  spelled out with separators (``f.u.c.k``, ``s e x``) joined back;
* ``hanzi``: only the CJK characters, so ``大*麻`` and ``大 麻`` read as ``大麻``; with the
  word boundaries of a segmenter, so a keyword must line up with whole words
  (``乳`` does not match inside ``乳酸菌``);
* ``pinyin``: syllables of the hanzi, and Latin letters glued to hanzi read as pinyin
  (``du博``), for homophone tricks such as ``草泥马``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bridgenote.core.text import fold

# Letters from other scripts that render like Latin ones (the common confusables).
HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
        "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "ո": "n", "ս": "u",
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "χ": "x", "ω": "w", "ɑ": "a", "ı": "i", "ℓ": "l",
    }
)  # fmt: skip
# Leetspeak: only inside words that also contain letters (so "2024" and "$5" stay as they are).
LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "€": "e",
    }
)
_INVISIBLE = dict.fromkeys(
    [c for c in range(0x2000, 0x2070) if unicodedata.category(chr(c)) in ("Cf", "Zs")] + [0x180E, 0x034F, 0x3164],
    " ",
)
_WORD = re.compile(r"[a-z0-9@$!|€*]+")
_LETTER = re.compile(r"[a-z]")
# Single characters separated by the same kind of separator at least three times: "f.u.c.k", "s e x".
_SPELLED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9@$!][ .\-_*+~/\\]{1,2}){2,}[a-z0-9@$!](?![a-z0-9])")
_RUN = re.compile(r"(.)\1{2,}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NON_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_NEXT_TO_HANZI = re.compile(r"(?<=[\u4e00-\u9fff])[a-z]{1,12}|[a-z]{1,12}(?=[\u4e00-\u9fff])")
URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'，。]+|\b[a-z0-9][a-z0-9-]{0,62}(?:\s*(?:\.|\[\.\]|\(\.\)|\sdot\s)\s*[a-z0-9-]{1,62})*"
    r"\s*(?:\.|\[\.\]|\(\.\)|\sdot\s)\s*(?:com|net|org|io|co|cn|ru|xyz|top|me|ly|gl|cc|info|biz|app|link|club|vip|shop|site|online)\b"
)


def _leet_word(word: str) -> str:
    """Digits and symbols inside a word become letters ("sh1t", "$hit"); trailing "!" is
    punctuation, not an "i" ("follow!")."""
    if not _LETTER.search(word):
        return word
    core = word.rstrip("!")
    return core.translate(LEET) + word[len(core) :]


@cache
def segmenter() -> Any:
    """A private rjieba instance (``add_word`` on the module-level one would change how
    search segments text), taught the lexicon's Chinese words."""
    import rjieba

    from bridgenote.moderation import lexicon

    jieba = rjieba.Jieba()
    for word in lexicon.all_chinese_terms():
        jieba.add_word(word, None, None)
    return jieba


@cache
def _syllables() -> frozenset[str]:
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    chars = "".join(chr(code) for code in pinyin_dict if 0x4E00 <= code <= 0x9FFF)
    return frozenset(s for s in lazy_pinyin(chars, style=Style.NORMAL) if s.isalpha() and s.isascii())


def split_pinyin(word: str) -> list[str] | None:
    """``"duchang"`` -> ``["du", "chang"]``; ``None`` when the letters are not pinyin."""
    syllables = _syllables()
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            prefix = best[start]
            if prefix is not None and word[start:end] in syllables:
                candidate = [*prefix, word[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


def hanzi_pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return [s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s]


@dataclass
class Analysis:
    original: str
    folded: str
    latin: str
    # The latin view with letter runs shortened ("fuuuck" -> "fuck", "fuuck"); empty when there are none.
    squeezed: tuple[str, ...]
    hanzi: str
    boundaries: frozenset[int]
    # Pinyin syllables, each with whether it came from Latin letters the author typed.
    pinyin: list[tuple[str, bool]]
    urls: list[str]
    language: str
    tricks: set[str] = field(default_factory=set)
    # Before leetspeak mapping, for terms that are themselves written with digits ("f4f").
    plain: str = ""

    @property
    def latin_views(self) -> tuple[str, ...]:
        extra = (self.plain,) if self.plain and self.plain != self.latin else ()
        return (self.latin, *self.squeezed, *extra)


def detect_language(text: str) -> str:
    """Script-based routing language: ``zh``, ``en``, ``mixed`` or ``other``."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    if cjk == 0 and latin == 0:
        return "other"
    if cjk and latin and min(cjk * 2, latin) / max(cjk * 2, latin) > 0.25:
        return "mixed"
    if cjk * 2 >= latin:
        return "zh"
    return "en"


def analyse(text: str) -> Analysis:
    tricks: set[str] = set()
    spaced = text.translate(_INVISIBLE)
    folded = fold(spaced)
    if folded != unicodedata.normalize("NFKC", spaced).casefold():
        tricks.add("folding")
    mapped = folded.translate(HOMOGLYPHS)
    if mapped != folded:
        tricks.add("homoglyph")
    joined = _SPELLED.sub(lambda m: re.sub(r"[^a-z0-9@$!]", "", m.group(0)), mapped)
    if joined != mapped:
        tricks.add("spacing")
    latin = _WORD.sub(lambda m: _leet_word(m.group(0)), joined)
    if latin != joined:
        tricks.add("leet")
    squeezed: tuple[str, ...] = ()
    if _RUN.search(latin):
        squeezed = (_RUN.sub(r"\1", latin), _RUN.sub(r"\1\1", latin))
        tricks.add("repeat")
    hanzi = _NON_CJK.sub("", folded)
    boundaries: set[int] = {0, len(hanzi)}
    if hanzi:
        position = 0
        for token in segmenter().cut(hanzi):
            position += len(token)
            boundaries.add(position)
    pinyin: list[tuple[str, bool]] = []
    if hanzi:
        # Interleave hanzi syllables with Latin letters written against hanzi ("du博").
        for chunk in re.findall(r"[\u4e00-\u9fff]+|[a-z]+", folded):
            if _CJK.match(chunk):
                pinyin.extend((s, False) for s in hanzi_pinyin(chunk))
            else:
                syllables = split_pinyin(chunk) if _LATIN_NEXT_TO_HANZI.search(folded) else None
                if syllables and chunk in _LATIN_NEXT_TO_HANZI.findall(folded):
                    pinyin.extend((s, True) for s in syllables)
                else:
                    pinyin.append(("|", False))
    elif len(words := re.findall(r"[a-z]+", folded)) >= 3 and len(words) == len(folded.split()):
        # A whole post in toneless pinyin ("ni shi sha bi"): every word must split into syllables.
        split = [split_pinyin(w) for w in words]
        if all(split):
            pinyin = [(syllable, True) for syllables in split for syllable in syllables or ()]
            tricks.add("pinyin")
    urls = [re.sub(r"\s+|\[|\]|\(|\)", "", u).replace("dot", ".") for u in URL.findall(folded)]
    return Analysis(
        original=text,
        folded=folded,
        latin=latin,
        squeezed=squeezed,
        hanzi=hanzi,
        boundaries=frozenset(boundaries),
        pinyin=pinyin,
        urls=urls,
        language=detect_language(folded),
        tricks=tricks,
        plain=joined,
    )


def domain_of(url: str) -> str:
    """``https://Sub.Example.com/x`` -> ``sub.example.com``."""
    host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split("?")[0].split(":")[0]
    return host.removeprefix("www.")
