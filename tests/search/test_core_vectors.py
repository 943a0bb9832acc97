"""core.vectors (the ANN index search and the feed share) and core.embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from bridgenote.core import embeddings
from bridgenote.core.ids import new_id
from bridgenote.core.vectors import SyncedVectorIndex, VectorChanges, VectorIndex

DIM = 8


class Table:
    """A vector table in memory: rows (key, seq, vector or None), as a domain's table would hold them."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[int, np.ndarray | None]] = {}
        self.vectors_read = 0

    def put(self, key: int, vector: np.ndarray | None) -> None:
        self.rows[key] = (new_id(), vector)

    async def changes(self, *, after: int, limit: int, applied: Mapping[int, int]) -> VectorChanges:
        listed = sorted((seq, key, vec) for key, (seq, vec) in self.rows.items() if seq > after)[:limit]
        found = [(s, k, v) for s, k, v in listed if applied.get(k) != s]
        self.vectors_read += len(found)
        matrix = np.full((len(found), DIM), np.nan, dtype=np.float32)
        for i, (_seq, _key, vec) in enumerate(found):
            if vec is not None:
                matrix[i] = vec
        return VectorChanges(
            [k for _s, k, _v in found],
            [s for s, _k, _v in found],
            matrix,
            scanned=len(listed),
            high=max((s for s, _k, _v in listed), default=0),
        )


def unit(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = 0.1
    return v / np.linalg.norm(v)


async def test_follows_the_table_incrementally_and_survives_a_restart(tmp_path: Path) -> None:
    table = Table()
    for i in range(5):
        table.put(i + 1, unit(i))
    path = tmp_path / "v.usearch"
    index = SyncedVectorIndex(source=table, dim=DIM, path=path, batch=2)
    await index.catch_up(force=True)
    assert index.search(unit(2), 1)[0][0] == 3
    read = table.vectors_read
    await index.catch_up(force=True)  # the overlap window is scanned again, but no vector is re-read
    assert table.vectors_read == read
    table.put(3, None)  # deleted
    table.put(9, unit(2))  # new
    await index.catch_up()  # throttled: nothing yet
    assert index.search(unit(2), 1)[0][0] == 3
    await index.catch_up(force=True)
    assert index.search(unit(2), 1)[0][0] == 9
    assert 3 not in index.index
    index.save()

    table.put(4, unit(6))  # changed while no process was running
    restarted = SyncedVectorIndex(source=table, dim=DIM, path=path)
    await restarted.catch_up(force=True)
    assert len(restarted.index) == 5
    assert restarted.search(unit(6), 1)[0][0] == 4
    assert await restarted.rebuild() == 5


def test_upsert_replaces_and_remove_is_idempotent() -> None:
    index = VectorIndex(DIM)
    index.upsert([1, 2], np.stack([unit(0), unit(1)]))
    index.upsert([1], unit(5)[None, :])
    assert len(index) == 2
    assert index.search(unit(5), 1)[0][0] == 1
    index.remove([1, 1, 42])
    assert len(index) == 1


def test_embeddings_are_multilingual_normalised_and_cached() -> None:
    vectors = embeddings.embed(["cat photo", "猫的照片", "quarterly tax form", ""])
    assert vectors.shape == (4, embeddings.DIM)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-3)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    first = embeddings.embed_query("猫的照片")
    assert embeddings.embed_query("猫的照片") is first
    assert np.allclose(embeddings.from_blob(embeddings.to_blob(first)), first, atol=1e-3)
