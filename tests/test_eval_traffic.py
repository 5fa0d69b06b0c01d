"""proxy-traffic: real messages of five shapes, each answer in its message, the same every time."""

from __future__ import annotations

import pytest

from contextzip.eval.datasets import load_dataset
from contextzip.eval.traffic import MAX_TOKENS, MIN_TOKENS, SHAPES, shapes_of, traffic_samples
from contextzip.tokens import TokenCounter


@pytest.fixture(scope="module")
def samples():
    return traffic_samples()


def test_every_shape_has_at_least_eight_of_forty(samples):
    counts = shapes_of(samples)
    assert sum(counts.values()) >= 40
    assert set(counts) == set(SHAPES) and min(counts.values()) >= 8


def test_each_message_asks_its_question_first_and_holds_its_answer(samples):
    counter = TokenCounter()
    for sample in samples:
        message = sample.documents[0]
        first, _, document = message.partition("\n\n")
        assert sample.question in first and first.startswith("Read this ")
        assert all(answer in document for answer in sample.answers), sample.id
        assert MIN_TOKENS <= counter.count(document) <= MAX_TOKENS + 100, sample.id
    assert len({s.id for s in samples}) == len(samples)


def test_readme_answers_sit_inside_code_fences(samples):
    for sample in (s for s in samples if s.meta["shape"] == "readme"):
        document = sample.documents[0]
        at = document.index(sample.answers[0])
        assert document[:at].count("```") % 2 == 1, sample.id  # an open fence before the answer


def test_same_samples_every_time_and_through_load_dataset(samples):
    assert traffic_samples() == samples
    picked = load_dataset("proxy-traffic", limit=5)
    assert len(picked) == 5 and {s.id for s in picked} <= {s.id for s in samples}
    assert [s.documents for s in picked] == [s.documents for s in load_dataset("proxy-traffic", limit=5)]
