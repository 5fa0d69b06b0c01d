"""The causal-LM backend: token surprisal from SmolLM2-135M (packaged) and selfinfo-lm."""

from __future__ import annotations

import numpy as np
import pytest

from contextzip import Budget, ConfigurationError, Segment, get_compressor
from contextzip.causal_lm import CausalLM
from tests.conftest import CJK, ENGLISH
from tests.helpers import assert_extractive


@pytest.mark.parametrize(
    ("length", "window", "stride"), [(10, 512, 384), (1500, 512, 384), (1025, 256, 100), (40, 8, 7)]
)
def test_windows_score_every_token_exactly_once_with_context(length, window, stride):
    windows = CausalLM(window=window, stride=stride)._windows(length)
    scored = [i for lo, hi, first in windows for i in range(first, hi)]
    assert scored == list(range(1, length))
    # every scored token sees at least one token before it inside its window
    assert all(hi - lo <= window and lo < first for lo, hi, first in windows)


def test_bad_settings_are_rejected():
    with pytest.raises(ConfigurationError, match="stride"):
        CausalLM(window=128, stride=256)
    with pytest.raises(ConfigurationError, match="stride"):
        CausalLM(window=128, stride=128)
    with pytest.raises(ConfigurationError, match="precision"):
        CausalLM(precision="int4")


@pytest.fixture(scope="session")
def lm() -> CausalLM:
    return CausalLM()


@pytest.mark.slow
def test_surprisal_tracks_predictability(lm):
    text = "The capital of France is Paris. The capital of France is banana."
    positions, bits = lm.surprisal(text)
    words = {text[p : p + 7].strip(" ."): b for p, b in zip(positions.tolist(), bits.tolist(), strict=True)}
    assert len(positions) == len(bits) > 10
    assert words["Paris"] < words["banana"]
    assert np.all(bits >= 0)


class BigramLM:
    """A fake causal LM whose prediction depends on the previous token only."""

    def __init__(self, vocab: int) -> None:
        import torch

        generator = torch.Generator().manual_seed(0)
        self.table = torch.randn(vocab, vocab, generator=generator)
        self.config = type("Config", (), {"max_position_embeddings": 4096})()

    def __call__(self, input_ids, attention_mask):
        return type("Out", (), {"logits": self.table[input_ids]})()


@pytest.mark.slow
@pytest.mark.parametrize(("window", "stride"), [(64, 32), (64, 63), (100, 7)])
def test_windowing_is_exact_for_a_model_with_one_token_of_context(lm, window, stride, monkeypatch):
    from contextzip import loading
    from contextzip.resources import resolve_causal_lm

    lm.surprisal("load the real tokenizer")
    key = ("AutoModelForCausalLM", resolve_causal_lm(None), "cpu")
    tokenizer, _ = loading._loaded[key]
    monkeypatch.setitem(loading._loaded, key, (tokenizer, BigramLM(len(tokenizer))))
    _, one_pass = CausalLM(window=2048, stride=2047).surprisal(ENGLISH)
    _, windowed = CausalLM(window=window, stride=stride, batch_size=3).surprisal(ENGLISH)
    assert len(one_pass) > 600
    assert np.allclose(one_pass, windowed, atol=1e-9)


@pytest.mark.slow
def test_windowed_scoring_matches_one_pass_where_context_is_the_same(lm):
    text = ENGLISH
    _, one_pass = CausalLM(window=2048, stride=2047).surprisal(text)
    _, windowed = CausalLM(window=256, stride=128).surprisal(text)
    assert len(one_pass) == len(windowed) > 600
    assert np.allclose(one_pass[:250], windowed[:250], atol=1e-3)
    # later tokens see less context, so they differ, but not wildly
    assert abs(one_pass.mean() - windowed.mean()) < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["word", "sentence", "token"])
@pytest.mark.parametrize("text", [ENGLISH, CJK], ids=["english", "cjk"])
def test_selfinfo_lm_is_extractive_deterministic_and_within_budget(lm, unit, text):
    first = get_compressor("selfinfo-lm", unit=unit).compress([Segment(text)], budget=Budget(rate=0.33))
    second = get_compressor("selfinfo-lm", unit=unit).compress([Segment(text)], budget=Budget(rate=0.33))
    assert first.text == second.text
    assert_extractive(text, first.text, whole_words=unit != "token")
    assert abs(first.tokens_after - first.target_tokens) <= (60 if unit == "sentence" else 8)
    assert first.compressor == "selfinfo-lm"


@pytest.mark.slow
def test_selfinfo_lm_keeps_force_tokens_and_protected(lm):
    compressor = get_compressor("selfinfo-lm", force_tokens=["Priya Natarajan"])
    system = Segment("System prompt stays.", protected=True)
    result = compressor.compress([system, Segment(ENGLISH)], budget=Budget(rate=0.2))
    assert result.segments[0].text == "System prompt stays."
    assert "Priya Natarajan" in result.segments[1].text


@pytest.mark.slow
def test_model_loads_once_per_process(lm):
    from contextzip import loading

    def causal_lms() -> dict[object, object]:  # the cache also holds other kinds of model
        return loading.loaded("AutoModelForCausalLM")

    lm.surprisal("warm up")
    first = causal_lms()
    CausalLM().surprisal("again")
    assert causal_lms() == first and len(first) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  \n ", "no words"),
        ("Word", "single unit|whole input"),
        ("🚀", "single unit|whole input"),
    ],
)
def test_selfinfo_lm_returns_odd_input_unchanged(lm, text, reason):
    import re

    result = get_compressor("selfinfo-lm").compress([Segment(text)], budget=Budget(rate=0.5))
    assert result.text == text and result.ratio == 1.0 and re.search(reason, result.reason)


@pytest.mark.slow
def test_selfinfo_lm_meets_an_absolute_budget_on_emoji_text(lm):
    from tests.conftest import EMOJI

    result = get_compressor("selfinfo-lm").compress([Segment(EMOJI * 3)], budget=Budget(target_tokens=40))
    assert_extractive(EMOJI * 3, result.text)
    assert abs(result.tokens_after - 40) <= 8


@pytest.mark.slow
def test_recent_texts_are_scored_once(lm):
    texts = [f"Document number {i} talks about topic {i * 7}." for i in range(40)]
    first = [lm.surprisal(t) for t in texts]
    assert len(lm._memo) >= 40  # a context split into many documents stays memoized
    again = [lm.surprisal(t) for t in texts]
    for (p1, b1), (p2, b2) in zip(first, again, strict=True):
        assert np.array_equal(p1, p2) and np.array_equal(b1, b2)
    again[0][1][:] = 0  # callers get copies: changing one does not change the memo
    assert np.array_equal(lm.surprisal(texts[0])[1], first[0][1])


@pytest.mark.slow
def test_continuations_after_one_shared_context_score_as_if_each_ran_alone(lm):
    context = 'def parse_header(line):\n    """Split an HTTP header line into its name and value."""\n    '
    continuations = ["name, value = line.split(':', 1)", "self.close()", "return", "x"]
    shared = lm.continuations_surprisal(context, continuations)
    alone = [lm.continuation_surprisal([context], c)[0] for c in continuations]
    assert shared == pytest.approx(alone, abs=0.1)  # bfloat16: the two paths round differently
    assert shared[0] < shared[1]  # the body the docstring describes is the expected one
    assert lm.continuations_surprisal(context, []).shape == (0,)
