"""What a ``proxy-traffic`` question finder yields: a question over a whole real document.

The finders (:mod:`contextzip.eval.traffic_packages`, :mod:`contextzip.eval.traffic_python`)
and the sample builder (:mod:`contextzip.eval.traffic`) share these.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PYTHON", "Found", "blank_line_cuts"]

#: The running interpreter's version: logs and pydoc pages depend on it.
PYTHON = sys.version.split()[0]


@dataclass(frozen=True)
class Found:
    """A question over a whole real document, before the document is cut to size.

    Attributes:
        question: The bare question.
        answers: Gold answers, each verbatim in the lines ``keep`` spans.
        text: The whole document.
        source: ``"<package or module> <version>"``.
        keep: First and last line (0-based, inclusive) the cut document must hold.
        cuts: The line indices a cut may start or end at (a cut before line ``i``);
            ``None``: every line.
        meta: More about the sample (kept in ``QASample.meta``).
        group: At most one sample per group (a module asked several ways: its first
            question that fits).
    """

    question: str
    answers: tuple[str, ...]
    text: str
    source: str
    keep: tuple[int, int]
    cuts: Callable[[Sequence[str]], Sequence[int]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    group: str = ""


def blank_line_cuts(lines: Sequence[str]) -> list[int]:
    """Cut points before every line that follows a blank line (a paragraph, a statement block)."""
    return [i for i in range(1, len(lines)) if not lines[i - 1].strip() and lines[i].strip()]
