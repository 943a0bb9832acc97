"""A person's Liked list: private by default, public by choice, newest like first."""

from __future__ import annotations

import httpx

from tests.notes.conftest import PersonFactory, post_note, walk
from tests.web.test_pages import browser_session

TAB = 'href="/u/alice?tab=liked"'


async def test_likes_are_private_until_the_person_shares_them(person: PersonFactory) -> None:
    alice, bob, carol = await person("alice"), await person("bob"), await person("carol")
    notes = [await post_note(bob.client, title=f"note {i}") for i in range(5)]
    for note in (notes[1], notes[3], notes[0], notes[4]):  # like order differs from post order
        assert (await alice.client.post(f"/api/v1/notes/{note['id']}/like")).status_code in (200, 201)

    mine = await walk(alice.client, "/api/v1/users/alice/liked", limit=3)
    assert [n["id"] for page in mine for n in page] == [notes[i]["id"] for i in (4, 0, 3, 1)]
    assert all(n["liked"] for page in mine for n in page)

    hidden = await carol.client.get("/api/v1/users/alice/liked")
    assert hidden.status_code == 403 and hidden.json()["error"]["code"] == "likes_private"
    assert (await alice.client.get("/api/v1/users/alice")).json()["likes_public"] is False

    assert (await alice.client.patch("/api/v1/me", json={"likes_public": True})).json()["likes_public"] is True
    shown = await walk(carol.client, "/api/v1/users/alice/liked", limit=10)
    assert [n["id"] for n in shown[0]] == [notes[i]["id"] for i in (4, 0, 3, 1)]
    assert not any(n["liked"] for n in shown[0])  # the flags are the viewer's own

    # Notes the viewer may not see stay hidden in the list: deleted, or by someone they blocked.
    assert (await bob.client.delete(f"/api/v1/notes/{notes[4]['id']}")).status_code == 200
    assert [n["id"] for n in (await carol.client.get("/api/v1/users/alice/liked")).json()["items"]] == [
        notes[i]["id"] for i in (0, 3, 1)
    ]
    assert (await carol.client.post("/api/v1/users/bob/block")).status_code in (200, 201, 204)
    assert (await carol.client.get("/api/v1/users/alice/liked")).json()["items"] == []
    # Someone alice blocked does not see her at all.
    assert (await alice.client.post("/api/v1/users/carol/block")).status_code in (200, 201, 204)
    assert (await carol.client.get("/api/v1/users/alice/liked")).status_code == 404
    assert (await carol.client.get("/api/v1/users/nobody/liked")).status_code == 404


async def test_the_profile_shows_the_liked_tab_only_when_allowed(
    person: PersonFactory, client: httpx.AsyncClient
) -> None:
    bob = await person("bob")
    note = await post_note(bob.client, title="Mapo tofu")
    token = await browser_session(client, "alice")
    assert (await client.post(f"/notes/{note['id']}/like", data={"csrf_token": token})).status_code in (200, 303)

    own = await client.get("/u/alice?tab=liked")
    assert own.status_code == 200 and "Mapo tofu" in own.text and "Only you can see" in own.text
    other = await bob.client.get("/u/alice?tab=liked", headers={"Accept": "text/html"})
    assert other.status_code == 200 and "Mapo tofu" not in other.text and TAB not in other.text

    # The settings form shares them.
    r = await client.post(
        "/settings/profile", data={"csrf_token": token, "display_name": "Alice", "bio": "", "likes_public": "on"}
    )
    assert r.status_code == 303
    other = await bob.client.get("/u/alice?tab=liked", headers={"Accept": "text/html"})
    assert "Mapo tofu" in other.text and TAB in other.text and "Only you can see" not in other.text
    r = await client.post("/settings/profile", data={"csrf_token": token, "display_name": "Alice", "bio": ""})
    assert r.status_code == 303
    assert "Mapo tofu" not in (await bob.client.get("/u/alice?tab=liked", headers={"Accept": "text/html"})).text
