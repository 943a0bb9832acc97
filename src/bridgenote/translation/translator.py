"""The translation pipeline: validate, chunk, mask, glossary, translate, check, retry, restore.

Pure with respect to storage: it takes a provider and returns an :class:`Outcome`.
Output checks catch what small models get wrong: an English output that still
contains Chinese, an output with no Chinese when Chinese was asked for, a runaway
(the token bound was hit, or the output is far longer than the input could
justify), an empty reply. Such chunks are retried once with a stricter prompt;
if the retry is no better the whole text is marked failed with the reason,
rather than shown wrong. Misplaced placeholders are repaired, never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bridgenote.core.errors import AppError, BadRequest
from bridgenote.core.text import to_simplified
from bridgenote.translation import glossary, masking
from bridgenote.translation.detect import Segment, has_words
from bridgenote.translation.providers import Output, Provider, Request

TARGETS = ("en", "zh-Hans")
SOURCES = ("en", "zh-Hans", "zh-Hant")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Sentence ends: Chinese marks (no space follows them), Latin marks before whitespace.
_SENTENCE = re.compile(r"(?<=[。！？；…])|(?<=[.!?;])\s+")
# Characters of output per character of input, by direction, for the runaway check.
_LENGTH_RATIO = {("zh-Hans", "en"): 4.5, ("en", "zh-Hans"): 0.9}
HARD_PROBLEMS = ("empty_output", "too_long", "chinese_in_english_output", "no_chinese_in_output")


class UnsupportedLanguage(AppError):
    status_code = 422
    code = "unsupported_language"
    message = "Translation between these languages is not supported yet."


@dataclass(frozen=True)
class Outcome:
    status: str  # done | failed | not_needed
    text: str | None
    engine: str
    reason: str | None = None


def validate(text: str, *, source: str | None, target: str, max_chars: int) -> None:
    if not text.strip():
        raise BadRequest("There is no text to translate.", code="empty_text")
    if len(text) > max_chars:
        raise BadRequest("That text is too long to translate (at most {limit} characters).", limit=max_chars)
    if target not in TARGETS:
        raise UnsupportedLanguage()
    if source is not None and source not in SOURCES:
        raise UnsupportedLanguage()
    if source == target:
        raise BadRequest("The text is already in that language.", code="same_language")


def split_chunks(text: str, limit: int) -> list[tuple[str, str]]:
    """``(chunk, separator)`` pairs: lines are kept apart (their newlines are the separators),
    long lines are cut at sentence ends, and a sentence longer than ``limit`` at spaces or
    commas. Joining the chunks with their separators gives back the text's order."""
    result: list[tuple[str, str]] = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        newline = "\n" if index < len(lines) - 1 else ""
        if len(line) <= limit:
            result.append((line, newline))
            continue
        sentences = [s for s in _SENTENCE.split(line) if s]
        pieces: list[str] = []
        for sentence in sentences:
            while len(sentence) > limit:
                cut = max(sentence.rfind(" ", 0, limit), sentence.rfind("，", 0, limit), sentence.rfind(",", 0, limit))
                cut = cut + 1 if cut > limit // 3 else limit
                pieces.append(sentence[:cut])
                sentence = sentence[cut:]
            if sentence:
                pieces.append(sentence)
        packed: list[str] = []
        for piece in pieces:
            if packed and len(packed[-1]) + len(piece) + 1 <= limit:
                packed[-1] = f"{packed[-1]} {piece}" if _latin_boundary(packed[-1], piece) else packed[-1] + piece
            else:
                packed.append(piece)
        for position, chunk in enumerate(packed):
            result.append((chunk, newline if position == len(packed) - 1 else " "))
    return result


def _latin_boundary(left: str, right: str) -> bool:
    return not (_HAN.search(left[-1:]) or _HAN.search(right[:1]))


def problem(output: Output, masked: masking.Masked, *, source: str, target: str) -> str | None:
    text = output.text.strip()
    if not text:
        return "empty_output"
    if output.truncated:
        return "too_long"
    plain = masking.PLACEHOLDER_RE.sub("", text)
    source_plain = masking.PLACEHOLDER_RE.sub("", masked.text)
    if target == "en" and _HAN.search(plain):
        return "chinese_in_english_output"
    if target == "zh-Hans" and not _HAN.search(plain) and has_words(source_plain):
        return "no_chinese_in_output"
    ratio = _LENGTH_RATIO.get((source, target), 2.0)
    if len(plain) > 2.5 * ratio * len(source_plain) + 40:
        return "too_long"
    if not masking.check(text, masked).ok:
        return "placeholders"
    return None


@dataclass
class _Chunk:
    original: str
    separator: str
    masked: masking.Masked
    request: Request | None
    output: Output | None = None
    problem: str | None = None


def _prepare(
    chunk: str, separator: str, *, source: str, target: str, terms: Sequence[glossary.Term], instructions: bool
) -> _Chunk:
    masked = masking.mask(chunk)
    if masked.empty or not has_words(masking.PLACEHOLDER_RE.sub("", masked.text)):
        return _Chunk(chunk, separator, masked, None)
    found = glossary.matches(masked.text, terms)
    if instructions:
        request = Request(masked.text, source, target, tuple((t.term, t.translation) for t in found))
        return _Chunk(chunk, separator, masked, request)
    text, replacements = glossary.substitute(masked.text, found, len(masked.items) + 1)
    masked = masking.Masked(
        text=text,
        items=(*masked.items, *replacements),
        prefix=masked.prefix,
        suffix=masked.suffix,
        kinds=(*masked.kinds, *("glossary" for _ in replacements)),
    )
    return _Chunk(chunk, separator, masked, Request(masked.text, source, target))


async def translate_text(
    provider: Provider,
    text: str,
    *,
    source: str,
    target: str,
    terms: Sequence[glossary.Term] = (),
    segments: Sequence[Segment] = (),
    chunk_chars: int = 400,
    max_chars: int = 20_000,
) -> Outcome:
    """Translate ``text`` from ``source`` into ``target``.

    Raises ``BadRequest``/``UnsupportedLanguage`` for input that cannot be translated and
    ``ProviderUnavailable`` when the provider cannot answer (nothing is returned to store).
    """
    validate(text, source=source, target=target, max_chars=max_chars)
    if source == "zh-Hant":
        if target == "zh-Hans":
            return Outcome("done", to_simplified(text), "opencc")
        text, source = to_simplified(text), "zh-Hans"
    if not has_words(masking.mask(text).text):
        return Outcome("not_needed", text, "passthrough")
    # Engines without instructions translate a mixed text piece by piece, leaving the
    # pieces already in the target language alone; LLMs get the whole text for context.
    if not provider.follows_instructions and len({s.language for s in segments}) > 1:
        return await _translate_segments(provider, text, target=target, terms=terms, segments=segments)
    chunks = [
        _prepare(chunk, sep, source=source, target=target, terms=terms, instructions=provider.follows_instructions)
        for chunk, sep in split_chunks(text, chunk_chars)
    ]
    await _run(provider, chunks, strict=False, source=source, target=target)
    retry = [c for c in chunks if c.problem is not None and c.request is not None]
    if retry:
        first = {id(c): (c.output, c.problem) for c in retry}
        for c in retry:
            assert c.request is not None
            c.request = Request(c.request.text, source, target, c.request.glossary, strict=True)
        await _run(provider, retry, strict=True, source=source, target=target)
        for c in retry:
            earlier_output, earlier_problem = first[id(c)]
            if c.problem in HARD_PROBLEMS and earlier_problem not in HARD_PROBLEMS:
                c.output, c.problem = earlier_output, earlier_problem
    failures = [c.problem for c in chunks if c.problem in HARD_PROBLEMS]
    if failures:
        return Outcome("failed", None, provider.engine, reason=failures[0])
    parts = []
    for c in chunks:
        translated = c.original if c.output is None else masking.restore(c.output.text, c.masked)
        parts.append(translated + (" " if c.separator == " " and target == "en" else c.separator.strip(" ")))
    return Outcome("done", "".join(parts).strip(), provider.engine)


async def _run(provider: Provider, chunks: Sequence[_Chunk], *, strict: bool, source: str, target: str) -> None:
    pending = [c for c in chunks if c.request is not None]
    if not pending:
        return
    outputs = await provider.translate([c.request for c in pending if c.request is not None])
    for c, output in zip(pending, outputs, strict=True):
        c.output = output
        c.problem = problem(output, c.masked, source=c.request.source if c.request else source, target=target)


async def _translate_segments(
    provider: Provider, text: str, *, target: str, terms: Sequence[glossary.Term], segments: Sequence[Segment]
) -> Outcome:
    starts = [0, *(s.start for s in segments[1:])]
    ends = [*(s.start for s in segments[1:]), len(text)]
    parts: list[str] = []
    for segment, start, end in zip(segments, starts, ends, strict=True):
        piece = text[start:end]
        language = "zh-Hans" if segment.language == "zh-Hant" else segment.language
        if language == target or language not in SOURCES or not has_words(piece):
            parts.append(piece)
            continue
        outcome = await translate_text(provider, piece.strip(), source=language, target=target, terms=terms)
        if outcome.status == "failed":
            return outcome
        spacing = piece[len(piece.rstrip()) :]
        parts.append((outcome.text or "") + spacing)
    return Outcome("done", "".join(parts).strip(), provider.engine)
