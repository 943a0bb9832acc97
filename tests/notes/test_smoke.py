from __future__ import annotations

import io

from PIL import Image

from tests.factories import create_user


def jpeg(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


async def test_note_flow(runtime, client_for, drain) -> None:  # type: ignore[no-untyped-def]
    alice = await create_user(runtime, username="alice")
    bob = await create_user(runtime, username="bob")
    a = await client_for(alice)
    b = await client_for(bob)
    up = await a.post("/api/v1/media", files={"file": ("x.jpg", jpeg(), "image/jpeg")})
    assert up.status_code == 201, up.text
    r = await a.post(
        "/api/v1/notes",
        json={"title": "猫税 time", "body": "My cat #CatTax #猫税 #旅遊 hi @bob", "media_ids": [up.json()["id"]]},
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["kind"] == "image"
    assert {t["key"] for t in note["hashtags"]} == {"cattax", "猫税", "旅游"}
    assert note["mentions"] == ["bob"]
    nid = note["id"]
    assert (await b.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    assert (await b.post(f"/api/v1/notes/{nid}/like")).status_code == 409
    r = await b.post(f"/api/v1/notes/{nid}/save")
    assert r.status_code == 200, r.text
    c = await b.post(f"/api/v1/notes/{nid}/comments", json={"body": "so cute"})
    assert c.status_code == 201, c.text
    rep = await a.post(f"/api/v1/notes/{nid}/comments", json={"body": "thanks!", "parent_id": c.json()["id"]})
    assert rep.status_code == 201, rep.text
    feed = await b.get("/api/v1/feeds/latest")
    assert feed.status_code == 200, feed.text
    item = feed.json()["items"][0]
    assert item["like_count"] == 1 and item["save_count"] == 1 and item["comment_count"] == 2
    assert item["liked"] and item["saved"]
    comments = (await b.get(f"/api/v1/notes/{nid}/comments")).json()["items"]
    assert comments[0]["reply_count"] == 1 and comments[0]["replies"][0]["body"] == "thanks!"
    tag = await b.get("/api/v1/hashtags/旅行")
    assert tag.status_code == 404
    tag = await b.get("/api/v1/hashtags/%E6%97%85%E9%81%8A")
    assert tag.status_code == 200 and tag.json()["note_count"] == 1
    assert (await b.get("/api/v1/hashtags/猫税/notes")).json()["items"][0]["id"] == nid
    assert (await a.delete(f"/api/v1/notes/{nid}")).status_code == 200
    assert (await b.get(f"/api/v1/notes/{nid}")).status_code == 404
    await drain()
