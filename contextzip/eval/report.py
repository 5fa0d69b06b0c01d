"""Turning per-sample results into a summary: numbers, a JSON file, a Markdown table, plots.

:func:`summarize` groups :class:`~contextzip.eval.types.SampleResult` records by
(dataset, reader, method, rate) into :class:`SummaryRow` records that hold numbers
only. Formatting lives in the writers: :func:`summary_json`, :func:`markdown_table`
and :func:`plot` (``contextzip[eval]``, for matplotlib); :func:`write_report` writes
all of them into one folder.

The compression ratio of a group is the ratio of its token sums (original tokens over
compressed tokens), not the mean of per-sample ratios, so long samples weigh in by
their size and one nearly empty output cannot blow the figure up.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError
from contextzip.eval.identifiers import IDENTIFIER_KINDS, retention_share
from contextzip.eval.metrics import mean_with_count
from contextzip.eval.plot import plot
from contextzip.eval.types import BASELINE_METHOD, SampleResult

__all__ = [
    "BASELINE_METHOD",
    "METRICS",
    "SummaryRow",
    "markdown_table",
    "identifier_table",
    "plot",
    "summarize",
    "summary_json",
    "write_report",
]

METRICS: tuple[str, ...] = ("presence", "exact_match", "f1", "rouge_l", "accuracy")
"""The per-sample scores that can be plotted, each a fraction in ``[0, 1]``."""

_MISSING = "–"


@dataclass(frozen=True)
class SummaryRow:
    """The aggregate of every sample of one dataset, read by one reader, compressed one way.

    Attributes:
        dataset: The dataset name.
        reader: The reader name.
        method: The compression method (``"original"`` for the uncompressed baseline).
        rate: The requested rate (compressed over original tokens).
        samples: How many results were aggregated.
        presence: Mean presence score.
        exact_match: Mean exact match over the samples that have one; ``None`` if none do.
        f1: Mean token F1, likewise.
        rouge_l: Mean ROUGE-L, likewise.
        accuracy: Share of replies that contain a gold answer, likewise.
        ratio: Sum of original tokens over sum of compressed tokens; ``None`` when
            nothing was left.
        achieved_rate: Sum of compressed tokens over sum of original tokens; ``None``
            when the samples had no tokens.
        rate_error: ``achieved_rate - rate`` (positive: the method kept too much).
        latency_median_s: Median compression time per sample, in seconds.
        latency_p95_s: 95th percentile (nearest rank) of the compression time.
        tokens_per_s: Original tokens compressed per second; ``None`` when no time was
            spent (the baseline).
        identifiers: Share of the originals' distinct identifiers (numbers, names, paths,
            URLs, code) still in the compressed contexts, summed over samples; ``None``
            when no result counted any.
    """

    dataset: str
    reader: str
    method: str
    rate: float
    samples: int
    presence: float
    exact_match: float | None
    f1: float | None
    rouge_l: float | None
    accuracy: float | None
    ratio: float | None
    achieved_rate: float | None
    rate_error: float | None
    latency_median_s: float | None
    latency_p95_s: float | None
    tokens_per_s: float | None
    identifiers: float | None = None

    @property
    def sort_key(self) -> tuple[str, str, str, float]:
        """Dataset, reader, method, then the highest rate (least compression) first."""
        return (self.dataset, self.reader, self.method, -self.rate)

    def to_dict(self) -> dict[str, Any]:
        """The fields in declaration order, as JSON-safe numbers (``NaN``/``inf`` become ``None``).

        Example:
            >>> from contextzip.eval.types import SampleResult
            >>> r = SampleResult("toy", "q1", "lingua", 0.5, "presence", 100, 0, 0.0, 0.0, 0.1, 0.0)
            >>> summarize([r])[0].to_dict()["ratio"] is None
            True
        """
        return {key: finite_or_none(value) for key, value in asdict(self).items()}


def summarize(results: Iterable[SampleResult]) -> list[SummaryRow]:
    """Aggregate per-sample results into one row per (dataset, reader, method, rate).

    Means use :func:`math.fsum`, so the order of the input never changes a number.

    Args:
        results: The per-sample results, in any order.

    Returns:
        The rows sorted by dataset, reader, method, then descending rate.

    Example:
        >>> from contextzip.eval.types import SampleResult
        >>> def result(sid, before, after):
        ...     return SampleResult("toy", sid, "lingua", 0.5, "presence", before, after,
        ...                         after / before, before / after, 0.5, 1.0)
        >>> [row] = summarize([result("a", 100, 50), result("b", 300, 50)])
        >>> row.samples, row.ratio, row.achieved_rate, row.rate_error, row.tokens_per_s
        (2, 4.0, 0.25, -0.25, 400.0)
    """
    groups: dict[tuple[str, str, str, float], list[SampleResult]] = defaultdict(list)
    for result in results:
        groups[(result.dataset, result.reader, result.method, float(result.rate))].append(result)
    rows = [_summarize_group(key, group) for key, group in groups.items()]
    return sorted(rows, key=lambda row: row.sort_key)


def summary_json(rows: Iterable[SummaryRow]) -> str:
    """The rows as a JSON list of objects, keys in field order, indented by 2.

    ``NaN`` and infinities never appear: they are written as ``null``.

    Example:
        >>> from contextzip.eval.types import SampleResult
        >>> r = SampleResult("toy", "q1", "original", 1.0, "presence", 10, 10, 1.0, 1.0, 0.0, 1.0)
        >>> import json
        >>> json.loads(summary_json(summarize([r])))[0]["ratio"]
        1.0
    """
    return json.dumps([row.to_dict() for row in rows], indent=2, allow_nan=False, ensure_ascii=False)


_COLUMNS: tuple[tuple[str, bool, Callable[[SummaryRow], str]], ...] = (
    # header, right-aligned, cell
    ("dataset", False, lambda r: _escape(r.dataset)),
    ("reader", False, lambda r: _escape(r.reader)),
    ("method", False, lambda r: _escape(r.method)),
    ("rate", True, lambda r: f"{r.rate:g}"),
    ("ratio", True, lambda r: _times(r.ratio)),
    ("presence", True, lambda r: _percent(r.presence)),
    ("EM", True, lambda r: _percent(r.exact_match)),
    ("F1", True, lambda r: _percent(r.f1)),
    ("ROUGE-L", True, lambda r: _percent(r.rouge_l)),
    ("acc", True, lambda r: _percent(r.accuracy)),
    ("ids", True, lambda r: _percent(r.identifiers)),
    ("n", True, lambda r: str(r.samples)),
    ("p50 ms", True, lambda r: _number(r.latency_median_s, scale=1000.0, digits=1)),
    ("tok/s", True, lambda r: _number(r.tokens_per_s, digits=0)),
)


def markdown_table(rows: Iterable[SummaryRow]) -> str:
    """One Markdown table of the rows, sorted like :func:`summarize` sorts them.

    Ratios read ``4.12x``, scores are percentages with one decimal, a missing value
    is ``–``.

    Example:
        >>> from contextzip.eval.types import SampleResult
        >>> r = SampleResult("toy", "q1", "lingua", 0.25, "presence", 400, 97, 0.2425, 4.12, 0.02, 0.5)
        >>> print(markdown_table(summarize([r])).splitlines()[-1])
        | toy | presence | lingua | 0.25 | 4.12x | 50.0% | – | – | – | – | – | 1 | 20.0 | 20,000 |
    """
    lines = [
        "| " + " | ".join(header for header, _, _ in _COLUMNS) + " |",
        "|" + "|".join("---:" if right else "---" for _, right, _ in _COLUMNS) + "|",
    ]
    for row in sorted(rows, key=lambda r: r.sort_key):
        lines.append("| " + " | ".join(cell(row) for _, _, cell in _COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def write_report(
    results: Iterable[SampleResult], out_dir: str | Path, *, metric: str = "presence"
) -> dict[str, Path]:
    """Write ``summary.json``, ``summary.md`` and ``plot.png`` (plus answer plots) into a folder.

    When some reader answers (its results carry an F1 score), ``plot_f1.png`` and, if
    the results carry it, ``plot_accuracy.png`` are written too, holding only the
    readers that do.

    Args:
        results: The per-sample results.
        out_dir: The folder to write into (created if missing).
        metric: The score plotted in ``plot.png``; one of :data:`METRICS`.

    Returns:
        The paths written, keyed ``"json"``, ``"markdown"``, ``"plot"`` and, when
        written, ``"plot_f1"`` and ``"plot_accuracy"``.

    Raises:
        ConfigurationError: For an unknown metric, or when there are no results.

    Example:
        >>> import tempfile
        >>> from contextzip.eval.types import SampleResult
        >>> r = SampleResult("toy", "q1", "lingua", 0.5, "presence", 100, 50, 0.5, 2.0, 0.1, 1.0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     sorted(write_report([r], tmp))
        ['json', 'markdown', 'plot']
    """
    check_metric(metric)
    results = list(results)
    if not results:
        raise ConfigurationError("no results to report; run the evaluation first so it writes samples")
    rows = summarize(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    paths = {"json": out / "summary.json", "markdown": out / "summary.md"}
    paths["json"].write_text(summary_json(rows) + "\n", encoding="utf-8")
    identifiers = identifier_table(results)
    if identifiers:
        identifiers = "\n## Identifier retention by kind\n\n" + identifiers
    paths["markdown"].write_text(
        _markdown_header(results) + markdown_table(rows) + identifiers, encoding="utf-8"
    )
    paths["plot"] = plot(rows, out / "plot.png", metric=metric)
    answering = {row.reader for row in rows if row.f1 is not None}
    if answering:
        answered = [row for row in rows if row.reader in answering]
        paths["plot_f1"] = plot(answered, out / "plot_f1.png", metric="f1")
        if any(row.accuracy is not None for row in answered):
            paths["plot_accuracy"] = plot(answered, out / "plot_accuracy.png", metric="accuracy")
    return paths


# --- aggregation helpers ---------------------------------------------------------


def _summarize_group(key: tuple[str, str, str, float], group: Sequence[SampleResult]) -> SummaryRow:
    dataset, reader, method, rate = key
    before = sum(r.tokens_before for r in group)
    after = sum(r.tokens_after for r in group)
    seconds = math.fsum(r.compress_seconds for r in group)
    achieved = after / before if before else None
    return SummaryRow(
        dataset=dataset,
        reader=reader,
        method=method,
        rate=rate,
        samples=len(group),
        presence=math.fsum(r.presence for r in group) / len(group),
        exact_match=mean_with_count(r.exact_match for r in group).mean,
        f1=mean_with_count(r.f1 for r in group).mean,
        rouge_l=mean_with_count(r.rouge_l for r in group).mean,
        accuracy=mean_with_count(r.accuracy for r in group).mean,
        ratio=before / after if after else None,
        achieved_rate=achieved,
        rate_error=None if achieved is None else achieved - rate,
        latency_median_s=_median([r.compress_seconds for r in group]),
        latency_p95_s=_nearest_rank([r.compress_seconds for r in group], 0.95),
        tokens_per_s=before / seconds if seconds > 0 else None,
        identifiers=retention_share(_identifier_counts(group)),
    )


def _identifier_counts(group: Iterable[SampleResult]) -> dict[str, tuple[int, int]]:
    """``(kept, total)`` per identifier kind, summed over the results that counted them."""
    sums: dict[str, tuple[int, int]] = {}
    for result in group:
        for kind, (kept, total) in (result.identifiers or {}).items():
            old = sums.get(kind, (0, 0))
            sums[kind] = (old[0] + kept, old[1] + total)
    return sums


def identifier_table(results: Iterable[SampleResult]) -> str:
    """A Markdown table of identifier retention by kind, one row per (dataset, reader, method, rate).

    Each cell is the share of the originals' distinct identifiers of that kind still in the
    compressed contexts (with the total counted); ``""`` when no result counted any.
    """
    groups: dict[tuple[str, str, str, float], list[SampleResult]] = defaultdict(list)
    for result in results:
        if result.identifiers:
            groups[(result.dataset, result.reader, result.method, float(result.rate))].append(result)
    if not groups:
        return ""
    header = "| dataset | reader | method | rate | all | " + " | ".join(IDENTIFIER_KINDS) + " |"
    lines = [header, "|---|---|---|---:|" + "---:|" * (len(IDENTIFIER_KINDS) + 1)]
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], -k[3])):
        counts = _identifier_counts(groups[key])
        cells = [_percent(retention_share(counts))]
        for kind in IDENTIFIER_KINDS:
            kept, total = counts.get(kind, (0, 0))
            cells.append(f"{_percent(kept / total)} of {total:,}" if total else _MISSING)
        dataset, reader, method, rate = key
        lines.append(
            f"| {_escape(dataset)} | {_escape(reader)} | {_escape(method)} | {rate:g} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


# Unlike metrics.latency_summary, which rejects them, these tolerate NaN/inf durations
# from hand-made records: a report is still written, with None where a number is undefined.
def _median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _nearest_rank(values: Sequence[float], quantile: float) -> float | None:
    """The smallest value with at least ``quantile`` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(quantile * len(ordered)))
    return ordered[rank - 1]


# --- formatting helpers ----------------------------------------------------------


def finite_or_none(value: Any) -> Any:
    """``value``, or ``None`` when it is a NaN or infinite float (JSON and plots skip those)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _percent(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None and math.isfinite(value) else _MISSING


def _times(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None and math.isfinite(value) else _MISSING


def _number(value: float | None, *, scale: float = 1.0, digits: int) -> str:
    return f"{value * scale:,.{digits}f}" if value is not None and math.isfinite(value) else _MISSING


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_header(results: Sequence[SampleResult]) -> str:
    datasets = len({r.dataset for r in results})
    readers = len({r.reader for r in results})
    methods = len({r.method for r in results if r.method != BASELINE_METHOD})
    return (
        f"# contextzip evaluation summary\n\n{len(results)} results over {datasets} dataset(s), "
        f"{readers} reader(s) and {methods} compression method(s).\n\n"
    )


def check_metric(metric: str) -> None:
    """Raise :class:`ConfigurationError` unless ``metric`` is one of :data:`METRICS`."""
    if metric not in METRICS:
        raise ConfigurationError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
