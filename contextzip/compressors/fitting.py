"""Joining the kept units back into segments, and repairing the choice until the joined text
meets the budget in measured tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.units import UnitTable, balance_fences, is_compressible, kept_runs
from contextzip.selection import JoinCostModel, add_best, drop_lowest
from contextzip.text import Span, join_spans
from contextzip.tokens import TokenCounter
from contextzip.types import Segment, SegmentResult

if TYPE_CHECKING:
    import numpy as np

__all__ = ["fit_to_target"]


_MAX_REPAIRS = 4


def fit_to_target(
    segments: Sequence[Segment],
    counts: Sequence[int],
    table: UnitTable,
    keep: np.ndarray,
    forced: np.ndarray,
    scores: np.ndarray,
    counter: TokenCounter,
    target: int,
) -> list[SegmentResult]:
    """Join the kept units, adjusting the choice until the joined units meet ``target``.

    ``target`` counts the compressible segments only (the others pass through).

    Joining changes tokenization at the gaps (a line-break separator before a word is a
    token the word's own cost did not hold), so the choice is first corrected on
    :class:`~contextzip.selection.JoinCostModel`, which is cheap, then on measured counts.
    """
    model = JoinCostModel(table.texts, table.bounds, table.starts, table.ends, table.costs)
    one_unit = float(table.costs.max())
    may_add = target > 0
    bias = 0.0  # what the model missed at the last measurement
    results: list[SegmentResult] = []
    for _ in range(_MAX_REPAIRS):
        for _ in range(_MAX_REPAIRS):
            estimate = model.tokens(keep) + bias
            if not _repair(keep, forced, scores, table.costs, estimate, target, one_unit, may_add):
                break
        balance_fences(table, keep, forced, scores)  # a repair may have emptied or refilled a code block
        results = _segment_results(segments, counts, table, keep, counter)
        measured = sum(r.tokens_after for r, s in zip(results, segments, strict=True) if is_compressible(s))
        if abs(measured - target) <= one_unit or bias == measured - model.tokens(keep):
            break
        bias = measured - model.tokens(keep)
    return results


def _repair(
    keep: np.ndarray,
    forced: np.ndarray,
    scores: np.ndarray,
    costs: np.ndarray,
    tokens: float,
    target: int,
    one_unit: float,
    may_add: bool,
) -> bool:
    """Drop or add units when ``tokens`` misses ``target`` by more than one unit."""
    error = tokens - target
    # the error is in joined-text tokens; scale it to unit-cost tokens
    scale = float(costs[keep].sum()) / tokens if tokens else 1.0
    if error > one_unit:
        return drop_lowest(keep, forced, scores, costs, error * scale)
    if -error > one_unit and may_add:
        return add_best(keep, scores, costs, -error * scale)
    return False


def _segment_results(
    segments: Sequence[Segment],
    counts: Sequence[int],
    table: UnitTable,
    keep: np.ndarray,
    counter: TokenCounter,
) -> list[SegmentResult]:
    results: list[SegmentResult] = []
    for segment, count, (lo, hi) in zip(segments, counts, table.bounds, strict=True):
        if not is_compressible(segment) or hi == lo:
            spans: tuple[Span, ...] = ((0, len(segment.text)),) if segment.text else ()
            results.append(SegmentResult(segment, segment.text, spans, count, count))
            continue
        spans = kept_runs(table.starts[lo:hi], table.ends[lo:hi], keep[lo:hi])
        text = join_spans(segment.text, spans)
        results.append(
            SegmentResult(
                segment=segment,
                text=text,
                spans=spans,
                tokens_before=count,
                tokens_after=counter.count(text),
                dropped=not spans,
            )
        )
    return results
