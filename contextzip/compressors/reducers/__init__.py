"""Reducers that shrink structured tool output and keep its structure, looked up by kind.

* :func:`reduce_json` (``json``) — drops the least relevant object members and array items
  until the document fits; the result is valid JSON in the original's layout (indented or
  compact), and every object or array that lost something says how much: an object gets a
  ``"…dropped": N`` member, an array a final ``"… N more items"`` string.
* :func:`reduce_log` (``log``) — collapses runs of lines that differ only in numbers, ids and
  timestamps (one template) to their first and last line and a count, then drops the least
  relevant remaining lines; errors, warnings and tracebacks are kept.
* :func:`reduce_outline` (``axtree``; ``listing`` with :data:`LISTING_LANDMARK`) — prunes
  indented lines (accessibility trees, ``tree`` and ``ls -R`` listings, YAML, numbered source
  views) by relevance, FocusAgent-style; a kept line keeps the lines it is nested in (a kept
  statement keeps its ``def`` and ``class`` lines).
* :func:`reduce_html` (``html``) — the page's block tree (HtmlRAG-style: script, style and
  markup gone, one block of visible text per line, indented by depth, link targets kept),
  pruned like an outline; a kept block keeps the heading of its section.

Relevance is a caller's function from texts to scores (higher is kept first); the default
counts query words (:func:`lexical_relevance`), so the reducers need no model. Every reducer
is a :class:`Reducer`; :func:`reducer_for` finds the one for a kind.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from contextzip.compressors.reducers.html_page import html_blocks, reduce_html
from contextzip.compressors.reducers.json_tree import DROPPED_KEY, reduce_json
from contextzip.compressors.reducers.lines import LINE_NUMBER, LISTING_LANDMARK, reduce_outline
from contextzip.compressors.reducers.logs import log_template, reduce_log
from contextzip.compressors.relevance import Relevance, lexical_relevance
from contextzip.tokens import TokenCounter

__all__ = [
    "DROPPED_KEY",
    "LINE_NUMBER",
    "LISTING_LANDMARK",
    "REDUCERS",
    "Reducer",
    "Relevance",
    "html_blocks",
    "lexical_relevance",
    "log_template",
    "reduce_html",
    "reduce_json",
    "reduce_log",
    "reduce_outline",
    "reducer_for",
]


class Reducer(Protocol):
    """Shrinks one text of a known kind to about ``budget`` tokens, keeping its structure.

    Lines or values holding a string from ``keep`` stay; ``relevance`` orders the rest.
    """

    def __call__(
        self,
        text: str,
        *,
        budget: int,
        relevance: Relevance | None = None,
        keep: Sequence[str] = (),
        counter: TokenCounter | None = None,
    ) -> str: ...


#: The reducer of each structured kind (``code`` and prose are the compressors' own).
REDUCERS: dict[str, Reducer] = {
    "json": reduce_json,
    "html": reduce_html,
    "axtree": reduce_outline,
    "listing": functools.partial(reduce_outline, landmarks=LISTING_LANDMARK),
    "log": reduce_log,
}


def reducer_for(kind: str) -> Reducer | None:
    """The reducer of ``kind``, ``None`` for a kind without one.

    Example:
        >>> print(reducer_for("log")("ok 1\\nok 2\\nok 3\\nok 4\\nERROR disk full", budget=8))
        … 4 lines
        ERROR disk full
        >>> reducer_for("prose") is None
        True
    """
    return REDUCERS.get(kind)
