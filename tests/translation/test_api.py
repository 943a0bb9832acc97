"""Translate / show original over the API: eager notes, on-demand comments, storage,
priorities, errors (503 + Retry-After, nothing stored), visibility, glossary, settings."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update

from bridgenote.config import TranslationSettings
from bridgenote.core import events
from bridgenote.core.jobs import Job, Worker
from bridgenote.core.runtime import Runtime
from bridgenote.translation.catalog import get_spec
from bridgenote.translation.install import marker
from bridgenote.translation.models import StoredTranslation, TranslationSubject
from tests.translation.conftest import post_comment, post_note
from tests.translation.fakes import FakeLibreTranslate

Drain = Callable[[], Awaitable[int]]


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_note_is_translated_eagerly_and_served_from_the_store(
    person: Any, drain: Drain, runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    _author, author_client = await person(read_languages=["zh-Hans"], ui_language="zh-Hans")
    _reader, reader_client = await person(read_languages=["en"])
    note_id = await post_note(author_client, title="周末去爬山", body="今天天气很好 #徒步 @nobody 🏔️")
    await drain()
    assert await count(runtime, TranslationSubject, TranslationSubject.object_id == note_id) == 1

    response = await reader_client.get(f"/api/v1/translations/note/{note_id}?target=en")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done"
    assert body["source"] == "zh-Hans"
    assert body["machine_translation"] is True and body["label"] == "Machine translation"
    assert body["fields"]["title"]["original"] == "周末去爬山"
    assert body["fields"]["title"]["translation"] == "zhou mo qu pa shan"
    # The tag, the mention and the emoji were never sent to the translator and come back as written.
    assert body["fields"]["body"]["translation"].endswith("#徒步 @nobody 🏔️")
    assert all("#" not in r["q"] and "🏔" not in r["q"] for r in libre.requests)
    asked = len(libre.requests)

    # Stored: a second reader (and a second look) never reaches the provider.
    again = await author_client.get(f"/api/v1/translations/note/{note_id}?target=en")
    assert again.json()["fields"]["title"]["translation"] == "zhou mo qu pa shan"
    assert len(libre.requests) == asked
    # The author's UI language is Chinese, the note's language too: nothing to do.
    same = await author_client.post(f"/api/v1/translations/note/{note_id}")
    assert same.status_code == 400 and same.json()["error"]["code"] == "same_language"


async def test_editing_a_note_translates_the_new_text(person: Any, drain: Drain, runtime: Runtime) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="我爱北京")
    await drain()
    assert (await client.get(f"/api/v1/translations/note/{note_id}?target=en")).json()["fields"]["body"][
        "translation"
    ] == "wo ai bei jing"
    assert (await client.patch(f"/api/v1/notes/{note_id}", json={"body": "我爱上海"})).status_code == 200
    await drain()
    body = (await client.get(f"/api/v1/translations/note/{note_id}?target=en")).json()
    assert body["status"] == "done"
    assert body["fields"]["body"]["translation"] == "wo ai shang hai"
    assert await count(runtime, StoredTranslation) == 2


async def test_comments_are_translated_on_demand_with_progress(
    person: Any, drain: Drain, runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    _author, author_client = await person()
    _reader, reader_client = await person()
    note_id = await post_note(author_client, body="hello everyone")
    comment_id = await post_comment(author_client, note_id, "这家店的咖啡很好喝")
    await drain()
    before = len(libre.requests)
    # Comments are not translated eagerly.
    looked = await reader_client.get(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert looked.json()["status"] == "not_requested"
    assert len(libre.requests) == before

    asked = await reader_client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "pending"
    assert asked.json()["queue_position"] == 0
    assert asked.headers["Retry-After"] == "1"
    polled = await reader_client.get(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert polled.json()["status"] == "pending" and polled.headers["Retry-After"] == "1"
    # Asking twice queues one job.
    assert (await reader_client.post(f"/api/v1/translations/comment/{comment_id}?target=en")).status_code == 202
    assert await count(runtime, Job, Job.name == "translation.translate", Job.state == "queued") == 1

    await drain()
    done = await reader_client.get(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert done.json()["status"] == "done"
    assert done.json()["fields"]["body"]["translation"] == "zhe jia dian de ka fei hen hao he"
    assert "Retry-After" not in done.headers
    repeat = await reader_client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert repeat.status_code == 200 and repeat.json()["status"] == "done"


async def test_on_demand_requests_run_before_background_backfill(person: Any, drain: Drain, runtime: Runtime) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "你好")
    await drain()
    for n in range(3):
        await post_note(client, body=f"第{n}篇笔记的内容")
    # Run only the event handlers: they queue the eager translations in the backfill queue.
    await Worker(runtime.db, runtime, queues=("default",)).drain()
    assert await count(runtime, Job, Job.queue == "backfill", Job.state == "queued") == 3
    response = await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 202
    claimed = await Worker(runtime.db, runtime).claim()
    assert claimed is not None and claimed[1] == "translation.translate"
    assert claimed[2]["kind"] == "comment"


async def test_provider_down_is_a_503_with_retry_after_and_nothing_is_stored(
    person: Any, drain: Drain, runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "你好世界")
    await drain()
    stored = await count(runtime, StoredTranslation)
    libre.down = True
    response = await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "translation_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert await count(runtime, Job, Job.name == "translation.translate", Job.queue == "interactive") == 0
    assert await count(runtime, StoredTranslation) == stored


async def test_provider_timing_out_mid_job_leaves_nothing_and_answers_503(
    person: Any, drain: Drain, runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "你好世界")
    await drain()
    assert (await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")).status_code == 202
    libre.delay = 2.5  # longer than the provider's 2 s timeout
    worker = Worker(runtime.db, runtime)
    for _attempt in range(3):
        async with runtime.db.transaction() as session:  # skip the retry backoff
            await session.execute(update(Job).where(Job.state == "queued").values(run_at=func.now()))
        await worker.run_one()
    libre.delay = 0
    assert await count(runtime, StoredTranslation, StoredTranslation.target == "en") == 0
    response = await client.get(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 503 and "Retry-After" in response.headers
    # Asking again after the provider is back runs the same job again.
    assert (await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")).status_code == 202
    await drain()
    assert (await client.get(f"/api/v1/translations/comment/{comment_id}?target=en")).json()["status"] == "done"


async def test_a_model_still_installing_says_so(person: Any, drain: Drain, runtime: Runtime, tmp_path: Any) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "你好世界")
    await drain()
    models = tmp_path / "models"
    models.mkdir()
    marker(get_spec("small").path(models)).write_text(f"{os.getpid()} 0\n")
    runtime.settings.translation = TranslationSettings(provider="llamacpp", model="small", models_dir=models)
    status = await client.get("/api/v1/translation/status")
    assert status.json()["state"] == "installing"
    response = await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_installing"
    assert response.headers["Retry-After"] == "60"
    # The rest of the site keeps working.
    assert (await client.get(f"/api/v1/notes/{note_id}")).status_code == 200


async def test_bad_input(person: Any, drain: Drain, runtime: Runtime) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    emoji = await post_comment(client, note_id, "👍👍🔥")
    japanese = await post_comment(client, note_id, "こんにちは、元気ですか")
    await drain()
    only_emoji = await client.post(f"/api/v1/translations/comment/{emoji}?target=zh-Hans")
    assert only_emoji.status_code == 200
    assert only_emoji.json()["status"] == "not_needed"
    assert only_emoji.json()["fields"]["body"]["translation"] == "👍👍🔥"
    unsupported = await client.post(f"/api/v1/translations/comment/{japanese}?target=en")
    assert unsupported.status_code == 422 and unsupported.json()["error"]["code"] == "unsupported_language"
    bad_target = await client.post(f"/api/v1/translations/note/{note_id}?target=fr")
    assert bad_target.status_code == 422
    assert (await client.post(f"/api/v1/translations/spaceship/{note_id}")).status_code == 404
    assert (await client.get("/api/v1/translations/note/999999999")).status_code == 404
    assert (await client.get("/api/v1/translations?kind=note&ids=a,b")).status_code == 400
    # Only the note's eager translation is stored; the refused requests left nothing.
    assert await count(runtime, StoredTranslation) == 1


async def test_translations_follow_the_visibility_of_the_original(person: Any, drain: Drain) -> None:
    _author, author_client = await person()
    other, other_client = await person()
    note_id = await post_note(author_client, body="公开的笔记")
    comment_id = await post_comment(author_client, note_id, "作者的评论")
    private = await author_client.post("/api/v1/boards", json={"title": "我的秘密收藏", "is_private": True})
    board_id = private.json()["id"]
    await drain()
    assert (await other_client.get(f"/api/v1/translations/note/{note_id}?target=en")).status_code == 200
    assert (await author_client.post(f"/api/v1/users/{other.username}/block")).status_code in (200, 201, 204)
    for path in (f"note/{note_id}", f"comment/{comment_id}", f"board/{board_id}"):
        assert (await other_client.get(f"/api/v1/translations/{path}?target=en")).status_code == 404, path
        assert (await other_client.post(f"/api/v1/translations/{path}?target=en")).status_code == 404, path
    anonymous = await other_client.post(f"/api/v1/translations/board/{board_id}?target=en")
    assert anonymous.status_code == 404
    own = await author_client.post(f"/api/v1/translations/board/{board_id}?target=en")
    assert own.status_code == 202


async def test_bios_and_boards(person: Any, drain: Drain, runtime: Runtime) -> None:
    author, client = await person()
    assert (await client.patch("/api/v1/me", json={"bio": "喜欢旅行和美食"})).status_code == 200
    board = await client.post("/api/v1/boards", json={"title": "Weekend trips", "description": "places to go"})
    await drain()
    assert await count(runtime, TranslationSubject, TranslationSubject.kind == "bio") == 1
    bio = await client.post(f"/api/v1/translations/bio/{author.id}?target=en")
    assert bio.status_code == 202
    titled = await client.post(f"/api/v1/translations/board/{board.json()['id']}?target=zh-Hans")
    assert titled.status_code == 202
    await drain()
    bio_done = (await client.get(f"/api/v1/translations/bio/{author.id}?target=en")).json()
    assert bio_done["fields"]["bio"]["translation"] == "xi huan lv xing he mei shi"
    board_done = (await client.get(f"/api/v1/translations/board/{board.json()['id']}?target=zh-Hans")).json()
    assert board_done["fields"]["title"]["translation"] == "词 词"
    assert board_done["fields"]["description"]["translation"] == "词 词 词"


async def test_translation_stored_event(person: Any, drain: Drain) -> None:
    seen: list[dict[str, Any]] = []

    async def listener(_event: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    events.listen("translation.stored", listener)
    try:
        _author, client = await person()
        note_id = await post_note(client, body="晚安")
        await drain()
    finally:
        events._listeners["translation.stored"].remove(listener)
    assert {"kind": "note", "object_id": note_id, "source": "zh-Hans", "target": "en"} in seen


async def test_failed_output_is_marked_failed_with_a_reason(
    person: Any, drain: Drain, libre: FakeLibreTranslate
) -> None:
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "这个真的很好吃")
    await drain()
    # The "translation" still has Chinese in it, on the first try and on the stricter retry.
    libre.script.extend(["this 真的 good", "this 真的 good"])
    assert (await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")).status_code == 202
    await drain()
    body = (await client.get(f"/api/v1/translations/comment/{comment_id}?target=en")).json()
    assert body["status"] == "failed"
    assert body["fields"]["body"]["failure_reason"] == "chinese_in_english_output"
    assert body["fields"]["body"]["translation"] is None


async def test_glossary_is_admin_editable_and_used(
    person: Any, drain: Drain, runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    _user, client = await person()
    _admin, admin_client = await person(role="admin")
    entry = {"source": "en", "target": "zh-Hans", "term": "sourdough", "translation": "酸面包"}
    assert (await client.put("/api/v1/translation/glossary", json=entry)).status_code == 403
    saved = await admin_client.put("/api/v1/translation/glossary", json=entry)
    assert saved.status_code == 200 and saved.json()["built_in"] is False
    listing = (await client.get("/api/v1/translation/glossary?source=en&target=zh-Hans")).json()
    terms = {e["term"]: e for e in listing}
    assert terms["sourdough"]["translation"] == "酸面包"
    assert terms["cat tax"]["built_in"] is True

    note_id = await post_note(client, body="My cat tax today: sourdough")
    await drain()
    body = (await client.get(f"/api/v1/translations/note/{note_id}?target=zh-Hans")).json()
    assert body["fields"]["body"]["translation"] == "词 猫税 词: 酸面包"

    deleted = await admin_client.delete(f"/api/v1/translation/glossary/{saved.json()['id']}")
    assert deleted.status_code == 200
    assert (await admin_client.delete(f"/api/v1/translation/glossary/{saved.json()['id']}")).status_code == 404


async def test_auto_translate_settings(person: Any, drain: Drain) -> None:
    _reader, client = await person(read_languages=["en"])
    defaults = (await client.get("/api/v1/me/translation-settings")).json()
    assert defaults["auto_translate_notes"] is True and defaults["auto_translate_comments"] is False
    _author, author_client = await person()
    chinese = await post_note(author_client, body="今天的晚饭")
    english = await post_note(author_client, body="tonight's dinner")
    await drain()
    page = (await client.get(f"/api/v1/translations?kind=note&ids={chinese},{english}&target=en")).json()
    flags = {int(item["id"]): item["auto_translate"] for item in page["items"]}
    assert flags == {chinese: True, english: False}
    changed = await client.patch("/api/v1/me/translation-settings", json={"auto_translate_notes": False})
    assert changed.json()["auto_translate_notes"] is False
    page = (await client.get(f"/api/v1/translations?kind=note&ids={chinese}&target=en")).json()
    assert page["items"][0]["auto_translate"] is False
    assert (await client.patch("/api/v1/me/translation-settings", json={"bogus": True})).status_code == 422


async def test_detect_endpoint_gives_segments_of_mixed_text(person: Any) -> None:
    _user, client = await person()
    found = (await client.post("/api/v1/translation/detect", json={"text": "今天去了三里屯 and it was amazing"})).json()
    assert found["language"] == "zh-Hans" and found["mixed"] is True
    assert [s["language"] for s in found["segments"]] == ["zh-Hans", "en"]
