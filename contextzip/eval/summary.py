"""Per-sample results aggregated into numbers: one :class:`SummaryRow` per (dataset, reader, method, rate).

The compression ratio of a group is the ratio of its token sums (original tokens over
compressed tokens), not the mean of per-sample ratios, so long samples weigh in by
their size and one nearly empty output cannot blow the figure up. Writing the rows out
(JSON, Markdown, plots) is :mod:`contextzip.eval.report`'s job.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from contextzip.errors import ConfigurationError
from contextzip.eval.identifiers import retention_share
from contextzip.eval.metrics import mean_with_count
from contextzip.eval.types import SampleResult

__all__ = ["METRICS", "SummaryRow", "check_metric", "finite_or_none", "identifier_counts", "summarize"]

METRICS: tuple[str, ...] = ("presence", "exact_match", "f1", "rouge_l", "accuracy")
"""The per-sample scores that can be plotted, each a fraction in ``[0, 1]``."""


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
        identifiers=retention_share(identifier_counts(group)),
    )


def identifier_counts(group: Iterable[SampleResult]) -> dict[str, tuple[int, int]]:
    """``(kept, total)`` per identifier kind, summed over the results that counted them."""
    sums: dict[str, tuple[int, int]] = {}
    for result in group:
        for kind, (kept, total) in (result.identifiers or {}).items():
            old = sums.get(kind, (0, 0))
            sums[kind] = (old[0] + kept, old[1] + total)
    return sums


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


def finite_or_none(value: Any) -> Any:
    """``value``, or ``None`` when it is a NaN or infinite float (JSON and plots skip those)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_metric(metric: str) -> None:
    """Raise :class:`ConfigurationError` unless ``metric`` is one of :data:`METRICS`."""
    if metric not in METRICS:
        raise ConfigurationError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
