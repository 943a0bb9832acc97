"""A LibreTranslate-compatible HTTP server on loopback, for tests.

LibreTranslate is an outside service that some operators run; this stands in for it
behind the real ``libretranslate`` provider (real HTTP, real client code). It
"translates" deterministically so tests can check order, masking and storage:
Chinese becomes its pinyin (no Chinese characters left, as the output checks
demand), English words become ``词`` each. Tests can queue scripted replies, make
it answer 500 (down) or stall (timeouts), and read what it was asked.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pypinyin import lazy_pinyin

from bridgenote.config import Settings, TranslationSettings
from tests.conftest import make_settings

_WORD = re.compile(r"[A-Za-z']+")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


def fake_translate(text: str, source: str, target: str) -> str:
    if target == "en":
        return _HAN_RUN.sub(lambda m: " ".join(lazy_pinyin(m.group(0))), text)
    return _WORD.sub("词", text)


@dataclass
class FakeLibreTranslate:
    url: str = ""
    script: deque[str] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    delay: float = 0.0
    codes: tuple[str, ...] = ("en", "zh-Hans")

    def handle(self, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if self.down:
            return 500, {"error": "down"}
        if self.delay:
            time.sleep(self.delay)
        if path == "/languages":
            return 200, [{"code": code, "name": code, "targets": list(self.codes)} for code in self.codes]
        if path == "/translate" and body is not None:
            self.requests.append(body)
            if self.script:
                return 200, {"translatedText": self.script.popleft()}
            return 200, {"translatedText": fake_translate(str(body["q"]), str(body["source"]), str(body["target"]))}
        return 404, {"error": "not found"}


@contextmanager
def serve() -> Iterator[FakeLibreTranslate]:
    fake = FakeLibreTranslate()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(*fake.handle(self.path, None))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._reply(*fake.handle(self.path, body))

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def libre_settings(database_url: str, tmp_path: Path, libre: FakeLibreTranslate, *, timeout: float = 2.0) -> Settings:
    """Test settings whose translator is ``libre`` (the real ``libretranslate`` provider)."""
    return make_settings(
        database_url,
        tmp_path,
        translation=TranslationSettings(
            provider="libretranslate", libretranslate_url=libre.url, timeout_seconds=timeout
        ),
    )
