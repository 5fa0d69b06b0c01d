"""The wheel carries the shipped models: installed alone, outside the checkout, it compresses offline."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT

SHIPPED = ("contextzip-minilm-v1", "contextzip-minilm-query-v1")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = out.glob("contextzip-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_the_shipped_models(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in SHIPPED:
        for part in ("weights.safetensors", "config.json", "base.json", "MODEL_CARD.md"):
            assert f"contextzip/models/{model}/{part}" in names
    assert not any(name.startswith(("tests/", "bench/", "eval/")) for name in names)


@pytest.mark.slow
def test_the_installed_wheel_compresses_with_the_shipped_model_offline(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    # the wheel's contextzip first (PYTHONPATH precedes site-packages); its dependencies (torch, the
    # base encoder package) from this environment; the checkout neither the working folder nor a path
    env = {k: v for k, v in os.environ.items() if k != "CONTEXTZIP_MODELS_DIR"}
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    (tmp_path / "x.md").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    script = (
        "import contextzip; r = contextzip.compress(open('x.md').read(), rate=0.33); "
        "print(contextzip.__file__); print(r.compressor, r.tokens_before, r.tokens_after)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    where, stats = result.stdout.strip().splitlines()
    assert Path(where).is_relative_to(site)  # not the checkout's package
    name, before, after = stats.split()
    assert name == "token-classifier" and int(after) < 0.5 * int(before)
