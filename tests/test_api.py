"""The public surface: exports, light import, registry, top-level compress, types."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import contextzip
from contextzip import (
    Budget,
    CompressionResult,
    ConfigurationError,
    Segment,
    SegmentResult,
    UnknownCompressorError,
    available_compressors,
    get_compressor,
)
from tests.conftest import ENGLISH

BUILTINS = {"selfinfo", "selfinfo-lm", "truncate", "truncate-tail", "truncate-middle", "random"}


def test_all_is_pinned():
    assert sorted(contextzip.__all__) == sorted(
        [
            "Budget", "CompressionResult", "Compressor", "CompressorInfo", "ConfigurationError",
            "ContextZipError", "ConversationPolicy", "ConversationResult", "MissingDependencyError",
            "Pipeline", "ResourceNotFoundError", "Segment", "SegmentResult", "TokenCounter",
            "UnknownCompressorError", "__version__", "available_compressors", "compress",
            "compress_conversation", "count_tokens", "get_compressor", "register_compressor",
        ]
    )  # fmt: skip


def test_import_is_light():
    code = (
        "import sys, contextzip; contextzip.get_compressor('selfinfo-lm'); "
        "heavy = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_lists_builtins_with_descriptions():
    infos = {info.name: info for info in available_compressors()}
    assert BUILTINS <= set(infos)
    assert all(infos[name].description for name in BUILTINS)
    for name in BUILTINS:
        assert isinstance(get_compressor(name), contextzip.Compressor)


def test_the_registry_groups_products_peers_and_baselines():
    infos = {info.name: info for info in available_compressors()}
    assert infos["mig"].group == "product" and infos["mig"].use_for
    assert infos["truncate"].group == "baseline" and infos["code-random"].group == "baseline"
    # the evaluation's peers come in through the entry point, not from core
    assert (
        infos["bm25-docs"].group == "peer"
        and infos["bm25-docs"].factory == "contextzip.eval.peers:BM25Documents"
    )
    assert all(info.use_for for info in infos.values() if info.group == "product")


def test_a_broken_plugin_leaves_the_builtins_working(monkeypatch, caplog):
    import importlib.metadata

    from contextzip import protocol

    broken = importlib.metadata.EntryPoint("broken", "no_such_module_xyz:register", protocol.ENTRY_POINTS)
    monkeypatch.setattr(protocol, "_plugins_loaded", False)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    with caplog.at_level("WARNING", logger="contextzip.protocol"):
        assert "selfinfo" in {info.name for info in available_compressors()}
    assert "no_such_module_xyz:register not loaded" in caplog.text


def test_unknown_name_and_option_errors_list_the_valid_ones():
    with pytest.raises(UnknownCompressorError, match="choose one of .*random.*selfinfo"):
        get_compressor("llmlingua-9")
    with pytest.raises(ConfigurationError, match="valid options: .*unit"):
        get_compressor("selfinfo", ratio=0.3)
    with pytest.raises(ConfigurationError, match="choose one of token, word"):
        get_compressor("selfinfo", unit="letter")
    with pytest.raises(ConfigurationError, match="unigram, causal-lm"):
        get_compressor("selfinfo", backend="ngram")
    with pytest.raises(ConfigurationError, match="wordfreq has no list"):
        get_compressor("selfinfo", language="xx")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"rate": 0.5, "target_tokens": 10}, "exactly one"),
        ({"rate": 0.0}, r"\(0, 1\]"),
        ({"rate": 1.5}, r"\(0, 1\]"),
        ({"rate": float("nan")}, r"\(0, 1\]"),
        ({"target_tokens": -1}, ">= 0"),
        ({"target_tokens": 2.5}, "must be an int"),
    ],
)
def test_bad_budgets_are_rejected(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        Budget(**kwargs)


def test_bad_inputs_are_rejected_with_the_fix():
    with pytest.raises(ConfigurationError, match="must be a str"):
        Segment(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"context\[1\]"):
        contextzip.compress(["ok", 3], rate=0.5)  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="sequence of Segment"):
        get_compressor("selfinfo").compress("text", budget=Budget(rate=0.5))  # type: ignore[arg-type]


def test_compress_accepts_text_segments_and_instances():
    by_name = contextzip.compress(ENGLISH, rate=0.3, method="truncate")
    by_instance = contextzip.compress([Segment(ENGLISH)], rate=0.3, method=get_compressor("truncate"))
    assert by_name.text == by_instance.text
    assert by_name.text == ENGLISH[: len(by_name.text)]
    with pytest.raises(ConfigurationError, match="options apply only"):
        contextzip.compress(ENGLISH, rate=0.3, method=get_compressor("truncate"), unit="word")


def test_result_numbers():
    seg = Segment("abc")
    result = CompressionResult(
        segments=(SegmentResult(seg, "a", ((0, 1),), tokens_before=12, tokens_after=3),),
        compressor="x",
        target_tokens=3,
    )
    assert result.ratio == 4.0 and result.rate == 0.25
    assert result.to_dict()["segments"][0]["spans"] == [[0, 1]]
    empty = CompressionResult(
        segments=(SegmentResult(seg, "", (), 5, 0, dropped=True),), compressor="x", target_tokens=0
    )
    assert math.isinf(empty.ratio)


def test_budget_rounds_half_up_and_accepts_numpy_integers():
    import numpy as np

    assert Budget(rate=0.5).resolve(1) == 1
    assert Budget(rate=0.5).resolve(3) == 2
    assert Budget(rate=0.5).resolve(5) == 3
    assert Budget(target_tokens=np.int64(5)).target_tokens == 5
    assert type(Budget(target_tokens=np.int64(5)).target_tokens) is int


def test_bytes_input_says_decode():
    with pytest.raises(ConfigurationError, match="decode"):
        contextzip.compress(b"some bytes", rate=0.5)  # type: ignore[arg-type]


def test_segments_are_hashable_values():
    assert hash(Segment("x", meta={"path": "a.py"})) == hash(Segment("x", meta={"path": "b.py"}))
    assert Segment("x") == Segment("x") and Segment("x") != Segment("x", protected=True)


def test_options_for_the_other_backend_are_rejected():
    with pytest.raises(ConfigurationError, match="causal-lm backend only"):
        get_compressor("selfinfo", model="gpt2")
    with pytest.raises(ConfigurationError, match="causal-lm backend only"):
        get_compressor("selfinfo", precision="bfloat16")
    with pytest.raises(ConfigurationError, match="unigram backend only"):
        get_compressor("selfinfo-lm", language="de")
    with pytest.raises(ConfigurationError, match="unknown encoding"):
        get_compressor("selfinfo", encoding="bogus")
    with pytest.raises(ConfigurationError, match="list of strings"):
        get_compressor("selfinfo", force_tokens=None)


def test_input_is_not_mutated():
    segments = [Segment(ENGLISH, meta={"k": [1]}), Segment("short", protected=True)]
    snapshot = [(s.text, dict(s.meta), s.protected) for s in segments]
    for name in ("selfinfo", "truncate", "random"):
        contextzip.compress(segments, rate=0.3, method=name)
    assert [(s.text, dict(s.meta), s.protected) for s in segments] == snapshot


def test_compress_defaults_to_the_shipped_model_and_falls_back_without_ml(monkeypatch):
    import contextzip.defaults

    assert contextzip.compress(ENGLISH, rate=0.5).compressor == "token-classifier"
    monkeypatch.setattr(contextzip.defaults, "find_spec", lambda name: None)  # as if torch were missing
    with pytest.warns(UserWarning, match=r"using selfinfo; .*pip install 'contextzip\[ml\]'"):
        assert contextzip.compress(ENGLISH, rate=0.5).compressor == "selfinfo"
