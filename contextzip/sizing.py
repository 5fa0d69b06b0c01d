"""What every compressor does first: check the segments, count them once, resolve the budget."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from contextzip.tokens import TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, check_segments

__all__ = ["Sized", "size_input"]


@dataclass(frozen=True)
class Sized:
    """An input counted once, with its budget resolved to tokens.

    Attributes:
        segments: The checked segments.
        counts: Tokens of each segment.
        total: Their sum.
        target: The budget in tokens (:meth:`~contextzip.types.Budget.resolve` of ``total``).
        started: The :func:`time.perf_counter` reading when the call began.
    """

    segments: list[Segment]
    counts: list[int]
    total: int
    target: int
    started: float

    @property
    def keeps_everything(self) -> bool:
        """The input is empty, or the budget holds all of it."""
        return self.total == 0 or self.target >= self.total

    def unchanged(self, compressor: str, reason: str) -> CompressionResult:
        """The result that hands the input back untouched, saying why."""
        return CompressionResult.unchanged(
            self.segments, self.counts, compressor, self.target, reason, self.started
        )


def size_input(
    segments: Sequence[Segment],
    budget: Budget,
    counter: TokenCounter,
    *,
    counts: Sequence[int] | None = None,
    started: float | None = None,
) -> Sized:
    """Check ``segments``, count them with ``counter`` (unless ``counts`` are given), resolve ``budget``.

    ``started`` is when the call began, where counting came first (``None``: now).

    Example:
        >>> sized = size_input([Segment("one two three four")], Budget(rate=0.5), TokenCounter())
        >>> sized.counts, sized.target, sized.keeps_everything
        ([4], 2, False)
    """
    started = time.perf_counter() if started is None else started
    checked = check_segments(segments)
    sizes = list(counts) if counts is not None else [counter.count_remembered(s.text) for s in checked]
    total = sum(sizes)
    return Sized(list(checked), sizes, total, budget.resolve(total), started)
