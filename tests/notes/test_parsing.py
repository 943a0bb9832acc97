"""Hashtag and @mention parsing: the matching key folds width, case and script; the
written form is kept for display; URLs, e-mail addresses and HTML entities are not tags."""

from __future__ import annotations

import pytest

from bridgenote.notes import parsing


def keys(text: str) -> list[str]:
    return [t.key for t in parsing.hashtags(text)]


def pairs(text: str) -> list[tuple[str, str]]:
    return [(t.key, t.display) for t in parsing.hashtags(text)]


def test_chinese_and_english_tags() -> None:
    assert pairs("去 #旅行 吧 #Travel") == [("旅行", "旅行"), ("travel", "Travel")]


def test_case_and_full_width_fold_to_one_tag_keeping_the_first_written_form() -> None:
    assert pairs("#Travel #TRAVEL #ＴＲＡＶＥＬ #travel") == [("travel", "Travel")]
    assert pairs("#ＴＲＡＶＥＬ first") == [("travel", "ＴＲＡＶＥＬ")]


def test_full_width_hash_sign() -> None:
    assert pairs("＃美食 好吃") == [("美食", "美食")]


def test_traditional_and_simplified_spellings_are_one_tag() -> None:
    # OpenCC t2s maps 旅遊 -> 旅游; 旅行 is a different word and stays a different tag.
    assert pairs("#旅遊 #旅游") == [("旅游", "旅遊")]
    assert pairs("#旅游 #旅遊") == [("旅游", "旅游")]
    assert keys("#旅遊 #旅行") == ["旅游", "旅行"]
    assert parsing.tag_key("＃旅遊") == parsing.tag_key("旅游") == "旅游"


def test_rednote_closing_hash() -> None:
    assert pairs("#旅行# 今天很开心") == [("旅行", "旅行")]
    # The closing "#" ends the tag; the text after it is not a tag.
    assert keys("#旅行#好玩") == ["旅行"]
    # Back-to-back RedNote tags: each closing "#" is followed by the next opening one.
    assert keys("#旅行##美食#") == ["旅行", "美食"]
    assert keys("#旅行[话题]# #美食[话题]#") == ["旅行", "美食"]


def test_tags_inside_urls_emails_and_entities_are_not_parsed() -> None:
    assert keys("https://example.com/page#section") == []
    assert keys("see https://example.com/search?q=#travel now") == []
    assert keys("http://example.com/a-#frag") == []
    assert keys("www.example.com/#/home") == []
    assert keys("&#123; &#x4e2d;") == []
    assert keys("C# and F# are languages") == []
    # A URL next to a real tag does not swallow it.
    assert keys("https://example.com/x #旅行") == ["旅行"]


def test_digits_only_is_not_a_tag() -> None:
    assert keys("#123 #２０２４ #1") == []
    assert keys("#2024旅行") == ["2024旅行"]


def test_tags_are_deduplicated_in_order_of_first_appearance() -> None:
    assert keys("#b #a #B #c #a") == ["b", "a", "c"]


def test_at_most_thirty_tags() -> None:
    text = " ".join(f"#tag{i}x" for i in range(40))
    assert len(parsing.hashtags(text)) == parsing.MAX_TAGS == 30


def test_mentions() -> None:
    assert parsing.mentions("hi @alice and @bob.") == ["alice", "bob"]
    assert parsing.mentions("＠carol 你好") == ["carol"]
    # An e-mail address is not a mention, nor is a path segment.
    assert parsing.mentions("mail bob@example.com or https://example.com/@dave") == []
    # Too short to be a username.
    assert parsing.mentions("@ab") == []
    assert parsing.mentions("mail lily.chen+notes@example.com") == []
    # A dotted username right after a tag is still a mention.
    assert parsing.mentions("#cattax @lily.chen") == ["lily.chen"]


def test_mentions_are_deduplicated_case_insensitively_keeping_first_form() -> None:
    assert parsing.mentions("@Alice @alice @ALICE @bob") == ["Alice", "bob"]


@pytest.mark.parametrize("text", ["", "#", "# #", "＃", "@", "#·_·"])
def test_degenerate_input(text: str) -> None:
    assert parsing.hashtags(text) == []
    assert parsing.mentions(text) == []
