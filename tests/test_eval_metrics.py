"""Answer metrics and aggregates; expected values worked out by hand from SQuAD v1.1."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

from contextzip.errors import ConfigurationError
from contextzip.eval import metrics
from contextzip.eval.metrics import (
    LatencySummary,
    MetricSummary,
    answer_in_reply,
    answer_presence,
    exact_match,
    f1,
    latency_summary,
    mean_with_count,
    normalize_answer,
    rouge_l,
)

ANSWER_METRICS = [exact_match, f1, rouge_l, answer_presence, answer_in_reply]


def test_all_is_pinned():
    assert sorted(metrics.__all__) == [
        "LatencySummary",
        "MetricSummary",
        "answer_in_reply",
        "answer_presence",
        "exact_match",
        "f1",
        "latency_summary",
        "mean_with_count",
        "normalize_answer",
        "rouge_l",
    ]


# --- normalize_answer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat", "cat"),
        ("A man, a plan, a canal: Panama!", "man plan canal panama"),
        ("U.S.A.", "usa"),  # punctuation is deleted, not replaced by a space
        ("rock-n-roll", "rocknroll"),
        ("theatre an anchor", "theatre anchor"),  # articles only as whole words
        ("the... end", "end"),  # punctuation goes first, then the freed article
        ("a-the", "athe"),  # ...so a hyphen joins articles into one non-article word
        ("  hello\n\tworld  ", "hello world"),
        ("An", ""),
        ("", ""),
        ("ÉCOLE Ünïcode", "école ünïcode"),
    ],
)
def test_normalize_answer_follows_squad(text, expected):
    assert normalize_answer(text) == expected


# --- exact_match ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("The Eiffel Tower.", ["eiffel tower"], 1.0),  # article, punctuation, case
        ("Eiffel", ["Eiffel Tower"], 0.0),
        ("Paris", ["London", "paris!"], 1.0),  # best gold answer counts
        ("Paris", ["London", "Rome"], 0.0),
        ("", ["Paris"], 0.0),
        ("", ["the"], 1.0),  # both normalize to "" (SQuAD v1.1 gives EM 1, F1 0 here)
    ],
)
def test_exact_match(prediction, answers, expected):
    result = exact_match(prediction, answers)
    assert result == expected
    assert isinstance(result, float)


# --- f1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("the Denver Broncos team", ["Denver Broncos"], 0.8),  # P 2/3, R 1
        # vs "Broncos": P 1/2, R 1 -> 2/3; vs "Denver Broncos team": P 1, R 2/3 -> 0.8
        ("Denver Broncos", ["Broncos", "Denver Broncos team"], 0.8),
        ("go go go", ["go"], 0.5),  # overlap counts "go" once: P 1/3, R 1
        ("go go", ["go go stop"], 0.8),  # "go" shared twice: P 2/2, R 2/3 (a set would give 0.4)
        ("Broncos, Denver", ["denver broncos"], 1.0),  # a bag of tokens: order ignored
        ("the broncos", ["a Broncos."], 1.0),
        ("Carolina Panthers", ["Denver Broncos"], 0.0),
        ("", ["Denver Broncos"], 0.0),
        ("", ["the"], 0.0),  # no common token, even though both are empty
    ],
)
def test_f1(prediction, answers, expected):
    result = f1(prediction, answers)
    assert result == pytest.approx(expected, abs=1e-12)
    assert isinstance(result, float)


# --- rouge_l ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("one two three four", ["one three five four"], 0.75),  # LCS one-three-four: P = R = 3/4
        ("red green blue", ["red yellow blue"], 2 / 3),  # LCS with a gap: red-blue
        ("broncos denver", ["denver broncos"], 0.5),  # order matters, unlike F1: LCS 1
        ("one two three", ["three one two"], 2 / 3),  # LCS one-two, not the greedy "three"
        ("denver broncos football team", ["The Denver Broncos"], 2 / 3),  # P 2/4, R 1
        ("Denver Broncos!", ["Panthers", "the denver broncos"], 1.0),  # best gold answer
        ("Carolina Panthers", ["Denver Broncos"], 0.0),
        ("", ["Denver Broncos"], 0.0),
        ("Denver", ["the"], 0.0),
    ],
)
def test_rouge_l(prediction, answers, expected):
    result = rouge_l(prediction, answers)
    assert result == pytest.approx(expected, abs=1e-12)
    assert isinstance(result, float)


# --- answer_presence --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "answers", "expected"),
    [
        ("Super Bowl 50 was won by the DENVER BRONCOS.", ["Denver Broncos"], 1.0),
        ("Denver\n\n  Broncos, again", ["denver broncos"], 1.0),  # whitespace differs
        ("It happened in the U.S. in May", ["US"], 1.0),
        ("Broncos beat Panthers", ["Panthers"], 1.0),  # at the end
        ("Broncos beat Panthers", ["broncos"], 1.0),  # at the start
        ("Words concatenate.", ["cat"], 0.0),  # part of a word never counts
        ("Two cats slept", ["cat"], 1.0),  # SQuAD spans may end inside a word
        ("Rollo's arrival", ["Rollo"], 1.0),
        ("a golden anniversary", ["gold"], 1.0),
        ("The cat sat", ["cat"], 1.0),
        ("Denver and Broncos", ["Denver Broncos"], 0.0),  # not contiguous
        ("Denver, the Broncos", ["Denver Broncos"], 1.0),  # the article normalizes away
        ("Broncos", ["Denver Broncos"], 0.0),
        ("nothing here", ["Panthers", "here"], 1.0),  # any gold answer
        ("the !! a", ["the", "!!", " "], 0.0),  # empty normalized answers are never present
        ("", ["x"], 0.0),
    ],
)
def test_answer_presence(context, answers, expected):
    result = answer_presence(context, answers)
    assert result == expected
    assert isinstance(result, float)


def test_answer_presence_is_fast_on_long_contexts():
    filler = "Lorem ipsum, dolor sit amet; consectetur adipiscing elit. " * 2000
    context = filler + "The winner was the Denver Broncos."
    assert len(context) > 100_000
    start = time.perf_counter()
    assert answer_presence(context, ["Carolina Panthers", "denver broncos"]) == 1.0
    assert answer_presence(context, ["Carolina Panthers", "ipsum lorem"]) == 0.0
    assert time.perf_counter() - start < 1.0


# --- input checks and non-mutation ------------------------------------------------------


@pytest.mark.parametrize("metric", ANSWER_METRICS)
def test_empty_answers_are_rejected(metric):
    with pytest.raises(ConfigurationError, match="at least one gold answer"):
        metric("Denver", [])


@pytest.mark.parametrize("metric", ANSWER_METRICS)
def test_a_bare_string_of_answers_is_rejected(metric):
    with pytest.raises(ConfigurationError, match=r"wrap it in a list"):
        metric("Denver", "Denver")


@pytest.mark.parametrize("metric", ANSWER_METRICS)
def test_answer_metrics_do_not_mutate_answers(metric):
    answers = ["the Denver Broncos", "Broncos!", ""]
    before = copy.deepcopy(answers)
    metric("Denver Broncos", answers)
    assert answers == before


def test_aggregates_do_not_mutate_inputs():
    values = [1.0, None, 0.0]
    seconds = [3.0, 1.0, 2.0]
    tokens = [30, 10, 20]
    mean_with_count(values)
    latency_summary(seconds, tokens)
    assert values == [1.0, None, 0.0]
    assert seconds == [3.0, 1.0, 2.0]  # sorting happened on a copy
    assert tokens == [30, 10, 20]


# --- mean_with_count --------------------------------------------------------------------


def test_mean_ignores_none():
    assert mean_with_count([1.0, None, 0.0, 0.5]) == MetricSummary(mean=0.5, count=3)
    assert mean_with_count([None, 0.25]) == MetricSummary(mean=0.25, count=1)


def test_mean_of_nothing_is_none():
    assert mean_with_count([]) == MetricSummary(mean=None, count=0)
    assert mean_with_count([None, None]) == MetricSummary(mean=None, count=0)


def test_mean_accepts_iterators_and_is_accurately_rounded():
    assert mean_with_count(v for v in [0.1] * 10) == MetricSummary(mean=0.1, count=10)


def test_mean_to_dict_holds_plain_numbers():
    summary = mean_with_count([np.float64(1.0), np.float32(0.5)])
    data = summary.to_dict()
    assert data == {"mean": 0.75, "count": 2}
    assert type(data["mean"]) is float
    assert type(data["count"]) is int


def test_summaries_are_frozen():
    summary = mean_with_count([1.0])
    with pytest.raises(AttributeError):
        summary.mean = 0.0  # type: ignore[misc]
    latency = latency_summary([1.0], [1])
    with pytest.raises(AttributeError):
        latency.count = 2  # type: ignore[misc]


# --- latency_summary --------------------------------------------------------------------


def test_latency_odd_count():
    # sorted 1..5: median 3; p95 rank ceil(0.95 * 5) = 5; 150 tokens / 15 s
    summary = latency_summary([3.0, 1.0, 2.0, 5.0, 4.0], [30, 10, 20, 50, 40])
    assert summary == LatencySummary(median_s=3.0, p95_s=5.0, tokens_per_s=10.0, count=5)


def test_latency_even_count_median_averages_the_middle_pair():
    # sorted 1..4: median (2 + 3) / 2; p95 rank ceil(3.8) = 4; 100 tokens / 10 s
    summary = latency_summary([4.0, 2.0, 1.0, 3.0], [25, 25, 25, 25])
    assert summary == LatencySummary(median_s=2.5, p95_s=4.0, tokens_per_s=10.0, count=4)


def test_latency_p95_is_nearest_rank_not_interpolated():
    twenty = [float(i) for i in range(20, 0, -1)]
    # rank ceil(0.95 * 20) = 19 exactly: the 19th value, not the 20th, not 19.05
    assert latency_summary(twenty, [1] * 20).p95_s == 19.0
    twenty_one = [float(i) for i in range(1, 22)]
    # rank ceil(0.95 * 21) = ceil(19.95) = 20
    assert latency_summary(twenty_one, [1] * 21).p95_s == 20.0
    hundred = [float(i) for i in range(1, 101)]
    assert latency_summary(hundred, [1] * 100).p95_s == 95.0


def test_latency_single_call():
    assert latency_summary([2.0], [7]) == LatencySummary(2.0, 2.0, 3.5, 1)


def test_latency_throughput_is_none_without_elapsed_time():
    summary = latency_summary([0.0, 0.0], [5, 5])
    assert summary == LatencySummary(median_s=0.0, p95_s=0.0, tokens_per_s=None, count=2)


def test_latency_of_no_calls():
    assert latency_summary([], []) == LatencySummary(None, None, None, 0)


def test_latency_rejects_mismatched_lengths():
    with pytest.raises(ConfigurationError, match="one of each per call"):
        latency_summary([1.0, 2.0], [10])


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_latency_rejects_bad_durations(bad):
    with pytest.raises(ConfigurationError, match="non-negative"):
        latency_summary([1.0, bad], [1, 1])


def test_latency_to_dict_holds_plain_numbers():
    summary = latency_summary(np.array([0.5, 1.5]), np.array([10, 30]))
    data = summary.to_dict()
    assert data == {"median_s": 1.0, "p95_s": 1.5, "tokens_per_s": 20.0, "count": 2}
    assert all(type(data[key]) is float for key in ("median_s", "p95_s", "tokens_per_s"))
    assert type(data["count"]) is int


# --- answer_in_reply --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "answers", "expected"),
    [
        ("Maria Curie was the first woman to win it.", ["Marie Curie", "Maria Curie"], 1.0),
        ("The answer is: DENVER BRONCOS!", ["Denver Broncos"], 1.0),
        ("It happened in 1641–1679.", ["1641"], 1.0),  # a dash separates words
        ("I do not know.", ["no"], 0.0),  # "no" is not a word of the reply
        ("Yesterday.", ["yes"], 0.0),
        ("It was in 1990.", ["1"], 0.0),
        ("The golden age.", ["gold"], 0.0),  # unlike presence in a context: a reply must say the answer
        ("", ["anything"], 0.0),
    ],
)
def test_answer_in_reply_needs_the_answer_as_whole_words(reply, answers, expected):
    assert answer_in_reply(reply, answers) == expected


def test_answer_in_reply_is_stricter_than_presence_only_at_word_ends():
    assert answer_presence("The golden age.", ["gold"]) == 1.0
    assert answer_in_reply("The golden age.", ["gold"]) == 0.0
    assert (
        answer_presence("Words concatenate.", ["cat"])
        == answer_in_reply("Words concatenate.", ["cat"])
        == 0.0
    )
