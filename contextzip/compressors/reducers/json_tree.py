"""JSON tool output: the least relevant members and items dropped, the layout kept."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from contextzip.compressors.reducers.scoring import weigh
from contextzip.compressors.relevance import Relevance
from contextzip.errors import ConfigurationError
from contextzip.tokens import TokenCounter

__all__ = ["DROPPED_KEY", "reduce_json"]

#: The member an object gets when some of its members were dropped.
DROPPED_KEY = "…dropped"


def reduce_json(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
) -> str:
    """``text`` (a JSON document) with its least relevant members and items dropped to fit ``budget``.

    Array items (records) are dropped first, least relevant first, then object members; an
    item is scored on its path and leaves (``"path key: value ..."``), and one holding a
    string from ``keep`` (identifiers later messages use) stays. Arrays
    keep at least their first item, so their shape stays visible.

    Raises:
        ConfigurationError: ``text`` is not JSON.

    Example:
        >>> from contextzip.compressors.reducers import lexical_relevance
        >>> doc = '{"user": "ann", "quota": {"disk": "10GB", "mail": "2GB"}, "log": [1, 2, 3, 4, 5, 6, 7, 8]}'
        >>> reduce_json(doc, budget=25, relevance=lexical_relevance("disk quota"))
        '{"quota": {"disk": "10GB", "mail": "2GB"}, "…dropped": 2}'
    """
    import numpy as np

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"reduce_json needs a JSON document ({exc.msg} at {exc.pos})") from None
    counter = counter or TokenCounter()
    layout = _layout(text)
    items: list[tuple[tuple[Any, ...], str]] = []  # (path to a droppable item, its leaves as text)
    _collect(data, (), items)
    if not items:
        return text
    leaves = [" ".join(str(part) for part in path) + " " + text for path, text in items]
    scores, protected = weigh(leaves, relevance, keep)
    # whole array items (records) go first, least relevant first, then object members: the
    # records that matter are trimmed only when dropping the others was not enough
    is_member = np.array([not isinstance(path[-1], int) for path, _ in items])
    order = np.lexsort((-np.arange(len(items)), scores, is_member))
    order = order[~protected[order]]
    drops = _drop_sequence([items[i][0] for i in order.tolist()])

    def size(k: int) -> int:
        return counter.count(_render(data, set(drops[:k]), layout))

    # dropping more never makes the document longer, so the fewest drops that fit are found
    # by bisection: a handful of renders instead of one per dropped item
    if not drops or size(0) <= budget:
        return _render(data, set(), layout)
    fits, over = len(drops), 0
    if size(fits) > budget:
        return _render(data, set(drops), layout)
    while fits - over > 1:
        middle = (fits + over) // 2
        if size(middle) <= budget:
            fits = middle
        else:
            over = middle
    return _render(data, set(drops[:fits]), layout)


def _drop_sequence(paths: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``paths`` in order, less those inside one dropped before and arrays' first items."""
    dropped: set[tuple[Any, ...]] = set()
    sequence = []
    for path in paths:
        if _first_array_item(path) or any(path[:depth] in dropped for depth in range(1, len(path) + 1)):
            continue
        dropped.add(path)
        sequence.append(path)
    return sequence


def _collect(value: Any, path: tuple[Any, ...], items: list[tuple[tuple[Any, ...], str]]) -> list[str]:
    """Each member and item below ``value`` with the text of its leaves; returns ``value``'s leaves."""
    if isinstance(value, dict):
        leaves: list[str] = []
        for key, child in value.items():
            below = _collect(child, (*path, key), items)
            items.append(((*path, key), " ".join(below) or str(key)))
            leaves.extend(f"{key}: {leaf}" for leaf in below)
        return leaves
    if isinstance(value, list):
        leaves = []
        for position, child in enumerate(value):
            below = _collect(child, (*path, position), items)
            items.append(((*path, position), " ".join(below)))
            leaves.extend(below)
        return leaves
    return [json.dumps(value, ensure_ascii=False)]


def _first_array_item(path: tuple[Any, ...]) -> bool:
    return bool(path) and path[-1] == 0 and isinstance(path[-1], int) and not isinstance(path[-1], bool)


def _render(data: Any, dropped: set[tuple[Any, ...]], layout: dict[str, Any]) -> str:
    return json.dumps(_pruned(data, (), dropped), ensure_ascii=False, **layout)


def _pruned(value: Any, path: tuple[Any, ...], dropped: set[tuple[Any, ...]]) -> Any:
    if isinstance(value, dict):
        kept = {k: _pruned(v, (*path, k), dropped) for k, v in value.items() if (*path, k) not in dropped}
        if len(kept) < len(value):
            kept[DROPPED_KEY] = len(value) - len(kept)
        return kept
    if isinstance(value, list):
        kept_items = [
            _pruned(v, (*path, i), dropped) for i, v in enumerate(value) if (*path, i) not in dropped
        ]
        if len(kept_items) < len(value):
            missing = len(value) - len(kept_items)
            kept_items.append(f"… {missing} more item{'s' if missing != 1 else ''}")
        return kept_items
    return value


def _layout(text: str) -> dict[str, Any]:
    """``json.dumps`` options that reproduce the document's layout: indentation or compactness."""
    match = re.search(r"[\[{]\n([ \t]+)\S", text)
    if match:
        return {"indent": match.group(1)}
    compact = not re.search(r"[,:] ", text)
    return {"separators": (",", ":")} if compact else {}
