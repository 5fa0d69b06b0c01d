"""The house rules a reader relies on to find their way: small modules, one job each."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    modules = [*ROOT.glob("contextzip/**/*.py"), *ROOT.glob("bench/*.py")]
    assert len(modules) > 50  # the globs found the code
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules (over {MAX_LINES} lines): {long}"
