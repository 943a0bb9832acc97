"""Real servers the tests start as child processes (the app for the browser, SeaweedFS,
llama-cpp-python's OpenAI-compatible server): free ports, start, wait until ready, stop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports free right now (all held open until all are chosen)."""
    sockets = []
    try:
        for _ in range(n):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


@contextmanager
def running(
    command: list[str],
    *,
    name: str,
    log_path: Path,
    ready: Callable[[], bool],
    timeout: float = 60.0,
    poll: float = 0.2,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (its output to ``log_path``) until the block ends. Yields once
    ``ready()`` returns true (an exception from it counts as not yet); fails the test with the
    log's tail if the process exits first or is not ready in ``timeout`` seconds. Stopped
    with SIGTERM, then SIGKILL after 15 s."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode}:\n{_tail(log_path)}")
                try:
                    if ready():
                        break
                except Exception:  # not listening yet, or not answering properly yet
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} was not ready in {timeout:.0f} s:\n{_tail(log_path)}")
                time.sleep(poll)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]
