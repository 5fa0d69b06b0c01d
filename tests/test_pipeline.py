"""Coarse-to-fine composition."""

from __future__ import annotations

import pytest

from contextzip import Budget, ConfigurationError, Pipeline, Segment, get_compressor
from contextzip.pipeline import compose_spans
from contextzip.text import join_spans
from tests.conftest import CJK, ENGLISH
from tests.helpers import assert_extractive


def test_compose_spans_maps_back_through_separators():
    text = "alpha beta gamma delta epsilon"
    outer = [(0, 5), (11, 22)]  # "alpha gamma delta"
    assert compose_spans(text, outer, [(0, 5), (6, 11)]) == ((0, 5), (11, 16))
    assert compose_spans(text, outer, [(3, 14)]) == ((3, 5), (11, 19))  # the separator maps to nothing


@pytest.mark.parametrize("text", [ENGLISH, CJK])
def test_pipeline_meets_the_budget_with_spans_into_the_original(text):
    pipe = Pipeline(get_compressor("selfinfo", unit="sentence"), get_compressor("selfinfo"))
    result = pipe.compress([Segment(text)], budget=Budget(rate=0.2))
    seg = result.segments[0]
    assert seg.text == join_spans(text, seg.spans)
    assert_extractive(text, result.text)
    assert abs(result.tokens_after - result.target_tokens) <= 8
    assert result.compressor == "selfinfo>selfinfo"


def test_both_stages_do_part_of_the_work():
    coarse = get_compressor("truncate", unit="sentence")
    pipe = Pipeline(coarse, get_compressor("selfinfo"), coarse_share=0.5)
    result = pipe.compress([Segment(ENGLISH)], budget=Budget(rate=0.25))
    # the coarse stage keeps the first half (sqrt(0.25)) of the sentences ...
    coarse_only = coarse.compress([Segment(ENGLISH)], budget=Budget(rate=0.5)).text
    assert_extractive(coarse_only, result.text)
    assert "Action items" not in result.text
    # ... and the fine stage drops words inside them
    assert len(result.text) < 0.7 * len(coarse_only)
    assert abs(result.tokens_after - result.target_tokens) <= 8


def test_multi_segment_pipeline_keeps_segment_identity():
    segments = [
        Segment(ENGLISH[:1500], id="a"),
        Segment("Protected.", protected=True),
        Segment(ENGLISH[1500:], id="b"),
    ]
    pipe = Pipeline(get_compressor("selfinfo", unit="sentence"), get_compressor("selfinfo"))
    result = pipe.compress(segments, budget=Budget(rate=0.3))
    assert [r.segment for r in result.segments] == segments
    assert result.segments[1].text == "Protected."
    for r in result.segments:
        assert r.text == join_spans(r.segment.text, r.spans)


def test_mismatched_encodings_and_bad_input_are_rejected():
    with pytest.raises(ConfigurationError, match="cl100k_base"):
        Pipeline(get_compressor("selfinfo", encoding="cl100k_base"), get_compressor("selfinfo"))
    pipe = Pipeline(get_compressor("selfinfo"), get_compressor("selfinfo"))
    with pytest.raises(ConfigurationError, match="sequence of Segment"):
        pipe.compress("text", budget=Budget(rate=0.5))  # type: ignore[arg-type]


def test_bad_share_is_rejected():
    with pytest.raises(ConfigurationError, match="coarse_share"):
        Pipeline(get_compressor("selfinfo"), get_compressor("selfinfo"), coarse_share=0)
