"""Writing a summary out: a JSON file, a Markdown table, plots.

:func:`~contextzip.eval.summary.summarize` groups
:class:`~contextzip.eval.types.SampleResult` records into :class:`SummaryRow` records that
hold numbers only (re-exported here). Formatting lives in the writers:
:func:`summary_json`, :func:`markdown_table` and :func:`plot` (``contextzip[eval]``, for
matplotlib); :func:`write_report` writes all of them into one folder.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from contextzip.errors import ConfigurationError
from contextzip.eval.identifiers import IDENTIFIER_KINDS, retention_share
from contextzip.eval.plot import plot
from contextzip.eval.summary import METRICS, SummaryRow, check_metric, identifier_counts, summarize
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


_MISSING = "–"


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
        counts = identifier_counts(groups[key])
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


# --- formatting helpers ----------------------------------------------------------


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
