"""Which chunks and lines of code stay: ranks to keep ratios, containers, dependencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contextzip.compressors.code.chunks import CodeFile

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MIN_RATIO", "Item", "dynamic_ratios"]

MIN_RATIO = 0.2  # a kept function keeps at least this share of itself


@dataclass
class Item:
    """A chunk of one file, as the compressor ranks it."""

    file: int
    chunk: int
    text: str
    cost: int
    score: float = 0.0
    rank: float = 0.0


def dynamic_ratios(ranks: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """Per-function keep ratios growing with rank, solved so that ``sum(ratio * cost) ~ budget``.

    LongCodeZip's dynamic ratio: ``ratio_i = clip(r * (0.5 + rank_i'), MIN_RATIO, 1)`` with
    ``rank'`` the ranks scaled to ``[0, 1]`` and ``r`` found by bisection.

    Example:
        >>> import numpy as np
        >>> dynamic_ratios(np.array([1.0, 0.5, 0.0]), np.array([100.0, 100.0, 100.0]), 150).round(2).tolist()
        [0.75, 0.5, 0.25]
    """
    import numpy as np

    spread = ranks.max() - ranks.min() if len(ranks) else 0.0
    scaled = (ranks - ranks.min()) / spread if spread > 0 else np.full(len(ranks), 0.5)

    def ratios(r: float) -> np.ndarray:
        return np.clip(r * (0.5 + scaled), MIN_RATIO, 1.0)

    if float((ratios(1e6) * costs).sum()) <= budget:
        return np.ones(len(ranks))
    lo, hi = 0.0, 1e6
    for _ in range(60):
        mid = (lo + hi) / 2
        if float((ratios(mid) * costs).sum()) > budget:
            hi = mid
        else:
            lo = mid
    return ratios(lo)


def take_in_order(rank: np.ndarray, costs: np.ndarray, allowed: float) -> np.ndarray:
    from contextzip.selection import select_units

    return select_units(rank, costs, allowed, keep_at_least_one=True)


def keep_containers(
    files: list[CodeFile], items: list[Item], keep: np.ndarray, index_of: dict[tuple[int, int], int]
) -> set[int]:
    """A kept member keeps its container's own lines (class header, fields, closing brace).

    Returns the containers that were not kept on their own rank.
    """
    hosts: set[int] = set()
    for n in [int(i) for i in keep.nonzero()[0]]:
        item = items[n]
        parent = files[item.file].chunks[item.chunk].parent
        while parent is not None:
            at = index_of[(item.file, parent)]
            if not keep[at]:
                hosts.add(at)
            keep[at] = True
            parent = files[item.file].chunks[parent].parent
    return hosts


def class_docstrings(code: CodeFile) -> set[int]:
    """Python: the lines of class docstrings longer than two lines (empty for other languages)."""
    import ast

    if code.language != "python":
        return set()
    try:
        tree = ast.parse(code.text)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.body:
            first = node.body[0]
            if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
                continue
            long_doc = first.end_lineno is not None and first.end_lineno - first.lineno >= 2
            if isinstance(first.value.value, str) and long_doc and len(node.body) > 1:
                lines.update(range(first.lineno - 1, first.end_lineno or first.lineno))
    return lines


def cross_file_calls(
    files: list[CodeFile],
    items: list[Item],
    index_of: dict[tuple[int, int], int],
    edges: dict[int, set[int]],
) -> None:
    """Calls to names defined in another file of the input count as edges too."""
    defined: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        name = files[item.file].chunks[item.chunk].name
        if name:
            defined.setdefault(name, []).append(n)
    for n, item in enumerate(items):
        for name in files[item.file].chunks[item.chunk].calls:
            edges[n].update(d for d in defined.get(name, ()) if items[d].file != item.file)


def must_keep(code: CodeFile, index: int, start: int, end: int) -> bool:
    """Blocks that hold the docstring or leading comment, or a return, stay."""
    chunk = code.chunks[index]
    text = "".join(code.lines[start:end])
    if start == (chunk.body_start or -1):
        first = text.lstrip()
        if first.startswith(('"""', "'''", '"', "'", "#", "//", "/*")):
            return True
    return bool(re.search(r"^\s*(return|yield|raise)\b", text, re.MULTILINE))


def signature_lines(code: CodeFile, index: int) -> tuple[int, ...]:
    """A function's signature lines (decorators included) and a closing-brace line, if it has a body."""
    chunk = code.chunks[index]
    if not chunk.is_function or chunk.definition_line is None or chunk.body_start is None:
        return ()
    lines = list(range(chunk.definition_line, chunk.body_start))
    last = chunk.lines[-1]
    if last >= chunk.body_start and code.lines[last].strip() in ("}", "};", "end"):
        lines.append(last)
    return tuple(lines)
