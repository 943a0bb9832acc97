"""The pipeline's handling of numbers for LLM providers: shown to the model, checked in its
output, masked on the retry when one did not come through.

A scripted provider stands in for the model here so the requests it receives can be
checked exactly; the real model runs in test_model.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from bridgenote.translation import prompts, translator
from bridgenote.translation.providers import Output, Request, Status


@dataclass
class Scripted:
    """Answers each request with the next scripted reply, cleaned as the LLM providers clean
    a model's reply."""

    replies: list[str]
    name: str = "scripted"
    follows_instructions: bool = True
    seen: list[Request] = field(default_factory=list)

    @property
    def engine(self) -> str:
        return "scripted"

    async def status(self) -> Status:
        return Status("ready")

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        self.seen.extend(requests)
        return [Output(prompts.clean_reply(self.replies.pop(0), r.text)) for r in requests]


async def test_an_llm_sees_the_numbers_and_one_that_keeps_them_is_not_retried() -> None:
    provider = Scripted(["I spent 1,299.50 yuan on 3 cups"])
    outcome = await translator.translate_text(provider, "买 3 杯花了 1,299.50 元", source="zh-Hans", target="en")
    assert outcome.status == "done"
    assert outcome.text == "I spent 1,299.50 yuan on 3 cups"
    assert [r.text for r in provider.seen] == ["买 3 杯花了 1,299.50 元"]
    assert not provider.seen[0].strict


async def test_a_changed_number_is_retried_with_the_numbers_masked() -> None:
    provider = Scripted(["I spent 1300 yuan on three cups", "I spent [[2]] yuan on [[1]] cups"])
    outcome = await translator.translate_text(provider, "买 3 杯花了 1,299.50 元", source="zh-Hans", target="en")
    assert outcome.status == "done"
    assert outcome.text == "I spent 1,299.50 yuan on 3 cups"
    first, retry = provider.seen
    assert "1,299.50" in first.text and not first.strict
    assert retry.text == "买 [[1]] 杯花了 [[2]] 元" and retry.strict


async def test_numbers_next_to_chinese_characters_count_as_kept() -> None:
    provider = Scripted(["1759年9月24日，他签了 9,000 年的租约。"])
    outcome = await translator.translate_text(
        provider, "On September 24, 1759, he signed a 9,000 year lease.", source="en", target="zh-Hans"
    )
    assert outcome.status == "done"
    assert len(provider.seen) == 1


async def test_a_dropped_placeholder_on_the_retry_still_brings_the_number_back() -> None:
    provider = Scripted(["It took a few minutes", "It took minutes"])
    outcome = await translator.translate_text(provider, "花了 15 分钟", source="zh-Hans", target="en")
    assert outcome.status == "done"
    assert outcome.text is not None and "15" in outcome.text


async def test_a_number_lost_twice_with_a_hard_problem_is_failed_not_shown() -> None:
    provider = Scripted(["It took a few minutes", "花了分钟"])
    outcome = await translator.translate_text(provider, "花了 15 分钟", source="zh-Hans", target="en")
    assert outcome.status == "failed"
    assert outcome.reason in translator.HARD_PROBLEMS


async def test_an_echoed_strict_instruction_is_not_shown_as_the_translation() -> None:
    provider = Scripted(["Lead researchers say", prompts.STRICT["zh-Hans"] + " Lead researchers say"])
    outcome = await translator.translate_text(provider, "Lead researchers say", source="en", target="zh-Hans")
    assert outcome.status == "failed"
    assert outcome.reason == "no_chinese_in_output"


@pytest.mark.parametrize(
    ("source", "output", "kept"),
    [
        ("11 点 20 分，警察要求", "At 11:20, police asked", True),
        ("On September 24, 1759, a 9,000 year lease", "1759年9月24日，签下了9000年的租约", True),
        ("约 1,000 万份文件", "about 10 million documents", True),
        ("约 1,000 万份文件", "about 1 million documents", False),
        ("an estimated fortune of $2.3 billion", "估计财富为23亿美元", True),
        ("100 亿欧元（147亿美元）", "€10 billion (US$147 billion)", False),
        ("10,000 people came", "1万人来了", True),
        ("Nadal's record is 7–2.", "战绩是7-2。", True),
        ("In the last 3 months", "过去三个月", False),
        ("He graduated in 1950", "他毕业了", False),
        ("The 1950s", "1950年代", True),
    ],
)
def test_numbers_kept_allows_notation_and_units_but_not_other_values(source: str, output: str, kept: bool) -> None:
    assert translator.numbers_kept(source, output) is kept
