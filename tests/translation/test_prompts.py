"""The prompt's fixed prefix, the strict retry, reply cleaning, the token bound and the
llama.cpp thread default (fast: no model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridgenote.config import TranslationSettings
from bridgenote.translation import prompts, providers

REPO = Path(__file__).resolve().parents[2]


def test_every_request_shares_the_fixed_prefix_so_its_kv_cache_is_reused() -> None:
    variants = [
        prompts.messages("今天很开心", target="en"),
        prompts.messages("I am happy today", target="zh-Hans"),
        prompts.messages("猫税", target="en", glossary=[("猫税", "cat tax")], strict=True),
    ]
    prefixes = [turns[:-1] for turns in variants]
    assert prefixes[0] == prefixes[1] == prefixes[2]
    # Only the last (user) turn changes, and it starts the same way for both directions.
    assert all(turns[-1]["content"].startswith("Translate into ") for turns in variants)


def test_the_strict_instruction_is_only_in_the_retry() -> None:
    first = prompts.user_turn("还有中文", target="en")
    retry = prompts.user_turn("还有中文", target="en", strict=True)
    assert prompts.STRICT["en"] not in first
    assert prompts.STRICT["en"] in retry
    # After the text: between the instruction and the text it made the model copy the source.
    assert retry.endswith(prompts.STRICT["en"]) and retry.index("还有中文") < retry.index(prompts.STRICT["en"])
    assert all(prompts.STRICT["en"] not in turn["content"] for turn in prompts.messages("x", target="en")[:-1])


@pytest.mark.parametrize(
    ("reply", "source", "expected"),
    [
        (
            "全部译成简体中文，不要保留英文句子，不要添加任何内容。 Lead researchers say",
            "Lead researchers say",
            "Lead researchers say",
        ),
        ("Translate into English:\nThe coffee is great", "咖啡很好喝", "The coffee is great"),
        ("(Use these translations: 猫税 = cat tax.)\nCat tax, as promised", "猫税来了", "Cat tax, as promised"),
        ("Translation: “Hello”", "你好", "Hello"),
        # The source itself quotes our wording: kept.
        (
            "Translate into English: is the label",
            "“Translate into English:” is the label",
            "Translate into English: is the label",
        ),
    ],
)
def test_clean_reply_drops_wrappers_and_echoed_instructions(reply: str, source: str, expected: str) -> None:
    assert prompts.clean_reply(reply, source) == expected


def test_the_output_bound_grows_with_the_input_and_stays_small() -> None:
    assert providers.output_token_bound(10) < providers.output_token_bound(40)
    assert providers.output_token_bound(25) <= 80


def test_llama_threads_default_to_half_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert providers.default_threads() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    assert providers.default_threads() == 8
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert providers.default_threads() == 1

    built = providers.build(TranslationSettings(provider="llamacpp"), models_dir=Path("/nonexistent"))
    assert isinstance(built, providers.LlamaCppProvider) and built.threads == 1
    chosen = providers.build(TranslationSettings(provider="llamacpp", threads=3), models_dir=Path("/nonexistent"))
    assert isinstance(chosen, providers.LlamaCppProvider) and chosen.threads == 3


def test_the_benchmark_says_clearly_when_the_flores_data_is_absent(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "translation.py"), "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "flores200-zh-en" in result.stderr and "--data" in result.stderr
