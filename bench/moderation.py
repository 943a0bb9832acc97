"""Moderation benchmark: precision/recall on the labelled evaluation set, and throughput.

    .venv/bin/python bench/moderation.py                 # quality table + in-process throughput
    .venv/bin/python bench/moderation.py --db 300        # also time service.screen on SQLite (300 notes)
    .venv/bin/python bench/moderation.py --misses        # list every miss and false alarm

The evaluation set is ``tests/moderation/eval/eval_set.tsv`` (English, Chinese and mixed items:
violations, items whose acceptability differs by region, obfuscated versions of both, benign
posts and benign look-alikes such as 乳酸菌饮料, "cat tax" and "Scunthorpe"). Every item runs
through the same code as the screening job (``engine.screen_text`` then ``engine.decide`` with
the built-in policies). In the same run a plain keyword-substring filter over the same word
lists is scored as the floor.

What counts:
* a *violation* is caught when the global policy holds or rejects it;
* a benign item or look-alike is a false alarm when any policy does anything to it
  (hold, reject, limit or label anywhere);
* a *regional* item is right in a region when that policy's action equals the label
  (``CN=limit;US=label;...``); accuracy is over (item, policy) pairs.

Results go to stdout and ``bench/results/moderation.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bridgenote.moderation import engine, lexicon, policy_docs  # noqa: E402
from bridgenote.moderation.normalize import analyse  # noqa: E402

EVAL_SET = ROOT / "tests" / "moderation" / "eval" / "eval_set.tsv"
RESULTS = ROOT / "bench" / "results" / "moderation.json"
GLOBAL_VIOLATIONS = ("hold", "reject")


@dataclass
class Item:
    id: str
    language: str
    kind: str  # violation | regional | benign | lookalike
    category: str
    obfuscated: bool
    regional: dict[str, str]
    text: str


@dataclass
class Prediction:
    violation: bool  # the global policy holds or rejects it
    touched: bool  # any policy does anything (for false alarms on benign items)
    regional: dict[str, str]
    categories: set[str]
    families: set[str]  # detector families whose hits made a global hold/reject rule fire


def load(path: Path = EVAL_SET) -> list[Item]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        Item(
            id=r["id"],
            language=r["language"],
            kind=r["kind"],
            category=r["category"],
            obfuscated=r["obfuscated"] == "yes",
            regional=dict(p.split("=", 1) for p in r["regional"].split(";") if p),
            text=r["text"],
        )
        for r in rows
    ]


def default_policies() -> list[engine.CompiledPolicy]:
    out = []
    for code, spec in policy_docs.DEFAULT_POLICIES.items():
        policy_docs.check_document(spec["document"])
        out.append(engine.compile_policy(code, 1, spec["regions"], spec["document"]))
    return out


def pipeline(policies: list[engine.CompiledPolicy]) -> Callable[[str], Prediction]:
    global_rules = {r.category: r for p in policies if p.is_global for r in p.rules if r.action in GLOBAL_VIOLATIONS}

    def run(text: str) -> Prediction:
        analysis, hits = engine.screen_text(text)
        outcome = engine.decide(hits, policies, analysis)
        families = set()
        for h in outcome.hits:
            rule = global_rules.get(h.category)
            if rule is not None and h.score >= rule.family_scores.get(h.family, rule.min_score):
                families.add(h.family)
        global_action = outcome.regional.get("global", "allow")
        return Prediction(
            violation=global_action in GLOBAL_VIOLATIONS,
            touched=outcome.action != "allow",
            regional=dict(outcome.regional),
            categories={m.category or m.rule for m in outcome.matches if m.action in GLOBAL_VIOLATIONS},
            families=families,
        )

    return run


def substring_floor(policies: list[engine.CompiledPolicy]) -> Callable[[str], Prediction]:
    """The floor: lower-case the text and look for any lexicon term as a plain substring
    (no normalisation, no word boundaries, no exclusions, no classifiers)."""
    terms: dict[str, list[str]] = {
        c.code: [t.lower() for t in (*c.en.strong, *c.en.weak, *c.zh.strong, *c.zh.weak)] for c in lexicon.CATEGORIES
    }
    actions: dict[str, dict[str, str]] = defaultdict(dict)
    for p in policies:
        for r in p.rules:
            if r.category:
                actions[p.code][r.category] = r.action

    def run(text: str) -> Prediction:
        low = text.lower()
        found = {code for code, words in terms.items() if any(w and w in low for w in words)}
        regional = {}
        for p in policies:
            worst = "allow"
            for category in found:
                action = actions[p.code].get(category, "allow")
                if engine.SEVERITY[action] > engine.SEVERITY[worst]:
                    worst = action
            regional[p.code] = worst
        return Prediction(
            violation=regional.get("global") in GLOBAL_VIOLATIONS,
            touched=any(a != "allow" for a in regional.values()),
            regional=regional,
            categories={c for c in found if actions["global"].get(c) in GLOBAL_VIOLATIONS},
            families={"substring"} if found else set(),
        )

    return run


def pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def score(items: list[Item], predictions: list[Prediction]) -> dict[str, Any]:
    out: dict[str, Any] = {"by_language": {}, "by_category": {}, "by_family": {}}
    pairs = list(zip(items, predictions, strict=True))
    judged = [(i, p) for i, p in pairs if i.kind in ("violation", "benign", "lookalike")]

    def pr_of(subset: Iterable[tuple[Item, Prediction]], caught: Callable[[Prediction], bool]) -> dict[str, Any]:
        tp = fp = fn = 0
        for i, p in subset:
            positive = i.kind == "violation"
            hit = caught(p)
            tp += positive and hit
            fp += (not positive) and hit
            fn += positive and not hit
        precision, recall = pr(tp, fp, fn)
        return {"precision": round(precision, 3), "recall": round(recall, 3), "tp": tp, "fp": fp, "fn": fn}

    for language in ("en", "zh", "mixed"):
        subset = [(i, p) for i, p in judged if i.language == language]
        row = pr_of(subset, lambda p: p.violation)
        obf = [(i, p) for i, p in subset if i.kind == "violation" and i.obfuscated]
        row["obfuscated_recall"] = round(sum(p.violation for _i, p in obf) / len(obf), 3) if obf else None
        row["items"] = len(subset)
        out["by_language"][language] = row
    out["all"] = pr_of(judged, lambda p: p.violation)
    for category in sorted({i.category for i, _p in judged if i.kind == "violation"}):
        tp = sum(1 for i, p in judged if i.category == category and category in p.categories)
        fp = sum(1 for i, p in judged if i.category != category and category in p.categories)
        fn = sum(1 for i, p in judged if i.category == category and category not in p.categories)
        precision, recall = pr(tp, fp, fn)
        out["by_category"][category] = {"precision": round(precision, 3), "recall": round(recall, 3), "n": tp + fn}
    for family in sorted({f for _i, p in judged for f in p.families}):
        out["by_family"][family] = pr_of(judged, lambda p, f=family: f in p.families)  # type: ignore[misc]
    lookalikes = [p for i, p in pairs if i.kind == "lookalike"]
    benign = [p for i, p in pairs if i.kind == "benign"]
    out["lookalike_flag_rate"] = round(sum(p.touched for p in lookalikes) / len(lookalikes), 3)
    out["benign_flag_rate"] = round(sum(p.touched for p in benign) / len(benign), 3)
    regional = [(i, p) for i, p in pairs if i.kind == "regional"]
    right = total = whole = 0
    per_region: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, p in regional:
        ok_all = True
        for code, wanted in i.regional.items():
            ok = p.regional.get(code, "allow") == wanted
            right += ok
            total += 1
            per_region[code][0] += ok
            per_region[code][1] += 1
            ok_all = ok_all and ok
        whole += ok_all
    out["regional_accuracy"] = round(right / total, 3) if total else None
    out["regional_items_all_right"] = round(whole / len(regional), 3) if regional else None
    out["regional_by_policy"] = {k: round(v[0] / v[1], 3) for k, v in sorted(per_region.items())}
    return out


def throughput(run: Callable[[str], Prediction], texts: list[str], *, seconds: float = 5.0) -> float:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            run(t)
        done += len(texts)
    return done / (time.perf_counter() - start)


async def db_throughput(texts: list[str], n: int) -> float:
    """``service.screen`` per note on a migrated SQLite file: the screening job's whole path
    (load the note and author, detectors, MinHash flood check, policies, decision, audit,
    notification) in one transaction per note, like the worker."""
    from bridgenote import migrate
    from bridgenote.accounts import service as accounts_service
    from bridgenote.accounts.schemas import UserCreate
    from bridgenote.config import Settings
    from bridgenote.core.runtime import Runtime
    from bridgenote.moderation import service
    from bridgenote.notes import service as notes_service
    from bridgenote.notes.schemas import NoteCreate

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(migrate.upgrade, url)  # alembic runs its own event loop
        settings = Settings(database_url=url, var_dir=Path(tmp) / "var", run_worker_in_process=False)
        runtime = Runtime.create(settings)
        ids = []
        async with runtime.db.transaction() as session:
            users = [
                await accounts_service.create_user(
                    session,
                    data=UserCreate(username=f"bench{u}", email=f"bench{u}@example.com", password="bench-password-1"),
                )
                for u in range(10)
            ]
        for k in range(n):
            text = texts[k % len(texts)]
            async with runtime.db.transaction() as session:
                note = await notes_service.create_note(
                    session,
                    viewer=accounts_service.viewer_for(users[k % len(users)]),
                    data=NoteCreate(title=text[:100], body=f"{text} #{k}"),
                )
                ids.append(note.id)
        start = time.perf_counter()
        for note_id in ids:
            async with runtime.db.transaction() as session:
                await service.screen(session, target_type="note", target_id=note_id, settings=settings.moderation)
        elapsed = time.perf_counter() - start
        await runtime.close()
    return n / elapsed


def table(name: str, s: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", "", "| language | items | precision | recall | obfuscated recall |", "|---|---|---|---|---|"]
    for language, r in s["by_language"].items():
        lines.append(
            f"| {language} | {r['items']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['obfuscated_recall']} |"
        )
    a = s["all"]
    lines.append(f"| all | - | {a['precision']:.3f} | {a['recall']:.3f} | - |")
    lines += ["", "| category | n | precision | recall |", "|---|---|---|---|"]
    lines += [f"| {c} | {r['n']} | {r['precision']:.3f} | {r['recall']:.3f} |" for c, r in s["by_category"].items()]
    lines += ["", "| rule family | precision | recall |", "|---|---|---|"]
    lines += [f"| {f} | {r['precision']:.3f} | {r['recall']:.3f} |" for f, r in s["by_family"].items()]
    lines += [
        "",
        f"benign look-alikes flagged: {s['lookalike_flag_rate']:.1%}; "
        f"other benign flagged: {s['benign_flag_rate']:.1%}",
        f"regional decisions right: {s['regional_accuracy']} of (item, policy) pairs; "
        f"items right in every region: {s['regional_items_all_right']}; by policy: {s['regional_by_policy']}",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=int, default=0, help="also time service.screen on SQLite for this many notes")
    parser.add_argument("--misses", action="store_true", help="print misses and false alarms")
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput measuring time")
    args = parser.parse_args()

    items = load()
    policies = default_policies()
    full = pipeline(policies)
    floor = substring_floor(policies)
    t0 = time.perf_counter()
    analyse("warm up 预热")
    full("warm up the models 预热")
    warm = time.perf_counter() - t0
    ours = [full(i.text) for i in items]
    base = [floor(i.text) for i in items]
    result: dict[str, Any] = {
        "items": len(items),
        "pipeline": score(items, ours),
        "substring_floor": score(items, base),
        "model_load_seconds": round(warm, 2),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    texts = [i.text for i in items]
    result["throughput_items_per_s"] = round(throughput(full, texts, seconds=args.seconds), 1)
    result["floor_throughput_items_per_s"] = round(throughput(floor, texts, seconds=1.0), 1)
    if args.db:
        result["db_screen_items_per_s"] = round(asyncio.run(db_throughput(texts, args.db)), 1)

    print(f"# Moderation evaluation: {len(items)} labelled items ({EVAL_SET.relative_to(ROOT)})\n")
    print("\n".join(table("Screening pipeline (rules + classifiers + policies)", result["pipeline"])))
    print("\n".join(table("Floor: plain keyword substring filter", result["substring_floor"])))
    print(
        f"throughput, in process, one core: {result['throughput_items_per_s']} items/s "
        f"(floor {result['floor_throughput_items_per_s']})"
    )
    if "db_screen_items_per_s" in result:
        print(
            "throughput, service.screen on SQLite (one transaction per note): "
            f"{result['db_screen_items_per_s']} items/s"
        )
    print(f"model load and warm-up: {result['model_load_seconds']} s")
    if args.misses:
        print("\n## Misses and false alarms")
        for i, p in zip(items, ours, strict=True):
            if i.kind == "violation" and not p.violation:
                print(f"MISS  {i.id} {i.language} {i.category:9} {i.text!r}")
            elif i.kind in ("benign", "lookalike") and p.touched:
                print(f"FALSE {i.id} {i.language} {i.kind:9} {i.text!r} -> {p.regional}")
            elif i.kind == "regional" and any(p.regional.get(k, "allow") != v for k, v in i.regional.items()):
                print(f"REGION {i.id} {i.language} {i.category:9} {i.text!r} -> {p.regional} wanted {i.regional}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
