"""Every compressor in this package: extractive, deterministic, within budget, safe on odd input."""

from __future__ import annotations

import copy
import re

import pytest

import contextzip
import contextzip.compressors.extractive
import contextzip.words
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
        ("Word", "single unit|whole input"),
        ("東", "single unit|whole input"),
        ("🚀", "single unit|whole input"),
    ],
    ids=["empty", "whitespace", "one-word", "one-cjk-char", "one-emoji"],
)
def test_returns_original_when_it_cannot_help(name, options, text, reason_part):
    result = get_compressor(name, **options).compress([Segment(text)], budget=Budget(rate=0.5))
    assert result.text == text
    assert result.ratio == 1.0
    assert re.search(reason_part, result.reason)


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
    assert "force tokens" in result.reason


def test_multi_segment_budget_is_global_and_order_kept():
    plain = "The man said that he and the others would go to the house and then come back to the car. " * 6
    dense = (
        "Zygomorphic orchids, Kaliningrad bauxite, 7.21 kPa and Nakagin capsules puzzle Quetzalcoatl. " * 6
    )
    segments = [Segment(plain, id="plain"), Segment(dense, id="dense")]
    result = contextzip.compress(segments, rate=0.4, method="selfinfo")
    assert [r.segment.id for r in result.segments] == ["plain", "dense"]
    plain_share, dense_share = (r.tokens_after / r.tokens_before for r in result.segments)
    assert dense_share > 0.6 and plain_share < 0.2  # one budget, spent where the information is
    assert abs(result.tokens_after - result.target_tokens) <= 8


def test_target_tokens_budget_is_met():
    result = contextzip.compress(ENGLISH, target_tokens=100, method="selfinfo")
    assert result.target_tokens == 100
    assert 92 <= result.tokens_after <= 108


def test_case_unicode_and_identifiers_survive_verbatim():
    text = "Call `PoolManager.acquire()` on Ünïcödé-Host_01 at https://example.org/a?b=1 — then ÆØÅ."
    result = contextzip.compress(text, rate=0.6, method="selfinfo")
    for word in words(result.text):
        assert word in words(text)


@pytest.mark.parametrize(("name", "options"), FAST_CONFIGS[:1] + FAST_CONFIGS[4:], ids=IDS[:1] + IDS[4:])
def test_one_megabyte_input(name, options):
    base = ENGLISH + "\n\n" + TEXTS["emoji"] + "\n\n" + TEXTS["cjk"] + "\n\n"
    text = (base * (1_000_000 // len(base.encode()) + 1))[:1_000_000]
    result = get_compressor(name, **options).compress([Segment(text)], budget=Budget(rate=0.2))
    assert len(text.encode()) >= 990_000
    assert abs(result.tokens_after - result.target_tokens) <= 16
    assert_extractive(text, result.text)


@pytest.mark.parametrize("name", ["selfinfo", "truncate-tail", "random"])
@pytest.mark.parametrize("unit", ["word", "phrase"])
@pytest.mark.parametrize(("cut", "rate"), [(2000, 0.8), (1000, 0.4), (300, 0.2)])
def test_budget_holds_with_large_protected_segments(name, unit, cut, rate):
    segments = [Segment(ENGLISH[:cut], protected=True), Segment(ENGLISH[cut:])]
    result = get_compressor(name, unit=unit).compress(segments, budget=Budget(rate=rate))
    assert result.segments[0].text == ENGLISH[:cut]
    assert abs(result.tokens_after - result.target_tokens) <= 12, result.reason
    assert result.reason is None


@pytest.mark.parametrize("kind", ["json", "code", "html"])
def test_structured_kinds_pass_through_text_compressors(kind):
    payload = '{"id": "call_1", "name": "search", "arguments": {"query": "hotels in Paris"}}'
    segments = [Segment(payload, kind=kind), Segment(ENGLISH)]
    result = get_compressor("selfinfo").compress(segments, budget=Budget(rate=0.3))
    assert result.segments[0].text == payload
    assert result.segments[1].tokens_after < result.segments[1].tokens_before
    alone = get_compressor("selfinfo").compress([Segment(payload, kind=kind)], budget=Budget(rate=0.3))
    assert alone.text == payload and alone.ratio == 1.0 and "no words" in alone.reason


def test_markdown_tables_keep_their_pipes():
    table = (
        "| region | p99 | errors |\n|---|---|---|\n| eu-west-2 | 7.4 s | 3.1% |\n| us-east-1 | 0.4 s | 0.0% |"
    )
    text = ENGLISH[:600] + "\n\n" + table + "\n\n" + ENGLISH[600:1200]
    for name in ("selfinfo", "random"):
        out = get_compressor(name).compress([Segment(text)], budget=Budget(rate=0.3)).text
        rows = [line for line in out.splitlines() if line.startswith("|")]
        assert len(rows) == 4 and all(row.count("|") == 4 for row in rows), out


def clusters(text: str) -> list[str]:
    """Split into grapheme clusters: each character plus the continuations after it."""
    mask = contextzip.words.extend_mask(text)
    out: list[str] = []
    for char, extends in zip(text, mask.tolist(), strict=True):
        if extends and out:
            out[-1] += char
        else:
            out.append(char)
    return out


@pytest.mark.parametrize("unit", ["token", "word"])
def test_grapheme_clusters_are_never_cut(unit):
    text = ("caf\u00e9 e\u0301te\u0301 na\u0308ive \U0001F1EF\U0001F1F5 \U0001F44D\U0001F3FD "
            "\U0001F469\u200d\U0001F4BB \u845b\U000E0100\u57ce ") * 30  # fmt: skip
    whole = set(clusters(text))
    assert {"e\u0301", "\U0001f1ef\U0001f1f5", "\U0001f469\u200d\U0001f4bb", "\u845b\U000e0100"} <= whole
    for seed in range(5):
        compressor = get_compressor("random", unit=unit, seed=seed)
        out = compressor.compress([Segment(text)], budget=Budget(rate=0.4)).text
        assert set(clusters(out)) <= whole, out


def test_target_tokens_zero_keeps_the_best_unit_and_says_so():
    result = contextzip.compress("alpha beta gamma delta", target_tokens=0, method="selfinfo")
    assert len(words(result.text)) == 1
    assert "smaller than one unit" in result.reason


class ExplodingCompressor(contextzip.compressors.extractive.ExtractiveCompressor):
    name = "exploding"

    def __init__(self) -> None:
        super().__init__(unit="word", force_tokens=(), encoding="o200k_base")

    def priority(self, table, query):
        raise RuntimeError("model ran out of memory")


def test_runtime_failure_returns_the_original_with_the_reason():
    result = ExplodingCompressor().compress([Segment(ENGLISH)], budget=Budget(rate=0.3))
    assert result.text == ENGLISH
    assert result.ratio == 1.0
    assert "RuntimeError: model ran out of memory" in result.reason
