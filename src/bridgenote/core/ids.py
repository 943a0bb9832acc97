"""64-bit, time-ordered ids (Snowflake layout).

41 bits of milliseconds since 2024-01-01, 10 bits of worker id, 12 bits of
sequence. Ids sort by creation time, fit a signed BIGINT, and are unique across
up to 1,024 concurrently running processes that are given distinct worker ids.
"""

from __future__ import annotations

import os
import threading
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_WORKER_BITS = 10
_SEQ_BITS = 12
_MAX_SEQ = (1 << _SEQ_BITS) - 1


class IdGenerator:
    def __init__(self, worker_id: int | None = None) -> None:
        if worker_id is None:
            worker_id = os.getpid()
        self.worker_id = worker_id & ((1 << _WORKER_BITS) - 1)
        self._lock = threading.Lock()
        self._last_ms = -1
        self._seq = 0

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - EPOCH_MS
            if now < self._last_ms:
                # Clock went backwards: keep ids monotonic by staying on the last tick.
                now = self._last_ms
            if now == self._last_ms:
                self._seq = (self._seq + 1) & _MAX_SEQ
                if self._seq == 0:
                    now += 1
            else:
                self._seq = 0
            self._last_ms = now
            return (now << (_WORKER_BITS + _SEQ_BITS)) | (self.worker_id << _SEQ_BITS) | self._seq


_generator = IdGenerator()


def new_id() -> int:
    return _generator.next_id()


def set_worker_id(worker_id: int) -> None:
    """Use ``worker_id`` (0-1023) for this process's ids from now on.

    Without it the process id stands in, which is unique on one machine but not
    across machines: every process of a multi-host deployment needs its own id.
    """
    global _generator
    if not 0 <= worker_id < 1 << _WORKER_BITS:
        raise ValueError(f"worker id must be between 0 and {(1 << _WORKER_BITS) - 1}")
    if worker_id != _generator.worker_id:
        _generator = IdGenerator(worker_id)


def worker_id_of(id_: int) -> int:
    return (id_ >> _SEQ_BITS) & ((1 << _WORKER_BITS) - 1)


def id_floor_for_ms(epoch_ms: int) -> int:
    """The smallest id that could have been created at ``epoch_ms`` (for time filters)."""
    return max(0, epoch_ms - EPOCH_MS) << (_WORKER_BITS + _SEQ_BITS)
