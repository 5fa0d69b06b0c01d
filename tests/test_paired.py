"""Paired differences between methods: the numbers a report's claims of "better" rest on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contextzip.cli import main
from contextzip.errors import ConfigurationError
from contextzip.eval.paired import paired_differences, paired_table
from contextzip.eval.types import SampleResult


def _row(sample: int, method: str, presence: float, rate: float = 0.25) -> SampleResult:
    return SampleResult("toy", f"s{sample}", method, rate, "presence", 100, 25, 0.25, 4.0, 0.0, presence)


def _results() -> list[SampleResult]:
    rows = []
    for i in range(200):
        rows.append(_row(i, "base", float(i % 2)))  # half the answers
        rows.append(_row(i, "better", 1.0 if i % 2 or i % 3 == 0 else 0.0))  # base plus a sixth
        rows.append(_row(i, "same", float((i + 1) % 2)))  # as many answers, other samples
    rows.append(_row(999, "better", 1.0))  # a sample the baseline lacks is not compared
    return rows


def test_a_real_lead_leaves_out_zero_and_a_swap_does_not() -> None:
    found = {d.method: d for d in paired_differences(_results(), "base")}
    better, same = found["better"], found["same"]
    assert better.n == 200 and better.mean == pytest.approx(34 / 200)
    assert better.clear and 0 < better.low < better.mean < better.high
    assert (better.wins, better.losses) == (34, 0)
    assert not same.clear and same.mean == 0 and (same.wins, same.losses) == (100, 100)
    assert paired_differences(_results(), "base") == paired_differences(_results(), "base")  # seeded
    table = paired_table(found.values())
    assert "| toy | presence | 0.25 | better − base | 200 | +17.0 [" in table and "✓" in table


def test_the_uncompressed_run_at_rate_one_is_every_rate_s_reference() -> None:
    rows = [_row(i, "original", 1.0, rate=1.0) for i in range(10)]
    rows += [_row(i, "m", float(i < 5), rate=r) for i in range(10) for r in (0.5, 0.25)]
    found = paired_differences(rows, "original")
    assert [(d.rate, d.n, d.mean, d.losses) for d in found] == [(0.25, 10, -0.5, 5), (0.5, 10, -0.5, 5)]
    # a baseline run at several rates is compared rate by rate
    rows += [_row(i, "original", 1.0, rate=0.5) for i in range(10)]
    assert [d.rate for d in paired_differences(rows, "original")] == [0.5]


def test_unknown_baseline_and_metric_are_errors() -> None:
    with pytest.raises(ConfigurationError, match="no results of the baseline 'nope'"):
        paired_differences(_results(), "nope")
    with pytest.raises(ConfigurationError, match="unknown metric 'recall'"):
        paired_differences(_results(), "base", metric="recall")
    with pytest.raises(ConfigurationError, match="'base' carry no accuracy"):
        paired_differences(_results(), "base", metric="accuracy")  # presence results have no answers


def test_compare_command_reads_eval_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "samples.jsonl").write_text(
        "".join(json.dumps(r.to_json()) + "\n" for r in _results()), encoding="utf-8"
    )
    assert main(["compare", str(tmp_path), "--baseline", "base", "--methods", "better"]) == 0
    out = capsys.readouterr().out
    assert "better − base" in out and "same − base" not in out
    assert main(["compare", str(tmp_path / "missing"), "--baseline", "base"]) != 0
    assert "does not exist" in capsys.readouterr().err


def test_compare_pools_a_family_of_datasets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        SampleResult(f"family/{part}", f"s{i}", method, 0.3, "r", 100, 30, 0.3, 3.3, 0.0, value)
        for part in ("a", "b")
        for i in range(20)
        for method, value in (("base", 0.0), ("better", float(part == "a" or i % 2)))
    ]
    (tmp_path / "samples.jsonl").write_text(
        "".join(json.dumps(r.to_json()) + "\n" for r in rows), encoding="utf-8"
    )
    assert main(["compare", str(tmp_path), "--baseline", "base", "--pool"]) == 0
    out = capsys.readouterr().out
    assert "| family/a |" in out and "| family/b |" in out
    assert "| family (all) |" in out and "| 40 | +75.0" in out  # 20 + 10 wins of 40: parts reuse ids
