"""Relevance that follows rare identifiers from unit to unit, for answers a few hops away.

A question names one thing; what it asks for can sit further along a chain of definitions:
``VAR QKZTD = 48213.``, then ``VAR MBXLE = VAR QKZTD.``, then ``VAR HRWAF = VAR MBXLE.``; a
function, then the line that calls it, then the variable that holds its result. Each link
after the first shares no word with the question and embeds like every other assignment,
so relevance scored unit by unit keeps the first link and drops the rest.

:func:`linked_relevance` is pseudo-relevance feedback over identifiers: units that share a
rare identifier are linked, and a unit's relevance is raised to ``decay`` times that of the
most relevant unit it is linked to, transitively (each hop multiplies by ``decay`` again;
a unit never loses relevance). An identifier is a name a text defines or refers to by
spelling rather than by meaning: ``snake_case``, ``camelCase``, ``dotted.names``, ``ALLCAPS``
of three or more letters, letters with digits. *Rare* means it occurs in two to
``max_units`` units: a name in every line links everything and says nothing, and ordinary
words (capitalized or not) never link, so prose is scored as before unless it carries such
names.

Example:
    >>> import numpy as np
    >>> texts = ["VAR QKZTD = 48213.", "VAR PLWOX = 99120.", "VAR MBXLE = VAR QKZTD.",
    ...          "The weather was mild.", "VAR HRWAF = VAR MBXLE."]
    >>> linked_relevance(texts, np.array([0.8, 0.3, 0.1, 0.2, 0.1]), decay=0.9).tolist()
    [0.8, 0.3, 0.72, 0.2, 0.648]
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["IDENTIFIER", "linked_relevance"]

#: What counts as an identifier (see the module docs).
IDENTIFIER = re.compile(
    r"\b(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # dotted.names
    r"|_*[A-Za-z][A-Za-z0-9]*_\w+"  # snake_case
    r"|[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*"  # camelCase, PascalCase with an inner capital
    r"|[A-Z][A-Z0-9]{2,}"  # ALLCAPS
    r"|[A-Za-z]+[0-9]\w*)\b"  # letters with digits
)
#: Decimal places of a passed-on score: MIG's scores carry 6 (``mig_math.DECIMALS``), times a decay
#: they carry more; rounding at 9 keeps those digits and makes the value the same on every platform.
_DECIMALS = 9


def linked_relevance(
    texts: Sequence[str], relevance: np.ndarray, *, decay: float, max_units: int = 3
) -> np.ndarray:
    """``relevance`` raised along links of shared rare identifiers (see the module docs).

    Args:
        texts: The units' texts.
        relevance: Their relevance, one score per unit.
        decay: The share of a unit's relevance a linked unit receives, in ``(0, 1)``;
            ``0`` returns ``relevance`` unchanged.
        max_units: The most units an identifier may occur in and still link them.
    """
    import numpy as np

    raised = np.asarray(relevance, dtype=np.float64).copy()
    if decay <= 0 or len(texts) < 2:
        return raised
    holders: defaultdict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        for name in dict.fromkeys(IDENTIFIER.findall(text)):
            holders[name].append(index)
    neighbours: defaultdict[int, set[int]] = defaultdict(set)
    for units in holders.values():
        if 2 <= len(units) <= max_units:
            for unit in units:
                neighbours[unit].update(units)
    if not neighbours:
        return raised
    # widest path from every unit: the best unit's score spreads first, and a unit's score
    # is final once popped (each hop only lowers what it passes on)
    frontier = [(-float(raised[unit]), unit) for unit in sorted(neighbours) if raised[unit] > 0]
    heapq.heapify(frontier)
    while frontier:
        negative, unit = heapq.heappop(frontier)
        if -negative < raised[unit]:
            continue
        passed = round(-negative * decay, _DECIMALS)
        for other in sorted(neighbours[unit] - {unit}):
            if passed > raised[other]:
                raised[other] = passed
                heapq.heappush(frontier, (-passed, other))
    return raised
