"""Plots of a score against the compression ratio (``contextzip[eval]``, for matplotlib).

Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas, so no global
backend or style is touched; matplotlib is imported only when a plot is made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError, missing_extra
from contextzip.eval.summary import SummaryRow, check_metric, finite_or_none
from contextzip.eval.types import BASELINE_METHOD

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes


__all__ = ["plot"]


_METRIC_LABELS = {
    "presence": "presence",
    "exact_match": "exact match",
    "f1": "F1",
    "rouge_l": "ROUGE-L",
    "accuracy": "accuracy",
}
_RATIO_TICKS = (1, 2, 4, 10, 20, 50, 100, 200, 500, 1000)


def plot(
    rows: Iterable[SummaryRow],
    path: str | Path,
    *,
    metric: str = "presence",
    title: str | None = None,
) -> Path:
    """Plot a score against the compression ratio, one panel per (dataset, reader).

    Each method is a line with markers (log-scaled ratio on x, the score in percent on
    y); the ``original`` baseline is a dashed horizontal line labelled
    "uncompressed". Rows without a ratio or without the score are left out. Needs
    ``contextzip[eval]`` (matplotlib); draws on its own Agg canvas, so no global
    backend or style is touched.

    Args:
        rows: Summary rows, e.g. from :func:`summarize`.
        path: Where to write the PNG (120 dpi); missing folders are created.
        metric: One of :data:`METRICS`.
        title: The figure title; defaults to "<metric> vs compression ratio".

    Returns:
        The path written.

    Raises:
        ConfigurationError: For an unknown metric, or when there are no rows.
        MissingDependencyError: When matplotlib is not installed.

    Example:
        >>> import tempfile
        >>> from contextzip.eval.summary import summarize
        >>> from contextzip.eval.types import SampleResult
        >>> r = SampleResult("toy", "q1", "lingua", 0.5, "presence", 100, 50, 0.5, 2.0, 0.1, 1.0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     plot(summarize([r]), f"{tmp}/plot.png").read_bytes()[:4]
        b'\\x89PNG'
    """

    check_metric(metric)
    rows = sorted(rows, key=lambda r: r.sort_key)
    if not rows:
        raise ConfigurationError("no summary rows to plot; pass the rows returned by summarize(results)")
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise missing_extra("matplotlib", "eval") from exc

    panels: dict[tuple[str, str], list[SummaryRow]] = defaultdict(list)
    for row in rows:
        panels[(row.dataset, row.reader)].append(row)
    methods = sorted({row.method for row in rows if row.method != BASELINE_METHOD})
    palette = colormaps["tab10"]  # a fixed colormap: colours never follow the global style
    colors = {method: palette(i % palette.N) for i, method in enumerate(methods)}

    figure = Figure(figsize=(4.8 * len(panels) + 1.8, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    handles: dict[str, Artist] = {}
    for ax, ((dataset, reader), panel) in zip(axes, panels.items(), strict=True):
        handles.update(_draw_panel(ax, panel, metric, colors))
        ax.set_title(f"{dataset} · {reader}", fontsize=10)
    axes[0].set_ylabel(f"{_METRIC_LABELS[metric]} (%)")
    figure.suptitle(title if title is not None else f"{_METRIC_LABELS[metric]} vs compression ratio")
    if handles:
        figure.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=9)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120, format="png", metadata={"Software": None})
    return out


def _draw_panel(
    ax: Axes, panel: Sequence[SummaryRow], metric: str, colors: dict[str, Any]
) -> dict[str, Artist]:
    """Draw one (dataset, reader) panel; return its legend entries by label."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    handles: dict[str, Artist] = {}
    ratios: list[float] = []
    for row in panel:
        score = finite_or_none(getattr(row, metric))
        if row.method == BASELINE_METHOD and score is not None:
            handles["uncompressed"] = ax.axhline(
                100 * score, color="0.35", linestyle="--", linewidth=1.2, zorder=1
            )
    for method in sorted({row.method for row in panel if row.method != BASELINE_METHOD}):
        points = sorted(
            (row.ratio, 100 * score)
            for row in panel
            if row.method == method
            and finite_or_none(row.ratio) is not None
            and (score := finite_or_none(getattr(row, metric))) is not None
        )
        if points:
            xs, ys = zip(*points, strict=True)
            (line,) = ax.plot(xs, ys, marker="o", markersize=4, color=colors[method], zorder=2)
            handles[method] = line
            ratios.extend(xs)
    if not handles:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.5")

    low, high = min([1.0, *ratios]), max([2.0, *ratios])
    ax.set_xscale("log")
    ax.set_xlim(low / 1.15, high * 1.15)
    ax.xaxis.set_major_locator(FixedLocator([t for t in _RATIO_TICKS if low / 1.15 <= t <= high * 1.15]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}x"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("compression ratio (original / compressed tokens)", fontsize=9)
    ax.set_ylim(-3, 103)  # room for markers at 0% and 100%
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:.0f}%"))
    ax.grid(True, alpha=0.3)
    return handles
