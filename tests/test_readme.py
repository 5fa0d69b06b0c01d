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
    assert "report" in printed and "->" in printed  # the per-segment lines of the second example
    assert "Priya" in printed  # the compressed report keeps the on-call engineer's name


def shell_commands() -> list[str]:
    """The commands of the README's CLI and evaluation sections (the squad-multidoc command is
    run by a slow test of its own)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for start, end in (("## Command line", "## Evaluation"), ("## Evaluation", "## Architecture")):
        section = readme[readme.index(start) : readme.index(end)]
        block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
        commands += [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    return [c for c in commands if "squad-multidoc" not in c]


@pytest.mark.parametrize("command", shell_commands())
def test_readme_cli_examples_run(command):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_makefile_has_the_readme_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"^make ([\w-]+)", readme, flags=re.M):
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target
