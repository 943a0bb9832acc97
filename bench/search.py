"""Search benchmark: index throughput and query latency on synthetic bilingual notes.

    .venv/bin/python bench/search.py --quick            # 100,000 notes, SQLite
    .venv/bin/python bench/search.py --notes 1000000    # the full size
    .venv/bin/python bench/search.py --quick --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench_search

What it does, per backend (SQLite FTS5 side file / PostgreSQL GIN; usearch for vectors on both):

1. Migrates a fresh database and bulk-inserts users and notes with SQLAlchemy Core
   (benchmark data, not activity). Note text is drawn from per-topic Chinese and
   English word pools; a tenth of the notes mix both scripts.
2. Indexing, measured three ways:
   * the real job path (``search.service.index_notes``: read the note, analyse, upsert the
     document) on a sample, in notes/s;
   * the bulk path for the rest: the same analysis functions, rows bulk-inserted;
   * embeddings: ``core.embeddings.embed`` throughput on distinct sentences. Every note's
     vector is its topic sentence's embedding plus small per-note noise, so building a 1M
     index does not take hours of encoder time on a 2-core box; the ANN index still holds
     one distinct vector per note.
3. Builds the serving indexes (FTS5 file on SQLite, usearch HNSW from ``search_vectors``).
4. Latency of the full ``search.service.search`` (keyword + ANN + RRF + ``visible_to`` +
   ranking) for 1-3 word queries in zh, en, mixed and cross-lingual (an English query whose
   topic is written only in Chinese and the reverse): p50/p95/p99 over the query set, next
   to the floor it stands on - the bare keyword backend and bare ANN lookups - as a ratio.

Results go to stdout and ``bench/results/search.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, text
from threadpoolctl import threadpool_limits

from bridgenote import migrate, registry
from bridgenote.config import Settings
from bridgenote.core import embeddings
from bridgenote.core.auth import ANONYMOUS
from bridgenote.core.ids import EPOCH_MS
from bridgenote.core.runtime import Runtime
from bridgenote.models import Base
from bridgenote.search import analysis, service
from bridgenote.search.backends import ts_vector
from bridgenote.search.models import SearchDocument, SearchVector

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SEED = 7

# topic: (Chinese words, English words, topic sentence zh, topic sentence en)
TOPICS = {
    "hotpot": (
        "火锅 麻辣 毛肚 鸭肠 锅底 重庆 牛油 蘸料",
        "hotpot spicy tripe broth chongqing tallow dipping numbing",
        "重庆麻辣火锅",
        "spicy chongqing hotpot",
    ),
    "coffee": (
        "咖啡 拿铁 拉花 手冲 豆子 烘焙 奶泡 美式",
        "coffee latte art pour over beans roast foam espresso",
        "咖啡拉花",
        "latte art coffee",
    ),
    "hiking": (
        "徒步 爬山 山顶 步道 登山鞋 露营 风景 日出",
        "hiking mountain summit trail boots camping view sunrise",
        "周末徒步爬山",
        "weekend mountain hiking",
    ),
    "skincare": (
        "护肤 面霜 敏感肌 精华 防晒 洁面 保湿 修护",
        "skincare cream sensitive serum sunscreen cleanser moisturizer barrier",
        "敏感肌护肤",
        "sensitive skin care",
    ),
    "travel": (
        "旅行 攻略 酒店 机票 景点 古镇 签证 行程",
        "travel guide hotel flight sights town visa itinerary",
        "旅行攻略",
        "travel itinerary guide",
    ),
    "fitness": (
        "健身 减脂 深蹲 卧推 蛋白粉 有氧 体脂 增肌",
        "fitness fat loss squat bench protein cardio muscle gym",
        "健身减脂",
        "gym fat loss",
    ),
    "cats": (
        "猫咪 橘猫 猫粮 铲屎 猫砂 逗猫棒 布偶 猫抓板",
        "cat kitten food litter toy ragdoll scratcher tabby",
        "我家猫咪",
        "my cat",
    ),
    "baking": (
        "烘焙 蛋糕 面包 酵种 黄油 奶油 烤箱 曲奇",
        "baking cake bread sourdough butter cream oven cookies",
        "在家烘焙面包",
        "home baking bread",
    ),
    "fashion": (
        "穿搭 通勤 衬衫 阔腿裤 外套 显高 配色 毛衣",
        "outfit office shirt trousers coat tall colors sweater",
        "通勤穿搭",
        "office outfit",
    ),
    "study": (
        "留学 雅思 申请 文书 硕士 奖学金 图书馆 考试",
        "study abroad ielts application essay masters scholarship library exam",
        "留学申请",
        "grad school application",
    ),
    "music": (
        "吉他 钢琴 和弦 演唱会 歌单 练琴 乐队 唱歌",
        "guitar piano chords concert playlist practice band singing",
        "学吉他",
        "learning guitar",
    ),
    "home": (
        "装修 收纳 家具 奶油风 绿植 客厅 卧室 灯具",
        "renovation storage furniture cream plants living bedroom lamps",
        "小户型装修",
        "small apartment renovation",
    ),
}
_GENERAL_ZH = "今天 周末 分享 推荐 真的 超级 喜欢 朋友 一起 好看 打卡 种草 记录 生活 日常 感觉"
_GENERAL_EN = "today weekend share love really great friends together nice lovely tried best daily life new"
GENERAL_ZH, GENERAL_EN = _GENERAL_ZH.split(), _GENERAL_EN.split()

QUERIES = {
    "zh": [
        "火锅",
        "麻辣火锅",
        "咖啡拉花",
        "徒步 山顶",
        "敏感肌 面霜",
        "旅行攻略",
        "健身 减脂 深蹲",
        "橘猫",
        "酵种面包",
        "通勤穿搭",
        "雅思",
        "装修 收纳",
    ],
    "en": [
        "hotpot",
        "spicy broth",
        "latte art",
        "hiking trail",
        "sensitive skin",
        "travel guide",
        "squat protein",
        "kitten",
        "sourdough bread",
        "office outfit",
        "ielts essay",
        "storage furniture",
    ],
    "mixed": [
        "火锅 spicy",
        "latte 拉花",
        "hiking 山顶",
        "skincare 面霜",
        "travel 攻略",
        "gym 减脂",
        "cat 猫粮",
        "烘焙 bread",
        "outfit 通勤",
        "ielts 申请",
        "guitar 和弦",
        "装修 cream",
    ],
    "cross-lingual": [
        "numbing broth",
        "espresso foam",
        "summit sunrise",
        "moisturizer serum",
        "visa itinerary",
        "cardio muscle",
        "litter scratcher",
        "oven cookies",
        "coat sweater",
        "scholarship masters",
        "piano concert",
        "lamps bedroom",
    ],
}


def note_text(rng: random.Random, topic: str, language: str) -> tuple[str, str]:
    zh, en, _szh, _sen = TOPICS[topic]
    zh_words, en_words = zh.split(), en.split()
    if language == "zh":
        words = rng.sample(zh_words, 3) + rng.sample(GENERAL_ZH, 3)
        return "".join(words[:2]), "，".join(["".join(rng.sample(words, 3)) for _ in range(3)])
    if language == "en":
        words = rng.sample(en_words, 3) + rng.sample(GENERAL_EN, 3)
        return " ".join(words[:2]).capitalize(), " ".join(rng.sample(words, len(words)))
    return "".join(rng.sample(zh_words, 2)), " ".join(rng.sample(zh_words, 2) + rng.sample(en_words, 3))


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p)) if values else float("nan")


def _vectors_for(
    by_topic: dict[str, np.ndarray[Any, Any]], topics: list[str], noise: np.random.Generator
) -> np.ndarray[Any, Any]:
    base = np.stack([by_topic[t] for t in topics])
    v = base + noise.normal(0, 0.35, base.shape).astype(np.float32) / np.sqrt(embeddings.DIM)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def build(runtime: Runtime, n: int, sample: int, rng: random.Random) -> dict[str, Any]:
    """Users, notes, documents and vectors, generated and written a chunk at a time so that 1M
    notes fit in memory. Returns the indexing figures."""
    figures: dict[str, Any] = {}
    users_t = Base.metadata.tables["users"]
    notes_t = Base.metadata.tables["notes"]
    start_ms = int(time.time() * 1000) - 60 * 86400 * 1000
    user_ids = [((start_ms - EPOCH_MS) << 22) + i for i in range(1, 201)]
    now = dt.datetime.now(dt.UTC)
    async with runtime.db.transaction() as session:
        await session.execute(
            insert(users_t),
            [
                {
                    "id": uid, "username": f"u{i}", "username_key": f"u{i}", "display_name": f"用户{i}", "bio": "",
                    "read_languages": ["en"], "write_languages": [], "ui_language": "en", "interests": [],
                    "settings": {}, "role": "user", "state": "active", "totp_enabled": False, "follower_count": 0,
                    "following_count": 0, "note_count": 0, "likes_received": 0, "created_at": now,
                }
                for i, uid in enumerate(user_ids)
            ],
        )  # fmt: skip
    topics = list(TOPICS)
    sentences = [s for _zh, _en, szh, sen in TOPICS.values() for s in (szh, sen)]
    topic_vectors = embeddings.embed(sentences)
    by_topic = {topic: (topic_vectors[2 * k] + topic_vectors[2 * k + 1]) for k, topic in enumerate(TOPICS)}
    noise = np.random.default_rng(SEED)
    is_pg = not runtime.db.is_sqlite
    step = (60 * 86400 * 1000) // max(n, 1)
    seq = (int(time.time() * 1000) - EPOCH_MS) << 22
    sample_ids: list[int] = []
    embed_texts: list[str] = []
    spent = {"insert": 0.0, "analysis": 0.0, "docs": 0.0, "vectors": 0.0}
    chunk_size = 5000
    for chunk in range(0, n, chunk_size):
        rows: list[dict[str, Any]] = []
        meta: list[tuple[int, str, str, str]] = []  # id, topic, title, body
        for i in range(chunk, min(n, chunk + chunk_size)):
            topic = topics[i % len(topics)]
            # Cross-lingual queries target topic words that only one language uses in them.
            language = "mixed" if i % 10 == 0 else ("zh" if i % 2 else "en")
            title, body = note_text(rng, topic, language)
            created_ms = start_ms + i * step
            note_id = ((created_ms - EPOCH_MS) << 22) + (i & 0x3FFFFF) % 4096
            meta.append((note_id, topic, title, body))
            if len(embed_texts) < 2000:
                embed_texts.append(f"{title} {body}")
            rows.append(
                {
                    "id": note_id, "author_id": user_ids[i % len(user_ids)], "kind": "image", "title": title,
                    "body": body, "state": "published", "like_count": rng.randint(0, 500),
                    "save_count": rng.randint(0, 100), "comment_count": 0, "view_count": 0,
                    "created_at": dt.datetime.fromtimestamp(created_ms / 1000, dt.UTC),
                }
            )  # fmt: skip
        t = time.perf_counter()
        async with runtime.db.transaction() as session:
            await session.execute(insert(notes_t), rows)
        spent["insert"] += time.perf_counter() - t

        # The bulk path: the job's analysis functions, rows bulk-inserted (the sample goes through
        # the real job path below).
        t = time.perf_counter()
        docs = []
        for note_id, _topic, title, body in meta:
            if len(sample_ids) < sample:
                sample_ids.append(note_id)
                continue
            seq += 1
            title_terms, body_terms = " ".join(analysis.tokens(title)), " ".join(analysis.tokens(body))
            docs.append(
                {
                    "id": note_id, "kind": "note", "language": analysis.script_language(title + body),
                    "title_terms": title_terms, "body_terms": body_terms, "extra_terms": "",
                    "translation_terms": "", "translation_languages": [], "popularity": 0, "seq": seq,
                    "deleted": False, "tsv": ts_vector(title_terms, body_terms, "", "") if is_pg else None,
                }
            )  # fmt: skip
        spent["analysis"] += time.perf_counter() - t
        t = time.perf_counter()
        if docs:
            async with runtime.db.transaction() as session:
                await session.execute(insert(SearchDocument), docs)
        spent["docs"] += time.perf_counter() - t

        # One noisy copy of its topic's embedding per note (see the module docstring).
        t = time.perf_counter()
        matrix = _vectors_for(by_topic, [m[1] for m in meta], noise)
        vec_rows = []
        for (note_id, *_rest), v in zip(meta, matrix, strict=True):
            seq += 1
            vec_rows.append({"id": note_id, "seq": seq, "text_hash": "", "vector": embeddings.to_blob(v)})
        async with runtime.db.transaction() as session:
            await session.execute(insert(SearchVector), vec_rows)
        spent["vectors"] += time.perf_counter() - t
        if chunk and chunk % 100_000 == 0:
            sys.stderr.write(f"  {chunk:,} notes written\n")
    bulk = max(n - sample, 0)
    figures["insert_notes_s"] = spent["insert"]
    figures["index_bulk_notes_per_s"] = bulk / max(spent["analysis"] + spent["docs"], 1e-9)
    figures["analysis_notes_per_s"] = bulk / max(spent["analysis"], 1e-9)
    figures["store_vectors_s"] = spent["vectors"]

    # The real job path on the sample.
    t = time.perf_counter()
    for chunk in range(0, len(sample_ids), 100):
        async with runtime.db.transaction() as session:
            await service.index_notes(
                session, settings=runtime.settings, note_ids=sample_ids[chunk : chunk + 100], embed_queue=None
            )
    figures["index_job_path_notes_per_s"] = len(sample_ids) / max(time.perf_counter() - t, 1e-9)

    # Encoder throughput on distinct note texts.
    t = time.perf_counter()
    embeddings.embed(embed_texts)
    figures["embed_sentences_per_s"] = len(embed_texts) / (time.perf_counter() - t)
    return figures


def _sizes(url: str, tmp: Path) -> dict[str, float]:
    """On-disk sizes in MiB: the database (SQLite) and the FTS5 side file, the saved ANN index."""
    sizes: dict[str, float] = {}
    mib = 1024 * 1024
    if url.startswith("sqlite"):
        for name, path in (("sqlite_db_mib", tmp / "search.db"), ("fts_file_mib", tmp / "search.db.fts")):
            if path.exists():
                sizes[name] = path.stat().st_size / mib
    for saved in (tmp / "var" / "search").glob("notes-*.usearch"):
        sizes["ann_file_mib"] = saved.stat().st_size / mib
    return sizes


async def _pg_sizes(runtime: Runtime) -> dict[str, float]:
    async with runtime.db.transaction(write=False) as session:
        row = (
            await session.execute(
                text(
                    "SELECT pg_database_size(current_database()), pg_total_relation_size('search_documents'), "
                    "pg_relation_size('ix_search_documents_tsv')"
                )
            )
        ).one()
    mib = 1024 * 1024
    return {"pg_database_mib": row[0] / mib, "pg_search_documents_mib": row[1] / mib, "pg_gin_mib": row[2] / mib}


async def run_backend(
    url: str, n: int, sample: int, per_query: int, *, keep: Path | None, reuse: bool, profile: bool
) -> dict[str, Any]:
    rng = random.Random(SEED)
    requested = url
    with contextlib.ExitStack() as stack:
        if keep is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-search-")))
        else:
            tmp = keep / ("sqlite" if url.startswith("sqlite") else "postgresql")
            tmp.mkdir(parents=True, exist_ok=True)
        marker = tmp / "built.json"
        built: dict[str, Any] | None = None
        if reuse and marker.exists():
            built = json.loads(marker.read_text())
            if built.get("notes") != n or built.get("url") != requested:
                built = None
        if url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp}/search.db"
            if built is None:
                for leftover in [*tmp.glob("search.db*"), *(tmp / "var" / "search").glob("notes-*")]:
                    leftover.unlink()
        elif built is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
            for leftover in (tmp / "var" / "search").glob("notes-*"):
                leftover.unlink()
        if built is None:
            marker.unlink(missing_ok=True)
            await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(database_url=url, var_dir=tmp / "var", run_worker_in_process=False)
        runtime = Runtime.create(settings)
        try:
            engine_ = service.engine_for(runtime)
            if built is None:
                figures = await build(runtime, n, sample, rng)
                if not runtime.db.is_sqlite:
                    # A live database has planner statistics (autovacuum); a bulk-loaded one has none
                    # until analysed, and without them PostgreSQL picks plans a thousand times slower.
                    t = time.perf_counter()
                    async with runtime.db.transaction() as session:
                        await session.execute(text("ANALYZE"))
                    figures["analyze_s"] = time.perf_counter() - t
                t = time.perf_counter()
                await engine_.keywords.rebuild(lambda: runtime.db.transaction(write=False))
                figures["keyword_index_build_s"] = time.perf_counter() - t
                t = time.perf_counter()
                await engine_.vectors.rebuild()
                figures["ann_build_s"] = time.perf_counter() - t
                await asyncio.to_thread(engine_.vectors.save)
                if keep is not None:
                    marker.write_text(json.dumps({"notes": n, "url": requested, "figures": figures}))
                # Time searches as a web process started after a reindex does: loading the saved
                # indexes. The process that rebuilt keeps every rebuilt key in the vector index's
                # catch-up bookkeeping until the overlap window passes, and the bulk sequence numbers
                # here never leave it: each catch-up then re-filters a million keys (p95 near 400 ms
                # at 1M, against 31-37 ms for the same index loaded from its file).
                service.forget_engine(runtime)
                engine_ = service.engine_for(runtime)
            else:
                figures = dict(built["figures"])
                figures["reused"] = True
            t = time.perf_counter()
            async with runtime.db.transaction(write=False) as session:
                await engine_.catch_up(session)
            figures["load_indexes_s"] = time.perf_counter() - t
            figures["ann_size"] = len(engine_.vectors.index)
            engine_.dirty = False
            figures["load_average"] = os.getloadavg()
            latencies: dict[str, dict[str, float]] = {}
            profiler = cProfile.Profile() if profile else None
            # One untimed search first: loads the encoder and the segmenter, opens connections.
            async with runtime.db.transaction(write=False) as session:
                await service.search(session, runtime=runtime, viewer=ANONYMOUS, q="火锅 hotpot")
            for category, queries in QUERIES.items():
                full, floor, cpu = [], [], []
                for q in queries:
                    parsed = analysis.parse_query(q)
                    for _ in range(per_query):
                        if profiler is not None:
                            profiler.enable()
                        t, c = time.perf_counter(), time.process_time()
                        async with runtime.db.transaction(write=False) as session:
                            await service.search(session, runtime=runtime, viewer=ANONYMOUS, q=q)
                        full.append((time.perf_counter() - t) * 1000)
                        cpu.append((time.process_time() - c) * 1000)
                        if profiler is not None:
                            profiler.disable()
                        vector = embeddings.embed_query(parsed.text)
                        t = time.perf_counter()
                        async with runtime.db.transaction(write=False) as session:
                            await engine_.keywords.search(
                                session, kind="note", query=parsed, mode="all", limit=service.CANDIDATES
                            )
                        engine_.vectors.search(vector, service.CANDIDATES)
                        floor.append((time.perf_counter() - t) * 1000)
                latencies[category] = {
                    "p50": pct(full, 50), "p95": pct(full, 95), "p99": pct(full, 99),
                    "floor_p50": pct(floor, 50), "floor_p95": pct(floor, 95),
                    "ratio_p50": pct(full, 50) / max(pct(floor, 50), 1e-9),
                    # CPU time of the process (all its threads) per search: steadier than wall time
                    # on a shared machine, where the wall time includes waiting for a core.
                    "cpu_p50": pct(cpu, 50), "cpu_p95": pct(cpu, 95),
                }  # fmt: skip
            figures["latency_ms"] = latencies
            figures["load_average_after"] = os.getloadavg()
            figures.update(_sizes(url, tmp))
            if not runtime.db.is_sqlite:
                figures.update(await _pg_sizes(runtime))
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
                sys.stderr.write(out.getvalue())
            return figures
        finally:
            await service.close_for(runtime)
            await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 notes")
    parser.add_argument("--sample", type=int, default=2000, help="notes indexed through the real job path")
    parser.add_argument("--per-query", type=int, default=5, help="timed runs per query")
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (its schema is dropped)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", type=Path, help="build in this directory and keep it (default: a temporary one)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: skip building when it holds a database of this size"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the timed searches (stderr)")
    args = parser.parse_args()
    n = 100_000 if args.quick else args.notes
    registry.load_tasks()
    backends = ([] if args.no_sqlite else ["sqlite"]) + ([args.postgres] if args.postgres else [])
    results: dict[str, Any] = {"notes": n, "machine": platform.platform(), "cpus": os.cpu_count(), "backends": {}}
    for url in backends:
        name = "sqlite" if url == "sqlite" else "postgresql"
        sys.stderr.write(f"{name}: building {n:,} notes...\n")
        # As the app's lifespan does: one BLAS thread (the query encoder's small products lose more
        # to waking threads than they gain, and spinning threads take cores from other requests).
        with threadpool_limits(limits=1, user_api="blas"):
            figures = asyncio.run(
                run_backend(
                    url, n, min(args.sample, n), args.per_query, keep=args.keep, reuse=args.reuse, profile=args.profile
                )
            )
        results["backends"][name] = figures
        load = figures["load_average"]
        print(f"\n== {name}, {n:,} notes (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}) ==")
        for key in (
            "insert_notes_s", "index_job_path_notes_per_s", "index_bulk_notes_per_s", "analysis_notes_per_s",
            "embed_sentences_per_s", "store_vectors_s", "keyword_index_build_s", "ann_build_s", "ann_size",
            "sqlite_db_mib", "fts_file_mib", "pg_database_mib", "pg_search_documents_mib", "pg_gin_mib",
            "ann_file_mib",
        ):  # fmt: skip
            if key not in figures:
                continue
            value = figures[key]
            print(f"{key:<30}{value:>14,.1f}" if isinstance(value, float) else f"{key:<30}{value:>14,}")
        print(
            f"\n{'query latency (ms)':<16}{'p50':>8}{'p95':>8}{'p99':>8}{'floor p50':>11}{'floor p95':>11}{'ratio':>8}"
            f"{'cpu p50':>9}{'cpu p95':>9}"
        )
        for category, lat in figures["latency_ms"].items():
            print(
                f"{category:<16}{lat['p50']:>8.1f}{lat['p95']:>8.1f}{lat['p99']:>8.1f}"
                f"{lat['floor_p50']:>11.1f}{lat['floor_p95']:>11.1f}{lat['ratio_p50']:>8.2f}"
                f"{lat['cpu_p50']:>9.1f}{lat['cpu_p95']:>9.1f}"
            )
        after = figures["load_average_after"]
        print(f"load average after: {after[0]:.1f} {after[1]:.1f} {after[2]:.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
