"""Units with offsets and joining kept spans."""

from __future__ import annotations

import pytest

from contextzip import ConfigurationError
from contextzip.text import (
    join_spans,
    joined_offsets,
    paragraph_spans,
    phrase_spans,
    sentence_spans,
    unit_spans,
)
from contextzip.words import word_spans


def pieces(text, spans):
    return [text[s:e] for s, e in spans]


def test_words_keep_punctuation_and_split_cjk_per_character():
    assert pieces("Hi, Ann-Marie! 3.5%", word_spans("Hi, Ann-Marie! 3.5%")) == ["Hi,", "Ann-Marie!", "3.5%"]
    assert pieces("東京abc 👍🏽", word_spans("東京abc 👍🏽")) == ["東", "京", "abc", "👍🏽"]


def test_sentences_respect_abbreviations_decimals_and_cjk():
    text = "Dr. Lee paid $3.50 at 5 p.m. today. Then she left! 次です。終わり"
    assert pieces(text, sentence_spans(text)) == [
        "Dr. Lee paid $3.50 at 5 p.m. today.",
        "Then she left!",
        "次です。",
        "終わり",
    ]


def test_paragraphs_and_phrases():
    text = "First para.\n  \nSecond para, with a clause.\nSame para."
    assert pieces(text, paragraph_spans(text)) == ["First para.", "Second para, with a clause.\nSame para."]
    assert pieces(text, phrase_spans(text))[:3] == ["First para.", "Second para,", "with a clause."]


def test_unknown_unit_lists_the_choices():
    with pytest.raises(ConfigurationError, match="paragraph, phrase, sentence, word"):
        unit_spans("x", "clause")


def test_join_keeps_whitespace_of_kept_runs_and_separates_gaps():
    text = "keep   this\tand\n\nthat, drop all\nof it END"
    end = text.index("END")
    spans = [(0, 4), (7, 11), (12, 15), (17, 22), (end, end + 3)]
    assert join_spans(text, spans) == "keep   this\tand\n\nthat,\nEND"


def test_join_does_not_fuse_latin_runs_or_split_cjk():
    assert join_spans("abc東def", [(0, 3), (4, 7)]) == "abc def"
    assert join_spans("東京都", [(0, 1), (2, 3)]) == "東都"


def test_joined_offsets_match_join():
    text = "one two three four five"
    spans = [(0, 3), (8, 13), (19, 23)]
    joined = join_spans(text, spans)
    for (start, end), offset in zip(spans, joined_offsets(text, spans), strict=True):
        assert joined[offset : offset + end - start] == text[start:end]


def test_join_is_never_longer_than_input():
    text = "a \n \n b \n c d"
    spans = [(0, 1), (12, 13)]
    assert len(join_spans(text, spans)) <= len(text)


def test_soft_wrapped_lines_continue_but_list_items_and_headings_end():
    text = "# Title\nA sentence that is\nwrapped here.\n- item one\n- item two goes\n  on here\nLast line"
    assert pieces(text, sentence_spans(text)) == [
        "# Title",
        "A sentence that is\nwrapped here.",
        "- item one",
        "- item two goes\n  on here",
        "Last line",
    ]


def test_short_final_words_and_single_letters():
    text = "The answer was no. We left at 5 p.m. today. It cost $3 etc. The end."
    assert pieces(text, sentence_spans(text)) == [
        "The answer was no.",
        "We left at 5 p.m. today.",
        "It cost $3 etc.",
        "The end.",
    ]


def test_sentence_splitting_is_linear():
    import time

    text = "One sentence here. " * 50_000
    started = time.perf_counter()
    assert len(sentence_spans(text)) == 50_000
    small = "One sentence here. " * 5_000
    middle = time.perf_counter()
    sentence_spans(small)
    # ten times the text may not cost a hundred times the time (it did when quadratic)
    assert (middle - started) < 40 * (time.perf_counter() - middle) + 0.5
