from __future__ import annotations

import itertools
import time

import pytest

from bridgenote.core import ids
from bridgenote.core.ids import EPOCH_MS, IdGenerator, id_floor_for_ms, new_id

MAX_BIGINT = 2**63 - 1


def _ms(value: int) -> int:
    return (value >> 22) + EPOCH_MS


def test_ids_are_strictly_increasing_and_unique_across_100k() -> None:
    values = [new_id() for _ in range(100_000)]
    assert len(set(values)) == len(values)
    assert all(a < b for a, b in itertools.pairwise(values))
    assert all(0 < v <= MAX_BIGINT for v in values)


def test_ids_carry_their_creation_time() -> None:
    before = int(time.time() * 1000)
    first = new_id()
    time.sleep(0.005)
    second = new_id()
    after = int(time.time() * 1000)
    # Sequence overflow may borrow a millisecond or two from the future, never more.
    assert before <= _ms(first) <= _ms(second) <= after + 2
    assert _ms(second) > _ms(first)
    assert id_floor_for_ms(_ms(second)) <= second
    assert id_floor_for_ms(_ms(second) + 1) > second


def test_frozen_clock_overflowing_the_sequence_stays_unique_and_monotonic(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = IdGenerator(worker_id=7)
    monkeypatch.setattr(ids.time, "time", lambda: 1_750_000_000.0)
    values = [generator.next_id() for _ in range(10_000)]  # more than 4,096 per millisecond
    assert len(set(values)) == len(values)
    assert values == sorted(values)
    assert {(v >> 12) & 1023 for v in values} == {7}


def test_clock_going_backwards_keeps_ids_monotonic(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = IdGenerator(worker_id=1)
    now = [1_750_000_000.0]
    monkeypatch.setattr(ids.time, "time", lambda: now[0])
    first = generator.next_id()
    now[0] -= 5  # NTP step backwards
    second = generator.next_id()
    now[0] += 10
    third = generator.next_id()
    assert first < second < third


def test_distinct_workers_never_collide_in_the_same_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time", lambda: 1_750_000_000.0)
    assert IdGenerator(worker_id=1).next_id() != IdGenerator(worker_id=2).next_id()
