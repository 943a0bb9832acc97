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
import datetime as dt
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, text

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


async def build(runtime: Runtime, n: int, sample: int, rng: random.Random) -> dict[str, Any]:
    """Users, notes, documents and vectors. Returns the indexing figures."""
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
    rows: list[dict[str, Any]] = []
    meta: list[tuple[int, str, str, str, str]] = []  # id, topic, language, title, body
    step = (60 * 86400 * 1000) // max(n, 1)
    for i in range(n):
        topic = topics[i % len(topics)]
        # Cross-lingual queries target topic words that only one language uses in them.
        language = "mixed" if i % 10 == 0 else ("zh" if i % 2 else "en")
        title, body = note_text(rng, topic, language)
        created_ms = start_ms + i * step
        note_id = ((created_ms - EPOCH_MS) << 22) + (i & 0x3FFFFF) % 4096
        meta.append((note_id, topic, language, title, body))
        rows.append(
            {
                "id": note_id, "author_id": user_ids[i % len(user_ids)], "kind": "image", "title": title,
                "body": body, "state": "published", "like_count": rng.randint(0, 500),
                "save_count": rng.randint(0, 100), "comment_count": 0, "view_count": 0,
                "created_at": dt.datetime.fromtimestamp(created_ms / 1000, dt.UTC),
            }
        )  # fmt: skip
    t = time.perf_counter()
    for chunk in range(0, n, 5000):
        async with runtime.db.transaction() as session:
            await session.execute(insert(notes_t), rows[chunk : chunk + 5000])
    figures["insert_notes_s"] = time.perf_counter() - t

    # 1. The real job path on a sample.
    sample_ids = [m[0] for m in meta[:sample]]
    t = time.perf_counter()
    for chunk in range(0, len(sample_ids), 100):
        async with runtime.db.transaction() as session:
            await service.index_notes(
                session, settings=runtime.settings, note_ids=sample_ids[chunk : chunk + 100], embed_queue=None
            )
    figures["index_job_path_notes_per_s"] = len(sample_ids) / (time.perf_counter() - t)

    # 2. Bulk path for the rest: same analysis, bulk rows.
    is_pg = not runtime.db.is_sqlite
    t = time.perf_counter()
    seq = (int(time.time() * 1000) - EPOCH_MS) << 22
    docs = []
    for note_id, _topic, _language, title, body in meta[sample:]:
        seq += 1
        title_terms, body_terms = " ".join(analysis.tokens(title)), " ".join(analysis.tokens(body))
        docs.append(
            {
                "id": note_id, "kind": "note", "language": analysis.script_language(title + body),
                "title_terms": title_terms, "body_terms": body_terms, "extra_terms": "", "translation_terms": "",
                "translation_languages": [], "popularity": 0, "seq": seq, "deleted": False,
                "tsv": ts_vector(title_terms, body_terms, "", "") if is_pg else None,
            }
        )  # fmt: skip
    analysed = time.perf_counter() - t
    for chunk in range(0, len(docs), 5000):
        async with runtime.db.transaction() as session:
            await session.execute(insert(SearchDocument), docs[chunk : chunk + 5000])
    figures["index_bulk_notes_per_s"] = len(docs) / max(time.perf_counter() - t, 1e-9)
    figures["analysis_notes_per_s"] = len(docs) / max(analysed, 1e-9)

    # 3. Embeddings: distinct sentences through the encoder, then one noisy vector per note.
    sentences = [s for _zh, _en, szh, sen in TOPICS.values() for s in (szh, sen)]
    extra = [meta[i][3] + " " + meta[i][4] for i in range(min(n, 2000))]
    t = time.perf_counter()
    embeddings.embed(extra)
    figures["embed_sentences_per_s"] = len(extra) / (time.perf_counter() - t)
    topic_vectors = embeddings.embed(sentences)
    by_topic = {topic: (topic_vectors[2 * k] + topic_vectors[2 * k + 1]) for k, topic in enumerate(TOPICS)}
    t = time.perf_counter()
    vec_rows = []
    noise = np.random.default_rng(SEED)
    for note_id, topic, _language, _title, _body in meta:
        seq += 1
        v = by_topic[topic] + noise.normal(0, 0.35, embeddings.DIM).astype(np.float32) / np.sqrt(embeddings.DIM)
        v /= np.linalg.norm(v)
        vec_rows.append({"id": note_id, "seq": seq, "text_hash": "", "vector": embeddings.to_blob(v)})
    for chunk in range(0, len(vec_rows), 5000):
        async with runtime.db.transaction() as session:
            await session.execute(insert(SearchVector), vec_rows[chunk : chunk + 5000])
    figures["store_vectors_s"] = time.perf_counter() - t
    return figures


async def run_backend(url: str, n: int, sample: int, per_query: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        if url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp}/search.db"
        else:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(database_url=url, var_dir=Path(tmp) / "var", run_worker_in_process=False)
        runtime = Runtime.create(settings)
        try:
            figures = await build(runtime, n, sample, rng)
            engine_ = service.engine_for(runtime)
            t = time.perf_counter()
            await engine_.keywords.rebuild(lambda: runtime.db.transaction(write=False))
            figures["keyword_index_build_s"] = time.perf_counter() - t
            t = time.perf_counter()
            await engine_.vectors.rebuild()
            figures["ann_build_s"] = time.perf_counter() - t
            figures["ann_size"] = len(engine_.vectors.index)
            engine_.dirty = False
            latencies: dict[str, dict[str, float]] = {}
            for category, queries in QUERIES.items():
                full, floor = [], []
                for q in queries:
                    parsed = analysis.parse_query(q)
                    for _ in range(per_query):
                        t = time.perf_counter()
                        async with runtime.db.transaction(write=False) as session:
                            await service.search(session, runtime=runtime, viewer=ANONYMOUS, q=q)
                        full.append((time.perf_counter() - t) * 1000)
                        vector = embeddings.embed_query(parsed.text)
                        t = time.perf_counter()
                        async with runtime.db.transaction(write=False) as session:
                            await engine_.keywords.search(session, kind="note", query=parsed, mode="all", limit=200)
                        engine_.vectors.search(vector, 200)
                        floor.append((time.perf_counter() - t) * 1000)
                latencies[category] = {
                    "p50": pct(full, 50), "p95": pct(full, 95), "p99": pct(full, 99),
                    "floor_p50": pct(floor, 50), "floor_p95": pct(floor, 95),
                    "ratio_p50": pct(full, 50) / max(pct(floor, 50), 1e-9),
                }  # fmt: skip
            figures["latency_ms"] = latencies
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
    args = parser.parse_args()
    n = 100_000 if args.quick else args.notes
    registry.load_tasks()
    backends = ([] if args.no_sqlite else ["sqlite"]) + ([args.postgres] if args.postgres else [])
    results: dict[str, Any] = {"notes": n, "machine": platform.platform(), "cpus": os.cpu_count(), "backends": {}}
    for url in backends:
        name = "sqlite" if url == "sqlite" else "postgresql"
        sys.stderr.write(f"{name}: building {n:,} notes...\n")
        figures = asyncio.run(run_backend(url, n, min(args.sample, n), args.per_query))
        results["backends"][name] = figures
        print(f"\n== {name}, {n:,} notes ==")
        for key in (
            "insert_notes_s", "index_job_path_notes_per_s", "index_bulk_notes_per_s", "analysis_notes_per_s",
            "embed_sentences_per_s", "store_vectors_s", "keyword_index_build_s", "ann_build_s", "ann_size",
        ):  # fmt: skip
            value = figures[key]
            print(f"{key:<30}{value:>14,.1f}" if isinstance(value, float) else f"{key:<30}{value:>14,}")
        print(
            f"\n{'query latency (ms)':<16}{'p50':>8}{'p95':>8}{'p99':>8}{'floor p50':>11}{'floor p95':>11}{'ratio':>8}"
        )
        for category, lat in figures["latency_ms"].items():
            print(
                f"{category:<16}{lat['p50']:>8.1f}{lat['p95']:>8.1f}{lat['p99']:>8.1f}"
                f"{lat['floor_p50']:>11.1f}{lat['floor_p95']:>11.1f}{lat['ratio_p50']:>8.2f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
