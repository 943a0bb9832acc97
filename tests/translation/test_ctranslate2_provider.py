"""The ``ctranslate2`` provider's real loading and decoding code, on tiny models built here.

No model is downloaded: SentencePiece models are trained on a few hundred generated lines,
and a one-layer Transformer is written with CTranslate2's own spec API. Its weights are
random, except that the zh-Hans -> en model's decoder is wired to always answer
"hello world" (each token's embedding points at the next one's projection row, and the
decoder layers add nothing), so the service path has an output the checks accept; the
en -> zh-Hans model can never emit its end token, so every answer runs to the bound.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import pytest
import sentencepiece as spm
from sqlalchemy import func, select

from bridgenote.config import TranslationSettings
from bridgenote.core.runtime import Runtime
from bridgenote.translation import service
from bridgenote.translation.models import StoredTranslation
from bridgenote.translation.providers import (
    CTranslate2Provider,
    Output,
    ProviderUnavailable,
    Request,
    output_token_bound,
)
from tests.translation.conftest import post_comment, post_note

Drain = Callable[[], Awaitable[int]]
HAN = re.compile(r"[\u4e00-\u9fff]")
EN_WORDS = ("hello", "world", "coffee", "good", "today", "weather", "mountain", "friend", "happy", "city", "tea")
ZH_CHARS = "你好世界今天天气很好咖啡朋友城市山走路喝茶开心"
DIM, FFN, HEADS = 16, 32, 2
ANSWER = ("▁hello", "▁world")
VERSIONS = {"zh-Hans-en": "tiny-zh-en-1", "en-zh-Hans": "tiny-en-zh-1"}


def train_sentencepiece(lines: list[str]) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=64,
        hard_vocab_limit=False,  # the generated text has fewer distinct pieces than that
        model_type="unigram",
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _weight_shape(name: str, source_vocab: int, target_vocab: int) -> tuple[int, ...]:
    parts = name.split("/")
    leaf, owner = parts[-1], parts[-2]
    if leaf in ("gamma", "beta"):
        return (DIM,)
    if owner.startswith("embeddings"):
        return (source_vocab if parts[0] == "encoder" else target_vocab, DIM)
    if owner == "projection":
        return (target_vocab, DIM)
    block = parts[-3]
    if block == "ffn":
        return (FFN, DIM) if owner == "linear_0" else (DIM, FFN)
    if block == "self_attention":  # fused query/key/value, then the output
        return (3 * DIM, DIM) if owner == "linear_0" else (DIM, DIM)
    if block == "attention":  # query, fused key/value over the encoder output, then the output
        return (2 * DIM, DIM) if owner == "linear_1" else (DIM, DIM)
    raise AssertionError(f"unexpected weight {name}")


def build_model(
    where: Path, source_spm: bytes, target_spm: bytes, *, version: str | None, answer: tuple[str, ...] | None
) -> None:
    """A one-layer Transformer in ``where`` laid out as CTranslate2Provider expects. With
    ``answer``, the decoder writes those target pieces then ends, whatever the input; without,
    it writes random pieces and never ends."""
    source = spm.SentencePieceProcessor(model_proto=source_spm)
    target = spm.SentencePieceProcessor(model_proto=target_spm)
    spec = ctranslate2.specs.TransformerSpec.from_config(1, HEADS)
    spec.register_source_vocabulary([source.id_to_piece(i) for i in range(source.get_piece_size())])
    spec.register_target_vocabulary([target.id_to_piece(i) for i in range(target.get_piece_size())])
    rng = np.random.default_rng(1)

    def fill(layer: Any, name: str, value: Any) -> None:
        if value is not None:
            return
        leaf = name.split("/")[-1]
        shape = _weight_shape(name, source.get_piece_size(), target.get_piece_size())
        if leaf == "gamma":
            setattr(layer, leaf, np.ones(shape, np.float32))
        elif leaf == "beta":
            setattr(layer, leaf, np.zeros(shape, np.float32))
        else:
            setattr(layer, leaf, rng.normal(0.0, 0.5, shape).astype(np.float32))

    ctranslate2.specs.model_spec.visit_spec(spec, fill)
    decoder = spec.decoder
    end = target.piece_to_id("</s>")
    if answer is None:
        bias = np.zeros(target.get_piece_size(), np.float32)
        bias[end] = -1e4
        decoder.projection.bias = bias
    else:
        for layer in decoder.layer:
            layer.self_attention.linear[1].weight[:] = 0
            layer.attention.linear[2].weight[:] = 0
            layer.ffn.linear_1.weight[:] = 0
        embeddings = np.zeros((target.get_piece_size(), DIM), np.float32)
        projection = np.zeros((target.get_piece_size(), DIM), np.float32)
        chain = [target.piece_to_id("<s>"), *(target.piece_to_id(p) for p in answer), end]
        assert len(set(chain)) == len(chain) and 0 not in chain, chain  # distinct, none unknown
        for step, (previous, following) in enumerate(itertools.pairwise(chain)):
            # A zero-mean direction per step survives the decoder's final layer norm; the
            # embedding's size (x sqrt(DIM)) drowns the position encoding.
            direction = np.zeros(DIM, np.float32)
            direction[2 * step], direction[2 * step + 1] = 1.0, -1.0
            embeddings[previous] = 100 * direction
            projection[following] = 10 * direction
        decoder.embeddings.weight = embeddings
        decoder.projection.weight = projection
    spec.validate()
    spec.optimize()
    where.mkdir(parents=True)
    spec.save(str(where))
    (where / "source.spm").write_bytes(source_spm)
    (where / "target.spm").write_bytes(target_spm)
    if version is not None:
        (where / "bridgenote.json").write_text(json.dumps({"version": version}))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both directions, built once; tests that change files work on a copy (``models``)."""
    rng = random.Random(7)
    english = [" ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(3, 9))) for _ in range(300)]
    chinese = ["".join(rng.choice(ZH_CHARS) for _ in range(rng.randint(4, 12))) for _ in range(300)]
    en_spm, zh_spm = train_sentencepiece(english), train_sentencepiece(chinese)
    root = tmp_path_factory.mktemp("ctranslate2")
    build_model(root / "zh-Hans-en", zh_spm, en_spm, version=VERSIONS["zh-Hans-en"], answer=ANSWER)
    build_model(root / "en-zh-Hans", en_spm, zh_spm, version=VERSIONS["en-zh-Hans"], answer=None)
    return root


@pytest.fixture
def models(built: Path, tmp_path: Path) -> Path:
    where = tmp_path / "ctranslate2"
    shutil.copytree(built, where)
    return where


async def test_status_says_what_is_missing(models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for directory in (empty, tmp_path / "absent"):
        provider = CTranslate2Provider(directory=directory, threads=1)
        status = await provider.status()
        assert status.state == "missing" and str(directory) in status.detail, status
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.translate([Request("你好世界", "zh-Hans", "en")])
        assert raised.value.code == "translation_unavailable" and raised.value.retry_after == 300

    provider = CTranslate2Provider(directory=models, threads=1)
    assert (await provider.status()).state == "ready"
    for module in ("ctranslate2", "sentencepiece"):
        with monkeypatch.context() as patched:
            patched.setitem(sys.modules, module, None)  # what a machine without it sees
            status = await provider.status()
            assert status.state == "unavailable" and "not installed" in status.detail, status
            with pytest.raises(ProviderUnavailable):
                await provider.translate([Request("你好世界", "zh-Hans", "en")])
    assert (await provider.status()).state == "ready"


async def test_a_batch_is_decoded_in_order_by_models_loaded_once(models: Path) -> None:
    provider = CTranslate2Provider(directory=models, threads=1)
    outputs = await provider.translate(
        [
            Request("你好世界", "zh-Hans", "en"),
            Request("hello coffee", "en", "zh-Hans"),
            Request("今天天气很好", "zh-Hans", "en"),
        ]
    )
    assert outputs[0] == Output("hello world", truncated=False)
    assert outputs[2] == Output("hello world", truncated=False)
    # The en -> zh-Hans model never ends: it stops at the bound, and says so.
    assert outputs[1].truncated and HAN.search(outputs[1].text), outputs[1]
    assert set(provider._loaded) == {"zh-Hans-en", "en-zh-Hans"}
    loaded = dict(provider._loaded)
    await provider.translate([Request("咖啡", "zh-Hans", "en")])
    assert all(provider._loaded[key] is loaded[key] for key in loaded)


class RecordingTranslator:
    """Passes calls to the real translator and keeps what was asked and answered."""

    def __init__(self, translator: Any) -> None:
        self.translator = translator
        self.calls: list[tuple[list[list[str]], dict[str, Any], list[list[str]]]] = []

    def translate_batch(self, batch: list[list[str]], **options: Any) -> Any:
        results = self.translator.translate_batch(batch, **options)
        self.calls.append((batch, options, [r.hypotheses[0] for r in results]))
        return results


async def test_the_output_is_bounded_by_the_input(models: Path) -> None:
    # A multi-target OPUS-MT model is told its target language by a first source token.
    settings = {"version": VERSIONS["en-zh-Hans"], "source_prefix": [">>cmn_Hans<<"]}
    (models / "en-zh-Hans" / "bridgenote.json").write_text(json.dumps(settings))
    provider = CTranslate2Provider(directory=models, threads=1)
    translator, source_spm, target_spm, prefix = provider._pair("en", "zh-Hans")
    assert prefix == [">>cmn_Hans<<"]
    recording = RecordingTranslator(translator)
    provider._loaded["en-zh-Hans"] = (recording, source_spm, target_spm, prefix)
    for text in ("hello", "hello coffee good today weather mountain friend happy city tea"):
        [output] = await provider.translate([Request(text, "en", "zh-Hans")])
        batch, options, [hypothesis] = recording.calls[-1]
        assert batch == [[">>cmn_Hans<<", *source_spm.encode(text, out_type=str)]]
        assert options["max_decoding_length"] == output_token_bound(len(batch[0]))
        # A runaway stops at the bound and is flagged, which the pipeline retries or refuses.
        assert len(hypothesis) == options["max_decoding_length"]
        assert output == Output(target_spm.decode(hypothesis), truncated=True)
    [finished] = await provider.translate([Request("你好", "zh-Hans", "en")])
    assert finished == Output("hello world", truncated=False)


async def test_the_engine_names_each_model_version(models: Path, tmp_path: Path) -> None:
    provider = CTranslate2Provider(directory=models, threads=1)
    assert provider.engine == "ctranslate2/en-zh-Hans:tiny-en-zh-1,zh-Hans-en:tiny-zh-en-1"
    # A new model version is a new engine, so its translations are made again.
    (models / "zh-Hans-en" / "bridgenote.json").write_text(json.dumps({"version": "tiny-zh-en-2"}))
    assert provider.engine == "ctranslate2/en-zh-Hans:tiny-en-zh-1,zh-Hans-en:tiny-zh-en-2"
    unversioned = tmp_path / "plain"
    shutil.copytree(models / "zh-Hans-en", unversioned / "zh-Hans-en")
    (unversioned / "zh-Hans-en" / "bridgenote.json").unlink()
    assert CTranslate2Provider(directory=unversioned).engine == "ctranslate2/plain"


async def test_a_pair_without_a_model_is_unsupported(models: Path) -> None:
    provider = CTranslate2Provider(directory=models, threads=1)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.translate([Request("こんにちは", "ja", "en")])
    assert raised.value.code == "unsupported_pair"
    shutil.rmtree(models / "en-zh-Hans")
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.translate([Request("hello", "en", "zh-Hans")])
    assert raised.value.code == "unsupported_pair"


async def test_a_broken_model_is_unavailable_not_a_crash(models: Path) -> None:
    (models / "zh-Hans-en" / "model.bin").write_bytes(b"not a model")
    provider = CTranslate2Provider(directory=models, threads=1)
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.translate([Request("你好世界", "zh-Hans", "en")])
    assert raised.value.code == "translation_unavailable"


async def test_the_service_stores_translations_under_the_engine_and_serves_them_again(
    models: Path, person: Any, drain: Drain, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.translation = TranslationSettings(
        provider="ctranslate2", ctranslate2_dir=models, threads=1, eager_notes=False, timeout_seconds=60.0
    )
    provider = service.engine_for(runtime.settings).provider
    assert isinstance(provider, CTranslate2Provider)
    _author, client = await person()
    note_id = await post_note(client, body="hello")
    first = await post_comment(client, note_id, "你好世界")
    await drain()
    assert (await client.get("/api/v1/translation/status")).json()["state"] == "ready"
    assert (await client.post(f"/api/v1/translations/comment/{first}?target=en")).status_code == 202
    await drain()
    body = (await client.get(f"/api/v1/translations/comment/{first}?target=en")).json()
    assert body["status"] == "done", body
    assert body["fields"]["body"]["translation"] == "hello world"
    assert body["engine"] == provider.engine == "ctranslate2/en-zh-Hans:tiny-en-zh-1,zh-Hans-en:tiny-zh-en-1"
    async with runtime.db.transaction(write=False) as session:
        rows = list(await session.scalars(select(StoredTranslation)))
    assert [(r.engine, r.source, r.target, r.text) for r in rows] == [(provider.engine, "zh-Hans", "en", "hello world")]

    # The same text elsewhere is served from the store: the model is not asked again.
    async def refuse(requests: Any) -> list[Output]:
        raise AssertionError(f"the provider was asked again: {requests}")

    monkeypatch.setattr(provider, "translate", refuse)
    second = await post_comment(client, note_id, "你好世界")
    await drain()
    again = await client.post(f"/api/v1/translations/comment/{second}?target=en")
    assert again.status_code == 200 and again.json()["fields"]["body"]["translation"] == "hello world", again.text

    # A new model version is a new engine: the stored row no longer answers for it.
    (models / "zh-Hans-en" / "bridgenote.json").write_text(json.dumps({"version": "tiny-zh-en-2"}))
    changed = (await client.get(f"/api/v1/translations/comment/{first}?target=en")).json()
    assert changed["status"] == "not_requested" and changed["engine"] != body["engine"], changed
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(StoredTranslation)) == 1
