"""Classifiers whose weights ship inside PyPI packages, plus the project's own trained model.

* English offensive language: ``alt-profanity-check`` (a linear SVM over word n-grams,
  calibrated probabilities), run on the de-obfuscated Latin view of the text.
* Chinese offensive words: ``glin-profanity``'s Chinese list, matched on word boundaries,
  minus the entries that are ordinary words on their own (``乳``, ``奶``, ``性``, ``成人``:
  they made ``乳酸菌饮料`` and ``成人教育`` look offensive).
* Images: ``nudenet``'s detector (a 12 MB ONNX model inside the wheel). It finds body parts,
  not a single score; the score here is the highest confidence of an *exposed* intimate part.
* Spam, scams and Chinese toxicity have no packaged model, so ``train.py`` fits a small
  multinomial naive Bayes on ``data/training.tsv``; its weights are ``data/nb_model.json``.

Every model loads once per process, on first use, from files on disk (no network).
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bridgenote.moderation import lexicon
from bridgenote.moderation.normalize import Analysis

DATA = Path(__file__).resolve().parent / "data"
MODEL_PATH = DATA / "nb_model.json"

# glin-profanity's Chinese entries that are everyday words or body/medical terms by themselves.
GLIN_ZH_STOPLIST = frozenset(
    [
        "乳",
        "奶",
        "性",
        "成人",
        "激情",
        "处女",
        "屁股",
        "祖宗",
        "私服",
        "精子",
        "月经",
        "老二",
        "包皮",
        "卵",
        "卵子",
        "奸",
        "淫",
        "情色",
        "撒尿",
        "笨蛋",
        "白痴",
        "白癡",
        "賤",
        "爛",
        "幹",
        "老母",
        "九游",
        "放荡",
        "贝肉",
        "玉杵",
        "老味",
        "肥西",
        "姣西",
        "淫西",
        "刚度",
        "口肯",
        "叫床",
        "外阴",
        "性器",
        "性爱",
        "性交",
        "做爱",
        "花柳",
        "玉杵",
        "13.",
        "13点",
        "十三点",
        "瓜娃子",
        "鸡巴",
        "妈妈的",
    ]
)
EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)


@cache
def _profanity() -> Any:
    return importlib.import_module("profanity_check")


@cache
def _profanity_linear() -> tuple[Any, Any, Any, Any, Any] | None:
    """alt-profanity-check's model as plain arrays: TF-IDF, then for each of its calibrated
    folds a linear SVM and a sigmoid (``1 / (1 + exp(a*d + b))``), averaged. The same numbers
    as ``predict_prob`` without scikit-learn's per-call input validation (about 100 ms a call
    on these machines, 50x the arithmetic). ``None`` if the package's model has another shape."""
    module = importlib.import_module("profanity_check.profanity_check")
    model = module.model
    try:
        folds = model.calibrated_classifiers_
        if any(f.method != "sigmoid" or len(f.calibrators) != 1 for f in folds):
            return None
        coef = np.vstack([np.ravel(f.estimator.coef_) for f in folds])
        intercept = np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds])
        a = np.array([float(f.calibrators[0].a_) for f in folds])
        b = np.array([float(f.calibrators[0].b_) for f in folds])
    except AttributeError:
        return None
    return module.vectorizer, coef.T, intercept, a, b


def profanity_probability(texts: list[str]) -> list[float]:
    fast = _profanity_linear()
    if fast is None:
        return [float(p) for p in _profanity().predict_prob(texts)]
    vectorizer, coef, intercept, a, b = fast
    decision = np.asarray(vectorizer.transform(texts) @ coef) + intercept
    probabilities = 1.0 / (1.0 + np.exp(a * decision + b))
    return [float(p) for p in probabilities.mean(axis=1)]


def _without_benign_phrases(text: str) -> str:
    """The text with the lexicon's known-harmless phrases blanked out: the keyword rules
    already skip them, and the classifier scores words, not names ("Dick Van Dyke")."""
    for phrase in lexicon.benign_latin_phrases():
        if phrase in text:
            text = text.replace(phrase, " ")
    return text


def profanity_hits(a: Analysis) -> list[Any]:
    from bridgenote.moderation.engine import Hit

    hits: list[Any] = []
    latin = _without_benign_phrases(re.sub(r"[^a-z' ]+", " ", a.latin)).strip()
    if len(latin) >= 3:
        views = [latin, *(_without_benign_phrases(re.sub(r"[^a-z' ]+", " ", v)) for v in a.squeezed)]
        score = max(profanity_probability(views))
        if score >= 0.5:
            hits.append(Hit("classifier", "abuse", "alt-profanity-check", score, latin[:80]))
    if a.hanzi:
        found = glin_chinese().find(a)
        if found:
            hits.append(Hit("classifier", "abuse", "glin-profanity:zh", 0.9, ", ".join(sorted(found))))
    return hits


@cache
def glin_chinese() -> Any:
    from bridgenote.moderation.engine import WordList

    package = Path(importlib.import_module("glin_profanity").__file__ or "").parent
    words = json.loads((package / "data" / "dictionaries" / "chinese.json").read_text(encoding="utf-8"))["words"]
    usable = [w for w in words if w not in GLIN_ZH_STOPLIST and re.search(r"[\u4e00-\u9fff]", w)]
    return WordList.build(usable)


# ---------------------------------------------------------------- naive Bayes


def features(a: Analysis) -> list[str]:
    """Word unigrams and bigrams of the Latin view, character bigrams and trigrams of the hanzi."""
    words = re.findall(r"[a-z]{2,}", a.latin)
    out = [f"w:{w}" for w in words]
    out += [f"b:{x}_{y}" for x, y in itertools.pairwise(words)]
    h = a.hanzi
    out += [f"h:{h[i : i + 2]}" for i in range(len(h) - 1)]
    out += [f"h:{h[i : i + 3]}" for i in range(len(h) - 2)]
    return out


class NaiveBayes:
    """Multinomial naive Bayes from a JSON file: readable weights, no pickle."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.classes: list[str] = list(data["classes"])
        self.prior: list[float] = list(data["log_prior"])
        self.unknown: list[float] = list(data["log_unknown"])
        self.weights: dict[str, list[float]] = data["log_likelihood"]

    def probabilities(self, feats: list[str]) -> dict[str, float]:
        scores = list(self.prior)
        known = 0
        for f in feats:
            w = self.weights.get(f)
            if w is None:
                continue
            known += 1
            for i, value in enumerate(w):
                scores[i] += value
        if known == 0:
            return {}
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return {c: e / total for c, e in zip(self.classes, exp, strict=True)}


@cache
def naive_bayes() -> NaiveBayes | None:
    if not MODEL_PATH.exists():
        return None
    return NaiveBayes(json.loads(MODEL_PATH.read_text(encoding="utf-8")))


def model_hits(a: Analysis) -> list[Any]:
    from bridgenote.moderation.engine import Hit

    model = naive_bayes()
    if model is None:
        return []
    probabilities = model.probabilities(features(a))
    return [
        Hit("model", label, "naive-bayes", p) for label, p in probabilities.items() if label != "benign" and p >= 0.5
    ]


# ---------------------------------------------------------------- images


@cache
def _nude_detector() -> Any:
    return importlib.import_module("nudenet").NudeDetector()


def nudity_score(image: bytes) -> tuple[float, list[str]]:
    """Highest confidence of an exposed intimate body part, and the parts found."""
    detections = _nude_detector().detect(image)
    exposed = [d for d in detections if d.get("class") in EXPOSED]
    score = max((float(d.get("score", 0.0)) for d in exposed), default=0.0)
    return score, sorted({str(d["class"]) for d in exposed})
