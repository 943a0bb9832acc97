"""Subtitle tracks: SRT or WebVTT in, a clean WebVTT out.

Only cue timings and plain text survive: styles, regions, notes, cue settings and every
tag are dropped, and the text is escaped, so a track can never carry markup into a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

_TIME = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*$")
_ARROW = re.compile(r"^(.*?)\s*-->\s*(\S+)")
_TAG = re.compile(r"<[^>]*>")
MAX_CUES = 5000
MAX_CUE_CHARS = 500


class SubtitleError(ValueError):
    pass


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _seconds(value: str) -> float:
    match = _TIME.match(value)
    if not match:
        raise SubtitleError(value)
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise SubtitleError(value)
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _stamp(value: float) -> str:
    ms = round(value * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def parse(text: str) -> list[Cue]:
    """Cues of an SRT or WebVTT document; raises :class:`SubtitleError` when it has none."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    cues: list[Cue] = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue  # the WEBVTT header, NOTE, STYLE, REGION blocks or stray numbers
        match = _ARROW.match(lines[timing])
        if not match:
            raise SubtitleError(lines[timing])
        start, end = _seconds(match.group(1)), _seconds(match.group(2))
        if end <= start:
            raise SubtitleError(lines[timing])
        body = "\n".join(_TAG.sub("", html.unescape(line)).strip() for line in lines[timing + 1 :])
        body = "".join(ch for ch in body if ch == "\n" or ch.isprintable()).strip()
        if body:
            cues.append(Cue(start, end, body[:MAX_CUE_CHARS]))
        if len(cues) > MAX_CUES:
            raise SubtitleError("too many cues")
    if not cues:
        raise SubtitleError("no cues")
    return cues


def bilingual(cues: list[Cue], translations: Sequence[str | None]) -> list[Cue]:
    """A bilingual track: each cue's original line(s) with its translation under it, same
    timings. A cue whose translation failed (None) or needs none (the same text) keeps its
    original alone. ``translations`` come from ``translation.service.translate_cues``."""
    out = []
    for cue, translated in zip(cues, translations, strict=True):
        extra = _plain(translated or "")
        text = f"{cue.text}\n{extra}" if extra and extra != cue.text.strip() else cue.text
        out.append(Cue(cue.start, cue.end, text))
    return out


def _plain(text: str) -> str:
    """A model's output as one cue's lines: a blank line would end the cue early in a player
    and leave the rest as a stray block, and the original is already capped, so its
    translation is capped the same way."""
    lines = ("".join(ch for ch in line if ch.isprintable()).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:MAX_CUE_CHARS]


def to_webvtt(cues: list[Cue]) -> str:
    out = ["WEBVTT", ""]
    for cue in cues:
        out.append(f"{_stamp(cue.start)} --> {_stamp(cue.end)}")
        # "-->" inside a cue would end it early in some players; escape it with the rest.
        out.append(html.escape(cue.text, quote=False).replace("--&gt;", "- -&gt;"))
        out.append("")
    return "\n".join(out)
