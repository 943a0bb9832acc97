"""The query parser accepts any text and only ever emits quoted word tokens."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bridgenote.search import analysis
from bridgenote.search.backends import fts5_query, ts_query
from bridgenote.search.stemmer import stem

TOKEN = re.compile(r"^\w+$")
FTS_SYNTAX = ['"', "*", "NEAR", "-", ":", "(", ")", "^", "+", "'", "\\", "AND", "OR", "NOT", "&", "|", "!"]

text_with_syntax = st.lists(
    st.one_of(st.text(max_size=20), st.sampled_from(FTS_SYNTAX), st.sampled_from(["旅行", "小红书", "hiking", " "])),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text_with_syntax)
def test_any_text_parses_into_word_tokens(raw: str) -> None:
    query = analysis.parse_query(raw)
    assert len(query.text) <= analysis.MAX_QUERY_CHARS
    assert len(query.groups) <= analysis.MAX_QUERY_GROUPS
    for group in query.groups:
        assert group.alternatives
        for alt in group.alternatives:
            assert alt.terms
            assert all(TOKEN.match(t) and len(t) <= analysis.MAX_TOKEN_CHARS for t in alt.terms), alt
    if query.groups:
        # Every token is quoted: the only syntax left is what the builder itself writes.
        fts = fts5_query(query, mode="all")
        stripped = re.sub(r'"\w+"\*?', "", fts)
        assert set(stripped) <= set("() ANDOR"), fts
        tsq = ts_query(query, mode="any")
        assert set(re.sub(r"'\w+'(:\*)?", "", tsq)) <= set("()&| "), tsq


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_index_tokens_are_words(text: str) -> None:
    assert all(TOKEN.match(t) for t in analysis.tokens(text))


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=15))
def test_stemming_is_stable(word: str) -> None:
    once = stem(word)
    assert once and len(once) <= len(word)


def test_known_stems() -> None:
    assert [stem(w) for w in ("running", "hikes", "hiking", "traveled", "happiness", "caresses", "ponies")] == [
        "run",
        "hike",
        "hike",
        "travel",
        "happi",
        "caress",
        "poni",
    ]


def test_mixed_text_indexes_both_parts() -> None:
    assert analysis.tokens("今天去了三里屯 and it was amazing") == ["今天", "去", "三里", "三里屯", "amaz"]


def test_bad_input_is_a_valid_empty_or_plain_query() -> None:
    assert analysis.parse_query("").is_empty
    assert analysis.parse_query("\u200b\u200d\ufeff").is_empty
    assert analysis.parse_query("\ud800 lone").groups  # lone surrogates are dropped, the rest kept
    assert not analysis.parse_query("😀🎉").groups
    assert len(analysis.parse_query("旅行" * 5000).text) == analysis.MAX_QUERY_CHARS


def test_pinyin_of_names() -> None:
    assert analysis.pinyin_tokens("小红书") == ["xiaohongshu", "xhs"]
    assert analysis.pinyin_tokens("hello") == []


def test_unassigned_code_points_in_the_han_ranges_are_not_tokens() -> None:
    # U+FADA lies in the CJK compatibility block but is unassigned: not a word character.
    assert analysis.parse_query("\ufada").groups == ()
    assert analysis.parse_query("旅\ufada行 hiking").all_terms() <= {"旅", "行", "hike", "hiking"}
