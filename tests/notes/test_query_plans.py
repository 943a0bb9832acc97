"""No reader's page reads the whole users table, however the planner's statistics fall.

Once ANALYZE has seen that nearly every account is active, SQLite no longer uses the
index on ``users.state``; a visibility rule written as ``author_id NOT IN (SELECT id FROM
users WHERE state IN (...))`` then scanned every account on every feed page (1,000
accounts: 0.2 ms, half of the Discover page query's time; a million: about 0.2 s a page).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bridgenote.core.runtime import Runtime
from tests.conftest import IS_POSTGRES
from tests.factories import create_user
from tests.notes.conftest import PersonFactory, post_note
from tests.notes.test_query_counts import statements

pytestmark = pytest.mark.skipif(
    IS_POSTGRES,
    reason="the check reads SQLite's EXPLAIN QUERY PLAN; PostgreSQL plans NOT EXISTS as an anti-join "
    "and picks scans of test-sized tables by cost, so its plans say nothing at this size",
)


async def test_reader_pages_never_scan_the_users_table(runtime: Runtime, person: PersonFactory, drain: Any) -> None:
    authors = [await person(f"author{i}") for i in range(6)]
    viewer = await person("viewer")
    # Readers who post nothing, so a page's handful of authors is a small part of the table
    # (SQLite rightly scans a table when a lookup wants most of its rows).
    for _ in range(40):
        await create_user(runtime)
    for a in authors[:3]:
        assert (await viewer.client.post(f"/api/v1/users/{a.username}/follow")).status_code == 200
    notes = [
        await post_note(authors[i % 6].client, title=f"note {i}", body=f"#common #猫税 hello {i} @{viewer.username}")
        for i in range(12)
    ]
    for i, n in enumerate(notes[:4]):
        r = await authors[(i + 1) % 6].client.post(f"/api/v1/notes/{n['id']}/comments", json={"body": f"nice {i}"})
        assert r.status_code == 201, r.text
    assert (await viewer.client.post(f"/api/v1/notes/{notes[0]['id']}/save")).status_code == 200
    await drain()
    async with runtime.db.transaction(write=True) as session:
        await session.execute(text("ANALYZE"))
    note = notes[0]["id"]
    urls = [
        "/api/v1/feeds/latest",
        "/api/v1/feeds/following",
        "/api/v1/feeds/discover",
        "/api/v1/feeds/nearby?region=US",
        f"/api/v1/notes/{note}",
        f"/api/v1/notes/{note}/comments",
        "/api/v1/hashtags/common/notes",
        "/api/v1/users/author1/notes",
        "/api/v1/search?q=hello",
        "/api/v1/notifications",
    ]
    for cache in runtime.caches.values():
        cache.clear()
    params: list[Any] = []
    with statements(runtime, params) as seen:
        for url in urls:
            r = await viewer.client.get(url)
            assert r.status_code == 200, (url, r.text)
    reads = [
        (sql, p) for sql, p in zip(seen, params, strict=True) if sql.lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    assert len(reads) > len(urls)
    scans = []
    async with runtime.db.transaction(write=False) as session:
        conn = await session.connection()
        for sql, params in reads:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
            scans += [(row[-1], sql) for row in plan if str(row[-1]).startswith("SCAN users")]
    assert not scans, scans
