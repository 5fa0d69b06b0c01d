"""Pruning indented lines by relevance: each kept line keeps the lines it hangs from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.reducers.scoring import weigh
from contextzip.compressors.relevance import Relevance
from contextzip.tokens import TokenCounter

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LABEL_TOKENS",
    "LINE_NUMBER",
    "LISTING_LANDMARK",
    "gap_marker",
    "indent_parents",
    "prune_lines",
    "reduce_outline",
]

#: A line longer than this is not brought along as the parent (the label) of a kept line: the
#: previous, shallower block of a page can be a long paragraph, not the section the line sits in
LABEL_TOKENS = 64


def gap_marker(count: int) -> str:
    """What stands for ``count`` dropped lines."""
    return f"… {count} line{'s' if count != 1 else ''}"


def prune_lines(
    lines: Sequence[str],
    parents: Sequence[int | None],
    scores: np.ndarray,
    must: np.ndarray,
    budget: int,
    counter: TokenCounter,
) -> str:
    """Best lines first, each with the lines it hangs from (``parents``), then gap markers."""
    import numpy as np

    costs = np.array([counter.count(line) + 1 for line in lines], dtype=np.float64)
    kept: set[int] = set()

    def with_parents(index: int) -> list[int]:
        chain = []
        at: int | None = index
        while at is not None and at not in kept:
            if at == index or costs[at] - 1 <= LABEL_TOKENS:  # a long parent is text, not a label
                chain.append(at)
            at = parents[at]
        return chain

    room = float(budget)
    for index in np.flatnonzero(must).tolist():
        chain = with_parents(index)
        kept.update(chain)
        room -= float(costs[chain].sum())
    for index in np.lexsort((np.arange(len(lines)), -scores)).tolist():
        chain = with_parents(index)
        cost = float(costs[chain].sum()) + 2  # a gap marker may be needed beside it
        if chain and cost <= room:
            kept.update(chain)
            room -= cost
    out: list[str] = []
    gap = 0
    for index, line in enumerate(lines):
        if index in kept:
            if gap:
                out.append(gap_marker(gap))
                gap = 0
            out.append(line)
        else:
            gap += 1
    if gap:
        out.append(gap_marker(gap))
    return "\n".join(out)


_NUMBERED = r"\s*\d+(?::(?!\d)|\t)"
#: A line number in front of a source line (an editor's ``open``, ``cat -n``, ``grep -n`` on one
#: file); not a clock time (``12:30``).
LINE_NUMBER = re.compile(rf"^{_NUMBERED}")
#: The map of a numbered source view: its definition lines (``1477:    def _deserialize(self):``)
#: and the unnumbered lines that frame it (``[File: fields.py (1997 lines total)]``).
LISTING_LANDMARK = re.compile(
    rf"^{_NUMBERED}\s*(?:export\s+)?(?:async\s+)?(?:def|class|function|func|fn|struct|interface)\b"
    rf"|^(?!{_NUMBERED})\s*\S"
)


def indent_parents(lines: Sequence[str]) -> list[int | None]:
    """For each line, the nearest earlier line indented less (``None`` at the top level).

    A line number in front (``1477:    def f():``) does not count as indentation.
    """
    parents: list[int | None] = []
    stack: list[tuple[int, int]] = []  # (indent, line)
    for index, raw in enumerate(lines):
        number = LINE_NUMBER.match(raw)
        line = raw[number.end() :] if number else raw
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            parents.append(stack[-1][1] if stack else None)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents.append(stack[-1][1] if stack else None)
        stack.append((indent, index))
    return parents


def reduce_outline(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
    landmarks: re.Pattern[str] | None = None,
) -> str:
    """``text`` (indented lines: an accessibility tree, a listing, numbered source) pruned to fit ``budget``.

    The most relevant lines are kept first, each with the chain of less indented lines above
    it, so a kept ``button 'Submit'`` keeps its ``form``; lines holding a string from
    ``keep`` stay; each dropped run leaves ``… N lines``. Lines matching ``landmarks`` (in
    a numbered source view, :data:`LISTING_LANDMARK`) come before all others: the map of the rest.

    Example:
        >>> from contextzip.compressors.reducers import lexical_relevance
        >>> tree = "\\n".join(["RootWebArea 'Shop'", "  navigation", "    link 'Home'", "    link 'Help'",
        ...                   "  main", "    form 'Checkout'", "      textbox 'Card number'",
        ...                   "      button 'Pay now'"])
        >>> print(reduce_outline(tree, budget=34, relevance=lexical_relevance("pay with card")))
        RootWebArea 'Shop'
        … 3 lines
          main
            form 'Checkout'
              textbox 'Card number'
              button 'Pay now'
    """

    import numpy as np

    counter = counter or TokenCounter()
    lines = text.splitlines()
    if counter.count_remembered(text) <= budget or len(lines) < 2:
        return text
    scores, must = weigh(lines, relevance, keep)
    if landmarks is not None:
        marked = np.array([bool(landmarks.match(line)) for line in lines])
        scores = scores + marked * (float(np.abs(scores).max(initial=0.0)) * 2 + 1)
    return prune_lines(lines, indent_parents(lines), scores, must, budget, counter)
