"""Text analysis: the same normalisation and tokens at index time and at query time.

* Everything is folded first (``core.text.fold``: NFKC, case, Traditional ->
  Simplified, zero-width characters gone), so 旅遊 finds 旅游 and ＬＡＴＴＥ finds latte.
* Han runs are segmented with rjieba in search mode (every dictionary word inside a
  longer word is emitted as well: 北京大学 -> 北京, 大学, 北京大学), with a user
  dictionary of platform words (小红书, 种草, 绝绝子, ...) and, at run time, the
  platform's own hashtags (:func:`add_words`).
* Latin words are lower-cased, stop words dropped and Porter-stemmed.
* Mixed text is cut into script runs first, so both parts are indexed.
* Names and tags also get their pinyin, full and initials (小红书 -> xiaohongshu, xhs).

Tokens are made only of Unicode word characters, so a token can never carry query
syntax into FTS5 or ``tsquery``; every backend quotes them anyway.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import rjieba
from pypinyin import Style, lazy_pinyin

from bridgenote.core.text import fold
from bridgenote.search.stemmer import stem

# Query text beyond this is ignored (a search box, not a document).
MAX_QUERY_CHARS = 256
MAX_QUERY_GROUPS = 12
MAX_TOKEN_CHARS = 40

PLATFORM_WORDS = (
    "小红书", "种草", "拔草", "打卡", "绝绝子", "笔记", "博主", "探店", "穿搭", "好物", "平替", "开箱", "测评",
    "攻略", "避雷", "干货", "宝藏", "氛围感", "出片", "网红", "爆款", "安利", "回购", "素颜", "妆容", "通勤",
    "露营", "徒步", "城市漫步", "咖啡探店", "美甲", "薯条", "红薯", "种草机", "yyds", "vlog", "ootd",
)  # fmt: skip

_EN_STOP = """a an and are as at be been but by for from had has have he her his i if in into is it its me my no not
of on or our she so than that the their them then there these they this to too was we were what when where which who
why will with you your yours im ive dont"""
EN_STOP_WORDS = frozenset(_EN_STOP.split())
_ZH_STOP = "的 了 是 在 和 与 及 或 就 也 都 而 着 吗 呢 吧 啊 呀 哦 嘛 之 其 这 那 个 么 得 地"
ZH_STOP_WORDS = frozenset(_ZH_STOP.split())

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_RUN_RE = re.compile(rf"([{_HAN}]+)|([^\W_]+)")
_PINYIN_NAME_RE = re.compile(rf"[{_HAN}]")
_WORD_RE = re.compile(r"\w+")

_dictionary_lock = threading.Lock()
_known_words: set[str] = set()


def _load_platform_words() -> None:
    for word in PLATFORM_WORDS:
        add_words([word])


def add_words(words: Iterable[str]) -> int:
    """Teach the segmenter words (platform slang, hashtags). Returns how many were new."""
    added = 0
    with _dictionary_lock:
        for raw in words:
            word = fold(raw).strip()
            if 2 <= len(word) <= 20 and _PINYIN_NAME_RE.search(word) and word not in _known_words:
                rjieba.add_word(word, 2000, None)
                _known_words.add(word)
                added += 1
    if added:
        _segment.cache_clear()
    return added


def clean(text: str) -> str:
    """Folded text with control characters, lone surrogates and private-use characters removed."""
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cs", "Cc", "Co") or ch in "\n\t")
    return fold(text)


@lru_cache(maxsize=50_000)
def _segment(run: str) -> tuple[str, ...]:
    return tuple(w for w in rjieba.cut_for_search(run) if w.strip())


_load_platform_words()


def _han_tokens(run: str) -> list[str]:
    tokens = [w for w in _segment(run) if w not in ZH_STOP_WORDS]
    # A single character outside the dictionary is still searchable.
    return tokens or [run]


def _word_token(word: str) -> str | None:
    if word in EN_STOP_WORDS:
        return None
    return stem(word)[:MAX_TOKEN_CHARS] if word.isascii() else word[:MAX_TOKEN_CHARS]


def tokens(text: str) -> list[str]:
    """Index tokens of free text, in order (duplicates kept: they count towards relevance)."""
    out: list[str] = []
    for match in _RUN_RE.finditer(clean(text)):
        han, word = match.groups()
        if han:
            # The Han ranges include unassigned code points (U+FADA); they are not words.
            out.extend(t for t in _han_tokens(han) if _WORD_RE.fullmatch(t))
        elif word:
            token = _word_token(word)
            if token:
                out.append(token)
    return out


def pinyin_tokens(name: str) -> list[str]:
    """Full pinyin and initials of a name or tag with Han characters (小红书 -> xiaohongshu, xhs)."""
    folded = clean(name)
    if not _PINYIN_NAME_RE.search(folded):
        return []
    han = "".join(ch for ch in folded if _PINYIN_NAME_RE.match(ch))
    syllables = [s for s in lazy_pinyin(han, errors="ignore") if s.isascii() and s.isalpha()]
    initials = [s for s in lazy_pinyin(han, style=Style.FIRST_LETTER, errors="ignore") if s.isascii() and s.isalpha()]
    out = []
    if syllables:
        out.append("".join(syllables))
    if len(initials) > 1:
        out.append("".join(initials))
    return [t[:MAX_TOKEN_CHARS] for t in out]


def title_pinyin_tokens(title: str) -> list[str]:
    """Pinyin of a title: of the whole (full and initials, as :func:`pinyin_tokens`) and of each
    Han word in it, so ``kafei`` finds 北京咖啡地图 as well as ``beijingkafei``."""
    out = pinyin_tokens(title)
    for token in tokens(title):
        if len(token) > 1 and _PINYIN_NAME_RE.search(token):
            out.extend(pinyin_tokens(token)[:1])
    return list(dict.fromkeys(out))


def tag_token(key: str) -> str:
    """The exact-match token of a hashtag (its folded key, word characters only)."""
    return "tag" + "".join(ch for ch in clean(key) if ch.isalnum())[:MAX_TOKEN_CHARS]


def script_language(text: str) -> str | None:
    """``zh``, ``en`` or ``None`` (no letters) by script share, when no detected language is stored."""
    han = sum(1 for ch in text if _PINYIN_NAME_RE.match(ch))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if han == 0 and latin == 0:
        return None
    # A Han character carries about a word; Latin letters about a fifth of one.
    return "zh" if han * 5 >= latin else "en"


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class Alternative:
    """Tokens that must all match (one reading of a query word)."""

    terms: tuple[str, ...]
    prefix: bool = False  # the last term also matches as a prefix


@dataclass(frozen=True)
class Group:
    """One query word: any of its alternatives may match."""

    alternatives: tuple[Alternative, ...]

    @property
    def terms(self) -> set[str]:
        return {t for alt in self.alternatives for t in alt.terms}


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the cleaned query as the user meant it (for embeddings and the log)
    key: str  # normalised form (trends, recent searches, the query-vector cache)
    groups: tuple[Group, ...] = field(default=())
    hashtag: str | None = None  # the query is a single #tag

    @property
    def is_empty(self) -> bool:
        return not self.text

    def all_terms(self) -> set[str]:
        return {t for g in self.groups for t in g.terms}


def _query_words(text: str) -> list[tuple[str, bool]]:
    """(word, is_han) pairs of the query, in order."""
    return [(m.group(1) or m.group(2), bool(m.group(1))) for m in _RUN_RE.finditer(text)]


def parse_query(raw: str) -> ParsedQuery:
    """Turn what was typed into groups of alternatives. Never raises; any text is a valid query.

    Han runs are cut precisely (北京大学 stays one word) and each word may match either
    whole or as its search-mode parts, so a query matches text that a document spells
    as one word or as several. The last Latin word also matches as a prefix unless the
    query ends with a space (the user finished typing it).
    """
    text = " ".join(clean(raw[: MAX_QUERY_CHARS * 2]).split())[:MAX_QUERY_CHARS]
    if not text:
        return ParsedQuery(text="", key="")
    key = text
    hashtag = None
    stripped = text.strip()
    if stripped[:1] in ("#", "＃") and " " not in stripped:
        tag = stripped.lstrip("#＃").rstrip("#＃")
        hashtag = tag or None
    groups: list[Group] = []
    words = _query_words(text)
    finished = raw[-1:].isspace() if raw else True
    for n, (word, is_han) in enumerate(words):
        if is_han:
            for part in rjieba.cut(word):
                # The Han ranges include unassigned code points (U+FADA); they are not words.
                if not part.strip() or part in ZH_STOP_WORDS or not _WORD_RE.fullmatch(part):
                    continue
                pieces = tuple(p for p in _segment(part) if p != part and p not in ZH_STOP_WORDS)
                alts = [Alternative((part,))]
                if pieces and len(part) >= 3:
                    alts.append(Alternative(pieces))
                if len(part) >= 2 and not pieces:
                    # Unknown to the dictionary (a new name): its characters in order.
                    alts.append(Alternative(tuple(part)))
                groups.append(Group(tuple(dict.fromkeys(alts))))
            continue
        last = n == len(words) - 1 and not finished
        token = _word_token(word)
        alts = []
        if token:
            alts.append(Alternative((token,)))
        if last and word.isascii() and len(word) >= 2:
            alts.append(Alternative((word[:MAX_TOKEN_CHARS],), prefix=True))
        if alts:
            groups.append(Group(tuple(dict.fromkeys(alts))))
    if not groups:
        # Only stop words ("the", "是"): search for them as they are rather than for nothing.
        groups = [Group((Alternative((w[:MAX_TOKEN_CHARS],)),)) for w, _ in words if _WORD_RE.fullmatch(w)]
    return ParsedQuery(text=text, key=key, groups=tuple(groups[:MAX_QUERY_GROUPS]), hashtag=hashtag)


def sentence_for_embedding(parts: Sequence[str]) -> str:
    """The text a note is embedded from: its parts joined, without #/@ markers."""
    return " ".join(p.replace("#", " ").replace("＃", " ") for p in parts if p).strip()
