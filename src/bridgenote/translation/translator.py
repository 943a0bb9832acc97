"""The translation pipeline: validate, chunk, mask, glossary, translate, check, retry, restore.

Pure with respect to storage: it takes a provider and returns an :class:`Outcome`.
Output checks catch what small models get wrong: an English output that still
contains Chinese, an output with no Chinese when Chinese was asked for, a runaway
(the token bound was hit, or the output is far longer than the input could
justify), an empty reply, a number that did not come through. Such chunks are
retried once with a stricter prompt; if the retry is no better the whole text is
marked failed with the reason, rather than shown wrong. Misplaced placeholders are
repaired, never fatal.

Numbers and LLMs: a small model drops or invents placeholders far more often than it
miscopies a number it can see (FLORES dev, Qwen2.5-Coder-1.5B: 16 of 120 sentences lost
a masked number, and "[[1]] AM" came back as "10:30 AM"). So an LLM first sees the
numbers themselves, every one of them must come through unchanged, and a chunk where one
does not is retried with the numbers masked like everything else. "Unchanged" allows what
a translation has to change: thousands separators (9,000 / 9000), clock notation
(11 点 20 分 / 11:20) and the same quantity in the other language's units (100 亿 /
10 billion, 2.3 billion / 23 亿); a spelled-out number, a dropped one or a different
value is a change. Engines that take no instructions always get the numbers masked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

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
HARD_PROBLEMS = ("empty_output", "too_long", "chinese_in_english_output", "no_chinese_in_output", "numbers_changed")
# A number with the large-number unit after it, if any (Chinese counts in 万 and 亿).
_QUANTITY = re.compile(
    r"(\d+(?:\.\d+)?)(?:\s*(万亿|百万|千万|万|亿|千|thousand|million|billion|trillion)(?![A-Za-z]))?", re.IGNORECASE
)
_SCALES = {
    "千": 10**3,
    "万": 10**4,
    "百万": 10**6,
    "千万": 10**7,
    "亿": 10**8,
    "万亿": 10**12,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _quantities(text: str) -> tuple[list[Decimal], list[str]]:
    """The amounts written with a unit (1,000 万 -> 10000000) and the digit runs of the rest."""
    amounts: list[Decimal] = []
    digits: list[str] = []
    for match in _QUANTITY.finditer(_THOUSANDS.sub("", masking.PLACEHOLDER_RE.sub(" ", text))):
        number, unit = match.group(1), match.group(2)
        if unit:
            amounts.append(Decimal(number) * _SCALES[unit.lower()])
        else:
            digits += re.findall(r"\d+", number)
    return amounts, digits


def numbers_kept(source: str, output: str) -> bool:
    """Whether every number of ``source`` is in ``output``: the same digits, or the same amount."""
    source_amounts, source_digits = _quantities(source)
    amounts, digits = _quantities(output)
    left = Counter(digits)
    for amount in source_amounts:
        if amount in amounts:
            amounts.remove(amount)
            continue
        return False
    for run in source_digits:
        if left[run] > 0:
            left[run] -= 1
        elif Decimal(run) in amounts:  # 10000 people -> 1 万人
            amounts.remove(Decimal(run))
        else:
            return False
    return True


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


def problem(output: Output, masked: masking.Masked, *, source: str, target: str, numbers_from: str = "") -> str | None:
    """What is wrong with ``output`` (None: nothing). The numbers of ``numbers_from`` (the text
    the model saw, numbers unmasked) must come through (:func:`numbers_kept`)."""
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
    if numbers_from and not numbers_kept(numbers_from, plain):
        return "numbers_changed"
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
    # Numbers left in the request's text, which the output must carry unchanged; and the
    # fully masked form the retry uses when they did not come through.
    numbers_from: str = ""
    fallback: masking.Masked | None = None


def _prepare(
    chunk: str, separator: str, *, source: str, target: str, terms: Sequence[glossary.Term], instructions: bool
) -> _Chunk:
    masked = masking.mask(chunk)
    if masked.empty or not has_words(masking.PLACEHOLDER_RE.sub("", masked.text)):
        return _Chunk(chunk, separator, masked, None)
    found = glossary.matches(masked.text, terms)
    if instructions:
        pairs = tuple((t.term, t.translation) for t in found)
        if masking.numbers(chunk):
            visible = masking.mask(chunk, keep=frozenset({"number"}))
            return _Chunk(
                chunk,
                separator,
                visible,
                Request(visible.text, source, target, pairs),
                numbers_from=visible.text,
                fallback=masked,
            )
        return _Chunk(chunk, separator, masked, Request(masked.text, source, target, pairs))
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
        first = {id(c): (c.output, c.problem, c.masked, c.numbers_from) for c in retry}
        for c in retry:
            assert c.request is not None
            text = c.request.text
            if c.fallback is not None:  # the numbers were in the text: mask them this time
                c.masked, c.numbers_from, text = c.fallback, "", c.fallback.text
            c.request = Request(text, source, target, c.request.glossary, strict=True)
        await _run(provider, retry, strict=True, source=source, target=target)
        for c in retry:
            earlier_output, earlier_problem, earlier_masked, earlier_numbers_from = first[id(c)]
            if c.problem in HARD_PROBLEMS and earlier_problem not in HARD_PROBLEMS:
                c.output, c.problem, c.masked, c.numbers_from = (
                    earlier_output,
                    earlier_problem,
                    earlier_masked,
                    earlier_numbers_from,
                )
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
        c.problem = problem(
            output,
            c.masked,
            source=c.request.source if c.request else source,
            target=target,
            numbers_from=c.numbers_from,
        )


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
