"""Chat prompts for the LLM providers (llamacpp, openai).

The system message and the worked examples never change, whatever the direction,
so an engine that keeps its KV cache (llama.cpp does, by longest common prefix)
evaluates them once per process; each request only adds its own user turn.
Bump ``PROMPT_VERSION`` whenever the wording changes: it is part of the key of
stored translations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# 2: numbers shown to the model (checked, masked on the retry); the strict line after the text.
PROMPT_VERSION = 2

LANGUAGE_NAMES = {"en": "English", "zh-Hans": "Simplified Chinese"}

SYSTEM = (
    "You translate posts and comments on a Chinese-English social app. "
    "Translate the user's text into the requested language, completely and faithfully, keeping its tone and slang. "
    "Reply with the translation only: no explanations, no notes, no quotation marks, no pinyin. "
    "Tokens like [[1]] stand for tags, links, emoji or numbers: copy each of them exactly once."
)

# Worked examples: they show the reply format (translation only, placeholders kept) to
# small models far better than instructions alone.
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (
        "en",
        "周末去了[[1]]家新开的咖啡店，拿铁很绝，环境也超级出片！",
        "Went to [[1]] new cafés this weekend. The latte was amazing and the place is super photogenic!",
    ),
    (
        "zh-Hans",
        "Honestly the best hotpot I've had outside Chongqing, we waited [[1]] minutes but it was worth it.",
        "说实话，这是我在重庆以外吃过最好的火锅，我们等了[[1]]分钟，但很值得。",
    ),
)

STRICT = {
    "en": "Write the whole translation in English. Do not leave any Chinese characters. Do not add anything.",
    "zh-Hans": "全部译成简体中文，不要保留英文句子，不要添加任何内容。",
}


def instruction(target: str) -> str:
    return f"Translate into {LANGUAGE_NAMES.get(target, target)}:"


def user_turn(text: str, *, target: str, glossary: Sequence[tuple[str, str]] = (), strict: bool = False) -> str:
    """The request's own turn. The strict line (retries only) comes after the text: put
    between the instruction and an English text, the Chinese one made the default model
    copy the English unchanged."""
    lines = [instruction(target)]
    if glossary:
        pairs = "; ".join(f"{term} = {translation}" for term, translation in glossary)
        lines.append(f"(Use these translations: {pairs}.)")
    lines.append(text)
    if strict:
        lines.append(STRICT.get(target, ""))
    return "\n".join(line for line in lines if line)


def messages(
    text: str, *, target: str, glossary: Sequence[tuple[str, str]] = (), strict: bool = False
) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
    for example_target, source_text, translated in EXAMPLES:
        turns.append({"role": "user", "content": user_turn(source_text, target=example_target)})
        turns.append({"role": "assistant", "content": translated})
    turns.append({"role": "user", "content": user_turn(text, target=target, glossary=glossary, strict=strict)})
    return turns


_LEADS = ("translation:", "english:", "chinese:", "译文：", "翻译：", "译文:", "翻译:")
# Our own instruction lines, which small models sometimes copy into the reply (the strict
# retry's "全部译成简体中文……" in front of an untranslated sentence, for one).
_ECHOES = (*STRICT.values(), *(instruction(target) for target in LANGUAGE_NAMES))
_GLOSSARY_ECHO = re.compile(r"\(Use these translations:[^)\n]*\)\.?")


def clean_reply(reply: str, source: str) -> str:
    """Drop the wrappers small models add: a "Translation:" lead, quotes the source did not
    have, and any of our instruction lines copied into the reply."""
    text = reply.strip()
    for echo in _ECHOES:
        if echo in text and echo not in source:
            text = text.replace(echo, " ").strip()
    if "(Use these translations:" not in source:
        text = _GLOSSARY_ECHO.sub(" ", text).strip()
    lowered = text.lower()
    for lead in _LEADS:
        if lowered.startswith(lead):
            text = text[len(lead) :].strip()
            break
    for left, right in (('"', '"'), ("“", "”"), ("「", "」")):
        if text.startswith(left) and text.endswith(right) and len(text) > 2 and not source.strip().startswith(left):
            text = text[1:-1].strip()
    return text
