"""Summaries of evaluation results: aggregation, JSON, Markdown, plots and the report folder."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import sys
from pathlib import Path

import pytest

from contextzip.errors import ConfigurationError, MissingDependencyError
from contextzip.eval.report import (
    METRICS,
    SummaryRow,
    identifier_table,
    markdown_table,
    plot,
    summarize,
    summary_json,
    write_report,
)
from contextzip.eval.types import SampleResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(
    sample_id: str = "q1",
    *,
    dataset: str = "squad",
    method: str = "lingua",
    rate: float = 0.25,
    reader: str = "presence",
    before: int = 100,
    after: int = 25,
    seconds: float = 0.1,
    presence: float = 1.0,
    exact_match: float | None = None,
    f1: float | None = None,
    rouge_l: float | None = None,
    accuracy: float | None = None,
    identifiers: dict[str, list[int]] | None = None,
) -> SampleResult:
    return SampleResult(
        dataset=dataset,
        sample_id=sample_id,
        method=method,
        rate=rate,
        reader=reader,
        tokens_before=before,
        tokens_after=after,
        achieved_rate=after / before if before else 0.0,
        ratio=before / after if after else 0.0,
        compress_seconds=seconds,
        presence=presence,
        prediction=None if f1 is None else "an answer",
        exact_match=exact_match,
        f1=f1,
        rouge_l=rouge_l,
        identifiers=identifiers,
        accuracy=accuracy,
    )


def grid(*, datasets: tuple[str, ...] = ("squad", "hotpot"), shift: float = 0.0) -> list[SampleResult]:
    """A small but complete run: a baseline and three methods at three rates, two readers."""
    out: list[SampleResult] = []
    for dataset in datasets:
        for reader, answers in (("presence", False), ("extractive", True)):
            for i in range(4):
                base = {"dataset": dataset, "reader": reader}
                gold = 1.0 if answers else None
                baseline = {"exact_match": gold, "f1": gold, "rouge_l": gold}
                out.append(
                    result(f"q{i}", **base, **baseline, method="original", rate=1.0, after=100, seconds=0.0)
                )
                for m, method in enumerate(("lingua", "selective", "truncate")):
                    for rate in (0.5, 0.25, 0.1):
                        kept = max(0.0, min(1.0, 0.95 - 0.1 * m - (0.5 - rate) + shift + 0.01 * i))
                        score = kept if answers else None
                        scores = {"presence": kept, "exact_match": score, "f1": score, "rouge_l": score}
                        after = round(100 * rate) + i
                        seconds = 0.01 * (i + 1)
                        out.append(
                            result(
                                f"q{i}",
                                **base,
                                **scores,
                                method=method,
                                rate=rate,
                                after=after,
                                seconds=seconds,
                            )
                        )
    return out


# --- summarize ---------------------------------------------------------------------


def test_ratio_is_the_ratio_of_token_sums_not_the_mean_of_ratios():
    [row] = summarize(
        [result("a", before=100, after=50, seconds=0.25), result("b", before=300, after=25, seconds=0.75)]
    )
    assert row.samples == 2
    assert row.ratio == 400 / 75  # the mean of per-sample ratios would be (2 + 12) / 2 == 7
    assert row.achieved_rate == 75 / 400 == 0.1875
    assert row.rate_error == 0.1875 - 0.25 == -0.0625
    assert row.tokens_per_s == 400.0
    assert row.latency_median_s == 0.5
    assert row.latency_p95_s == 0.75


def test_scores_are_means_over_the_samples_that_have_them():
    rows = summarize(
        [
            result("a", presence=1.0, exact_match=1.0, f1=0.5, rouge_l=None),
            result("b", presence=0.0, exact_match=None, f1=0.25, rouge_l=None),
            result("c", presence=0.5, exact_match=0.0, f1=None, rouge_l=None),
        ]
    )
    [row] = rows
    assert row.presence == 0.5
    assert row.exact_match == 0.5
    assert row.f1 == 0.375
    assert row.rouge_l is None


def test_degenerate_groups_give_none_not_infinity():
    [empty_output] = summarize([result(after=0, seconds=0.0)])
    assert empty_output.ratio is None
    assert empty_output.achieved_rate == 0.0
    assert empty_output.rate_error == -0.25
    assert empty_output.tokens_per_s is None

    [no_tokens] = summarize([result(before=0, after=0)])
    assert no_tokens.ratio is None and no_tokens.achieved_rate is None and no_tokens.rate_error is None


def test_baseline_has_no_rate_error_and_no_throughput():
    [row] = summarize([result(method="original", rate=1.0, after=100, seconds=0.0)])
    assert (row.ratio, row.achieved_rate, row.rate_error, row.tokens_per_s) == (1.0, 1.0, 0.0, None)


@pytest.mark.parametrize(
    ("seconds", "median", "p95"),
    [
        ([3.0], 3.0, 3.0),
        ([4.0, 1.0, 3.0], 3.0, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 2.5, 4.0),
        ([float(s) for s in range(1, 21)], 10.5, 19.0),  # rank ceil(0.95 * 20) = 19
        ([float(s) for s in range(1, 22)], 11.0, 20.0),  # rank ceil(0.95 * 21) = 20
    ],
)
def test_latency_median_and_nearest_rank_p95(seconds, median, p95):
    [row] = summarize([result(f"q{i}", seconds=s) for i, s in enumerate(seconds)])
    assert row.latency_median_s == median
    assert row.latency_p95_s == p95


def test_groups_by_dataset_reader_method_rate_and_sorts_rates_descending():
    results = [
        result(dataset="b", method="lingua", rate=0.5),
        result(dataset="a", reader="qa", method="lingua", rate=0.25),
        result(dataset="a", method="truncate", rate=0.5),
        result(dataset="a", method="lingua", rate=0.1),
        result(dataset="a", method="original", rate=1.0),
        result(dataset="a", method="lingua", rate=0.5),
        result("q2", dataset="a", method="lingua", rate=0.5),
    ]
    keys = [(r.dataset, r.reader, r.method, r.rate, r.samples) for r in summarize(results)]
    assert keys == [
        ("a", "presence", "lingua", 0.5, 2),
        ("a", "presence", "lingua", 0.1, 1),
        ("a", "presence", "original", 1.0, 1),
        ("a", "presence", "truncate", 0.5, 1),
        ("a", "qa", "lingua", 0.25, 1),
        ("b", "presence", "lingua", 0.5, 1),
    ]


def test_input_order_does_not_change_the_summary():
    results = grid()
    shuffled = list(results)
    random.Random(7).shuffle(shuffled)
    assert summarize(shuffled) == summarize(results)
    assert summary_json(summarize(shuffled)) == summary_json(summarize(results))
    assert markdown_table(summarize(shuffled)) == markdown_table(summarize(results))


def test_accepts_a_generator_and_leaves_the_results_alone():
    results = grid(datasets=("squad",))
    before = list(results)
    rows = summarize(r for r in results)
    assert results == before
    assert len(rows) == 2 * (1 + 3 * 3)
    assert all(isinstance(row, SummaryRow) for row in rows)


def test_to_dict_holds_plain_numbers_in_field_order():
    [row] = summarize([result()])
    data = row.to_dict()
    assert list(data) == list(SummaryRow.__dataclass_fields__)
    assert data["ratio"] == 4.0 and data["samples"] == 1 and data["exact_match"] is None
    assert all(v is None or isinstance(v, (str, int, float)) for v in data.values())


# --- summary_json ------------------------------------------------------------------


def test_summary_json_round_trips_and_never_writes_nan_or_infinity():
    results = [
        *grid(datasets=("squad",)),
        result(presence=float("nan"), f1=float("inf"), seconds=float("nan")),
    ]
    text = summary_json(summarize(results))
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert [d["method"] for d in data] == [r.method for r in summarize(results)]
    broken = next(
        d for d in data if d["reader"] == "presence" and d["method"] == "lingua" and d["rate"] == 0.25
    )
    assert broken["presence"] is None and broken["f1"] is None and broken["tokens_per_s"] is None
    assert text.splitlines()[1] == "  {"  # indented by 2


def test_summary_json_of_nothing_is_an_empty_list():
    assert json.loads(summary_json([])) == []


# --- markdown_table ----------------------------------------------------------------


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_markdown_table_formats_each_cell():
    results = [
        result("a", before=300, after=75, seconds=0.002, presence=1.0,
               exact_match=1.0, f1=0.5, rouge_l=0.25, accuracy=1.0, identifiers={"number": [1, 2]}),
        result("b", before=100, after=22, seconds=0.004, presence=0.0,
               exact_match=0.0, f1=0.125, rouge_l=None, accuracy=0.0,
               identifiers={"number": [2, 2], "path": [0, 1]}),
        result("a", method="original", rate=1.0, before=300, after=300, seconds=0.0),
    ]  # fmt: skip
    lines = markdown_table(summarize(results)).splitlines()
    assert cells(lines[0]) == [
        "dataset", "reader", "method", "rate", "ratio", "presence",
        "EM", "F1", "ROUGE-L", "acc", "ids", "n", "p50 ms", "tok/s",
    ]  # fmt: skip
    assert lines[1].startswith("|---|---|---|---:|")
    assert cells(lines[2]) == [
        "squad", "presence", "lingua", "0.25", "4.12x", "50.0%",
        "50.0%", "31.2%", "25.0%", "50.0%", "60.0%", "2", "3.0", "66,667",
    ]  # fmt: skip
    assert cells(lines[3]) == [
        "squad", "presence", "original", "1", "1.00x", "100.0%", "–", "–", "–", "–", "–", "1", "0.0", "–",
    ]  # fmt: skip
    assert len(lines) == 4


def test_identifier_table_sums_each_kind_over_the_samples():
    results = [
        result("a", identifiers={"number": [1, 2], "url": [1, 1]}),
        result("b", identifiers={"number": [2, 2], "path": [0, 1]}),
        result("a", method="original", rate=1.0, identifiers={"number": [2, 2]}),
        result("c", method="none-counted", identifiers=None),
    ]
    lines = identifier_table(results).splitlines()
    assert cells(lines[0]) == [
        "dataset",
        "reader",
        "method",
        "rate",
        "all",
        "url",
        "path",
        "code",
        "number",
        "name",
    ]
    assert cells(lines[2]) == [
        "squad", "presence", "lingua", "0.25", "66.7%", "100.0% of 1", "0.0% of 1", "–", "75.0% of 4", "–",
    ]  # fmt: skip
    assert cells(lines[3])[2:5] == ["original", "1", "100.0%"]
    assert len(lines) == 4  # the method that counted nothing has no row


def test_markdown_table_rows_follow_the_summary_order_and_escape_pipes():
    rows = summarize([result(method="a|b", rate=0.1), result(method="a|b", rate=0.5), result(dataset="aa")])
    lines = markdown_table(reversed(rows)).splitlines()[2:]
    assert [cells(line.replace("\\|", "¦"))[:4] for line in lines] == [
        ["aa", "presence", "lingua", "0.25"],
        ["squad", "presence", "a¦b", "0.5"],
        ["squad", "presence", "a¦b", "0.1"],
    ]


def test_missing_ratio_reads_as_a_dash():
    [line] = markdown_table(summarize([result(after=0)])).splitlines()[2:]
    assert cells(line)[4] == "–"


# --- plot --------------------------------------------------------------------------


def png_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5 * 1024
    return data


def test_plot_writes_a_real_png(tmp_path):
    pytest.importorskip("matplotlib")
    rows = summarize(grid())
    out = plot(rows, tmp_path / "deep" / "plot.png", title="Presence")
    assert out == tmp_path / "deep" / "plot.png"
    data = png_bytes(out)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > height > 200  # four (dataset, reader) panels side by side


@pytest.mark.parametrize("metric", METRICS)
def test_plot_draws_every_metric(tmp_path, metric):
    pytest.importorskip("matplotlib")
    png_bytes(plot(summarize(grid(datasets=("squad",))), tmp_path / f"{metric}.png", metric=metric))


def test_plot_is_deterministic_and_follows_the_data(tmp_path):
    pytest.importorskip("matplotlib")
    first = png_bytes(plot(summarize(grid()), tmp_path / "a.png"))
    again = png_bytes(plot(summarize(grid()), tmp_path / "b.png"))
    other = png_bytes(plot(summarize(grid(shift=-0.3)), tmp_path / "c.png"))
    assert first == again
    assert first != other


def test_plot_survives_rows_without_the_metric_or_a_ratio(tmp_path):
    pytest.importorskip("matplotlib")
    rows = summarize([result(after=0), result(method="original", rate=1.0, after=100)])
    png_bytes(plot(rows, tmp_path / "f1.png", metric="f1"))  # nothing to draw: a "no data" panel


def test_unknown_metric_is_rejected_with_the_valid_ones(tmp_path):
    rows = summarize([result()])
    with pytest.raises(ConfigurationError, match="presence, exact_match, f1, rouge_l, accuracy") as info:
        plot(rows, tmp_path / "x.png", metric="recall")
    assert "'recall'" in str(info.value)
    with pytest.raises(ConfigurationError, match="choose one of"):
        write_report([result()], tmp_path / "report", metric="recall")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "report").exists()


def test_plot_needs_rows(tmp_path):
    with pytest.raises(ConfigurationError, match="no summary rows"):
        plot([], tmp_path / "x.png")


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"contextzip\[eval\]"):
        plot(summarize([result()]), tmp_path / "x.png")


# --- write_report ------------------------------------------------------------------


def test_write_report_writes_every_file(tmp_path):
    pytest.importorskip("matplotlib")
    results = grid()
    paths = write_report(iter(results), tmp_path / "report")
    assert paths == {
        "json": tmp_path / "report" / "summary.json",
        "markdown": tmp_path / "report" / "summary.md",
        "plot": tmp_path / "report" / "plot.png",
        "plot_f1": tmp_path / "report" / "plot_f1.png",
    }
    rows = summarize(results)
    assert paths["json"].read_text(encoding="utf-8") == summary_json(rows) + "\n"
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("# contextzip evaluation summary\n")
    assert "160 results over 2 dataset(s), 2 reader(s) and 3 compression method(s)." in markdown
    assert markdown.endswith(markdown_table(rows))
    png_bytes(paths["plot"])
    png_bytes(paths["plot_f1"])
    assert paths["plot"].read_bytes() != paths["plot_f1"].read_bytes()


def test_accuracy_is_summarized_and_plotted_when_recorded(tmp_path):
    pytest.importorskip("matplotlib")
    results = [dataclasses.replace(r, accuracy=1.0 - r.rate) if r.f1 is not None else r for r in grid()]
    paths = write_report(results, tmp_path)
    assert paths["plot_accuracy"] == tmp_path / "plot_accuracy.png"
    png_bytes(paths["plot_accuracy"])
    rows = {(row.reader, row.method, row.rate): row for row in summarize(results) if row.dataset == "squad"}
    assert rows[("extractive", "lingua", 0.1)].accuracy == pytest.approx(0.9)
    assert rows[("presence", "lingua", 0.1)].accuracy is None


def test_no_f1_plot_when_no_reader_answers(tmp_path):
    pytest.importorskip("matplotlib")
    presence_only = [r for r in grid() if r.reader == "presence"]
    paths = write_report(presence_only, tmp_path, metric="presence")
    assert sorted(paths) == ["json", "markdown", "plot"]
    assert not (tmp_path / "plot_f1.png").exists()


def test_write_report_is_deterministic(tmp_path):
    pytest.importorskip("matplotlib")
    results = grid()
    a = write_report(results, tmp_path / "a")
    b = write_report(list(reversed(results)), tmp_path / "b")
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_write_report_needs_results(tmp_path):
    with pytest.raises(ConfigurationError, match="no results"):
        write_report([], tmp_path)
