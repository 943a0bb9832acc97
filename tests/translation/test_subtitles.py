"""Subtitle cues: translated cue by cue (stored and reused like any text) into a bilingual
WebVTT track, original line over translation."""

from __future__ import annotations

from bridgenote.core.runtime import Runtime
from bridgenote.media import subtitles
from bridgenote.translation import service
from tests.translation.fakes import FakeLibreTranslate, fake_translate

VTT = """WEBVTT

00:00:01.000 --> 00:00:02.500
你好，世界

00:00:03.000 --> 00:00:04.000
😀

00:00:05.000 --> 00:00:06.000
你好，世界

00:00:07.000 --> 00:00:08.000
Hello there
"""


async def test_cues_are_translated_once_each_stored_and_reused(runtime: Runtime, libre: FakeLibreTranslate) -> None:
    cues = subtitles.parse(VTT)
    texts = [c.text for c in cues]
    first = await service.translate_cues(runtime.db, settings=runtime.settings, texts=texts, target="en")
    pinyin = fake_translate("你好，世界", "zh-Hans", "en")
    # The emoji and the English cue need nothing; the repeated cue is translated once.
    assert first == [pinyin, "😀", pinyin, "Hello there"]
    assert len(libre.requests) == 1
    again = await service.translate_cues(runtime.db, settings=runtime.settings, texts=texts, target="en")
    assert again == first
    assert len(libre.requests) == 1  # served from the stored translations


async def test_a_bilingual_track_has_the_original_line_over_the_translation(
    runtime: Runtime, libre: FakeLibreTranslate
) -> None:
    cues = subtitles.parse(VTT)
    translated = await service.translate_cues(
        runtime.db, settings=runtime.settings, texts=[c.text for c in cues], target="en"
    )
    track = subtitles.to_webvtt(subtitles.bilingual(cues, translated))
    reparsed = subtitles.parse(track)
    assert [(c.start, c.end) for c in reparsed] == [(c.start, c.end) for c in cues]
    assert reparsed[0].text == "你好，世界\n" + fake_translate("你好，世界", "zh-Hans", "en")
    # Nothing to add where no translation is needed.
    assert reparsed[1].text == "😀" and reparsed[3].text == "Hello there"


def test_a_failed_cue_keeps_its_original_alone() -> None:
    cues = subtitles.parse(VTT)
    both = subtitles.bilingual(cues, [None, "😀", "Hello, world", "Hello there"])
    assert [c.text for c in both] == ["你好，世界", "😀", "你好，世界\nHello, world", "Hello there"]
