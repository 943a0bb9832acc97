"""64-bit, time-ordered ids and the worker field that keeps processes apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridgenote.core import ids
from bridgenote.core.runtime import Runtime
from tests.conftest import make_settings


@pytest.fixture
def restore_generator() -> Iterator[None]:
    saved = ids._generator
    yield
    ids._generator = saved


def test_ids_are_unique_increasing_and_fit_a_signed_bigint() -> None:
    generated = [ids.new_id() for _ in range(20_000)]  # more than one millisecond's sequence space
    assert generated == sorted(generated)
    assert len(set(generated)) == len(generated)
    assert all(0 < i < 2**63 for i in generated)


async def test_runtime_applies_the_configured_worker_id(restore_generator: None, tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, worker_id=977)
    runtime = Runtime.create(settings)
    await runtime.close()
    assert ids.worker_id_of(ids.new_id()) == 977


def test_two_worker_ids_never_collide_in_the_same_millisecond(restore_generator: None) -> None:
    a, b = ids.IdGenerator(1), ids.IdGenerator(2)
    first = {a.next_id() for _ in range(5000)}
    second = {b.next_id() for _ in range(5000)}
    assert not first & second


def test_worker_id_out_of_range_is_refused(restore_generator: None) -> None:
    with pytest.raises(ValueError):
        ids.set_worker_id(1024)
