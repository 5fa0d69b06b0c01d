"""Marginal information gain's arithmetic: redundancy, MMR gains, budget shares by water-filling."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DECIMALS", "allocate_budget", "max_similarity", "mmr_order"]

#: Scores are rounded before ranking so that float noise (thread counts, BLAS kernels)
#: cannot reorder units: same input and config, same bytes out.
DECIMALS = 6
_BLOCK = 1024  # rows of a similarity matrix computed at once


def max_similarity(vectors: np.ndarray, others: np.ndarray, *, skip_self: bool) -> np.ndarray:
    """Each row's largest dot product with ``others`` (itself excluded), a block of rows at a time."""
    import numpy as np

    out = np.empty(len(vectors))
    for lo in range(0, len(vectors), _BLOCK):
        block = np.round(vectors[lo : lo + _BLOCK] @ others.T, DECIMALS)
        if skip_self:
            rows = np.arange(len(block))
            block[rows, lo + rows] = -np.inf
        out[lo : lo + _BLOCK] = block.max(axis=1)
    return out


def mmr_order(
    relevance: np.ndarray, similarity: np.ndarray, *, alpha: float = 1.0, beta: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy MIG (maximal marginal relevance): the pick order and each item's gain when picked.

    The gain of an item is ``alpha * relevance - beta * (largest similarity to an item picked
    before it)``; the first pick has no redundancy. Ties go to the earlier item.

    Example:
        >>> import numpy as np
        >>> sim = np.array([[1.0, 0.99, 0.1], [0.99, 1.0, 0.1], [0.1, 0.1, 1.0]])
        >>> order, gains = mmr_order(np.array([0.9, 0.88, 0.5]), sim)
        >>> order.tolist(), gains.round(2).tolist()   # the near-duplicate drops behind item 2
        ([0, 2, 1], [0.9, -0.11, 0.4])
    """
    import numpy as np

    count = len(relevance)
    picked = np.zeros(count, dtype=bool)
    redundancy = np.zeros(count)
    gains = np.zeros(count)
    order = np.zeros(count, dtype=np.int64)
    for step in range(count):
        value = np.round(alpha * relevance - beta * redundancy, DECIMALS)
        value[picked] = -np.inf
        best = int(np.argmax(value))
        order[step] = best
        gains[best] = value[best]
        picked[best] = True
        if step == 0:
            redundancy = similarity[best].astype(np.float64).copy()
        else:
            np.maximum(redundancy, similarity[best], out=redundancy)
    return order, gains


def allocate_budget(
    weights: np.ndarray, sizes: np.ndarray, smallest: np.ndarray, budget: float
) -> np.ndarray:
    """Whole tokens of ``budget`` per group, in proportion to ``weights``.

    A group never gets more than its ``sizes`` (what it cannot use is shared among the
    others), and a share below the group's ``smallest`` unit is withdrawn and shared among
    the others (the lowest-weighted such group first). Rounding is by largest remainder,
    ties to the earlier group.

    Example:
        >>> import numpy as np
        >>> allocate_budget(np.array([3.0, 1.0, 0.01]), np.array([100.0, 100.0, 100.0]),
        ...                 np.array([5.0, 5.0, 5.0]), 80).tolist()
        [60, 20, 0]
    """
    import numpy as np

    groups = len(weights)
    total = int(np.floor(max(budget, 0.0)))
    active = (weights > 0) & (sizes > 0)
    while True:
        shares = _water_fill(weights, sizes, active, total)
        starved = active & (shares < smallest)
        if not starved.any():
            break
        # withdraw the weakest starved group and share again
        candidates = np.flatnonzero(starved)
        active[candidates[np.lexsort((-candidates, weights[candidates]))[0]]] = False
        if not active.any():
            shares = np.zeros(groups)
            break
    whole = np.floor(shares + 1e-9).astype(np.int64)
    left = min(total, int(np.floor(float(sizes[active].sum())))) - int(whole.sum())
    if left > 0:
        remainders = shares - whole
        room = np.floor(sizes - whole) >= 1
        order = [int(i) for i in np.lexsort((np.arange(groups), -remainders)) if active[i] and room[i]]
        for index in order[:left]:
            whole[index] += 1
    return whole


def _water_fill(weights: np.ndarray, sizes: np.ndarray, active: np.ndarray, total: float) -> np.ndarray:
    """Proportional shares of ``total`` over ``active`` groups, each capped at its size."""
    import numpy as np

    shares = np.zeros(len(weights))
    open_ = active.copy()
    left = float(total)
    while left > 1e-9 and open_.any():
        portion = left * weights * open_ / float(weights[open_].sum())
        capped = open_ & (shares + portion >= sizes)
        if not capped.any():
            shares += portion
            break
        left -= float((sizes[capped] - shares[capped]).sum())
        shares[capped] = sizes[capped]
        open_ &= ~capped
    return shares
