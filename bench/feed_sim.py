"""Platform simulation of the Discover feed against popularity-only and following-only feeds.

    .venv/bin/python bench/feed_sim.py                 # 300 users, 400 creators, 10 days
    .venv/bin/python bench/feed_sim.py --quick         # 120 users, 150 creators, 6 days

A synthetic bilingual community runs for N simulated days, once per feed, from the same
seed. The Discover run uses the feed's real code: ``feed.pools`` (candidates, features,
ranking, fair re-rank), ``feed.profile`` (the online interest profile, updated on every
signal) and ``feed.cursor`` (the scroll session); only the database around it is left out.

World: topics are directions in the 512-d embedding space (a note's vector is its topic's
direction plus noise, the same in Chinese and English, as the multilingual encoder puts
them); each topic has an English and a Chinese hashtag. Creators write in one language
about one or two topics; their follower counts are log-normal (heavy-tailed: most have
under 1,000, a few have hundreds of thousands) and larger creators post more and a bit
better. Users have hidden interests (2-3 topics), read English, Chinese or both, pick
one interest at onboarding, follow ~15 creators (preferentially large ones), and 30% of
them set the language mix to 30%. Each day every user opens the app with probability
0.8 and scrolls 3 pages of 10; on each card they click with a probability that grows
with their hidden interest in its topic and its quality (less when it is in a language
they do not read), then like, save or comment; saves and likes feed back into the
notes' counters, the pools and (Discover only) their profile. On day ``--change-day``
a third of the users swap their interests for new ones (time to adapt).

Reported per feed: clicks and likes+saves per session, share of impressions to creators
with under 1,000 followers, creator-exposure Gini (all creators), distinct topics per
page, share of impressions in a language the reader does not read, and sessions until
half of a page matches the changed interests.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridgenote.core.ids import id_floor_for_ms
from bridgenote.feed import pools, ranking
from bridgenote.feed.cursor import SeenFilter
from bridgenote.feed.profile import Profile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DAY_MS = 86_400_000
START_MS = 1_790_000_000_000
PAGE = 10
PAGES_PER_SESSION = 3
SMALL = ranking.SMALL_CREATOR_FOLLOWERS


@dataclass
class Note:
    id: int
    creator: int
    topic: int
    language: str
    quality: float
    embedding: np.ndarray
    likes: int = 0
    saves: int = 0
    comments: int = 0
    views: int = 0
    trend: float = 0.0


@dataclass
class User:
    id: int
    interests: dict[int, float]
    languages: frozenset[str]
    follows: frozenset[int]
    onboarding: list[str]
    language_share: float | None
    profile: Profile = field(default_factory=Profile)
    changed: bool = False
    engaged: set[int] = field(default_factory=set)


@dataclass
class World:
    rng: np.random.Generator
    topics: int
    centroids: np.ndarray
    followers: np.ndarray
    creator_topics: list[list[int]]
    creator_language: list[str]
    creator_rate: np.ndarray
    users: list[User]
    notes: list[Note] = field(default_factory=list)
    next_id: int = 0

    def tags(self, topic: int, language: str) -> tuple[str, ...]:
        return (f"topic{topic}",) if language == "en" else (f"话题{topic}",)


def build_world(args: argparse.Namespace) -> World:
    rng = np.random.default_rng(args.seed)
    centroids = rng.standard_normal((args.topics, pools.DIM)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    followers = np.clip(10 ** rng.normal(2.4, 1.0, args.creators), 0, 3_000_000).astype(np.int64)
    creator_topics = [
        list(rng.choice(args.topics, size=rng.integers(1, 3), replace=False)) for _ in range(args.creators)
    ]
    creator_language = ["zh" if rng.random() < 0.5 else "en" for _ in range(args.creators)]
    rate = 0.25 + 0.15 * np.log10(1 + followers)  # notes per day
    users = []
    weights = followers.astype(np.float64) + 50
    for u in range(args.users):
        chosen = rng.choice(args.topics, size=rng.integers(2, 4), replace=False)
        interests = {int(t): float(w) for t, w in zip(chosen, rng.dirichlet(np.ones(len(chosen))), strict=True)}
        r = rng.random()
        languages = frozenset({"en"} if r < 0.5 else {"zh"} if r < 0.8 else {"en", "zh"})
        picked = rng.choice(args.creators, size=15, replace=False, p=weights / weights.sum())
        follows = frozenset(int(c) for c in picked)
        first = max(interests, key=lambda t: interests[t])
        onboarding = [f"topic{first}", f"话题{first}"]
        share = 0.3 if rng.random() < 0.3 else None
        users.append(User(u, interests, languages, follows, onboarding, share))
    return World(rng, args.topics, centroids, followers, creator_topics, creator_language, rate, users)


def post_notes(world: World, day: int) -> None:
    rng = world.rng
    for c in range(len(world.followers)):
        for _ in range(rng.poisson(world.creator_rate[c])):
            topic = int(rng.choice(world.creator_topics[c]))
            vec = (
                world.centroids[topic]
                + 0.9 * rng.standard_normal(pools.DIM).astype(np.float32) / math.sqrt(pools.DIM) * 8
            )
            vec /= np.linalg.norm(vec)
            ms = START_MS + day * DAY_MS + int(rng.integers(0, DAY_MS))
            note_id = id_floor_for_ms(ms) + world.next_id
            world.next_id += 1
            quality = float(np.clip(rng.beta(2, 5) + 0.04 * math.log10(1 + world.followers[c]), 0, 1))
            note = Note(note_id, c, topic, world.creator_language[c], quality, vec.astype(np.float32))
            # Followers' own engagement outside Discover (a big account's notes start popular).
            reach = world.followers[c] * 0.02
            note.views = int(rng.poisson(reach * 5))
            note.likes = int(rng.poisson(reach * quality * 0.5))
            note.saves = int(rng.poisson(reach * quality * 0.15))
            world.notes.append(note)
    horizon = START_MS + (day - 30) * DAY_MS
    world.notes = [n for n in world.notes if pools.note_ms(n.id) > horizon]


def build_pool(world: World, now_ms: int) -> tuple[pools.Pool, dict[int, Note]]:
    rows = [
        pools.PoolRow(
            note_id=n.id,
            author_id=n.creator,
            language=n.language,
            region=None,
            topics=world.tags(n.topic, n.language),
            embedding=n.embedding,
            likes=n.likes,
            saves=n.saves,
            comments=n.comments,
            views=n.views,
            trend=n.trend,
            followers=int(world.followers[n.creator]),
        )
        for n in world.notes
    ]
    ordered = sorted(rows, key=lambda r: r.note_id)
    return pools.Pool.build(ordered, now_ms=now_ms), {n.id: n for n in world.notes}


# ---------------------------------------------------------------- the three feeds


def discover_page(pool: pools.Pool, user: User, seen: SeenFilter, now_ms: int) -> list[int]:
    user.profile.other_language_share = user.language_share
    reader = pools.Reader(
        profile=user.profile,
        languages=user.languages,
        followed=user.follows,
        user_id=None,
        seen=seen,
        seed=seen.seed,
        page=seen.page,
        now_ms=now_ms,
    )
    picks = pools.rank(pool, reader, size=PAGE)
    pool.record_served(p.position for p in picks)
    # What the service's buffered "feed_seen" counts do to the profile after a flush.
    user.profile.discount_shown(pool.topics[p.position] for p in picks)
    return [p.note_id for p in picks]


def popular_page(pool: pools.Pool, by_id: dict[int, Note], seen: SeenFilter) -> list[int]:
    order = sorted(by_id.values(), key=lambda n: -(n.likes + 3 * n.saves))
    return [n.id for n in order if n.id not in seen][:PAGE]


def following_page(pool: pools.Pool, by_id: dict[int, Note], user: User, seen: SeenFilter) -> list[int]:
    mine = [n for n in by_id.values() if n.creator in user.follows and n.id not in seen]
    mine.sort(key=lambda n: -n.id)
    return [n.id for n in mine[:PAGE]]


# ---------------------------------------------------------------- behaviour and metrics


def react(world: World, user: User, note: Note, profile_updates: bool) -> tuple[int, int]:
    """(clicked, liked_or_saved) for one impression; updates counters and the profile."""
    rng = world.rng
    note.views += 1
    if note.id in user.engaged:
        return 0, 0
    interest = user.interests.get(note.topic, 0.0)
    readable = note.language in user.languages
    p_click = 0.02 + 0.75 * interest * (0.6 + 0.4 * note.quality) * (1.0 if readable else 0.6)
    if rng.random() >= p_click:
        return 0, 0
    user.engaged.add(note.id)
    signals = []
    if rng.random() < 0.5 + 0.4 * interest:
        note.likes += 1
        note.trend += 1
        signals.append("like")
    if rng.random() < 0.15 + 0.5 * interest * note.quality:
        note.saves += 1
        note.trend += 3
        signals.append("save")
    if rng.random() < 0.05:
        note.comments += 1
        signals.append("comment")
    if profile_updates:
        tags = world.tags(note.topic, note.language)
        for s in signals or ["view"]:
            user.profile.record(s, creator=note.creator, topics=tags, embedding=note.embedding)
    return 1, int(bool({"like", "save"} & set(signals)))


def gini(counts: np.ndarray) -> float:
    x = np.sort(counts.astype(np.float64))
    n = len(x)
    if x.sum() == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def run(feed: str, args: argparse.Namespace) -> dict[str, Any]:
    world = build_world(args)
    for u in world.users:
        u.profile.seed_interests(u.onboarding)
    for day in range(-3, 0):  # a few days of content before anyone reads
        post_notes(world, day)
    exposure = np.zeros(len(world.followers))
    sessions = clicks = keeps = 0
    small = impressions = other_lang = 0
    topics_per_page: list[int] = []
    adapt: dict[int, int | None] = {}
    changed_sessions: dict[int, int] = {}
    seconds = 0.0
    for day in range(args.days):
        post_notes(world, day)
        now = START_MS + day * DAY_MS + DAY_MS // 2
        pool, by_id = build_pool(world, now)
        for n in world.notes:
            n.trend *= 0.5
        if day == args.change_day:
            for u in world.users[: len(world.users) // 3]:
                new = [t for t in range(world.topics) if t not in u.interests]
                chosen = world.rng.choice(new, size=2, replace=False)
                u.interests = {int(chosen[0]): 0.6, int(chosen[1]): 0.4}
                u.changed = True
                adapt[u.id] = None
                changed_sessions[u.id] = 0
        for user in world.users:
            if world.rng.random() > 0.8:
                continue
            sessions += 1
            seen = SeenFilter(seed=int(world.rng.integers(0, 2**31)))
            for _page in range(PAGES_PER_SESSION):
                started = time.perf_counter()
                if feed == "discover":
                    ids = discover_page(pool, user, seen, now)
                elif feed == "popularity":
                    ids = popular_page(pool, by_id, seen)
                else:
                    ids = following_page(pool, by_id, user, seen)
                seconds += time.perf_counter() - started
                seen.add(ids)
                seen.page += 1
                if not ids:
                    break
                page_topics = {by_id[i].topic for i in ids}
                topics_per_page.append(len(page_topics))
                if user.changed and adapt.get(user.id) is None:
                    match = sum(by_id[i].topic in user.interests for i in ids) / len(ids)
                    if match >= 0.5:
                        adapt[user.id] = changed_sessions[user.id] + 1
                for i in ids:
                    note = by_id[i]
                    exposure[note.creator] += 1
                    impressions += 1
                    small += int(world.followers[note.creator] < SMALL)
                    other_lang += int(note.language not in user.languages)
                    c, k = react(world, user, note, profile_updates=feed == "discover")
                    clicks += c
                    keeps += k
            if user.changed:
                changed_sessions[user.id] += 1
    adapted = [v for v in adapt.values() if v is not None]
    return {
        "sessions": sessions,
        "clicks_per_session": clicks / max(sessions, 1),
        "likes_saves_per_session": keeps / max(sessions, 1),
        "small_creator_share": small / max(impressions, 1),
        "creator_gini": gini(exposure),
        "topics_per_page": float(np.mean(topics_per_page)) if topics_per_page else 0.0,
        "other_language_share": other_lang / max(impressions, 1),
        "adapted_users": f"{len(adapted)}/{len(adapt)}",
        "sessions_to_adapt_median": float(np.median(adapted)) if adapted else None,
        "ms_per_page": 1000 * seconds / max(len(topics_per_page), 1),
        "creators_under_1000": float((world.followers < SMALL).mean()),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    cols = [
        ("clicks_per_session", "clicks/session", "{:.2f}"),
        ("likes_saves_per_session", "likes+saves/session", "{:.2f}"),
        ("small_creator_share", "impressions to <1k creators", "{:.1%}"),
        ("creator_gini", "creator-exposure Gini", "{:.3f}"),
        ("topics_per_page", "topics/page (of 10)", "{:.2f}"),
        ("other_language_share", "other-language share", "{:.1%}"),
        ("sessions_to_adapt_median", "sessions to adapt (median)", "{}"),
        ("adapted_users", "adapted users", "{}"),
        ("ms_per_page", "ms/page", "{:.1f}"),
    ]
    out = io.StringIO()
    out.write("| feed | " + " | ".join(c[1] for c in cols) + " |\n|---|" + "---|" * len(cols) + "\n")
    for name, r in results.items():
        cells = [fmt.format(r[key]) if r[key] is not None else "never" for key, _label, fmt in cols]
        out.write(f"| {name} | " + " | ".join(cells) + " |\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller, shorter world")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--creators", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--change-day", type=int, default=None, help="the day a third of users change interests")
    parser.add_argument("--topics", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=RESULTS / "feed_sim.json")
    args = parser.parse_args(argv)
    args.users = args.users or (120 if args.quick else 300)
    args.creators = args.creators or (150 if args.quick else 400)
    args.days = args.days or (6 if args.quick else 10)
    args.change_day = args.change_day if args.change_day is not None else args.days // 2
    results = {feed: run(feed, args) for feed in ("discover", "popularity", "following")}
    share = results["discover"]["creators_under_1000"]
    print(f"{args.users} users, {args.creators} creators ({share:.0%} under 1,000 followers), {args.days} days")
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
