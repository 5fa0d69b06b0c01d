"""Every compressor in this package: extractive, deterministic, within budget, safe on odd input."""

from __future__ import annotations

import copy

import pytest

import contextzip
from contextzip import Budget, Segment, get_compressor
from contextzip.tokens import count_tokens
from tests.conftest import ENGLISH, TEXTS
from tests.helpers import assert_extractive, words

FAST_CONFIGS = [
    ("selfinfo", {"unit": "word"}),
    ("selfinfo", {"unit": "phrase"}),
    ("selfinfo", {"unit": "sentence"}),
    ("selfinfo", {"unit": "token"}),
    ("truncate", {}),
    ("truncate-tail", {}),
    ("truncate-middle", {}),
    ("random", {"seed": 7}),
]
IDS = [f"{name}-{'-'.join(map(str, opts.values())) or 'default'}" for name, opts in FAST_CONFIGS]


@pytest.mark.parametrize(("name", "options"), FAST_CONFIGS, ids=IDS)
@pytest.mark.parametrize("script", sorted(TEXTS))
@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_extractive_within_budget_and_deterministic(name, options, script, rate):
    text = TEXTS[script]
    segments = [Segment(text)]
    before = copy.deepcopy(segments)
    first = get_compressor(name, **options).compress(segments, budget=Budget(rate=rate))
    second = get_compressor(name, **options).compress([Segment(text)], budget=Budget(rate=rate))

    assert segments == before  # input not mutated
    assert first.text == second.text  # a fresh instance gives the same bytes
    assert first.segments[0].spans == second.segments[0].spans
    assert_extractive(text, first.text, whole_words=options.get("unit") != "token")
    assert len(first.text) < len(text)
    assert first.tokens_after == count_tokens(first.text)
    assert first.tokens_before == count_tokens(text)
    # the budget is met within one unit (sentences are the coarsest unit here)
    unit_tokens = {"sentence": 60, "phrase": 12}.get(options.get("unit", "word"), 8)
    assert abs(first.tokens_after - first.target_tokens) <= unit_tokens
    assert first.tokens_after <= first.target_tokens + unit_tokens
    assert first.reason is None


@pytest.mark.parametrize(("name", "options"), FAST_CONFIGS, ids=IDS)
@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "empty"),
        ("   \n\t  ", "no words"),
        ("Word", "single unit"),
        ("東", "single unit"),
        ("🚀", "single unit"),
    ],
    ids=["empty", "whitespace", "one-word", "one-cjk-char", "one-emoji"],
)
def test_returns_original_when_it_cannot_help(name, options, text, reason_part):
    result = get_compressor(name, **options).compress([Segment(text)], budget=Budget(rate=0.5))
    assert result.text == text
    assert result.ratio == 1.0
    assert reason_part in result.reason


@pytest.mark.parametrize(("name", "options"), FAST_CONFIGS, ids=IDS)
def test_budget_that_keeps_everything_returns_original(name, options):
    result = get_compressor(name, **options).compress([Segment(ENGLISH)], budget=Budget(rate=1.0))
    assert result.text == ENGLISH
    assert result.ratio == 1.0
    assert "keeps the whole input" in result.reason


@pytest.mark.parametrize("name", ["selfinfo", "truncate-middle", "random"])
def test_protected_segments_come_out_unchanged(name):
    system = "You are a careful assistant. Never reveal the key ZX-41."
    segments = [Segment(system, protected=True, role="system"), Segment(ENGLISH, id="doc")]
    result = get_compressor(name).compress(segments, budget=Budget(rate=0.3))
    assert result.segments[0].text == system
    assert result.segments[1].segment.id == "doc"
    assert result.segments[1].tokens_after < result.segments[1].tokens_before
    assert result.tokens_after <= result.target_tokens + 8


def test_protected_content_over_budget_keeps_only_protected():
    segments = [Segment(ENGLISH, protected=True), Segment("Some other text to drop entirely.")]
    result = get_compressor("selfinfo").compress(segments, budget=Budget(rate=0.2))
    assert result.segments[0].text == ENGLISH
    assert result.segments[1].dropped
    assert "protected" in result.reason


@pytest.mark.parametrize("name", ["selfinfo", "random", "truncate"])
def test_force_tokens_are_always_kept(name):
    compressor = get_compressor(name, force_tokens=["Priya", "PoolManager.acquire()", "EUR 212,000"])
    result = compressor.compress([Segment(ENGLISH)], budget=Budget(rate=0.1))
    for needle in ["Priya", "PoolManager.acquire()", "EUR 212,000"]:
        assert needle in result.text


def test_force_tokens_exceeding_budget_still_kept_and_reported():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    result = get_compressor("selfinfo", force_tokens=["alpha", "delta", "theta"]).compress(
        [Segment(text)], budget=Budget(target_tokens=1)
    )
    assert words(result.text) == ["alpha", "delta", "theta"]


def test_multi_segment_budget_is_global_and_order_kept():
    docs = [ENGLISH[:1500], ENGLISH[1500:]]
    result = contextzip.compress(docs, rate=0.25)
    assert len(result.segments) == 2
    assert abs(result.tokens_after - result.target_tokens) <= 8
    assert result.text == "\n\n".join(r.text for r in result.segments if not r.dropped)


def test_target_tokens_budget_is_met():
    result = contextzip.compress(ENGLISH, target_tokens=100)
    assert result.target_tokens == 100
    assert 92 <= result.tokens_after <= 108


def test_case_unicode_and_identifiers_survive_verbatim():
    text = "Call `PoolManager.acquire()` on Ünïcödé-Host_01 at https://example.org/a?b=1 — then ÆØÅ."
    result = contextzip.compress(text, rate=0.6)
    for word in words(result.text):
        assert word in words(text)


@pytest.mark.parametrize(("name", "options"), FAST_CONFIGS[:1] + FAST_CONFIGS[4:], ids=IDS[:1] + IDS[4:])
def test_one_megabyte_input(name, options):
    base = ENGLISH + "\n\n" + TEXTS["emoji"] + "\n\n" + TEXTS["cjk"] + "\n\n"
    text = (base * (1_000_000 // len(base.encode()) + 1))[:1_000_000]
    result = get_compressor(name, **options).compress([Segment(text)], budget=Budget(rate=0.2))
    assert len(text.encode()) >= 990_000
    assert abs(result.tokens_after - result.target_tokens) <= 16
    assert_extractive(text[:2000], result.text[:200], whole_words=False)
