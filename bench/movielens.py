"""Offline evaluation of the discover ranker against a public anchor: MovieLens-100k.

    .venv/bin/python bench/movielens.py            # all models, prints the table
    .venv/bin/python bench/movielens.py --wheel path/to/recbole-1.2.1-py3-none-any.whl

The data is the copy of MovieLens-100k inside the PyPI wheel ``recbole==1.2.1``
(``recbole/dataset_example/ml-100k/``). Without ``--wheel`` the script asks pip for
that wheel once (``pip download --no-deps``) and keeps the two files it reads under
``var/cache/ml-100k/``; nothing else is fetched.

Protocol (the one the reference figures in issue 7 use): every rating is a positive;
each user's interactions are shuffled with a fixed seed and split 8:1:1 into train,
validation and test; models see train only; every item is ranked for every user (full
ranking) with the user's train and validation items masked; metrics at 10 over the
test items.

Everything our ranker and re-rank choose is chosen on the validation split (models fitted
on train, scored on validation with train masked) and the test split is scored once,
with the chosen settings:

1. the hyper-parameters of the ranker's co-occurrence features (EASE's lambda, ItemKNN's
   neighbours), by the validation NDCG@10 of the fitted blend (:func:`choose_features`);
2. the blend weights, by the feed's own trainer on validation (:func:`fit_weights`);
3. the re-rank settings, by a coordinate search that keeps the best validation NDCG@10
   among settings whose validation Gini@10 and long-tail share@10 meet the targets
   (``--max-gini``, ``--min-longtail``; :func:`choose_rerank`).

Models: popularity, ItemKNN (cosine, 100 neighbours), EASE (lambda = 500), and the
feed's ranker (``bridgenote.feed.ranking``) with and without the fairness re-rank
(``bridgenote.feed.rerank``): once with the settings on the command line (by default
the production ones) and once with the settings chosen on validation. On MovieLens a
movie plays the part of a creator (its train popularity is its "follower count"),
genres play the part of topics, and the user's train history plays the part of the
interest profile.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bridgenote.feed import ranking, rerank

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "cache" / "ml-100k"
RESULTS = ROOT / "bench" / "results"
WHEEL = "recbole==1.2.1"
MEMBERS = ("ml-100k.inter", "ml-100k.item")
PREFIX = "recbole/dataset_example/ml-100k/"
SEED = 2020
K = 10
# Validation grids for the ranker's co-occurrence features (the production ranker has no
# such knobs; on MovieLens they are how "similarity" and "neighbours" are computed).
EASE_LAMBDAS = (200.0, 300.0, 500.0, 800.0)
KNN_NEIGHBOURS = (100, 200)
# Values the re-rank search may give each ``rerank.Config`` field (the command line's
# settings are added to them). ``creator_cap`` stays 1: each movie is its own creator and
# appears once among a user's candidates, so the cap never binds here. The exposure
# weight is the dial that meets the Gini target, so its grid is the finest.
RERANK_GRID: dict[str, tuple[float, ...]] = {
    "candidates": (100, 200, 400),
    "small_creator_boost": (0.0, 0.05, 0.1, 0.15, 0.2),
    "exploration_every": (0, 4, 10),
    "topic_penalty": (0.0, 0.15, 0.35),
    "topic_share": (0.4, 1.0),
}
EXPOSURE_WEIGHTS = (0.0, 0.02, 0.04, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.14, 0.16, 0.2, 0.25)


# ---------------------------------------------------------------- data


def fetch(wheel: Path | None) -> Path:
    """The directory holding ``ml-100k.inter`` and ``ml-100k.item``, extracting them once."""
    if all((CACHE / m).exists() for m in MEMBERS):
        return CACHE
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", tmp], check=True
            )
            wheel = next(Path(tmp).glob("recbole-*.whl"))
        CACHE.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            for member in MEMBERS:
                (CACHE / member).write_bytes(archive.read(PREFIX + member))
    return CACHE


@dataclass
class Data:
    n_users: int
    n_items: int
    train: np.ndarray  # (users, items) 0/1 float32
    valid: list[np.ndarray]  # per user: item indices
    test: list[np.ndarray]
    genres: np.ndarray  # (items, genres) 0/1 float32
    genre_names: list[str]


def load(directory: Path, *, seed: int = SEED) -> Data:
    rows = (directory / "ml-100k.inter").read_text().splitlines()[1:]
    pairs = [(int(u), int(i)) for u, i, *_ in (r.split("\t") for r in rows if r)]
    users = sorted({u for u, _ in pairs})
    items = sorted({i for _, i in pairs})
    uidx = {u: n for n, u in enumerate(users)}
    iidx = {i: n for n, i in enumerate(items)}
    per_user: list[list[int]] = [[] for _ in users]
    for u, i in pairs:
        per_user[uidx[u]].append(iidx[i])
    rng = np.random.default_rng(seed)
    train = np.zeros((len(users), len(items)), dtype=np.float32)
    valid: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for u, its in enumerate(per_user):
        arr = np.array(sorted(set(its)))
        rng.shuffle(arr)
        n = len(arr)
        n_train = int(n * 0.8)
        n_valid = int(n * 0.1)
        train[u, arr[:n_train]] = 1.0
        valid.append(arr[n_train : n_train + n_valid])
        test.append(arr[n_train + n_valid :])
    genres, names = _genres(directory / "ml-100k.item", iidx)
    return Data(len(users), len(items), train, valid, test, genres, names)


def _genres(path: Path, iidx: dict[int, int]) -> tuple[np.ndarray, list[str]]:
    lines = path.read_text(encoding="latin-1").splitlines()
    header = lines[0].split("\t")
    col = next(n for n, h in enumerate(header) if h.startswith("class"))
    rows = [line.split("\t") for line in lines[1:] if line]
    names = sorted({g for r in rows for g in r[col].split()})
    gidx = {g: n for n, g in enumerate(names)}
    out = np.zeros((len(iidx), len(names)), dtype=np.float32)
    for r in rows:
        item = int(r[0])
        if item in iidx:
            for g in r[col].split():
                out[iidx[item], gidx[g]] = 1.0
    return out, names


# ---------------------------------------------------------------- baselines


def popularity(train: np.ndarray) -> np.ndarray:
    return np.broadcast_to(train.sum(axis=0), train.shape).copy()


def itemknn(train: np.ndarray, *, k: int = 100, shrink: float = 0.0) -> np.ndarray:
    norms = np.sqrt(train.sum(axis=0)) + 1e-9
    sim = (train.T @ train) / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(sim, 0.0)
    # Keep each item's k most similar items (RecBole's ItemKNN keeps the top k per column).
    if k < sim.shape[0]:
        cut = np.partition(sim, -k, axis=0)[-k]
        sim = np.where(sim >= cut[None, :], sim, 0.0)
    return train @ sim


def ease_weights(train: np.ndarray, *, lam: float = 500.0) -> np.ndarray:
    gram = (train.T @ train).astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b.astype(np.float32)


def ease(train: np.ndarray, *, lam: float = 500.0) -> np.ndarray:
    return train @ ease_weights(train, lam=lam)


# ---------------------------------------------------------------- metrics


def top_k(scores: np.ndarray, masks: list[np.ndarray], k: int = K) -> np.ndarray:
    s = scores.astype(np.float64, copy=True)
    for u, m in enumerate(masks):
        s[u, m] = -np.inf
    part = np.argpartition(-s, k, axis=1)[:, :k]
    order = np.take_along_axis(s, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def gini(counts: np.ndarray) -> float:
    x = np.sort(counts.astype(np.float64))
    n = len(x)
    if x.sum() == 0:
        return 0.0
    idx = np.arange(1, n + 1)
    return float((2 * idx - n - 1).dot(x) / (n * x.sum()))


def evaluate(recs: np.ndarray, truth: list[np.ndarray], *, n_items: int, tail: np.ndarray) -> dict[str, float]:
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    recall = ndcg = hit = 0.0
    users = 0
    for u, items in enumerate(truth):
        if len(items) == 0:
            continue
        users += 1
        rel = np.isin(recs[u], items)
        hits = rel.sum()
        recall += hits / len(items)
        hit += float(hits > 0)
        idcg = discounts[: min(len(items), K)].sum()
        ndcg += float(discounts[rel].sum() / idcg)
    exposure = np.bincount(recs.ravel(), minlength=n_items)
    return {
        "recall@10": recall / users,
        "ndcg@10": ndcg / users,
        "hit@10": hit / users,
        "coverage@10": float((exposure > 0).mean()),
        "gini@10": gini(exposure),
        "longtail@10": float(tail[recs].mean()),
    }


# ---------------------------------------------------------------- our ranker


def _rowscale(m: np.ndarray) -> np.ndarray:
    """Per-user scaling to [0, 1] over the unmasked items, so features from different
    models share one scale before the linear blend."""
    lo = m.min(axis=1, keepdims=True)
    hi = m.max(axis=1, keepdims=True)
    return (m - lo) / np.maximum(hi - lo, 1e-9)


@dataclass
class Features:
    """One matrix per ranking feature, (users, items); the feed ranker's features on MovieLens."""

    names: tuple[str, ...]
    mats: list[np.ndarray]


def features(
    d: Data,
    train: np.ndarray,
    *,
    lam: float = 500.0,
    k: int = 100,
    cache: dict[tuple[str, float], np.ndarray] | None = None,
) -> Features:
    """The ranker's features for every (user, item), all computed from ``train`` alone and
    each scaled to [0, 1]: ``lam`` is EASE's ridge for "similarity", ``k`` ItemKNN's
    neighbours for "neighbours". ``cache`` (keyed by feature and parameter) lets a
    validation grid reuse the matrices it has already computed."""
    cache = {} if cache is None else cache
    pop = train.sum(axis=0)
    # Interest-vector similarity: the feed embeds notes and averages what the user engaged
    # with; here items are embedded by the co-occurrence model (EASE's item-item weights).
    if ("similarity", lam) not in cache:
        cache["similarity", lam] = _rowscale(train @ ease_weights(train, lam=lam))
    if ("neighbours", k) not in cache:
        cache["neighbours", k] = _rowscale(itemknn(train, k=k))
    similarity = cache["similarity", lam]
    neighbours = cache["neighbours", k]
    # Topic affinity: the user's genre profile (weighted like the feed's topic weights) against item genres.
    profile = train @ d.genres
    profile = profile / np.maximum(profile.sum(axis=1, keepdims=True), 1e-9)
    gnorm = d.genres / np.maximum(d.genres.sum(axis=1, keepdims=True), 1.0)
    topic = _rowscale(profile @ gnorm.T)
    engagement = np.broadcast_to(np.log1p(pop) / np.log1p(pop.max()), train.shape)
    creator_size = engagement  # a movie is its own creator: its audience is its popularity
    names = ("similarity", "neighbours", "topic_affinity", "engagement", "creator_size")
    return Features(names, [similarity, neighbours, topic, engagement, creator_size])


def blend(f: Features, weights: dict[str, float]) -> np.ndarray:
    """The ranker's score of every (user, item): the weighted sum of the named features."""
    out = np.zeros_like(f.mats[0], dtype=np.float32)
    for name, m in zip(f.names, f.mats, strict=True):
        out += np.float32(weights.get(name, 0.0)) * m
    return out


def fit_weights(
    f: Features, d: Data, masks: list[np.ndarray], target: list[np.ndarray], *, tail: np.ndarray
) -> dict[str, float]:
    """Learn the blend on the validation split with the feed's own trainer (logistic
    regression on sampled positives and negatives), then pick the scale of the
    creator-size term by validation NDCG."""
    rng = np.random.default_rng(SEED)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    stack = np.stack(f.mats, axis=-1)
    for u, pos in enumerate(target):
        if len(pos) == 0:
            continue
        # Negatives are drawn from the items the candidate stage would return (the hard ones).
        s = stack[u, :, 0].copy()
        s[masks[u]] = -np.inf
        cand = np.argpartition(-s, 200)[:200]
        neg = rng.choice(np.setdiff1d(cand, pos), size=min(len(cand) - len(pos), 4 * len(pos)), replace=False)
        xs.append(stack[u, np.concatenate([pos, neg])])
        ys.append(np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    learned = ranking.fit_logistic(x, y, names=f.names, l2=1e-3)
    best = dict(learned)
    best_ndcg = -1.0
    for scale in (0.0, 0.5, 1.0, 1.5):
        w = dict(learned)
        w["creator_size"] = learned.get("creator_size", 0.0) * scale
        recs = top_k(blend(f, w), masks)
        score = evaluate(recs, target, n_items=d.n_items, tail=tail)["ndcg@10"]
        if score > best_ndcg:
            best, best_ndcg = w, score
    return best


@dataclass
class Ranker:
    """The fitted feed ranker: its features, weights, and the validation choices behind them."""

    features: Features
    weights: dict[str, float]
    lam: float
    k: int
    valid: dict[str, float]  # validation metrics of the blend


def choose_features(d: Data, masks: list[np.ndarray], target: list[np.ndarray], *, tail: np.ndarray) -> Ranker:
    """Fit the blend (:func:`fit_weights`) for every (EASE lambda, ItemKNN neighbours) in
    the grids and keep the pair whose blend ranks ``target`` best (NDCG@10, items in
    ``masks`` excluded). Pass the validation split: features come from train only."""
    cache: dict[tuple[str, float], np.ndarray] = {}
    best: Ranker | None = None
    for lam in EASE_LAMBDAS:
        for k in KNN_NEIGHBOURS:
            f = features(d, d.train, lam=lam, k=k, cache=cache)
            weights = fit_weights(f, d, masks, target, tail=tail)
            metrics = evaluate(top_k(blend(f, weights), masks), target, n_items=d.n_items, tail=tail)
            if best is None or metrics["ndcg@10"] > best.valid["ndcg@10"]:
                best = Ranker(f, weights, lam, k, metrics)
    assert best is not None
    return best


def fair_lists(
    scores: np.ndarray, masks: list[np.ndarray], d: Data, *, tail: np.ndarray, config: rerank.Config
) -> np.ndarray:
    """The feed's fairness re-rank over each user's top ``config.candidates`` items (those in
    ``masks`` excluded), users served in a fixed random order so the exposure each item
    has already had (across users) feeds the next user's page. Returns (users, K) items.

    Calls :func:`rerank.choose` over arrays, as the feed's read path does; the pages are
    the ones :func:`rerank.rerank` builds from ``rerank.Item`` objects (a movie is its own
    creator, its genres in genre order are its topics, and a long-tail movie is both a
    small creator and eligible for the exploration slot)."""
    exposure = np.zeros(d.n_items, dtype=np.float64)
    out = np.zeros((d.n_users, K), dtype=np.int64)
    s = scores.astype(np.float64, copy=True)
    for u, m in enumerate(masks):
        s[u, m] = -np.inf
    topics = [np.flatnonzero(d.genres[i]) for i in range(d.n_items)]
    no_other = np.zeros(config.candidates, dtype=bool)
    order = np.random.default_rng(SEED).permutation(d.n_users)
    for u in order:
        cand = np.argpartition(-s[u], config.candidates)[: config.candidates]
        cand = cand[np.argsort(-s[u, cand])]
        per_item = [topics[i] for i in cand]
        page = rerank.choose(
            scores=s[u, cand],
            creators=cand.astype(np.int64),
            topic_rows=np.repeat(np.arange(len(cand)), [len(t) for t in per_item]).astype(np.int64),
            topic_cols=np.concatenate(per_item).astype(np.int64),
            small=tail[cand],
            fresh=tail[cand],
            exposure=exposure[cand],
            other=no_other[: len(cand)],
            size=K,
            config=config,
        )
        keys = cand[page]
        out[u] = keys
        exposure[keys] += 1.0
    return out


@dataclass
class RerankChoice:
    """The outcome of :func:`choose_rerank`."""

    config: rerank.Config
    valid: dict[str, float]  # validation metrics of the chosen settings
    feasible: bool  # whether they meet both targets on validation
    tried: int  # settings evaluated


def choose_rerank(
    scores: np.ndarray,
    masks: list[np.ndarray],
    target: list[np.ndarray],
    d: Data,
    *,
    tail: np.ndarray,
    start: rerank.Config,
    max_gini: float,
    min_longtail: float,
) -> RerankChoice:
    """Re-rank settings for the ranker's ``scores``, chosen on ``target`` (pass validation).

    A setting that meets both targets (Gini@10 <= ``max_gini``, long-tail share@10 >=
    ``min_longtail``) beats one that does not; among those that do, higher NDCG@10 wins;
    among those that do not, the smaller shortfall wins.

    The search: for any values of the other fields, the exposure weight is set to the
    smallest of :data:`EXPOSURE_WEIGHTS` that meets the targets (a larger weight spreads
    exposure further and costs NDCG), found by stepping from the current weight. The
    other fields of :data:`RERANK_GRID` are searched one at a time from ``start``, each
    candidate value with its own exposure weight, in sweeps until a sweep changes nothing.
    (Plain coordinate search stalls on the Gini boundary, where a better value of one field
    is only feasible with a larger exposure weight; a full grid would take many minutes,
    as every setting costs one pass over all users.)
    """
    seen: dict[rerank.Config, dict[str, float]] = {}

    def key(config: rerank.Config) -> tuple[bool, float, float]:
        if config not in seen:
            recs = fair_lists(scores, masks, d, tail=tail, config=config)
            seen[config] = evaluate(recs, target, n_items=d.n_items, tail=tail)
        m = seen[config]
        shortfall = max(0.0, m["gini@10"] - max_gini) + max(0.0, min_longtail - m["longtail@10"])
        return (shortfall == 0.0, -shortfall, m["ndcg@10"])

    weights = sorted({*EXPOSURE_WEIGHTS, start.exposure_weight})

    def dial(config: rerank.Config) -> rerank.Config:
        """``config`` with the smallest exposure weight that meets the targets (the largest
        weight if none does), stepping down from its own weight or up to a feasible one."""
        i = weights.index(config.exposure_weight)
        at = [replace(config, exposure_weight=w) for w in weights]
        if key(at[i])[0]:
            while i > 0 and key(at[i - 1])[0]:
                i -= 1
        else:
            while i + 1 < len(at) and not key(at[i])[0]:
                i += 1
        return at[i]

    best = dial(start)
    for _ in range(10):  # a sweep that changes nothing ends the search; 10 is a safety net
        before = best
        for field, values in RERANK_GRID.items():
            cast = type(getattr(start, field))  # candidates and exploration_every are ints
            options = sorted({*values, getattr(best, field)})
            best = max((dial(replace(best, **{field: cast(v)})) for v in options), key=key)
        if best == before:
            break
    return RerankChoice(best, seen[best], key(best)[0], len(seen))


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    d = load(fetch(args.wheel))
    pop = d.train.sum(axis=0)
    # Long tail: the bottom 80% of items by train popularity.
    order = np.argsort(pop, kind="stable")
    tail = np.zeros(d.n_items, dtype=bool)
    tail[order[: int(0.8 * d.n_items)]] = True
    test_masks = [np.concatenate([np.flatnonzero(d.train[u]), d.valid[u]]) for u in range(d.n_users)]
    valid_masks = [np.flatnonzero(d.train[u]) for u in range(d.n_users)]
    results: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}

    def measure(name: str, fn: Callable[[], np.ndarray]) -> None:
        start = time.perf_counter()
        recs = fn()
        timings[name] = time.perf_counter() - start
        results[name] = evaluate(recs, d.test, n_items=d.n_items, tail=tail)

    measure("popularity", lambda: top_k(popularity(d.train), test_masks))
    measure("ItemKNN (k=100)", lambda: top_k(itemknn(d.train, k=100), test_masks))
    measure("EASE (lambda=500)", lambda: top_k(ease(d.train, lam=500.0), test_masks))

    # Validation only from here to the test runs below: features from train, scored on
    # the validation split with train masked.
    start = time.perf_counter()
    ranker = choose_features(d, valid_masks, d.valid, tail=tail)
    config = rerank.Config(
        candidates=args.candidates,
        creator_cap=1,
        exploration_every=args.explore_every,
        exposure_weight=args.exposure_weight,
        small_creator_boost=args.small_boost,
        topic_penalty=args.topic_penalty,
    )
    chosen = choose_rerank(
        blend(ranker.features, ranker.weights),
        valid_masks,
        d.valid,
        d,
        tail=tail,
        start=config,
        max_gini=args.max_gini,
        min_longtail=args.min_longtail,
    )
    timings["validation"] = time.perf_counter() - start

    # Test, once per model, with what validation chose (the same train-only features).
    blended = blend(ranker.features, ranker.weights)
    measure("feed ranker", lambda: top_k(blended, test_masks))
    measure("feed ranker + fairness re-rank", lambda: fair_lists(blended, test_masks, d, tail=tail, config=config))
    measure(
        "feed ranker + fairness re-rank (settings chosen on validation)",
        lambda: fair_lists(blended, test_masks, d, tail=tail, config=chosen.config),
    )
    return {
        "dataset": {"users": d.n_users, "items": d.n_items, "interactions": int(d.train.sum())},
        "split": "per-user random 8:1:1, seed 2020; full ranking; train+valid masked",
        "weights": ranker.weights,
        "rerank": config.__dict__,
        "validation": {
            "features": {"ease_lambda": ranker.lam, "itemknn_k": ranker.k, "metrics": ranker.valid},
            "rerank": {
                "targets": {"max_gini@10": args.max_gini, "min_longtail@10": args.min_longtail},
                "chosen": chosen.config.__dict__,
                "metrics": chosen.valid,
                "meets_targets": chosen.feasible,
                "settings_tried": chosen.tried,
            },
        },
        "results": results,
        "seconds": timings,
    }


def table(report: dict[str, Any]) -> str:
    cols = ("recall@10", "ndcg@10", "hit@10", "coverage@10", "gini@10", "longtail@10")
    out = io.StringIO()
    out.write(f"| model | {' | '.join(cols)} |\n|---|{'---|' * len(cols)}\n")
    for name, m in report["results"].items():
        out.write(f"| {name} | {' | '.join(f'{m[c]:.4f}' for c in cols)} |\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help="a local recbole-1.2.1 wheel (else pip downloads it once)")
    parser.add_argument("--candidates", type=int, default=100, help="candidates the re-rank sees per user")
    parser.add_argument("--explore-every", type=int, default=rerank.Config.exploration_every)
    parser.add_argument("--exposure-weight", type=float, default=rerank.Config.exposure_weight)
    parser.add_argument("--small-boost", type=float, default=rerank.Config.small_creator_boost)
    parser.add_argument("--topic-penalty", type=float, default=rerank.Config.topic_penalty)
    parser.add_argument(
        "--max-gini", type=float, default=0.80, help="validation target the re-rank search must meet (Gini@10 at most)"
    )
    parser.add_argument(
        "--min-longtail", type=float, default=0.10, help="validation target the re-rank search must meet (long tail@10)"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "movielens.json")
    args = parser.parse_args(argv)
    report = run(args)
    print(table(report))
    print("blend weights:", json.dumps({k: round(v, 3) for k, v in report["weights"].items()}))
    valid = report["validation"]
    print("features chosen on validation:", json.dumps({k: valid["features"][k] for k in ("ease_lambda", "itemknn_k")}))
    rr = valid["rerank"]
    print(
        "re-rank chosen on validation:",
        json.dumps(rr["chosen"]),
        f"(validation ndcg@10 {rr['metrics']['ndcg@10']:.4f}, gini@10 {rr['metrics']['gini@10']:.4f},",
        f"longtail@10 {rr['metrics']['longtail@10']:.4f}; meets targets: {rr['meets_targets']};",
        f"{rr['settings_tried']} settings tried)",
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
