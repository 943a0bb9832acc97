"""Recall@10 and nDCG@10 on the judged set in relevance_data.py, per category.

Run with ``-s`` to see the table. Targets (issue 6): Recall@10 >= 0.9 in the same
language, >= 0.8 across languages.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest

from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteCreate
from tests.factories import create_user, viewer
from tests.search.conftest import note_ids
from tests.search.relevance_data import DISTRACTORS, MIXED_NOTES, TOPICS, judged_queries

TARGETS = {"zh": 0.9, "en": 0.9, "mixed": 0.9, "cross-lingual en->zh": 0.8, "cross-lingual zh->en": 0.8}


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, key in enumerate(ranked[:10]) if key in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return dcg / ideal if ideal else 0.0


@pytest.mark.slow
async def test_relevance_per_category(runtime: Runtime, drain: Callable[[], Awaitable[int]]) -> None:
    keys: dict[int, str] = {}
    docs: list[tuple[str, str, str]] = []
    for key, (zt, zb, et, eb, _zq, _eq) in TOPICS.items():
        docs += [(f"{key}:zh", zt, zb), (f"{key}:en", et, eb)]
    docs += [(f"{key}:mixed", t, b) for key, (t, b) in MIXED_NOTES.items()]
    docs += [(f"distractor{i}", t, b) for i, (t, b) in enumerate(DISTRACTORS)]
    # A few notes per author, as in a real community (moderation holds an account that posts
    # more than its velocity limit in a burst).
    for start in range(0, len(docs), 10):
        author = await create_user(runtime, username=f"judge{start}")
        async with runtime.db.transaction() as session:
            for key, title, body in docs[start : start + 10]:
                note = await notes_service.create_note(
                    session, viewer=viewer(author), data=NoteCreate(title=title, body=body)
                )
                keys[note.id] = key
    await drain()

    recall: dict[str, list[float]] = defaultdict(list)
    ndcg: dict[str, list[float]] = defaultdict(list)
    misses: list[str] = []
    for category, query, relevant in judged_queries():
        ranked = [keys[i] for i in await note_ids(runtime, query, limit=10)]
        hit = len(set(ranked[:10]) & set(relevant)) / len(relevant)
        recall[category].append(hit)
        ndcg[category].append(ndcg_at_10(ranked, set(relevant)))
        if hit < 1:
            misses.append(f"{category}: {query!r} -> {ranked[:5]}")

    rows = ["", f"{'category':<24}{'queries':>8}{'Recall@10':>11}{'nDCG@10':>10}"]
    for category in TARGETS:
        r, n = recall[category], ndcg[category]
        rows.append(f"{category:<24}{len(r):>8}{sum(r) / len(r):>11.3f}{sum(n) / len(n):>10.3f}")
    total = sum(len(v) for v in recall.values())
    rows.append(f"{'all':<24}{total:>8}")
    sys.stdout.write("\n".join(rows) + "\n")
    if misses:
        sys.stdout.write("misses:\n  " + "\n  ".join(misses) + "\n")
    assert total >= 100
    for category, target in TARGETS.items():
        got = sum(recall[category]) / len(recall[category])
        assert got >= target, f"{category}: Recall@10 {got:.3f} < {target}"
