"""The shared driver of extractive compressors: split, cost, score, select, join.

A compressor in this family only says how to rank units (its ``priority``); this
module does the rest the same way for all of them:

1. count every segment in the target LLM's tokens and resolve the budget;
2. return the original unchanged, with the reason, when there is nothing to gain
   (empty input, a budget that keeps everything, no words, a single unit) or when
   scoring fails at run time (the error is logged; a bad option still raises);
3. split the compressible segments into units (:mod:`contextzip.compressors.units`);
   protected segments and non-text kinds (JSON, code) pass through unchanged;
4. keep units that hold a force token or Markdown table syntax, then the best-ranked
   units that fit the budget left after the unchanged segments
   (:func:`contextzip.selection.select_units`) — or let the compressor choose them
   itself (a :data:`Chooser`, for selections that are not one global ranking);
5. join each segment's kept spans with :func:`contextzip.text.join_spans`; since
   joining changes tokenization at the gaps, correct the choice first on a cost model,
   then on measured counts, until the result is within one unit of the budget.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.fitting import fit_to_target
from contextzip.compressors.units import (
    Splitter,
    UnitTable,
    balance_fences,
    build_unit_table,
    check_force_tokens,
    check_unit,
    forced_units,
    is_compressible,
)
from contextzip.errors import ConfigurationError, ContextZipError
from contextzip.selection import select_units
from contextzip.sizing import size_input
from contextzip.tokens import TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, UnitLabel, check_segments

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Chooser", "ExtractiveCompressor", "Priority", "compress_extractive"]

logger = logging.getLogger(__name__)

Priority = Callable[[UnitTable, "str | None"], "np.ndarray"]

#: ``(table, query, budget, forced) -> (scores, keep)``: picks the units to keep, within
#: ``budget`` (their summed cost) and including ``forced``; the scores rank units for the
#: final repair that fits the joined text to the budget.
Chooser = Callable[[UnitTable, "str | None", float, "np.ndarray"], "tuple[np.ndarray, np.ndarray]"]


class ExtractiveCompressor:
    """Base of compressors that only rank units; :meth:`compress` does the rest.

    Subclasses set ``name`` and implement :meth:`priority`; ``in_order = True`` makes
    the selection stop at the first unit that does not fit (truncation). They may also
    override :meth:`split_words` (their own word units) and :meth:`forced` (more units
    that must stay), or set ``chooser`` to pick units themselves.

    Args:
        unit: The unit kept or dropped whole (one of :data:`UNITS`).
        force_tokens: Strings whose every occurrence is kept.
        encoding: The tiktoken encoding budgets are counted in.
        min_tokens: Inputs shorter than this (in target tokens) are returned unchanged.
        drop_consecutive: Drop a unit that is exactly a force token when it repeats the
            previous kept force token with nothing else kept between them.
        return_word_label: Record every unit's score and keep label in
            :attr:`SegmentResult.labels <contextzip.types.SegmentResult.labels>`.
    """

    name: str
    in_order = False
    chooser: Chooser | None = None

    def __init__(
        self,
        *,
        unit: str,
        force_tokens: Sequence[str],
        encoding: str,
        min_tokens: int = 0,
        drop_consecutive: bool = False,
        return_word_label: bool = False,
    ) -> None:
        check_unit(unit)
        if min_tokens < 0:
            raise ConfigurationError(f"min_tokens must be >= 0, got {min_tokens}")
        self.unit = unit
        self.force_tokens = check_force_tokens(force_tokens)
        self.counter = TokenCounter(encoding)
        self.min_tokens = min_tokens
        self.drop_consecutive = drop_consecutive
        self.return_word_label = return_word_label

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Compress ``segments`` to ``budget``, keeping the units :meth:`priority` ranks best."""
        return self._compress_units(segments, query=query, budget=budget, min_tokens=self.min_tokens)

    def _compress_units(
        self, segments: Sequence[Segment], *, query: str | None, budget: Budget, min_tokens: int
    ) -> CompressionResult:
        """:func:`compress_extractive` with this compressor's options (``min_tokens`` given)."""
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
            splitter=self.split_words,
            forced=self.forced,
            chooser=self.chooser,
            min_tokens=min_tokens,
            drop_consecutive=self.drop_consecutive,
            return_labels=self.return_word_label,
        )

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        """One score per unit of ``table``; higher is kept first."""
        raise NotImplementedError

    def split_words(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Start and end offsets of the word units of ``text``."""
        from contextzip.words import word_boundaries

        return word_boundaries(text)

    def forced(self, table: UnitTable) -> np.ndarray | None:
        """A mask of units that must stay beyond force tokens and table syntax, or None."""
        return None


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
    splitter: Splitter | None = None,
    forced: Callable[[UnitTable], np.ndarray | None] | None = None,
    chooser: Chooser | None = None,
    min_tokens: int = 0,
    drop_consecutive: bool = False,
    return_labels: bool = False,
) -> CompressionResult:
    """Compress ``segments`` to ``budget`` by keeping the units ``priority`` ranks best.

    Args:
        segments: The input; not modified.
        budget: How many target tokens may stay.
        query: Passed to ``priority``.
        name: The compressor's name, recorded in the result.
        counter: Counts target-LLM tokens.
        unit: One of :data:`~contextzip.compressors.units.UNITS`.
        priority: Scores a :class:`~contextzip.compressors.units.UnitTable`; higher is kept first.
        force_tokens: Strings whose every occurrence is kept.
        in_order: Stop at the first unit that does not fit (truncation).
        splitter: Word units (default :func:`~contextzip.words.word_boundaries`).
        forced: More units that must stay, as a mask over the table.
        chooser: Picks the units itself instead of ``priority`` + the shared selection.
        min_tokens: Inputs shorter than this are returned unchanged.
        drop_consecutive: See :class:`ExtractiveCompressor`.
        return_labels: Fill :attr:`SegmentResult.labels`.

    Example:
        >>> import numpy as np
        >>> from contextzip.tokens import TokenCounter
        >>> longest_first = lambda table, query: (table.ends - table.starts).astype(float)
        >>> r = compress_extractive([Segment("cat elephant dog giraffe")], budget=Budget(target_tokens=3),
        ...     query=None, name="longest", counter=TokenCounter(), unit="word", priority=longest_first)
        >>> r.text
        'elephant giraffe'
    """
    import numpy as np

    started = time.perf_counter()
    force_tokens = check_force_tokens(force_tokens)
    encoded = [counter.encode(s.text) for s in check_segments(segments)]
    sized = size_input(segments, budget, counter, counts=[len(t) for t in encoded], started=started)
    segments, counts, total, target = sized.segments, sized.counts, sized.total, sized.target

    def unchanged(reason: str) -> CompressionResult:
        return sized.unchanged(name, reason)

    skip = _nothing_to_gain(total, target, min_tokens)
    if skip is not None:
        return unchanged(skip)
    table = build_unit_table(segments, encoded, unit, counter, splitter)
    if len(table) == 0:
        return unchanged("the input has no words a text compressor may drop")
    if len(table) == 1:
        return unchanged("the input is a single unit, which cannot be compressed further")

    fixed_tokens = sum(c for s, c in zip(segments, counts, strict=True) if not is_compressible(s))
    unit_budget = target - fixed_tokens
    keep = None
    try:
        must_stay = forced_units(table, force_tokens)
        extra = forced(table) if forced is not None else None
        must_stay = must_stay if extra is None else must_stay | extra
        scores, keep = (
            chooser(table, query, float(unit_budget), must_stay.copy())
            if chooser is not None
            else (priority(table, query), None)
        )
        scores = np.asarray(scores, dtype=np.float64)
    except ContextZipError:
        raise
    except Exception as exc:  # a run-time failure must not lose the request
        logger.warning("%s: scoring failed, returning the input unchanged", name, exc_info=True)
        return unchanged(f"compression failed ({type(exc).__name__}: {exc}); the input is unchanged")
    if scores.shape != (len(table),):
        raise ConfigurationError(f"{name}: priority returned {scores.shape}, expected ({len(table)},)")
    if keep is None:
        keep = select_units(
            scores,
            table.costs,
            float(unit_budget),
            forced=must_stay,
            in_order=in_order,
            keep_at_least_one=fixed_tokens == 0,
        )
    else:
        keep = np.asarray(keep, dtype=bool) | must_stay
    balance_fences(table, keep, must_stay, scores)
    if drop_consecutive:
        repeats = consecutive_repeats(table, keep, force_tokens)
        keep &= ~repeats
        must_stay &= ~repeats
        scores[repeats] = -np.inf  # the repair step must not add them back
    results = fit_to_target(segments, counts, table, keep, must_stay, scores, counter, unit_budget)
    if return_labels:
        results = _with_labels(results, table, keep, scores)

    after = sum(r.tokens_after for r in results)
    if after >= total:
        return unchanged(f"compression would not shorten the input ({after} >= {total} tokens)")
    return CompressionResult(
        segments=tuple(results),
        compressor=name,
        target_tokens=target,
        elapsed_s=time.perf_counter() - started,
        reason=_budget_miss(after, target, fixed_tokens, table.costs, must_stay),
    )


def _nothing_to_gain(total: int, target: int, min_tokens: int) -> str | None:
    """Why the input should come back unchanged before any work, or None."""
    if total == 0:
        return "the input is empty"
    if total < min_tokens:
        return f"the input ({total} tokens) is shorter than min_tokens={min_tokens}; left alone"
    if target >= total:
        return f"the budget ({target} tokens) keeps the whole input ({total} tokens)"
    return None


def _budget_miss(
    after: int, target: int, fixed_tokens: int, costs: np.ndarray, forced: np.ndarray
) -> str | None:
    """Why the result is over budget, or None when it is within one unit of it."""
    forced_tokens = float(costs[forced].sum())
    if fixed_tokens > target:
        return (
            f"protected and structured segments alone hold {fixed_tokens} tokens, more than the "
            f"budget of {target}; only they and forced content were kept"
        )
    if forced.any() and forced_tokens > target - fixed_tokens:
        return (
            f"force tokens and table syntax that must stay need about {forced_tokens:.0f} tokens, "
            f"more than the {target - fixed_tokens} left in the budget; all of them were kept"
        )
    one_unit = float(costs.max())
    if after > target + one_unit:
        return f"kept {after} tokens for a budget of {target}; the units could not fit it closer"
    if target < one_unit and after > target:
        return f"the budget ({target} tokens) is smaller than one unit; the best unit was kept"
    return None


def consecutive_repeats(table: UnitTable, keep: np.ndarray, force_tokens: Sequence[str]) -> np.ndarray:
    """Kept units that are exactly a force token and repeat the previous kept one.

    Two kept ``","`` units with no other kept unit between them are one too many: the
    second goes (LLMLingua-2's ``drop_consecutive``). Only units whose text equals a force
    token are candidates; a Python loop runs over those, not over all units.
    """
    import numpy as np

    repeats = np.zeros(len(table), dtype=bool)
    needles = {t for t in force_tokens if t and not t.isspace()}
    if not needles:
        return repeats
    lengths = table.ends - table.starts
    maybe = keep & np.isin(lengths, sorted({len(t) for t in needles}))
    for segment, (lo, hi) in enumerate(table.bounds):
        text = table.texts[segment]
        kept = np.flatnonzero(keep[lo:hi]) + lo
        # how many non-candidate kept units come before each kept unit
        candidates = [int(i) for i in kept if maybe[i] and text[table.starts[i] : table.ends[i]] in needles]
        if len(candidates) < 2:
            continue
        others_before = np.cumsum(~np.isin(kept, candidates))
        position = {int(index): n for n, index in enumerate(kept)}
        for previous, current in zip(candidates, candidates[1:], strict=False):
            same = (
                text[table.starts[previous] : table.ends[previous]]
                == text[table.starts[current] : table.ends[current]]
            )
            if same and others_before[position[current]] == others_before[position[previous]]:
                repeats[current] = True
    return repeats


def _with_labels(
    results: list[SegmentResult], table: UnitTable, keep: np.ndarray, scores: np.ndarray
) -> list[SegmentResult]:
    labelled = []
    for result, (lo, hi) in zip(results, table.bounds, strict=True):
        labels = tuple(
            UnitLabel(start, end, score, kept)
            for start, end, score, kept in zip(
                table.starts[lo:hi].tolist(), table.ends[lo:hi].tolist(),
                scores[lo:hi].tolist(), keep[lo:hi].tolist(), strict=True,
            )
        )  # fmt: skip
        labelled.append(dataclasses.replace(result, labels=labels))
    return labelled
