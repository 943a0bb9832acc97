"""``bridgenote seed``: a bilingual demo community (people, notes with photos, comments,
likes, boards and follows), written through the domain services like real activity.

Everything is decided up front by a random generator with a fixed seed, so two
machines get the same people and the same notes. Photos are drawn by
:mod:`bridgenote.seed_data.images` in worker processes while the database work
goes on, then uploaded through ``notes_service.store_upload``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import multiprocessing
import os
import random
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bridgenote import registry
from bridgenote.accounts import service as accounts_service
from bridgenote.accounts.models import User
from bridgenote.accounts.schemas import ProfileUpdate, UserCreate
from bridgenote.config import Settings
from bridgenote.core.images import make_avatar
from bridgenote.core.jobs import Worker
from bridgenote.core.runtime import Runtime
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import BoardCreate, CommentCreate, NoteCreate
from bridgenote.seed_data import images
from bridgenote.seed_data import text as T

SEED = 20250118  # the week RedNote met the TikTok refugees
DEMO_USERNAME = T.DEMO.username
DEMO_PASSWORD = "bridgenote-demo"
NOTES_PER_TRANSACTION = 25

ALT_TEXT = {
    "sky": ("Mountains at sunset", "山间日落"),
    "food": ("Dishes on the table, from above", "俯拍一桌菜"),
    "hotpot": ("A bubbling hotpot", "热气腾腾的火锅"),
    "cat": ("A cat sitting by the wall", "坐在墙边的猫咪"),
    "desk": ("An open notebook and a coffee on a desk", "书桌上的笔记本和咖啡"),
    "bottles": ("Skincare bottles on a shelf", "架子上的护肤品"),
    "bokeh": ("Out-of-focus city lights", "虚化的城市灯光"),
    "street": ("A street with lanterns", "挂着灯笼的街道"),
}
AVATAR_KIND = {
    "food": "food",
    "travel": "sky",
    "pets": "cat",
    "skincare": "bottles",
    "study": "desk",
    "fashion": "bokeh",
    "refugee": "cat",
}


# ---------------------------------------------------------------- the plan


@dataclass
class PlannedUser:
    persona: T.Persona
    username: str


@dataclass
class PlannedNote:
    author: int  # index into the planned users
    topic: str
    lang: str
    title: str
    body: str
    place_name: str | None
    photos: list[tuple[str, int, tuple[int, int]]]  # (scene, seed, size)


@dataclass
class SeedReport:
    users: int = 0
    notes: int = 0
    images: int = 0
    comments: int = 0
    likes: int = 0
    saves: int = 0
    boards: int = 0
    follows: int = 0
    jobs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _personas(count: int) -> list[T.Persona]:
    """The demo account, then the cast in order; past the cast, numbered look-alikes."""
    cast = [T.DEMO, *T.PERSONAS]
    if count <= len(cast):
        return cast[:count]
    extra: list[T.Persona] = []
    for n in itertools.count(2):
        for p in T.PERSONAS:
            if len(cast) + len(extra) >= count:
                return cast + extra
            extra.append(
                T.Persona(
                    f"{p.username}{n}",
                    f"{p.display_name} {n}"[:50],
                    p.lang,
                    p.region,
                    p.bio,
                    p.topics,
                    p.popularity / n,
                    p.bilingual,
                )
            )
    raise AssertionError("unreachable")


def _slots(rng: random.Random, lang: str, topic: str) -> dict[str, object]:
    """One place, dish, pet... per note, so the title, body and place name agree."""
    return {
        "place": rng.choice(T.PLACES.get(topic, T.PLACES["travel"])[lang]),
        "dish": rng.choice(T.DISHES[lang]),
        "pet": rng.choice(T.PET_NAMES[lang]),
        "product": rng.choice(T.PRODUCTS[lang]),
        "n": rng.choice((3, 5, 7, 12, 30, 47, 100)),
        "city": rng.choice(T.CITIES_EN),
    }


def _pick(table: dict[str, tuple[str, ...]], lang: str) -> tuple[str, ...]:
    return table.get(lang) or table[T.ZH if lang == T.ZH_HANT else T.EN]


HOTPOT = frozenset({"火锅", "火鍋", "hotpot"})


def _write_note(rng: random.Random, users: Sequence[PlannedUser], author: int, topic: str) -> PlannedNote:
    persona = users[author].persona
    lang = persona.lang
    slots = _slots(rng, lang, topic)
    title = rng.choice(_pick(T.TITLES[topic], lang)).format(**slots)
    parts = [rng.choice(_pick(T.OPENERS[topic], lang)).format(**slots)]
    details = _pick(T.DETAILS[topic], lang)
    # From a one-line caption to a small guide with every detail as a numbered list.
    if rng.random() < 0.15 and len(details) >= 4:
        parts.append("\n".join(f"{i}. {d.format(**slots)}" for i, d in enumerate(rng.sample(details, len(details)), 1)))
    else:
        for detail in rng.sample(details, k=min(len(details), rng.choice((0, 1, 1, 2, 2, 3)))):
            parts.append(detail.format(**slots))
    if rng.random() < 0.12 and len(users) > 1:
        other = (author + rng.randrange(1, len(users))) % len(users)  # anyone but the author
        parts.append(rng.choice(_pick(T.MENTION_LINES, lang)).format(user=users[other].username))
    closer = rng.choice(_pick(T.CLOSERS, lang))
    if closer:
        parts.append(closer)
    if persona.bilingual and rng.random() < 0.35:
        other_lang = T.EN if lang != T.EN else T.ZH
        parts.append(rng.choice(T.SECOND_LANGUAGE_LINES[other_lang]))
    tags = _pick(T.HASHTAGS[topic], lang)
    chosen = rng.sample(tags, k=rng.randint(min(2, len(tags)), min(5, len(tags))))
    if topic == "pets":  # the tag this whole demo is named after
        must = {T.EN: "cattax", T.ZH: "猫税", T.ZH_HANT: "貓稅"}[lang]
        if must not in chosen:
            chosen.insert(0, must)
    tag_line = " ".join(f"#{t}" for t in chosen)
    body = "\n\n".join(parts)
    # Never over the limits: drop middle paragraphs first, then cut.
    while len(body) + len(tag_line) + 2 > 1000 and len(parts) > 1:
        parts.pop(len(parts) // 2)
        body = "\n\n".join(parts)
    body = f"{body}\n\n{tag_line}"[:1000]
    place = str(slots["place"]) if topic in ("travel", "food", "fashion") and rng.random() < 0.6 else None
    # Cat tax is paid in photos; study notes and hellos are often just text.
    text_only = topic != "pets" and rng.random() < (0.35 if topic in ("study", "refugee") else 0.1)
    photos = []
    if not text_only:
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            scene, size = images.pick(rng, topic)
            photos.append((scene, rng.randrange(1 << 30), size))
        if topic == "food" and slots["dish"] in HOTPOT:
            photos[0] = ("hotpot", *photos[0][1:])
    if topic != "pets" and str(slots["pet"]) in body:  # a hello that pays its cat tax shows the cat
        cat = ("cat", rng.randrange(1 << 30), images.SIZES[0])
        photos = [cat, *photos[1:]]
    return PlannedNote(author, topic, lang, title[:100], body, place, photos)


def plan(
    user_count: int, note_count: int, *, taken: Collection[str] = ()
) -> tuple[list[PlannedUser], list[PlannedNote]]:
    """Decide every user and note. Pure: the same arguments give the same plan."""
    rng = random.Random(SEED)
    users = []
    for persona in _personas(max(2, user_count)):
        name = persona.username
        for n in itertools.count(2):
            if accounts_service.username_key(name) not in taken:
                break
            name = f"{persona.username}_{n}"[:30]
        users.append(PlannedUser(persona, name))
    cumulative = list(itertools.accumulate(u.persona.popularity for u in users))
    notes = []
    for _ in range(note_count):
        author = rng.choices(range(len(users)), cum_weights=cumulative)[0]
        topic = rng.choice(users[author].persona.topics)
        notes.append(_write_note(rng, users, author, topic))
    return users, notes


# ---------------------------------------------------------------- running it


def _render(args: tuple[str, int, tuple[int, int]]) -> bytes:
    scene, seed, size = args
    return images.render(scene, seed, size)


class _Renderer:
    """Draws photos in worker processes (or inline for a handful)."""

    def __init__(self, jobs: int) -> None:
        workers = min(4, os.cpu_count() or 1)
        # forkserver: forking a process that already runs database threads is unsafe.
        self.pool = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
            if jobs >= 100 and workers > 1
            else None
        )

    def submit(self, spec: tuple[str, int, tuple[int, int]]) -> Future[bytes] | bytes:
        return self.pool.submit(_render, spec) if self.pool else _render(spec)

    @staticmethod
    async def result(pending: Future[bytes] | bytes, spec: tuple[str, int, tuple[int, int]]) -> bytes:
        if isinstance(pending, bytes):
            return pending
        try:
            return await asyncio.wrap_future(pending)
        except BrokenProcessPool:
            # The worker processes could not start (e.g. a __main__ that cannot be re-imported).
            return await asyncio.to_thread(_render, spec)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


async def _existing_usernames(runtime: Runtime) -> set[str]:
    async with runtime.db.transaction(write=False) as session:
        return set((await session.scalars(select(User.username_key))).all())


async def _user_count(runtime: Runtime) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def run_seed(settings: Settings, *, users: int = 36, notes: int = 300, force: bool = False) -> SeedReport | None:
    """Load the demo community. Does nothing (returns ``None``) when the database already
    has accounts, unless ``force``; then a second cast is added under fresh usernames."""
    registry.load_tasks()
    runtime = Runtime.create(settings)
    try:
        if not force and await _user_count(runtime) > 0:
            print("The database already has users; not seeding (use --force to add the demo data anyway).")
            return None
        report = await _seed(runtime, users=users, notes=notes)
    finally:
        await runtime.close()
    print(
        f"Seeded {report.users} users, {report.notes} notes ({report.images} photos), {report.comments} comments, "
        f"{report.likes} likes, {report.saves} saves in {report.boards} boards, {report.follows} follows; "
        f"ran {report.jobs} background jobs."
    )
    print("Timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items()))
    print(f"Demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
    return report


async def _seed(runtime: Runtime, *, users: int, notes: int) -> SeedReport:
    report = SeedReport()
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = now - clock
        clock = now

    taken = await _existing_usernames(runtime)
    planned_users, planned_notes = plan(users, notes, taken=taken)
    rng = random.Random(SEED + 1)
    renderer = _Renderer(sum(len(n.photos) for n in planned_notes))
    try:
        # Photos render in the background while accounts are created.
        pending = [[renderer.submit(p) for p in note.photos] for note in planned_notes]
        accounts = await _create_users(runtime, planned_users, report)
        lap("users")
        await _follow(runtime, rng, accounts, planned_users, report)
        lap("follows")
        note_ids = await _create_notes(runtime, renderer, planned_notes, pending, accounts, report)
        lap("notes")
    finally:
        renderer.close()
    await _interact(runtime, rng, accounts, planned_users, planned_notes, note_ids, report)
    lap("interactions")
    worker = Worker(runtime.db, runtime)
    while ran := await worker.drain():
        report.jobs += ran
    lap("jobs")
    return report


async def _create_users(runtime: Runtime, planned: Sequence[PlannedUser], report: SeedReport) -> list[User]:
    created: list[User] = []
    avatars = await asyncio.gather(
        *(
            asyncio.to_thread(images.render, AVATAR_KIND[u.persona.topics[0]], i, (400, 400))
            for i, u in enumerate(planned)
        )
    )
    async with runtime.db.transaction() as session:
        for n, (u, photo) in enumerate(zip(planned, avatars, strict=True)):
            p = u.persona
            reads = [T.ZH, T.EN] if p.bilingual else [p.lang if p.lang != T.ZH_HANT else T.ZH_HANT]
            if p.lang == T.ZH_HANT:
                reads.append(T.ZH)
            user = await accounts_service.create_user(
                session,
                data=UserCreate(
                    username=u.username,
                    email=f"{u.username}@demo.bridgenote.example",
                    password=DEMO_PASSWORD,
                    display_name=p.display_name,
                    read_languages=reads,
                    write_languages=[p.lang, T.EN] if p.bilingual and p.lang != T.EN else [p.lang],
                    region=p.region,
                    ui_language="en" if p.lang == T.EN else "zh-Hans",
                    interests=list(p.topics),
                ),
            )
            viewer = accounts_service.viewer_for(user)
            await accounts_service.update_profile(
                session, viewer=viewer, data=ProfileUpdate(bio=p.bio, likes_public=n % 2 == 0)
            )
            avatar = await make_avatar(photo, max_bytes=runtime.settings.max_upload_bytes)
            key = f"a/{hashlib.sha256(avatar).hexdigest()[:2]}/{hashlib.sha256(avatar).hexdigest()}.webp"
            await runtime.storage.put(key, avatar, content_type="image/webp")
            await accounts_service.set_avatar(session, viewer=viewer, storage_key=key)
            created.append(user)
    report.users = len(created)
    return created


async def _follow(
    runtime: Runtime, rng: random.Random, accounts: Sequence[User], planned: Sequence[PlannedUser], report: SeedReport
) -> None:
    """Heavy-tailed: everyone follows a few people, mostly the popular ones."""
    weights = [u.persona.popularity**1.5 for u in planned]
    async with runtime.db.transaction() as session:
        for i, user in enumerate(accounts):
            others = [j for j in range(len(accounts)) if j != i]
            k = min(len(others), max(1, int(rng.lognormvariate(1.6, 0.6))))
            chosen: set[int] = set()
            while len(chosen) < k:
                chosen.add(rng.choices(others, weights=[weights[j] for j in others])[0])
            viewer = accounts_service.viewer_for(user)
            for j in sorted(chosen):
                await accounts_service.follow(session, viewer=viewer, username=accounts[j].username)
                report.follows += 1


async def _create_notes(
    runtime: Runtime,
    renderer: _Renderer,
    planned: Sequence[PlannedNote],
    pending: Sequence[Sequence[Future[bytes] | bytes]],
    accounts: Sequence[User],
    report: SeedReport,
) -> list[int]:
    ids: list[int] = []
    settings = runtime.settings
    for start in range(0, len(planned), NOTES_PER_TRANSACTION):
        async with runtime.db.transaction() as session:
            for note, photos in zip(
                planned[start : start + NOTES_PER_TRANSACTION],
                pending[start : start + NOTES_PER_TRANSACTION],
                strict=True,
            ):
                viewer = accounts_service.viewer_for(accounts[note.author])
                media_ids = []
                for spec, photo in zip(note.photos, photos, strict=True):
                    alt_en, alt_zh = ALT_TEXT[spec[0]]
                    media = await notes_service.store_upload(
                        session,
                        viewer=viewer,
                        storage=runtime.storage,
                        settings=settings,
                        data=await renderer.result(photo, spec),
                        alt_text=alt_en if note.lang == T.EN else alt_zh,
                    )
                    media_ids.append(media.id)
                created = await notes_service.create_note(
                    session,
                    viewer=viewer,
                    data=NoteCreate(title=note.title, body=note.body, place_name=note.place_name, media_ids=media_ids),
                    max_images=settings.max_images_per_note,
                )
                ids.append(created.id)
                report.images += len(media_ids)
    report.notes = len(ids)
    return ids


def _reads(user: PlannedUser, lang: str) -> bool:
    p = user.persona
    if p.bilingual:
        return True
    return (p.lang == T.EN) == (lang == T.EN)


async def _interact(
    runtime: Runtime,
    rng: random.Random,
    accounts: Sequence[User],
    planned_users: Sequence[PlannedUser],
    planned_notes: Sequence[PlannedNote],
    note_ids: Sequence[int],
    report: SeedReport,
) -> None:
    """Boards, likes, saves and comments. Popular authors get more of everything; people
    mostly engage with notes in a language they read, and photos cross the language line."""
    viewers = [accounts_service.viewer_for(u) for u in accounts]
    async with runtime.db.transaction() as session:
        boards: dict[int, dict[str, int]] = {}  # user -> topic -> board id
        for i, viewer in enumerate(viewers):
            topics = set(planned_users[i].persona.topics)
            options = [b for b in T.BOARDS if b[1] in topics] or list(T.BOARDS)
            for title, topic, private in rng.sample(options, k=min(len(options), rng.randint(0, 2))):
                board = await notes_service.create_board(
                    session, viewer=viewer, data=BoardCreate(title=title, is_private=private)
                )
                boards.setdefault(i, {})[topic] = board.id
                report.boards += 1

        for note, note_id in zip(planned_notes, note_ids, strict=True):
            author = planned_users[note.author].persona
            audience = [i for i in range(len(accounts)) if i != note.author]
            # Log-normal reach: most notes get a handful, a few take off.
            reach = rng.lognormvariate(math.log(1 + author.popularity), 0.7)
            comment_ids: list[tuple[int, str]] = []
            for i in audience:
                reader = planned_users[i]
                affinity = 1.0 if _reads(reader, note.lang) else (0.35 if note.photos else 0.08)
                if note.topic in reader.persona.topics:
                    affinity *= 1.6
                if rng.random() < min(0.95, 0.06 * reach * affinity):
                    await notes_service.like_note(session, viewer=viewers[i], note_id=note_id)
                    report.likes += 1
                    if rng.random() < 0.3:
                        board_id = boards.get(i, {}).get(note.topic)
                        await notes_service.save_note(session, viewer=viewers[i], note_id=note_id, board_id=board_id)
                        report.saves += 1
                if rng.random() < min(0.4, 0.012 * reach * affinity):
                    lang = reader.persona.lang if not reader.persona.bilingual else note.lang
                    body = rng.choice(_pick(T.TOPIC_COMMENTS[note.topic], lang) + _pick(T.COMMENTS, lang))
                    comment = await notes_service.create_comment(
                        session, viewer=viewers[i], note_id=note_id, data=CommentCreate(body=body)
                    )
                    comment_ids.append((comment.id, lang))
                    report.comments += 1
            # The author answers some comments, often in the commenter's language.
            for comment_id, lang in comment_ids:
                if rng.random() < 0.4:
                    reply_lang = lang if (author.bilingual or rng.random() < 0.5) else author.lang
                    body = rng.choice(_pick(T.REPLIES, reply_lang))
                    await notes_service.create_comment(
                        session,
                        viewer=viewers[note.author],
                        note_id=note_id,
                        data=CommentCreate(body=body, parent_id=comment_id),
                    )
                    report.comments += 1


__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "SeedReport", "plan", "run_seed"]
