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


def test_every_core_module_is_under_the_core_import_contract() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["name"].startswith("The core imports"))
    packages = {name.removeprefix("contextzip.") for name in core["forbidden_modules"]}
    found = {
        path.stem if path.suffix == ".py" else path.name
        for path in (ROOT / "contextzip").iterdir()
        if (path.suffix == ".py" and not path.stem.startswith("_")) or (path / "__init__.py").exists()
    }
    listed = {name.removeprefix("contextzip.") for name in core["source_modules"]}
    assert found - packages == listed, "add new core modules to the core contract in pyproject.toml"
