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


def test_pipeline_coarse_stage_does_part_of_the_work():
    coarse = get_compressor("truncate", unit="sentence")
    pipe = Pipeline(coarse, get_compressor("selfinfo"), coarse_share=1.0)
    result = pipe.compress([Segment(ENGLISH)], budget=Budget(rate=0.25))
    truncated = coarse.compress([Segment(ENGLISH)], budget=Budget(rate=0.25)).text
    assert_extractive(truncated, result.text)


def test_bad_share_is_rejected():
    with pytest.raises(ConfigurationError, match="coarse_share"):
        Pipeline(get_compressor("selfinfo"), get_compressor("selfinfo"), coarse_share=0)
