"""Train the screening's own naive Bayes model (spam, scams, Chinese abuse: no packaged model).

    .venv/bin/python -m bridgenote.moderation.train labelled.tsv            # writes data/nb_model.json
    .venv/bin/python -m bridgenote.moderation.train labelled.tsv --out model.json

The input is a TSV with a header ``label<TAB>text``; labels are detector categories
(``spam``, ``scam``, ``abuse`` ...) or ``benign``. Moderators' decided cases are the natural
source (``remove`` -> the rule's category, ``approve`` -> ``benign``). Features are the same
as at screening time (:func:`classifiers.features` over the normalised text), so obfuscated
spellings train the same features as plain ones. The output is readable JSON (log priors and
log likelihoods per feature), loaded by :func:`classifiers.naive_bayes`; with no model file the
``model`` detector family is simply off. Never train on ``tests/moderation/eval``: it is the
held-out measure.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from bridgenote.moderation.classifiers import MODEL_PATH, features
from bridgenote.moderation.normalize import analyse


def fit(rows: list[tuple[str, str]], *, alpha: float = 1.0, min_count: int = 2) -> dict[str, object]:
    """Multinomial naive Bayes with Laplace smoothing; features seen fewer than ``min_count``
    times are dropped (they only memorise)."""
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    docs: Counter[str] = Counter()
    for label, text in rows:
        docs[label] += 1
        per_class[label].update(features(analyse(text)))
    total: Counter[str] = Counter()
    for counts in per_class.values():
        total.update(counts)
    vocabulary = sorted(f for f, n in total.items() if n >= min_count)
    classes = sorted(docs)
    log_prior = [math.log(docs[c] / sum(docs.values())) for c in classes]
    denominators = [sum(per_class[c][f] for f in vocabulary) + alpha * (len(vocabulary) + 1) for c in classes]
    likelihood = {
        f: [round(math.log((per_class[c][f] + alpha) / d), 5) for c, d in zip(classes, denominators, strict=True)]
        for f in vocabulary
    }
    return {
        "classes": classes,
        "log_prior": log_prior,
        "log_unknown": [math.log(alpha / d) for d in denominators],
        "log_likelihood": likelihood,
        "documents": dict(docs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tsv", type=Path)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--min-count", type=int, default=2)
    args = parser.parse_args(argv)
    with args.tsv.open(encoding="utf-8", newline="") as f:
        rows = [(r["label"].strip(), r["text"]) for r in csv.DictReader(f, delimiter="\t") if r.get("text")]
    if len({label for label, _text in rows}) < 2:
        raise SystemExit("need at least two labels (for example spam and benign)")
    model = fit(rows, min_count=args.min_count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    print(f"{len(rows)} examples, {len(model['log_likelihood'])} features -> {args.out}")  # type: ignore[arg-type]  # noqa: T201


if __name__ == "__main__":
    main()
