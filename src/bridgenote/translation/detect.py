"""Language detection with lingua, restricted to the languages the platform works with.

Two detectors share the work. The *supported* one knows only English and Chinese:
it decides between the languages we translate, and cuts mixed text
(``今天去了三里屯 and it was amazing``) into segments. A *wider* one, over a few
common languages we do not translate, only vetoes: a Latin-script text that it
confidently calls French is "unsupported" rather than bad English. Kana and
Hangul are recognised by script. Keeping the model set small keeps memory near
200 MB instead of the gigabyte of all-language lingua.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bridgenote.core.text import to_simplified

SUPPORTED = {Language.ENGLISH: "en", Language.CHINESE: "zh-Hans"}
# Recognised only to refuse them clearly; not translated.
OTHERS = {
    Language.FRENCH: "fr",
    Language.SPANISH: "es",
    Language.GERMAN: "de",
    Language.PORTUGUESE: "pt",
    Language.ITALIAN: "it",
    Language.INDONESIAN: "id",
    Language.VIETNAMESE: "vi",
}
VETO_CONFIDENCE = 0.6
VETO_MIN_WORDS = 3

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")

_lock = threading.Lock()


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    language: str


@dataclass(frozen=True)
class Detection:
    """``language`` is a BCP 47 tag, or None when the text has no words (emoji, numbers)."""

    language: str | None
    confidence: float = 0.0
    segments: tuple[Segment, ...] = field(default=())

    @property
    def mixed(self) -> bool:
        return len({s.language for s in self.segments}) > 1


@cache
def _supported() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*SUPPORTED).with_preloaded_language_models().build()


@cache
def _wider() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*SUPPORTED, *OTHERS).build()


def warm_up() -> None:
    """Load the models now (a worker does this at start so the first request is not slow)."""
    _supported().detect_language_of("warm up")


def has_words(text: str) -> bool:
    """Whether there is anything a translator could act on (letters in any script)."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def _script_language(text: str) -> str | None:
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    for pattern, tag in ((_CYRILLIC, "ru"), (_ARABIC, "ar"), (_THAI, "th"), (_DEVANAGARI, "hi")):
        if len(pattern.findall(text)) > len(_HAN.findall(text)) + len(_LATIN_WORD.findall(text)):
            return tag
    return None


def chinese_variant(text: str) -> str:
    """``zh-Hant`` when converting to Simplified changes the text, else ``zh-Hans``."""
    han = "".join(_HAN.findall(text))
    return "zh-Hant" if han and to_simplified(han) != han else "zh-Hans"


def detect(text: str) -> Detection:
    """Detect the dominant language of ``text`` and its language segments."""
    if not has_words(text):
        return Detection(language=None)
    script = _script_language(text)
    if script is not None:
        return Detection(language=script, confidence=1.0, segments=(Segment(0, len(text), script),))
    with _lock:  # lingua's detector is not documented as thread-safe; calls are microseconds
        values = _supported().compute_language_confidence_values(text)
        raw_segments = _supported().detect_multiple_languages_of(text)
        words = len(_LATIN_WORD.findall(text))
        veto = None
        if words >= VETO_MIN_WORDS and not _HAN.search(text):
            best = _wider().compute_language_confidence_values(text)[0]
            if best.language in OTHERS and best.value >= VETO_CONFIDENCE:
                veto = OTHERS[best.language]
    if veto is not None:
        return Detection(language=veto, confidence=1.0, segments=(Segment(0, len(text), veto),))
    top = values[0]
    language = SUPPORTED[top.language]
    if language == "zh-Hans":
        language = chinese_variant(text)
    segments = []
    for result in raw_segments:
        tag = SUPPORTED[result.language]
        piece = text[result.start_index : result.end_index]
        if tag == "zh-Hans":
            tag = chinese_variant(piece)
        segments.append(Segment(result.start_index, result.end_index, tag))
    return Detection(language=language, confidence=float(top.value), segments=tuple(segments))
