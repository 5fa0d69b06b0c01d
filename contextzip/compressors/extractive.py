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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError
from contextzip.selection import (
    JoinCostModel,
    add_best,
    drop_lowest,
    overlapping_units,
    select_units,
    spread_token_costs,
    unit_of_position,
)
from contextzip.text import Span, join_spans, unit_spans, word_boundaries
from contextzip.text import span_array as spans_as_array
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
        unit: The unit name the segments were split into.
    """

    texts: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]
    starts: np.ndarray
    ends: np.ndarray
    costs: np.ndarray
    unit: str
    _words: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.starts)

    def unit_text(self, index: int) -> str:
        segment = next(s for s, (lo, hi) in enumerate(self.bounds) if lo <= index < hi)
        return self.texts[segment][int(self.starts[index]) : int(self.ends[index])]

    def words(self, segment: int) -> np.ndarray:
        """The ``(n, 2)`` word spans of a segment's text, split once per table."""
        import numpy as np

        if segment not in self._words:
            if self.unit == "word":
                lo, hi = self.bounds[segment]
                self._words[segment] = np.stack((self.starts[lo:hi], self.ends[lo:hi]), axis=1)
            else:
                self._words[segment] = np.stack(word_boundaries(self.texts[segment]), axis=1)
        return self._words[segment]

    def word_counts(self) -> np.ndarray:
        """Number of words (:func:`contextzip.text.word_spans`) in each unit."""
        import numpy as np

        counts = np.zeros(len(self), dtype=np.float64)
        for segment, (lo, hi) in enumerate(self.bounds):
            if hi > lo:
                starts = self.words(segment)[:, 0]
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
    encoded = [counter.encode(s.text) for s in segments]
    counts = [len(tokens) for tokens in encoded]
    total = sum(counts)
    target = budget.resolve(total)

    def unchanged(reason: str) -> CompressionResult:
        return unchanged_result(segments, counts, name, target, reason, started)

    if total == 0:
        return unchanged("the input is empty")
    if target >= total:
        return unchanged(f"the budget ({target} tokens) keeps the whole input ({total} tokens)")
    table = _build_table(segments, encoded, unit, counter)
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
    """Join the kept units, adjusting the choice until the joined text meets the target.

    Joining changes tokenization at the gaps (a line-break separator before a word is a
    token the word's own cost did not hold), so the choice is first corrected on
    :class:`~contextzip.selection.JoinCostModel`, which is cheap, then on measured counts.
    """
    model = JoinCostModel(table.texts, table.bounds, table.starts, table.ends, table.costs)
    one_unit = float(table.costs.max())
    bias = 0.0  # what the model missed at the last measurement
    results: list[SegmentResult] = []
    for _ in range(_MAX_REPAIRS):
        for _ in range(_MAX_REPAIRS):
            estimate = model.tokens(keep) + bias
            if not _repair(keep, forced, scores, table.costs, estimate, target, one_unit, may_add):
                break
        results = _segment_results(segments, counts, table, keep, counter)
        measured = sum(r.tokens_after for r in results)
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


def _unit_array(text: str, tokens: list[int], unit: str, counter: TokenCounter) -> np.ndarray:
    """The ``(n, 2)`` spans of ``text``'s units."""
    import numpy as np

    if unit == "word":
        return np.stack(word_boundaries(text), axis=1)
    if unit != "token":
        return spans_as_array(unit_spans(text, unit))
    starts = counter.token_starts(text, tokens).tolist()
    spans: list[Span] = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[start:end]
        stripped_start = start + (len(piece) - len(piece.lstrip()))
        stripped_end = start + len(piece.rstrip())
        if stripped_start < stripped_end:
            spans.append((stripped_start, stripped_end))
    return spans_as_array(spans)


def _build_table(
    segments: Sequence[Segment], encoded: Sequence[list[int]], unit: str, counter: TokenCounter
) -> UnitTable:
    import numpy as np

    check_unit(unit)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    bounds: list[tuple[int, int]] = []
    offset = 0
    for segment, tokens in zip(segments, encoded, strict=True):
        empty = segment.protected or not segment.text
        span_array = np.zeros((0, 2), np.int64) if empty else _unit_array(segment.text, tokens, unit, counter)
        starts.append(span_array[:, 0])
        ends.append(span_array[:, 1])
        token_starts = (
            counter.token_starts(segment.text, tokens) if len(span_array) else np.zeros(0, np.int64)
        )
        costs.append(spread_token_costs(span_array[:, 1], token_starts, len(segment.text)))
        bounds.append((offset, offset + len(span_array)))
        offset += len(span_array)
    return UnitTable(
        texts=tuple(s.text for s in segments),
        bounds=tuple(bounds),
        starts=np.concatenate(starts),
        ends=np.concatenate(ends),
        costs=np.concatenate(costs),
        unit=unit,
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


def _kept_runs(starts: np.ndarray, ends: np.ndarray, keep: np.ndarray) -> tuple[Span, ...]:
    """Spans of runs of consecutive kept units (only whitespace lies between neighbours)."""
    import numpy as np

    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return ()
    breaks = np.flatnonzero(np.diff(kept) != 1)
    firsts = kept[np.concatenate(([0], breaks + 1))]
    lasts = kept[np.concatenate((breaks, [len(kept) - 1]))]
    return tuple(zip(starts[firsts].tolist(), ends[lasts].tolist(), strict=True))


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
        spans = _kept_runs(table.starts[lo:hi], table.ends[lo:hi], keep[lo:hi])
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
