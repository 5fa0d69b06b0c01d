"""The README's Python examples run as written, in order, from the repository root."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT


def python_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 3


def test_readme_python_examples_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "Priya" in printed or "->" in printed


def test_makefile_has_the_readme_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"^make ([\w-]+)", readme, flags=re.M):
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target
