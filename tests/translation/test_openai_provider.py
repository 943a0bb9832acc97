"""The ``openai`` provider against a real OpenAI-compatible server: llama-cpp-python's own
(``python -m llama_cpp.server``) on loopback, serving the small test model. One server per
module; the model's answers are checked only for what a 0.5B model reliably gets right."""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from bridgenote.config import TranslationSettings
from bridgenote.core.jobs import Job, Worker
from bridgenote.core.runtime import Runtime
from bridgenote.translation import prompts
from bridgenote.translation.models import StoredTranslation
from bridgenote.translation.providers import OpenAIProvider, ProviderUnavailable, Request
from tests.processes import free_port, running
from tests.translation.conftest import REPO_MODELS, SMALL_MODEL, needs_small_model, post_comment, post_note

pytestmark = [pytest.mark.slow, needs_small_model]

Drain = Callable[[], Awaitable[int]]
ALIAS = "qwen-small"
HAN = re.compile(r"[\u4e00-\u9fff]")
# The server loads a 0.5B model (a second or two) and evaluates nothing until asked; on a
# busy 2-core box the load alone has taken tens of seconds.
STARTUP_SECONDS = 180


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``.../v1``) of a llama.cpp OpenAI-compatible server on loopback."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(SMALL_MODEL.path(REPO_MODELS)),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        # One thread each: the box has two cores and the test process needs one of them.
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--verbose",
        "False",
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with running(
        command,
        name="llama_cpp.server",
        log_path=log_path,
        ready=lambda: httpx.get(f"{url}/models", timeout=2.0).status_code == 200,
        timeout=STARTUP_SECONDS,
        poll=0.5,
    ):
        yield url


def openai_settings(url: str, **overrides: Any) -> TranslationSettings:
    return TranslationSettings(
        provider="openai",
        openai_url=url,
        openai_model=ALIAS,
        eager_notes=False,
        **{"timeout_seconds": 120.0, **overrides},
    )


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_status_is_ready_while_the_server_answers(server: str, person: Any, runtime: Runtime) -> None:
    provider = OpenAIProvider(base_url=server, model=ALIAS)
    assert (await provider.status()).state == "ready"

    runtime.settings.translation = openai_settings(server)
    _user, client = await person()
    body = (await client.get("/api/v1/translation/status")).json()
    assert body["provider"] == "openai" and body["state"] == "ready", body
    assert body["engine"] == f"openai/{ALIAS}/p{prompts.PROMPT_VERSION}"


async def test_chinese_and_english_are_translated_and_stored_with_tags_and_links_intact(
    server: str, person: Any, drain: Drain, runtime: Runtime
) -> None:
    runtime.settings.translation = openai_settings(server)
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    link = "https://example.com/cafe?id=7"
    to_english = await post_comment(client, note_id, f"我今天很开心 #周末 {link}")
    to_chinese = await post_comment(client, note_id, f"I like this coffee very much #weekend {link}")
    await drain()

    asked = [
        await client.post(f"/api/v1/translations/comment/{to_english}?target=en"),
        await client.post(f"/api/v1/translations/comment/{to_chinese}?target=zh-Hans"),
    ]
    assert [a.status_code for a in asked] == [202, 202], [a.text for a in asked]
    await drain()

    english = (await client.get(f"/api/v1/translations/comment/{to_english}?target=en")).json()
    assert english["status"] == "done", english
    assert english["engine"] == f"openai/{ALIAS}/p{prompts.PROMPT_VERSION}"
    text = english["fields"]["body"]["translation"]
    # The tag and the link were masked, never sent to the model, and restored as written.
    assert "#周末" in text and link in text, text
    rest = text.replace("#周末", "").replace(link, "")
    assert re.search(r"[A-Za-z]{2}", rest) and not HAN.search(rest), text

    chinese = (await client.get(f"/api/v1/translations/comment/{to_chinese}?target=zh-Hans")).json()
    assert chinese["status"] == "done", chinese
    text = chinese["fields"]["body"]["translation"]
    assert "#weekend" in text and link in text, text
    assert HAN.search(text.replace("#weekend", "").replace(link, "")), text

    engine = english["engine"]
    assert await count(runtime, StoredTranslation, StoredTranslation.engine == engine) == 2


async def test_a_batch_is_answered_in_order(server: str) -> None:
    provider = OpenAIProvider(base_url=server, model=ALIAS, timeout=120.0)
    english, chinese = await provider.translate(
        [Request("我喜欢喝茶", "zh-Hans", "en"), Request("I like tea", "en", "zh-Hans")]
    )
    assert english.text and not HAN.search(english.text) and not english.truncated, english
    assert HAN.search(chinese.text) and not chinese.truncated, chinese


async def test_a_server_that_is_not_there_is_a_503_with_retry_after_and_nothing_is_stored(
    person: Any, drain: Drain, runtime: Runtime
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    provider = OpenAIProvider(base_url=nowhere, model=ALIAS, timeout=5.0)
    status = await provider.status()
    assert status.state == "unavailable" and status.retry_after > 0
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.translate([Request("你好世界", "zh-Hans", "en")])
    assert raised.value.code == "translation_unavailable"

    runtime.settings.translation = openai_settings(nowhere, timeout_seconds=5.0)
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "你好世界")
    await drain()
    response = await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "translation_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert await count(runtime, Job, Job.name == "translation.translate") == 0
    assert await count(runtime, StoredTranslation) == 0
    state = (await client.get("/api/v1/translation/status")).json()
    assert state["state"] == "unavailable", state


async def test_a_server_too_slow_for_the_timeout_is_a_503_and_nothing_is_stored(
    server: str, person: Any, runtime: Runtime
) -> None:
    # Generating even one token takes the server longer than this.
    impatient = 0.05
    provider = OpenAIProvider(base_url=server, model=ALIAS, timeout=impatient)
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await provider.translate([Request("今天天气很好", "zh-Hans", "en")])

    runtime.settings.translation = openai_settings(server, timeout_seconds=impatient)
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "今天天气很好")
    worker = Worker(runtime.db, runtime)
    await worker.drain()
    # The health probe answers quickly, so the request is queued; the job then times out.
    assert (await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")).status_code == 202
    for _attempt in range(3):
        async with runtime.db.transaction() as session:  # skip the retry backoff
            await session.execute(update(Job).where(Job.state == "queued").values(run_at=func.now()))
        await worker.run_one()
    response = await client.get(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "translation_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert await count(runtime, StoredTranslation) == 0
