"""The screening pipeline without a database: normalisation tricks, exclusions, policies, RE2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridgenote.moderation import engine, policy_docs
from bridgenote.moderation.normalize import analyse


def _decide(text: str) -> engine.Outcome:
    policies = [
        engine.compile_policy(code, 1, spec["regions"], spec["document"])
        for code, spec in policy_docs.DEFAULT_POLICIES.items()
    ]
    analysis, hits = engine.screen_text(text)
    return engine.decide(hits, policies, analysis)


@pytest.mark.parametrize(
    "text",
    [
        "你个傻逼",
        "你個傻逼",
        "傻\u200b逼",
        "f.u.c.k you",
        "fuuuck you",
        "sh1t head",
        "ni shi sha bi",
        "follow for follow!",
    ],
)
def test_obfuscated_violations_are_held(text: str) -> None:
    assert _decide(text).action == "hold", text


@pytest.mark.parametrize(
    "text",
    ["乳酸菌饮料", "成人教育报名", "Scunthorpe United", "cat tax", "hemp seed oil", "戒烟第一百天，电子烟也戒了"],
)
def test_look_alikes_pass(text: str) -> None:
    assert _decide(text).action == "allow", text


def test_regional_outcomes_differ_by_policy() -> None:
    outcome = _decide("Online casino bonus, free spins tonight")
    assert outcome.regional == {"global": "allow", "CN": "limit", "US": "label", "EU": "label"}
    assert outcome.limited_regions == {"CN"} and outcome.labels == {"gambling"}


def test_tricks_are_recorded() -> None:
    assert "leet" in analyse("$hit happens").tricks
    assert "homoglyph" in analyse("ѕhіt").tricks
    assert "pinyin" in analyse("ni shi sha bi").tricks


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x*)*", "(", "a{1000}{1000}", ".*"])
def test_unsafe_or_broken_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        policy_docs.compile_pattern(pattern)


def test_admin_patterns_run_in_linear_time() -> None:
    compiled = policy_docs.compile_pattern(r"(a|aa)+b")
    assert compiled.search("a" * 50_000) is None  # a backtracking engine would not return


def test_naive_bayes_trains_and_scores(tmp_path: Path) -> None:
    from bridgenote.moderation import classifiers, train

    rows = [("spam", f"follow back for follow, cheap followers deal {i}") for i in range(10)]
    rows += [("benign", f"quiet walk by the river with my dog {i}") for i in range(10)]
    model = classifiers.NaiveBayes(train.fit(rows, min_count=1))
    probabilities = model.probabilities(classifiers.features(analyse("cheap followers, follow back")))
    assert probabilities["spam"] > 0.9
    source = tmp_path / "labelled.tsv"
    source.write_text("label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    train.main([str(source), "--out", str(tmp_path / "model.json"), "--min-count", "1"])
    assert (tmp_path / "model.json").exists()


def test_known_harmless_phrases_pass_the_classifier_too() -> None:
    # The keyword lists' exclusions also keep names and words like these from the
    # profanity classifier, which alone scores "Dick Van Dyke" as abuse.
    for text in ("Dick Van Dyke's films are my comfort watch", "Moby Dick is my book club pick"):
        _analysis, hits = engine.screen_text(text)
        assert hits == [], (text, hits)
    _analysis, hits = engine.screen_text("honestly you are a dick")
    assert any(h.family == "classifier" and h.category == "abuse" for h in hits)
