"""One model wing: constructors record names, the first use loads, and every kind is loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextzip import Budget, ResourceNotFoundError, Segment, get_compressor
from contextzip.loading import load_once, loaded


def test_a_model_is_built_once_per_kind_and_key() -> None:
    built: list[str] = []

    def build() -> str:
        built.append("x")
        return f"model {len(built)}"

    assert load_once("test-kind", ("a",), build) == load_once("test-kind", ("a",), build) == "model 1"
    assert load_once("test-kind", ("b",), build) == "model 2"
    assert loaded("test-kind") == {("a",): "model 1", ("b",): "model 2"}


def test_a_compressor_constructor_writes_and_loads_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the shipped default is a delta rebuilt into the cache: not while constructing
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    compressor = get_compressor("token-classifier", backend="onnx", precision="int8")
    repr(compressor)
    assert not (tmp_path / "cache").exists()
    # a default that is missing is still named at once, with how to make it
    monkeypatch.setenv("CONTEXTZIP_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ResourceNotFoundError, match="contextzip train --recipe default"):
        get_compressor("token-classifier")


@pytest.mark.slow
def test_compressors_built_apart_share_one_encoder() -> None:
    before = len(loaded("sentence-encoder-runner"))
    for rate in (0.3, 0.5):
        get_compressor("mig").compress([Segment("One sentence. " * 30), Segment("Another one. " * 30)],
                                       query="one", budget=Budget(rate=rate))  # fmt: skip
    assert len(loaded("sentence-encoder-runner")) <= before + 1
