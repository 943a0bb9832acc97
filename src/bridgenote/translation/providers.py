"""Translation providers behind one interface, chosen by ``settings.translation.provider``.

* ``llamacpp`` (default): a local GGUF model through llama-cpp-python, in-process.
* ``openai``: any OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, Ollama, hosted APIs).
* ``ctranslate2``: converted MT models (OPUS-MT, NLLB, M2M-100) from a directory.
* ``libretranslate``: the HTTP API Mastodon also uses.

A provider turns already masked, already chunked text into text. Checking the
output, retrying and storing are the pipeline's job (``translator.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from bridgenote.config import TranslationSettings
from bridgenote.translation import install, prompts
from bridgenote.translation.catalog import ModelSpec, get_spec


class ProviderUnavailable(Exception):
    """The provider cannot translate now (down, timing out, model missing or installing)."""

    def __init__(self, reason: str, *, code: str = "translation_unavailable", retry_after: int = 30) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Request:
    """One chunk: ``text`` is masked (placeholders ``[[n]]``)."""

    text: str
    source: str
    target: str
    glossary: tuple[tuple[str, str], ...] = ()
    strict: bool = False


@dataclass(frozen=True)
class Output:
    text: str
    # The engine stopped at its token bound: the output ran away (repetition) or was cut.
    truncated: bool = False


@dataclass(frozen=True)
class Status:
    state: str  # ready | installing | missing | unavailable | disabled
    detail: str = ""
    retry_after: int = 0


class Provider(Protocol):
    name: str
    # Whether glossary terms and stricter wording can be given as instructions (LLMs);
    # otherwise the pipeline substitutes glossary terms itself.
    follows_instructions: bool

    @property
    def engine(self) -> str:
        """Provider, model and prompt version: part of the key of every stored translation."""
        ...

    async def status(self) -> Status: ...

    async def translate(self, requests: Sequence[Request]) -> list[Output]: ...


def output_token_bound(input_tokens: int) -> int:
    """Enough for a faithful translation (Chinese <-> English token counts differ by well
    under 2x), small enough that a model stuck repeating itself stops early."""
    return 2 * input_tokens + 24


def approx_tokens(text: str) -> int:
    """Upper-ish estimate without a tokenizer: ~1 token per CJK character, ~3 bytes per Latin token."""
    return len(text.encode("utf-8")) // 3 + 1


# ---------------------------------------------------------------- llamacpp

# A light repeat penalty keeps a small model from looping.
REPEAT_PENALTY = 1.05

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


class _LoadedModel:
    """One llama.cpp context per model file per process, shared by every runtime, used by
    one translation at a time (a context is not reentrant).

    Where the time goes, and what keeps it down:

    * Loading (a second or two) and evaluating the fixed prompt prefix (the system message
      and the worked examples, about 250 tokens: seconds on a small CPU) happen once per
      process, here. llama.cpp keeps the evaluated tokens in the KV cache and
      ``Llama.generate`` reuses the longest common prefix of the next prompt, so each
      request evaluates only its own user turn; this object must therefore live as long as
      the process and nothing else may run prompts through it.
    * The CJK ban list (a pass over the vocabulary) is built here too, not on the first
      English request.
    * ``max_tokens`` is bounded by the input's length (:func:`output_token_bound`).
    """

    def __init__(self, path: Path, *, threads: int, context_tokens: int) -> None:
        from llama_cpp import Llama

        started = time.perf_counter()
        self.llm = Llama(
            model_path=str(path),
            n_ctx=context_tokens,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
        self.lock = threading.Lock()
        self.context_tokens = context_tokens
        self._no_cjk: Any = None
        # Tokens evaluated so far; the last completion's prompt, and how much of it was evaluated.
        self.evaluated_tokens = 0
        self.last_prompt_tokens = 0
        self.last_prompt_evaluated = 0
        self._count_evaluations()
        self._cjk_tokens()
        self._warm()
        self.load_seconds = time.perf_counter() - started

    def _warm(self) -> None:
        """Evaluate the fixed prompt prefix into the KV cache before the first request."""
        with self.lock:
            self.llm.create_chat_completion(
                messages=prompts.messages("ok", target="en"),  # type: ignore[arg-type]
                temperature=0.0,
                top_k=1,
                max_tokens=1,
            )

    def _count_evaluations(self) -> None:
        """Count the tokens llama.cpp evaluates (prompt suffix and generated tokens): with the
        prefix cached, a request costs its own user turn and its output, not the whole prompt."""
        evaluate = self.llm.eval

        def counting(tokens: Any) -> None:
            self.evaluated_tokens += len(tokens)
            evaluate(tokens)

        self.llm.eval = counting  # type: ignore[method-assign]

    def _cjk_tokens(self) -> Any:
        """Ids of vocabulary entries that spell CJK text (or the UTF-8 lead bytes of it, since
        byte-level BPE splits characters): banned while writing English, which is how a small
        model's habit of leaving Chinese words in its English is stopped at the source."""
        if self._no_cjk is None:
            import numpy as np

            banned = []
            for token in range(self.llm.n_vocab()):
                piece = self.llm.detokenize([token])
                if any(0xE3 <= byte <= 0xE9 for byte in piece) or _CJK.search(piece.decode("utf-8", "ignore")):
                    banned.append(token)
            self._no_cjk = np.array(banned, dtype=np.intc)
        return self._no_cjk

    def complete(self, request: Request) -> Output:
        from llama_cpp import LogitsProcessorList

        turns = prompts.messages(request.text, target=request.target, glossary=request.glossary, strict=request.strict)
        with self.lock:
            processors = None
            if request.target == "en":
                banned = self._cjk_tokens()

                def no_cjk(_input_ids: Any, scores: Any) -> Any:
                    scores[banned] = -float("inf")
                    return scores

                processors = LogitsProcessorList([no_cjk])
            input_tokens = len(self.llm.tokenize(request.text.encode("utf-8"), add_bos=False))
            bound = min(output_token_bound(input_tokens), self.context_tokens // 2)
            before = self.evaluated_tokens
            result: Any = self.llm.create_chat_completion(
                messages=turns,  # type: ignore[arg-type]
                temperature=0.0,
                top_k=1,
                max_tokens=bound,
                repeat_penalty=REPEAT_PENALTY,
                logits_processor=processors,
            )
            usage = result.get("usage", {})
            self.last_prompt_tokens = int(usage.get("prompt_tokens", 0))
            # Each generated token but the last is fed back: what is left is the prompt's
            # uncached suffix (give or take the one token llama.cpp replays).
            self.last_prompt_evaluated = max(0, self.evaluated_tokens - before - int(usage.get("completion_tokens", 0)))
        choice = result["choices"][0]
        text = str(choice["message"]["content"] or "")
        return Output(text=prompts.clean_reply(text, request.text), truncated=choice.get("finish_reason") == "length")


_models: dict[tuple[str, int, int], _LoadedModel] = {}
_models_lock = threading.Lock()


def _load(path: Path, threads: int, context_tokens: int) -> _LoadedModel:
    key = (str(path.resolve()), threads, context_tokens)
    with _models_lock:
        found = _models.get(key)
        if found is None:
            found = _models[key] = _LoadedModel(path, threads=threads, context_tokens=context_tokens)
        return found


@dataclass
class LlamaCppProvider:
    spec: ModelSpec
    models_dir: Path
    threads: int
    context_tokens: int = 2048
    timeout: float = 60.0
    name: str = "llamacpp"
    follows_instructions: bool = True

    @property
    def engine(self) -> str:
        return f"llamacpp/{self.spec.name}-{self.spec.short_hash}/p{prompts.PROMPT_VERSION}"

    async def status(self) -> Status:
        state = install.model_state(self.spec, self.models_dir)
        if state == "ready":
            return Status("ready")
        if state == "installing":
            return Status("installing", f"model {self.spec.name} is installing", retry_after=60)
        return Status("missing", f"model {self.spec.name} is not installed (bridgenote models install)", 300)

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        status = await self.status()
        if status.state != "ready":
            code = "model_installing" if status.state == "installing" else "model_missing"
            raise ProviderUnavailable(status.detail, code=code, retry_after=status.retry_after)
        path = self.spec.path(self.models_dir)

        def run() -> list[Output]:
            model = _load(path, self.threads, self.context_tokens)
            return [model.complete(request) for request in requests]

        try:
            return await asyncio.wait_for(asyncio.to_thread(run), timeout=self.timeout * max(1, len(requests)))
        except TimeoutError:
            raise ProviderUnavailable("the local model timed out", retry_after=30) from None
        except (OSError, ValueError, RuntimeError) as exc:  # a corrupt or unloadable model file
            raise ProviderUnavailable(f"the local model failed: {exc}", retry_after=60) from exc


# ---------------------------------------------------------------- openai-compatible


@dataclass
class OpenAIProvider:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0
    name: str = "openai"
    follows_instructions: bool = True

    @property
    def engine(self) -> str:
        return f"openai/{self.model}/p{prompts.PROMPT_VERSION}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def status(self) -> Status:
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                response = await client.get(f"{self.base_url.rstrip('/')}/models", headers=self._headers())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return Status("unavailable", f"translation endpoint unreachable: {exc}", retry_after=30)
        return Status("ready")

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        outputs = []
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                for request in requests:
                    body = {
                        "model": self.model,
                        "messages": prompts.messages(
                            request.text, target=request.target, glossary=request.glossary, strict=request.strict
                        ),
                        "temperature": 0,
                        "max_tokens": output_token_bound(approx_tokens(request.text)),
                    }
                    response = await client.post(
                        f"{self.base_url.rstrip('/')}/chat/completions", json=body, headers=self._headers()
                    )
                    if response.status_code >= 500 or response.status_code == 429:
                        raise ProviderUnavailable(f"translation endpoint answered {response.status_code}")
                    response.raise_for_status()
                    choice = response.json()["choices"][0]
                    text = str(choice["message"]["content"] or "")
                    outputs.append(
                        Output(
                            text=prompts.clean_reply(text, request.text),
                            truncated=choice.get("finish_reason") == "length",
                        )
                    )
        except httpx.TimeoutException:
            raise ProviderUnavailable("the translation endpoint timed out") from None
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise ProviderUnavailable(f"translation endpoint failed: {exc}") from exc
        return outputs


# ---------------------------------------------------------------- libretranslate


@dataclass
class LibreTranslateProvider:
    base_url: str
    api_key: str | None = None
    timeout: float = 60.0
    name: str = "libretranslate"
    follows_instructions: bool = False
    _codes: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        return "libretranslate"

    async def _language_codes(self, client: httpx.AsyncClient, *, fresh: bool = False) -> dict[str, str]:
        """LibreTranslate calls Simplified Chinese ``zh`` before 1.6 and ``zh-Hans`` after."""
        if fresh or not self._codes:
            response = await client.get(f"{self.base_url.rstrip('/')}/languages")
            response.raise_for_status()
            known = {str(item["code"]) for item in response.json()}
            self._codes.update({"en": "en", "zh-Hans": "zh-Hans" if "zh-Hans" in known else "zh"})
        return self._codes

    async def status(self) -> Status:
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                await self._language_codes(client, fresh=True)
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            return Status("unavailable", f"LibreTranslate unreachable: {exc}", retry_after=30)
        return Status("ready")

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        outputs = []
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                codes = await self._language_codes(client)
                for request in requests:
                    body: dict[str, Any] = {
                        "q": request.text,
                        "source": codes.get(request.source, request.source),
                        "target": codes.get(request.target, request.target),
                        "format": "text",
                    }
                    if self.api_key:
                        body["api_key"] = self.api_key
                    response = await client.post(f"{self.base_url.rstrip('/')}/translate", json=body)
                    if response.status_code >= 500 or response.status_code == 429:
                        raise ProviderUnavailable(f"LibreTranslate answered {response.status_code}")
                    response.raise_for_status()
                    outputs.append(Output(text=str(response.json()["translatedText"]).strip()))
        except httpx.TimeoutException:
            raise ProviderUnavailable("LibreTranslate timed out") from None
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable(f"LibreTranslate failed: {exc}") from exc
        return outputs


# ---------------------------------------------------------------- ctranslate2


@dataclass
class CTranslate2Provider:
    """Models under ``<dir>/<source>-<target>/`` (e.g. ``zh-Hans-en``): ``model.bin`` and the
    CTranslate2 files, ``source.spm`` / ``target.spm`` (SentencePiece), and an optional
    ``bridgenote.json`` with ``{"source_prefix": [">>cmn_Hans<<"], "version": "..."}``."""

    directory: Path
    threads: int = 2
    timeout: float = 60.0
    name: str = "ctranslate2"
    follows_instructions: bool = False
    _loaded: dict[str, tuple[Any, Any, Any, list[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self) -> str:
        versions = []
        for config in sorted(self.directory.glob("*/bridgenote.json")):
            try:
                versions.append(f"{config.parent.name}:{json.loads(config.read_text())['version']}")
            except (OSError, ValueError, KeyError):
                continue
        return "ctranslate2/" + (",".join(versions) or self.directory.name)

    async def status(self) -> Status:
        try:
            importlib.import_module("ctranslate2")
            importlib.import_module("sentencepiece")
        except ImportError:
            return Status("unavailable", "ctranslate2 and sentencepiece are not installed", retry_after=3600)
        if not any(self.directory.glob("*/model.bin")):
            return Status("missing", f"no CTranslate2 models under {self.directory}", retry_after=300)
        return Status("ready")

    def _pair(self, source: str, target: str) -> tuple[Any, Any, Any, list[str]]:
        key = f"{source}-{target}"
        with self._lock:
            if key not in self._loaded:
                ctranslate2: Any = importlib.import_module("ctranslate2")
                sentencepiece: Any = importlib.import_module("sentencepiece")
                where = self.directory / key
                if not (where / "model.bin").is_file():
                    raise ProviderUnavailable(f"no CTranslate2 model for {key}", code="unsupported_pair")
                extra: dict[str, Any] = {}
                if (where / "bridgenote.json").is_file():
                    extra = json.loads((where / "bridgenote.json").read_text())
                translator = ctranslate2.Translator(str(where), device="cpu", intra_threads=self.threads)
                source_spm = sentencepiece.SentencePieceProcessor(model_file=str(where / "source.spm"))
                target_spm = sentencepiece.SentencePieceProcessor(model_file=str(where / "target.spm"))
                self._loaded[key] = (translator, source_spm, target_spm, list(extra.get("source_prefix", [])))
            return self._loaded[key]

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        if (await self.status()).state != "ready":
            raise ProviderUnavailable("CTranslate2 models are not available", retry_after=300)

        def run() -> list[Output]:
            outputs = []
            for request in requests:
                translator, source_spm, target_spm, prefix = self._pair(request.source, request.target)
                tokens = prefix + source_spm.encode(request.text, out_type=str)
                bound = output_token_bound(len(tokens))
                result = translator.translate_batch([tokens], beam_size=2, max_decoding_length=bound)
                hypothesis = result[0].hypotheses[0]
                outputs.append(Output(text=target_spm.decode(hypothesis), truncated=len(hypothesis) >= bound))
            return outputs

        try:
            return await asyncio.wait_for(asyncio.to_thread(run), timeout=self.timeout)
        except TimeoutError:
            raise ProviderUnavailable("CTranslate2 timed out") from None
        except (OSError, ValueError, RuntimeError) as exc:  # a corrupt or unloadable model folder
            raise ProviderUnavailable(f"CTranslate2 failed: {exc}", retry_after=60) from exc


# ---------------------------------------------------------------- choice by settings


@dataclass
class DisabledProvider:
    name: str = "none"
    follows_instructions: bool = False

    @property
    def engine(self) -> str:
        return "none"

    async def status(self) -> Status:
        return Status("disabled", "translation is turned off on this site", retry_after=3600)

    async def translate(self, requests: Sequence[Request]) -> list[Output]:
        raise ProviderUnavailable(
            "translation is turned off on this site", code="translation_disabled", retry_after=3600
        )


def default_threads() -> int:
    """Half the usable cores, at least one.

    llama.cpp's threads spin at a barrier after every step. When they have no core to
    themselves - the embedded tier runs the web process, the database and the job worker on
    the same two cores - every token waits for a descheduled peer: on a loaded 2-core VM,
    2 threads decoded 4 to 15 times slower than 1 (bench/README.md). Set ``THREADS`` to the
    core count on a machine that does nothing else."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


def build(settings: TranslationSettings, *, models_dir: Path) -> Provider:
    threads = settings.threads or default_threads()
    match settings.provider:
        case "llamacpp":
            return LlamaCppProvider(
                spec=get_spec(settings.model),
                models_dir=models_dir,
                threads=threads,
                context_tokens=settings.context_tokens,
                timeout=settings.timeout_seconds,
            )
        case "openai":
            return OpenAIProvider(
                base_url=settings.openai_url,
                model=settings.openai_model,
                api_key=settings.openai_api_key,
                timeout=settings.timeout_seconds,
            )
        case "libretranslate":
            return LibreTranslateProvider(
                base_url=settings.libretranslate_url,
                api_key=settings.libretranslate_api_key,
                timeout=settings.timeout_seconds,
            )
        case "ctranslate2":
            return CTranslate2Provider(
                directory=settings.ctranslate2_dir or models_dir / "ctranslate2",
                threads=threads,
                timeout=settings.timeout_seconds,
            )
        case "none":
            return DisabledProvider()
    raise ValueError(f"unknown translation provider {settings.provider!r}")


class StatusCache:
    """Remote health probes cost a round trip; reuse one for a few seconds."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._value: tuple[float, Status] | None = None

    async def get(self, provider: Provider) -> Status:
        now = time.monotonic()
        if self._value is not None and self._value[0] > now:
            return self._value[1]
        status = await provider.status()
        self._value = (now + (self.ttl if status.state == "ready" else min(self.ttl, 3.0)), status)
        return status
