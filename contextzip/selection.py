"""Choosing units under a token budget: the knapsack step every extractive compressor shares.

A compressor scores its units; :func:`select_units` keeps the best of them that fit.
Forced units are kept first. The rest are taken by priority (ties by position); a
unit that does not fit is skipped and smaller ones after it may still fill the gap,
so the kept cost ends within one unit of the budget. With ``in_order=True`` the
first unit that does not fit stops the selection (truncation keeps a contiguous run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.words import code_points

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "KNAPSACK_CELLS",
    "JoinCostModel",
    "add_best",
    "drop_lowest",
    "knapsack",
    "overlapping_units",
    "select_units",
    "spread_token_costs",
    "unit_of_position",
]


def select_units(
    priority: np.ndarray,
    costs: np.ndarray,
    budget: float,
    *,
    forced: np.ndarray | None = None,
    in_order: bool = False,
    keep_at_least_one: bool = True,
) -> np.ndarray:
    """Return a boolean mask of the units to keep.

    Args:
        priority: Higher is kept first.
        costs: Each unit's cost in target tokens (may be fractional).
        budget: Total cost allowed, forced units included.
        forced: Units kept whatever their cost.
        in_order: Stop at the first unit (in priority order) that does not fit.
        keep_at_least_one: When nothing fits, keep the top unit anyway (the budget is
            then exceeded by less than one unit rather than losing everything).

    Example:
        >>> import numpy as np
        >>> select_units(np.array([3.0, 1.0, 2.0]), np.array([2.0, 1.0, 5.0]), 3).tolist()
        [True, True, False]
    """
    import numpy as np

    count = len(costs)
    keep = np.zeros(count, dtype=bool) if forced is None else forced.astype(bool).copy()
    if count == 0:
        return keep
    remaining = budget - float(costs[keep].sum())
    order = np.lexsort((np.arange(count), -priority))
    order = order[~keep[order]]
    if len(order) == 0:
        return keep
    ordered_costs = costs[order]
    fits_prefix = np.cumsum(ordered_costs) <= remaining + 1e-9
    prefix = len(fits_prefix) if fits_prefix.all() else int(np.argmin(fits_prefix))
    keep[order[:prefix]] = True
    remaining -= float(ordered_costs[:prefix].sum())
    if not in_order:
        # only units that fit what is left can still be taken; the budget only shrinks
        rest = order[prefix:]
        rest = rest[costs[rest] <= remaining + 1e-9]
        for index, cost in zip(rest.tolist(), costs[rest].tolist(), strict=True):
            if cost <= remaining + 1e-9:
                keep[index] = True
                remaining -= cost
    if keep_at_least_one and not keep.any():
        keep[order[0]] = True
    return keep


#: Largest items x capacity table :func:`knapsack` solves exactly; beyond, it is greedy.
KNAPSACK_CELLS = 2_000_000


def knapsack(values: np.ndarray, weights: np.ndarray, capacity: int) -> np.ndarray:
    """The items to take for the most total value within ``capacity`` (0/1 knapsack).

    Weights are whole numbers (tokens). Exact dynamic programming when ``items x capacity``
    is at most :data:`KNAPSACK_CELLS`; otherwise greedy by value per weight (ties to the
    earlier item), which is within one item's value of the optimum. Items of zero weight
    and positive value are always taken; items with no positive value never are.

    Example:
        >>> import numpy as np
        >>> knapsack(np.array([6.0, 10.0, 12.0]), np.array([1, 2, 3]), 5).tolist()  # greedy: 0 and 1
        [False, True, True]
    """
    import numpy as np

    weights = np.asarray(weights, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    take = np.zeros(len(values), dtype=bool)
    useful = values > 0
    free = useful & (weights <= 0)
    take[free] = True
    items = np.flatnonzero(useful & (weights > 0) & (weights <= capacity))
    capacity = max(int(capacity), 0)
    if len(items) == 0 or capacity == 0:
        return take
    if len(items) * (capacity + 1) > KNAPSACK_CELLS:
        order = items[np.lexsort((items, -values[items] / weights[items]))]
        room = capacity
        for index in order.tolist():
            if weights[index] <= room:
                take[index] = True
                room -= int(weights[index])
        return take
    best = np.zeros(capacity + 1)
    chosen = np.zeros((len(items), capacity + 1), dtype=bool)
    for row, index in enumerate(items.tolist()):
        weight, value = int(weights[index]), float(values[index])
        candidate = best[: capacity + 1 - weight] + value
        better = candidate > best[weight:] + 1e-12
        chosen[row, weight:] = better
        best[weight:] = np.where(better, candidate, best[weight:])
    room = capacity
    for row in range(len(items) - 1, -1, -1):
        if chosen[row, room]:
            take[items[row]] = True
            room -= int(weights[items[row]])
    return take


def unit_of_position(unit_ends: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Index of the unit whose territory holds each character position.

    A unit's territory runs from the end of the unit before it to its own end, so the
    whitespace in front of a word belongs to that word (as tiktoken's ``" word"`` does).
    Positions after the last unit belong to the last unit.
    """
    import numpy as np

    index = np.searchsorted(unit_ends, positions, side="right")
    return np.minimum(index, max(len(unit_ends) - 1, 0))


def spread_token_costs(unit_ends: np.ndarray, token_starts: np.ndarray, text_length: int) -> np.ndarray:
    """Cost of each unit in tokens; a token covering several units is shared among them.

    Example:
        >>> import numpy as np
        >>> spread_token_costs(np.array([3, 6]), np.array([0, 3]), 6).tolist()
        [1.0, 1.0]
    """
    import numpy as np

    costs = np.zeros(len(unit_ends), dtype=np.float64)
    if len(unit_ends) == 0 or len(token_starts) == 0:
        return costs
    token_ends = np.append(token_starts[1:], text_length)
    first = unit_of_position(unit_ends, token_starts)
    last = unit_of_position(unit_ends, np.maximum(token_ends - 1, token_starts))
    single = first == last
    np.add.at(costs, first[single], 1.0)
    for lo, hi in zip(first[~single].tolist(), last[~single].tolist(), strict=True):
        costs[lo : hi + 1] += 1.0 / (hi - lo + 1)
    return costs


def overlapping_units(
    unit_starts: np.ndarray, unit_ends: np.ndarray, ranges: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Boolean mask of the units that overlap any of the character ``ranges``."""
    import numpy as np

    if len(unit_starts) == 0 or not ranges:
        return np.zeros(len(unit_starts), dtype=bool)
    bounds = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
    firsts = np.searchsorted(unit_ends, bounds[:, 0], side="right")
    lasts = np.searchsorted(unit_starts, bounds[:, 1], side="left")
    # +1 where a covered run begins, -1 after it ends; a running sum > 0 means covered
    change = np.zeros(len(unit_starts) + 1, dtype=np.int64)
    np.add.at(change, firsts, 1)
    np.add.at(change, np.maximum(lasts, firsts), -1)
    return np.cumsum(change[:-1]) > 0


def drop_lowest(
    keep: np.ndarray, forced: np.ndarray, priority: np.ndarray, costs: np.ndarray, excess: float
) -> bool:
    """Unkeep the lowest-priority unforced units whose costs cover ``excess``; keep one at least."""
    import numpy as np

    candidates = np.flatnonzero(keep & ~forced)
    if len(candidates) <= 1:
        return False
    order = candidates[np.lexsort((-candidates, priority[candidates]))]
    count = int(np.searchsorted(np.cumsum(costs[order]), excess)) + 1
    keep[order[: min(count, len(order) - 1)]] = False
    return True


def add_best(keep: np.ndarray, priority: np.ndarray, costs: np.ndarray, room: float) -> bool:
    """Keep the best unkept units, in priority order, while their costs fit in ``room``.

    A unit whose priority is ``-inf`` was ruled out by its chooser and is never added.
    """
    import numpy as np

    candidates = np.flatnonzero(~keep & (priority > -np.inf))
    order = candidates[np.lexsort((candidates, -priority[candidates]))]
    fits = np.cumsum(costs[order]) <= room
    # For truncation priority order is position order, so what it adds stays contiguous.
    count = len(fits) if fits.all() else int(np.argmin(fits))
    keep[order[:count]] = True
    return count > 0


class JoinCostModel:
    """Estimates the tokens of the joined text of a choice of units, without joining.

    A unit's cost holds the whitespace before it (``" word"``, or ``"\\n"`` + ``"word"``
    for a word that starts a line). When units before a kept word are dropped and the
    gap held a line break, :func:`contextzip.text.join_spans` puts ``"\\n"`` in front of
    the word: one token more, unless the word started a line already. Other separators
    (a space, nothing) merge into the word's own token.

    Args:
        texts: Each segment's text.
        bounds: Each segment's ``[lo, hi)`` range of units.
        starts: Unit start offsets.
        ends: Unit end offsets.
        costs: Unit costs in tokens.
    """

    def __init__(
        self,
        texts: Sequence[str],
        bounds: Sequence[tuple[int, int]],
        starts: np.ndarray,
        ends: np.ndarray,
        costs: np.ndarray,
    ) -> None:
        import numpy as np

        count = len(starts)
        self.costs = costs
        self.segment = np.zeros(count, dtype=np.int64)
        line_break_before = np.zeros(count, dtype=np.int64)
        for segment, ((lo, hi), text) in enumerate(zip(bounds, texts, strict=True)):
            if hi <= lo:
                continue
            self.segment[lo:hi] = segment
            breaks = np.flatnonzero(code_points(text) == 0x0A)
            previous_ends = np.concatenate(([0], ends[lo : hi - 1]))
            # a break lies in the gap before unit k when one falls in [previous end, start)
            line_break_before[lo:hi] = np.searchsorted(breaks, starts[lo:hi]) - np.searchsorted(
                breaks, previous_ends
            )
        self.line_break_before = line_break_before > 0
        self.breaks_through = np.cumsum(line_break_before)

    def tokens(self, keep: np.ndarray) -> float:
        """Estimated tokens of the joined text of the kept units."""
        import numpy as np

        kept = np.flatnonzero(keep)
        if len(kept) < 2:
            return float(self.costs[kept].sum())
        before, after = kept[:-1], kept[1:]
        gap = (after - before > 1) & (self.segment[before] == self.segment[after])
        breaks_in_gap = self.breaks_through[after] - self.breaks_through[before] > 0
        extra = gap & breaks_in_gap & ~self.line_break_before[after]
        return float(self.costs[kept].sum() + extra.sum())
