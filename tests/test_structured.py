"""Structure-keeping reducers for tool output: JSON stays valid, logs keep their errors."""

from __future__ import annotations

import importlib.metadata
import json

from contextzip.compressors.structured import (
    DROPPED_KEY,
    lexical_relevance,
    log_template,
    reduce_json,
    reduce_log,
)
from contextzip.tokens import count_tokens


def installed_packages_json() -> str:
    """A real tool output: this environment's packages and their metadata, as `pip inspect` would give."""
    rows = []
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        meta = dist.metadata
        rows.append({"name": meta["Name"], "version": dist.version, "summary": meta.get("Summary") or "",
                     "requires": sorted(dist.requires or [])[:5]})  # fmt: skip
    return json.dumps({"environment": "test", "packages": rows}, indent=2)


def test_json_stays_valid_fits_and_keeps_what_is_asked_for() -> None:
    text = installed_packages_json()
    budget = count_tokens(text) // 6
    reduced = reduce_json(
        text, budget=budget, relevance=lexical_relevance("which version of numpy is installed")
    )
    data = json.loads(reduced)  # valid JSON
    assert count_tokens(reduced) <= budget
    names = [p.get("name") for p in data["packages"] if isinstance(p, dict)]
    assert "numpy" in names
    assert any(isinstance(p, str) and p.endswith("more items") for p in data["packages"])  # says how many
    assert reduced.startswith("{\n  ")  # the original's two-space layout
    # same input, same bytes
    assert reduced == reduce_json(
        text, budget=budget, relevance=lexical_relevance("which version of numpy is installed")
    )


def test_json_keep_strings_survive_and_dropped_members_are_counted() -> None:
    doc = json.dumps(
        {"id": "req-7f3a", "status": "failed", "detail": {"a": 1, "b": 2, "c": 3}, "trace": list(range(40))}
    )
    reduced = json.loads(reduce_json(doc, budget=20, keep=["req-7f3a"]))
    assert reduced["id"] == "req-7f3a" and reduced[DROPPED_KEY] >= 1


def test_logs_collapse_templates_and_keep_errors() -> None:
    lines = [f"2026-11-24 10:00:{i:02d} INFO GET /api/item/{i} 200 {3 + i % 5}ms" for i in range(60)]
    lines.insert(30, "2026-11-24 10:00:30 ERROR payment service timeout for order 9912")
    lines += [f"2026-11-24 10:01:{i:02d} INFO cache refresh shard {i}" for i in range(30)]
    text = "\n".join(lines)
    reduced = reduce_log(text, budget=count_tokens(text) // 8)
    assert "ERROR payment service timeout for order 9912" in reduced
    assert "similar lines" in reduced or "lines" in reduced
    assert count_tokens(reduced) <= count_tokens(text) // 8 + 10
    assert log_template(lines[0]) == log_template(lines[1])
