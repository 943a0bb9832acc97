"""Posting, editing and deleting notes through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bridgenote.accounts.models import User
from bridgenote.core.runtime import Runtime
from bridgenote.notes.models import Hashtag, MediaAttachment, Mention, Note, NoteHashtag
from tests.notes.conftest import PersonFactory, count, mp4, post_note, row, upload


async def tag_count(runtime: Runtime, key: str) -> int | None:
    async with runtime.db.transaction(write=False) as session:
        tag = await session.scalar(select(Hashtag).where(Hashtag.key == key))
        return None if tag is None else tag.note_count


# ---------------------------------------------------------------- creating


async def test_text_note(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="  Hello  ", body="First note\r\nsecond line")
    assert note["kind"] == "text"
    assert note["title"] == "Hello"
    assert note["body"] == "First note\nsecond line"
    assert note["media"] == []
    assert note["author"]["username"] == "alice"
    assert isinstance(note["id"], str)
    assert note["like_count"] == note["save_count"] == note["comment_count"] == note["view_count"] == 0
    # The author sees the moderation fields, with nothing to report.
    assert note["state"] == "published" and note["state_reason"] is None and note["limited_regions"] == []
    assert (await row(runtime, User, alice.id)).note_count == 1
    stored = await row(runtime, Note, int(note["id"]))
    assert (stored.title, stored.kind, stored.deleted_at) == ("Hello", "text", None)


async def test_image_note_keeps_upload_order(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    ids = [await upload(alice.client) for _ in range(3)]
    note = await post_note(alice.client, body="三张照片", media_ids=[ids[2], ids[0], ids[1]])
    assert note["kind"] == "image"
    assert [m["id"] for m in note["media"]] == [ids[2], ids[0], ids[1]]
    for m in note["media"]:
        assert m["kind"] == "image" and m["content_type"] == "image/jpeg"
        assert m["url"].startswith("/media/m/") and (m["width"], m["height"]) == (64, 48)
    async with runtime.db.transaction(write=False) as session:
        rows = (
            await session.execute(select(MediaAttachment.id, MediaAttachment.position, MediaAttachment.note_id))
        ).all()
    assert sorted((str(i), p) for i, p, _n in rows) == sorted([(ids[2], 0), (ids[0], 1), (ids[1], 2)])
    assert {n for _i, _p, n in rows} == {int(note["id"])}


async def test_image_only_note_without_text(person: PersonFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="", media_ids=[await upload(alice.client)])
    assert note["kind"] == "image" and note["title"] == "" and note["body"] == ""


async def test_video_note(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/media", files={"file": ("clip.mp4", mp4(), "video/mp4")})
    assert r.status_code == 201, r.text
    media = r.json()
    assert media["kind"] == "video" and media["content_type"] == "video/mp4"
    # Originals of videos can carry a location: private until the pipeline has processed them.
    assert media["url"] is None
    note = await post_note(alice.client, body="a clip", media_ids=[media["id"]])
    assert note["kind"] == "video"
    assert [m["id"] for m in note["media"]] == [media["id"]]
    stored = await row(runtime, MediaAttachment, int(media["id"]))
    assert stored.storage_key.startswith("u/") and runtime.storage.path(stored.storage_key).is_file()  # type: ignore[attr-defined]


async def test_eighteen_images_is_the_limit(person: PersonFactory) -> None:
    alice = await person("alice")
    ids = [await upload(alice.client) for _ in range(19)]
    r = await alice.client.post("/api/v1/notes", json={"title": "too many", "media_ids": ids})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    note = await post_note(alice.client, title="exactly 18", media_ids=ids[:18])
    assert len(note["media"]) == 18


async def test_video_and_images_cannot_mix(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    video = (await alice.client.post("/api/v1/media", files={"file": ("a.mp4", mp4(), "video/mp4")})).json()["id"]
    video2 = (await alice.client.post("/api/v1/media", files={"file": ("b.mp4", mp4() + b"x", "video/mp4")})).json()[
        "id"
    ]
    image = await upload(alice.client)
    for media_ids in ([video, image], [image, video], [video, video2]):
        r = await alice.client.post("/api/v1/notes", json={"title": "mixed", "media_ids": media_ids})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "too_many_media"
    # Nothing was written by the failed attempts.
    assert await count(runtime, Note) == 0
    assert await count(runtime, MediaAttachment, MediaAttachment.note_id.is_not(None)) == 0


async def test_someone_elses_upload_is_not_found(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    bobs = await upload(bob.client)
    r = await alice.client.post("/api/v1/notes", json={"title": "stolen", "media_ids": [bobs]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "media_not_found"
    r = await alice.client.post("/api/v1/notes", json={"title": "missing", "media_ids": ["123456789"]})
    assert r.status_code == 404
    assert await count(runtime, Note) == 0


async def test_upload_used_by_another_note_conflicts(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    media = await upload(alice.client)
    await post_note(alice.client, title="first", media_ids=[media])
    r = await alice.client.post("/api/v1/notes", json={"title": "second", "media_ids": [media]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "media_in_use"
    assert await count(runtime, Note) == 1


async def test_same_upload_listed_twice(person: PersonFactory) -> None:
    alice = await person("alice")
    media = await upload(alice.client)
    r = await alice.client.post("/api/v1/notes", json={"title": "twice", "media_ids": [media, media]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "duplicate_media"


@pytest.mark.parametrize("body", [{}, {"title": "", "body": ""}, {"title": "   ", "body": "\n\t"}])
async def test_empty_note_is_rejected(runtime: Runtime, person: PersonFactory, body: dict[str, str]) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/notes", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "empty_note"
    assert await count(runtime, Note) == 0


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"title": "t" * 101}, "string_too_long"),
        ({"body": "b" * 1001}, "string_too_long"),
        ({"title": "x", "place_name": "p" * 201}, "string_too_long"),
        ({"title": "x", "extra": 1}, "extra_forbidden"),
    ],
)
async def test_too_long_or_unknown_fields(
    runtime: Runtime, person: PersonFactory, body: dict[str, object], error_type: str
) -> None:
    alice = await person("alice")
    r = await alice.client.post("/api/v1/notes", json=body)
    assert r.status_code == 422, r.text
    assert [d["type"] for d in r.json()["error"]["details"]] == [error_type]
    assert await count(runtime, Note) == 0


async def test_longest_title_and_body_are_accepted(person: PersonFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="题" * 100, body="文" * 1000)
    assert len(note["title"]) == 100 and len(note["body"]) == 1000


async def test_anonymous_cannot_post(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/v1/notes", json={"title": "hi"})
    assert r.status_code == 401


async def test_hashtags_and_mentions_on_create(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    await person("bob")
    await person("carol")
    note = await post_note(
        alice.client, title="#旅遊 日记", body="with @bob @Carol @nobody_here #Travel #旅游 #ＴＲＡＶＥＬ"
    )
    assert note["hashtags"] == [{"name": "旅遊", "key": "旅游"}, {"name": "Travel", "key": "travel"}]
    assert sorted(note["mentions"]) == ["bob", "carol"]
    assert await tag_count(runtime, "旅游") == 1
    assert await tag_count(runtime, "travel") == 1
    assert await count(runtime, Mention) == 2
    # The hashtag page accepts any spelling of the tag.
    for name in ("旅遊", "旅游", "＃旅遊", "#旅游"):
        r = await alice.client.get(f"/api/v1/hashtags/{name.replace('#', '%23')}")
        assert r.status_code == 200, (name, r.text)
        assert r.json()["key"] == "旅游" and r.json()["note_count"] == 1


async def test_mentioning_yourself_or_someone_who_blocked_you_records_nothing(
    runtime: Runtime, person: PersonFactory
) -> None:
    alice, bob = await person("alice"), await person("bob")
    assert (await bob.client.post("/api/v1/users/alice/block")).status_code == 200
    note = await post_note(alice.client, body="@alice @bob")
    assert note["mentions"] == []
    assert await count(runtime, Mention) == 0


# ---------------------------------------------------------------- editing


async def test_edit_moves_hashtag_counts_and_mentions(runtime: Runtime, person: PersonFactory) -> None:
    alice, _bob, _carol = await person("alice"), await person("bob"), await person("carol")
    note = await post_note(alice.client, title="trip", body="#旅行 #美食 @bob")
    other = await post_note(alice.client, title="other", body="#美食")
    assert await tag_count(runtime, "旅行") == 1
    assert await tag_count(runtime, "美食") == 2
    r = await alice.client.patch(f"/api/v1/notes/{note['id']}", json={"body": "#美食 #Travel @carol"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert [t["key"] for t in edited["hashtags"]] == ["美食", "travel"]
    assert edited["mentions"] == ["carol"]
    assert edited["title"] == "trip"  # untouched
    assert edited["updated_at"] is not None
    assert await tag_count(runtime, "旅行") == 0
    assert await tag_count(runtime, "美食") == 2
    assert await tag_count(runtime, "travel") == 1
    assert await count(runtime, NoteHashtag, NoteHashtag.note_id == int(note["id"])) == 2
    assert await count(runtime, NoteHashtag, NoteHashtag.note_id == int(other["id"])) == 1
    # Editing the same text again changes no count.
    r = await alice.client.patch(f"/api/v1/notes/{note['id']}", json={"body": "#美食 #Travel @carol"})
    assert r.status_code == 200
    assert (await tag_count(runtime, "美食"), await tag_count(runtime, "travel")) == (2, 1)
    tagged = (await alice.client.get("/api/v1/hashtags/旅行/notes")).json()["items"]
    assert tagged == []


async def test_hashtags_keep_the_written_order_and_form(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    # These tags exist before the note, in the opposite order.
    await post_note(alice.client, body="#c #b #a")
    note = await post_note(alice.client, body="#A #b #新标签 #c")
    assert [(t["name"], t["key"]) for t in note["hashtags"]] == [
        ("A", "a"),
        ("b", "b"),
        ("新标签", "新标签"),
        ("c", "c"),
    ]
    r = await alice.client.patch(f"/api/v1/notes/{note['id']}", json={"body": "#C #新标签 #a"})
    assert [(t["name"], t["key"]) for t in r.json()["hashtags"]] == [("C", "c"), ("新标签", "新标签"), ("a", "a")]
    listed = (await alice.client.get("/api/v1/feeds/latest")).json()["items"][0]
    assert [t["name"] for t in listed["hashtags"]] == ["C", "新标签", "a"]
    assert (await tag_count(runtime, "b"), await tag_count(runtime, "c")) == (1, 2)


async def test_edit_to_empty_is_rejected_and_changes_nothing(runtime: Runtime, person: PersonFactory) -> None:
    alice = await person("alice")
    note = await post_note(alice.client, title="", body="#旅行 only body")
    r = await alice.client.patch(f"/api/v1/notes/{note['id']}", json={"body": ""})
    assert r.status_code == 400 and r.json()["error"]["code"] == "empty_note"
    assert (await row(runtime, Note, int(note["id"]))).body == "#旅行 only body"
    assert await tag_count(runtime, "旅行") == 1


async def test_editing_someone_elses_note_is_forbidden(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    note = await post_note(alice.client, title="mine", body="#旅行")
    r = await bob.client.patch(f"/api/v1/notes/{note['id']}", json={"title": "yours now"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_author"
    assert (await row(runtime, Note, int(note["id"]))).title == "mine"
    r = await bob.client.delete(f"/api/v1/notes/{note['id']}")
    assert r.status_code == 403
    assert (await row(runtime, Note, int(note["id"]))).deleted_at is None


# ---------------------------------------------------------------- deleting


async def test_delete_own_note_hides_it_everywhere(runtime: Runtime, person: PersonFactory) -> None:
    alice, bob = await person("alice"), await person("bob")
    note = await post_note(alice.client, title="bye", body="#旅行 #美食", media_ids=[await upload(alice.client)])
    keep = await post_note(alice.client, title="stays", body="#美食")
    nid = note["id"]
    board = (await bob.client.post(f"/api/v1/notes/{nid}/save")).json()
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 200
    comment = (await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "nice"})).json()
    assert (await row(runtime, User, alice.id)).note_count == 2

    r = await alice.client.delete(f"/api/v1/notes/{nid}")
    assert r.status_code == 200, r.text

    for who in (alice, bob):
        c = who.client
        assert (await c.get(f"/api/v1/notes/{nid}")).status_code == 404
        assert [n["id"] for n in (await c.get("/api/v1/feeds/latest")).json()["items"]] == [keep["id"]]
        assert [n["id"] for n in (await c.get("/api/v1/users/alice/notes")).json()["items"]] == [keep["id"]]
        assert [n["id"] for n in (await c.get("/api/v1/hashtags/美食/notes")).json()["items"]] == [keep["id"]]
        assert (await c.get("/api/v1/hashtags/旅行/notes")).json()["items"] == []
        assert (await c.get(f"/api/v1/notes/{nid}/comments")).status_code == 404
        assert (await c.get(f"/api/v1/comments/{comment['id']}/replies")).status_code == 404
    assert (await bob.client.get(f"/api/v1/boards/{board['id']}/notes")).json()["items"] == []
    assert (await bob.client.post(f"/api/v1/notes/{nid}/like")).status_code == 404
    assert (await bob.client.delete(f"/api/v1/notes/{nid}/like")).status_code == 404
    assert (await bob.client.post(f"/api/v1/notes/{nid}/save")).status_code == 404
    assert (await bob.client.post(f"/api/v1/notes/{nid}/comments", json={"body": "?"})).status_code == 404
    assert (await alice.client.patch(f"/api/v1/notes/{nid}", json={"title": "back"})).status_code == 404
    assert (await alice.client.delete(f"/api/v1/notes/{nid}")).status_code == 404

    assert await tag_count(runtime, "旅行") == 0
    assert await tag_count(runtime, "美食") == 1
    assert (await row(runtime, User, alice.id)).note_count == 1
    header = (await bob.client.get("/api/v1/hashtags/美食")).json()
    assert header["note_count"] == 1


async def test_staff_may_delete_any_note(runtime: Runtime, person: PersonFactory) -> None:
    alice, mod = await person("alice"), await person("mod", role="moderator")
    note = await post_note(alice.client, title="rule-breaking")
    assert (await mod.client.delete(f"/api/v1/notes/{note['id']}")).status_code == 200
    assert (await row(runtime, Note, int(note["id"]))).deleted_at is not None


async def test_bad_note_ids(person: PersonFactory) -> None:
    alice = await person("alice")
    for bad in ("0", "-1", "abc", str(2**63)):
        assert (await alice.client.get(f"/api/v1/notes/{bad}")).status_code == 422, bad
    assert (await alice.client.get("/api/v1/notes/999999")).status_code == 404
