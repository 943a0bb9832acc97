"""The ceiling for the feed read benchmark: the least a server can do to answer
``GET /api/v1/feeds/latest?limit=20`` from the same SQLite file.

A bare Starlette app on the stdlib ``sqlite3`` module, one read-only connection,
three queries (the notes joined to their authors, then the photos and hashtags
of those notes) and ``json.dumps``. No ORM, no validation, no visibility rules
beyond "published and not deleted", no authentication. What the real app
reaches as a fraction of this is the benchmark's headline ratio.

Run: ``python bench/ceiling.py --db bench/results/feed_read.db --port 8801``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

NOTES_SQL = """
SELECT n.id, n.kind, n.title, n.body, n.place_name, n.language, n.like_count, n.save_count, n.comment_count,
       n.view_count, n.created_at, n.updated_at, u.id, u.username, u.display_name, u.avatar_key
FROM notes n JOIN users u ON u.id = n.author_id
WHERE n.state = 'published' AND n.deleted_at IS NULL
ORDER BY n.id DESC LIMIT ?
"""


def _iso(value: str | None) -> str | None:
    # SQLite stores naive UTC text; the app renders ISO 8601 with an offset.
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).isoformat() if value else None


def create_app(db_path: str, *, media_url: str = "/media") -> Starlette:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)

    def feed(limit: int) -> list[dict[str, Any]]:
        rows = conn.execute(NOTES_SQL, (limit,)).fetchall()
        ids = [r[0] for r in rows]
        marks = ",".join("?" * len(ids))
        media: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for note_id, media_id, kind, key, content_type, width, height in conn.execute(
            f"SELECT note_id, id, kind, storage_key, content_type, width, height FROM media_attachments "
            f"WHERE note_id IN ({marks}) ORDER BY note_id, position",
            ids,
        ):
            photo = {"id": str(media_id), "kind": kind, "url": f"{media_url}/{key}", "content_type": content_type}
            media[note_id].append({**photo, "width": width, "height": height})
        tags: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
        for note_id, display, key in conn.execute(
            f"SELECT nh.note_id, nh.display_name, h.key FROM note_hashtags nh JOIN hashtags h ON h.id = nh.hashtag_id "
            f"WHERE nh.note_id IN ({marks})",
            ids,
        ):
            tags[note_id].append({"name": display, "key": key})
        return [
            {
                "id": str(r[0]),
                "author": {
                    "id": str(r[12]),
                    "username": r[13],
                    "display_name": r[14],
                    "avatar_url": f"{media_url}/{r[15]}" if r[15] else None,
                },
                "kind": r[1],
                "title": r[2],
                "body": r[3],
                "place_name": r[4],
                "language": r[5],
                "hashtags": tags[r[0]],
                "media": media[r[0]],
                "like_count": r[6],
                "save_count": r[7],
                "comment_count": r[8],
                "view_count": r[9],
                "created_at": _iso(r[10]),
                "updated_at": _iso(r[11]),
            }
            for r in rows
        ]

    async def latest(request: Request) -> Response:
        try:
            limit = max(1, min(100, int(request.query_params.get("limit", "20"))))
        except ValueError:
            limit = 20
        items = feed(limit)
        body = json.dumps({"items": items, "next_cursor": None}, ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/api/v1/feeds/latest", latest), Route("/healthz", healthz)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", required=True, help="SQLite file made by bench/feed_read.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="as bridgenote serve's")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.db), host=args.host, port=args.port, log_level="warning", access_log=False, loop=args.loop
    )


if __name__ == "__main__":
    main()
