"""Image screening: the packaged nudity detector runs on uploads, and its hits hold a note."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from bridgenote.core.runtime import Runtime
from bridgenote.moderation import classifiers, engine
from bridgenote.moderation import service as moderation_service
from tests.moderation.conftest import PersonFactory, post_note


def landscape() -> bytes:
    """A plain outdoor scene: sky, hills, a sun."""
    image = Image.new("RGB", (320, 240), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 240), (0, 150), (90, 110), (200, 160), (320, 120), (320, 240)], fill=(70, 130, 60))
    draw.ellipse((240, 30, 290, 80), fill=(250, 220, 90))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_the_packaged_detector_finds_nothing_in_a_landscape() -> None:
    score, parts = classifiers.nudity_score(landscape())
    assert (score, parts) == (0.0, [])


async def test_an_image_hit_holds_the_note_for_review(runtime: Runtime, person: PersonFactory, drain) -> None:  # type: ignore[no-untyped-def]
    author = await person("photographer")
    note = await post_note(author.client, title="Beach day", body="Sun and sand")
    await drain()
    assert (await author.client.get(f"/api/v1/notes/{note['id']}")).json()["state"] == "published"
    # What screen_images passes on when nudenet reports an exposed body part.
    hit = engine.Hit("image", "nudity", "nudenet", 0.91, "FEMALE_BREAST_EXPOSED")
    async with runtime.db.transaction() as session:
        decision = await moderation_service.screen(
            session,
            target_type="note",
            target_id=int(note["id"]),
            settings=runtime.settings.moderation,
            extra_hits=[hit],
        )
    assert decision is not None and decision.action == "hold" and decision.rules == ["global:nudity"]
    got = (await author.client.get(f"/api/v1/notes/{note['id']}")).json()
    assert got["state"] == "held"
    other = await person("viewer")
    assert (await other.client.get(f"/api/v1/notes/{note['id']}")).status_code == 404
    # A weak detection (under the rule's 0.6) does not hold anything.
    second = await post_note(author.client, title="Pool party", body="Splash")
    await drain()
    async with runtime.db.transaction() as session:
        weak = engine.Hit("image", "nudity", "nudenet", 0.3, "FEMALE_BREAST_EXPOSED")
        decision = await moderation_service.screen(
            session,
            target_type="note",
            target_id=int(second["id"]),
            settings=runtime.settings.moderation,
            extra_hits=[weak],
        )
    assert decision is None or decision.action == "allow"
    assert (await other.client.get(f"/api/v1/notes/{second['id']}")).status_code == 200
