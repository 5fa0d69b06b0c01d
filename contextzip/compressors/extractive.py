"""The shared driver of extractive compressors: split, cost, score, select, join.

A compressor in this family only says how to rank units (a *priority* function);
this module does the rest the same way for all of them:

1. count every segment in the target LLM's tokens and resolve the budget;
2. return the original unchanged, with the reason, when there is nothing to gain
   (empty input, a budget that keeps everything, no words);
3. split the unprotected segments into units (``token``, ``word``, ``phrase``,
   ``sentence``, ``paragraph``) and give each its cost in target tokens;
4. keep units that hold a force token, then the best-ranked units that fit the
   budget left after protected segments (:func:`contextzip.selection.select_units`);
5. join each segment's kept spans with :func:`contextzip.text.join_spans`, measure
   the result, and if retokenization pushed it over the budget by more than a unit,
   drop the lowest-ranked units until it is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError
from contextzip.selection import overlapping_units, select_units, spread_token_costs, unit_of_position
from contextzip.text import Span, join_spans, unit_spans, word_spans
from contextzip.tokens import TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "UNITS",
    "UnitTable",
    "check_force_tokens",
    "check_unit",
    "compress_extractive",
    "unchanged_result",
]

#: The unit names every extractive compressor accepts.
UNITS = ("token", "word", "phrase", "sentence", "paragraph")

_MAX_REPAIRS = 4


def check_force_tokens(force_tokens: Sequence[str]) -> tuple[str, ...]:
    """Validate ``force_tokens`` (a list of strings) and return it as a tuple."""
    if isinstance(force_tokens, str) or not all(isinstance(t, str) for t in force_tokens):
        raise ConfigurationError(
            f"force_tokens takes a list of strings, e.g. ['ID-42', '?'], got {force_tokens!r}"
        )
    return tuple(force_tokens)


def check_unit(unit: str) -> None:
    """Raise :class:`ConfigurationError` unless ``unit`` is one of :data:`UNITS`."""
    if unit not in UNITS:
        raise ConfigurationError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")


@dataclass(frozen=True)
class UnitTable:
    """The units of all compressible segments, as parallel arrays.

    Attributes:
        texts: The text of each input segment (protected ones included, unsplit).
        bounds: For each input segment, the ``[lo, hi)`` range of its units.
        starts: Start character offset of each unit in its segment's text.
        ends: End character offset of each unit.
        costs: Cost of each unit in target tokens.
    """

    texts: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]
    starts: np.ndarray
    ends: np.ndarray
    costs: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def unit_text(self, index: int) -> str:
        segment = next(s for s, (lo, hi) in enumerate(self.bounds) if lo <= index < hi)
        return self.texts[segment][int(self.starts[index]) : int(self.ends[index])]

    def word_counts(self) -> np.ndarray:
        """Number of words (:func:`contextzip.text.word_spans`) in each unit."""
        import numpy as np

        counts = np.zeros(len(self), dtype=np.float64)
        for segment, (lo, hi) in enumerate(self.bounds):
            if hi > lo:
                starts = np.asarray([s for s, _ in word_spans(self.texts[segment])], dtype=np.int64)
                counts[lo:hi] = self.sum_points(segment, starts, np.ones(len(starts)))
        return counts

    def sum_points(self, segment: int, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum per-position values (e.g. token surprisal) into the segment's units."""
        import numpy as np

        lo, hi = self.bounds[segment]
        if hi == lo or len(positions) == 0:
            return np.zeros(hi - lo, dtype=np.float64)
        units = unit_of_position(self.ends[lo:hi], positions)
        return np.bincount(units, weights=values, minlength=hi - lo).astype(np.float64)


Priority = Callable[[UnitTable, "str | None"], "np.ndarray"]


class ExtractiveCompressor:
    """Base of compressors that only rank units; :meth:`compress` does the rest.

    Subclasses set ``name`` and implement :meth:`priority`; ``in_order = True`` makes
    the selection stop at the first unit that does not fit (truncation).

    Args:
        unit: The unit kept or dropped whole (one of :data:`UNITS`).
        force_tokens: Strings whose every occurrence is kept.
        encoding: The tiktoken encoding budgets are counted in.
    """

    name: str
    in_order = False

    def __init__(self, *, unit: str, force_tokens: Sequence[str], encoding: str) -> None:
        check_unit(unit)
        self.unit = unit
        self.force_tokens = check_force_tokens(force_tokens)
        self.counter = TokenCounter(encoding)

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Compress ``segments`` to ``budget``, keeping the units :meth:`priority` ranks best."""
        return compress_extractive(
            segments,
            budget=budget,
            query=query,
            name=self.name,
            counter=self.counter,
            unit=self.unit,
            priority=self.priority,
            force_tokens=self.force_tokens,
            in_order=self.in_order,
        )

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        """One score per unit of ``table``; higher is kept first."""
        raise NotImplementedError


def compress_extractive(
    segments: Sequence[Segment],
    *,
    budget: Budget,
    query: str | None,
    name: str,
    counter: TokenCounter,
    unit: str,
    priority: Priority,
    force_tokens: Sequence[str] = (),
    in_order: bool = False,
) -> CompressionResult:
    """Compress ``segments`` to ``budget`` by keeping the units ``priority`` ranks best."""
    import numpy as np

    started = time.perf_counter()
    segments = _check_segments(segments)
    counts = [counter.count(s.text) for s in segments]
    total = sum(counts)
    target = budget.resolve(total)

    def unchanged(reason: str) -> CompressionResult:
        return unchanged_result(segments, counts, name, target, reason, started)

    if total == 0:
        return unchanged("the input is empty")
    if target >= total:
        return unchanged(f"the budget ({target} tokens) keeps the whole input ({total} tokens)")
    table = _build_table(segments, unit, counter)
    if len(table) == 0:
        return unchanged("the input has no words to compress")
    if len(table) == 1:
        return unchanged("the input is a single unit, which cannot be compressed further")

    protected_tokens = sum(c for s, c in zip(segments, counts, strict=True) if s.protected)
    forced = _forced_units(table, force_tokens)
    scores = np.asarray(priority(table, query), dtype=np.float64)
    if scores.shape != (len(table),):
        raise ConfigurationError(f"{name}: priority returned {scores.shape}, expected ({len(table)},)")
    keep = select_units(
        scores,
        table.costs,
        float(target - protected_tokens),
        forced=forced,
        in_order=in_order,
        keep_at_least_one=protected_tokens == 0,
    )
    results = _fit_to_target(
        segments, counts, table, keep, forced, scores, counter, target, protected_tokens <= target
    )

    after = sum(r.tokens_after for r in results if not r.dropped)
    if after >= total:
        return unchanged(f"compression would not shorten the input ({after} >= {total} tokens)")
    reason = None
    if protected_tokens > target:
        reason = (
            f"protected segments alone hold {protected_tokens} tokens, more than the budget "
            f"of {target}; only protected content was kept"
        )
    return CompressionResult(
        segments=tuple(results),
        compressor=name,
        target_tokens=target,
        elapsed_s=time.perf_counter() - started,
        reason=reason,
    )


def _fit_to_target(
    segments: Sequence[Segment],
    counts: Sequence[int],
    table: UnitTable,
    keep: np.ndarray,
    forced: np.ndarray,
    scores: np.ndarray,
    counter: TokenCounter,
    target: int,
    may_add: bool,
) -> list[SegmentResult]:
    """Join the kept units; if retokenized text misses the target by over a unit, adjust."""
    results = _segment_results(segments, counts, table, keep, counter)
    one_unit = float(table.costs.max())
    for _ in range(_MAX_REPAIRS):
        error = sum(r.tokens_after for r in results) - target
        if error > one_unit:
            changed = _drop_lowest(keep, forced, scores, table.costs, error)
        elif -error > one_unit and may_add:
            changed = _add_best(keep, scores, table.costs, -error)
        else:
            break
        if not changed:
            break
        results = _segment_results(segments, counts, table, keep, counter)
    return results


def _drop_lowest(
    keep: np.ndarray, forced: np.ndarray, scores: np.ndarray, costs: np.ndarray, excess: float
) -> bool:
    """Retokenization overshot the budget: drop the lowest-ranked kept units covering ``excess``."""
    import numpy as np

    candidates = np.flatnonzero(keep & ~forced)
    if len(candidates) <= 1:
        return False
    order = candidates[np.lexsort((-candidates, scores[candidates]))]
    count = int(np.searchsorted(np.cumsum(costs[order]), excess)) + 1
    keep[order[: min(count, len(order) - 1)]] = False
    return True


def _add_best(keep: np.ndarray, scores: np.ndarray, costs: np.ndarray, room: float) -> bool:
    """Retokenization left room under the budget: add the best unkept units that fit in it."""
    import numpy as np

    candidates = np.flatnonzero(~keep)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    fits = np.cumsum(costs[order]) <= room
    # Priority order is position order for truncation, so what it adds stays contiguous.
    count = len(fits) if fits.all() else int(np.argmin(fits))
    keep[order[:count]] = True
    return count > 0


def unchanged_result(
    segments: Sequence[Segment],
    counts: Sequence[int],
    name: str,
    target: int,
    reason: str,
    started: float,
) -> CompressionResult:
    """The result that hands the input back untouched (``ratio == 1.0``) with a reason."""
    results = tuple(
        SegmentResult(
            segment=s,
            text=s.text,
            spans=((0, len(s.text)),) if s.text else (),
            tokens_before=c,
            tokens_after=c,
        )
        for s, c in zip(segments, counts, strict=True)
    )
    return CompressionResult(
        segments=results,
        compressor=name,
        target_tokens=target,
        elapsed_s=time.perf_counter() - started,
        reason=reason,
    )


def _check_segments(segments: Sequence[Segment]) -> list[Segment]:
    if isinstance(segments, str | Segment):
        raise ConfigurationError(
            "compress() of a Compressor takes a sequence of Segment; wrap a single text as "
            "[Segment(text)] or use contextzip.compress(text, ...)"
        )
    checked = list(segments)
    for position, segment in enumerate(checked):
        if not isinstance(segment, Segment):
            raise ConfigurationError(
                f"segments[{position}] is a {type(segment).__name__}, expected contextzip.Segment"
            )
    return checked


def _spans_of(text: str, unit: str, counter: TokenCounter) -> list[Span]:
    if unit != "token":
        return unit_spans(text, unit)
    starts = counter.token_starts(text).tolist()
    spans: list[Span] = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[start:end]
        stripped_start = start + (len(piece) - len(piece.lstrip()))
        stripped_end = start + len(piece.rstrip())
        if stripped_start < stripped_end:
            spans.append((stripped_start, stripped_end))
    return spans


def _build_table(segments: Sequence[Segment], unit: str, counter: TokenCounter) -> UnitTable:
    import numpy as np

    check_unit(unit)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    bounds: list[tuple[int, int]] = []
    offset = 0
    for segment in segments:
        spans = [] if segment.protected else _spans_of(segment.text, unit, counter)
        span_array = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        starts.append(span_array[:, 0])
        ends.append(span_array[:, 1])
        token_starts = counter.token_starts(segment.text) if spans else np.zeros(0, np.int64)
        costs.append(spread_token_costs(span_array[:, 1], token_starts, len(segment.text)))
        bounds.append((offset, offset + len(spans)))
        offset += len(spans)
    return UnitTable(
        texts=tuple(s.text for s in segments),
        bounds=tuple(bounds),
        starts=np.concatenate(starts),
        ends=np.concatenate(ends),
        costs=np.concatenate(costs),
    )


def _forced_units(table: UnitTable, force_tokens: Sequence[str]) -> np.ndarray:
    import numpy as np

    forced = np.zeros(len(table), dtype=bool)
    needles = [t for t in force_tokens if t and not t.isspace()]
    if not needles:
        return forced
    for segment, (lo, hi) in enumerate(table.bounds):
        text = table.texts[segment]
        ranges = [(i, i + len(needle)) for needle in needles for i in _occurrences(text, needle)]
        if ranges and hi > lo:
            forced[lo:hi] |= overlapping_units(table.starts[lo:hi], table.ends[lo:hi], ranges)
    return forced


def _occurrences(text: str, needle: str) -> list[int]:
    found: list[int] = []
    index = text.find(needle)
    while index != -1:
        found.append(index)
        index = text.find(needle, index + len(needle))
    return found


def _segment_results(
    segments: Sequence[Segment],
    counts: Sequence[int],
    table: UnitTable,
    keep: np.ndarray,
    counter: TokenCounter,
) -> list[SegmentResult]:
    results: list[SegmentResult] = []
    for segment, count, (lo, hi) in zip(segments, counts, table.bounds, strict=True):
        if segment.protected:
            spans: tuple[Span, ...] = ((0, len(segment.text)),) if segment.text else ()
            results.append(SegmentResult(segment, segment.text, spans, count, count))
            continue
        kept = keep[lo:hi]
        spans = tuple(zip(table.starts[lo:hi][kept].tolist(), table.ends[lo:hi][kept].tolist(), strict=True))
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
