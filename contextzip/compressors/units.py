"""Units of compressible segments: splitting, costs in target tokens, forced units.

A :class:`UnitTable` holds every unit of every compressible segment as parallel
arrays, so scoring and selection run vectorized over the whole input. Segments that
are protected, of a kind a text compressor must not cut (JSON, code, HTML: see
:data:`TEXT_KINDS`), or text that is a whole JSON document contribute no units and
pass through unchanged.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError
from contextzip.selection import overlapping_units, spread_token_costs, unit_of_position
from contextzip.text import Span, paragraph_spans, unit_spans
from contextzip.text import span_array as spans_as_array
from contextzip.tokens import TokenCounter
from contextzip.types import Segment
from contextzip.words import extend_mask, word_boundaries

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "TEXT_KINDS",
    "ATOMIC_BLOCK_TOKENS",
    "UNITS",
    "Splitter",
    "UnitTable",
    "build_unit_table",
    "check_force_tokens",
    "check_unit",
    "section_ends",
    "fenced_blocks",
    "balance_fences",
    "forced_units",
    "is_compressible",
    "kept_runs",
]

#: Splits a text into word units: ``(starts, ends)`` int64 arrays.
Splitter = Callable[[str], "tuple[np.ndarray, np.ndarray]"]

#: The unit names every extractive compressor accepts.
UNITS = ("token", "word", "phrase", "sentence", "paragraph")

#: Segment kinds whose words may be dropped; other kinds need a structure-aware compressor.
TEXT_KINDS = frozenset({"text", "markdown", "tool_output"})

# A Markdown code fence line (with its info string) is kept so fenced blocks stay fenced.
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)[^\n]*$", re.MULTILINE)

#: A fenced code block up to this many target tokens is one unit for sentence, phrase and
#: paragraph units: kept or dropped whole, never a pair of fences with nothing inside (a
#: reader asked for a command the block holds cannot answer from the fences alone).
ATOMIC_BLOCK_TOKENS = 256

# Markdown table syntax (a cell border or a header rule) is kept so tables keep their pipes.
_TABLE_SYNTAX = re.compile(r"[|:\-]*\|[|:\-]*|:?-{3,}:?")


def is_compressible(segment: Segment) -> bool:
    """True when a text compressor may drop parts of ``segment``.

    Text that is a whole JSON document (a tool result sent as text) is not: dropping
    words from it would break it.
    """
    return (
        not segment.protected
        and segment.kind in TEXT_KINDS
        and bool(segment.text)
        and not _is_json_document(segment.text)
    )


@functools.lru_cache(maxsize=256)
def _is_json_document(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[" or stripped[-1] not in "}]":
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def check_force_tokens(force_tokens: Sequence[str]) -> tuple[str, ...]:
    """Validate ``force_tokens`` (a list of strings) and return it as a tuple."""
    if (
        isinstance(force_tokens, str)
        or not isinstance(force_tokens, Sequence | set | frozenset)
        or not all(isinstance(t, str) for t in force_tokens)
    ):
        raise ConfigurationError(
            f"force_tokens takes a list of strings, e.g. ['ID-42', '?'], got {force_tokens!r}"
        )
    return tuple(sorted(force_tokens)) if isinstance(force_tokens, set | frozenset) else tuple(force_tokens)


def check_unit(unit: str) -> None:
    """Raise :class:`ConfigurationError` unless ``unit`` is one of :data:`UNITS`."""
    if unit not in UNITS:
        raise ConfigurationError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")


@dataclass(frozen=True)
class UnitTable:
    """The units of all compressible segments, as parallel arrays.

    Attributes:
        texts: The text of each input segment (protected ones included, unsplit).
        bounds: For each input segment, the ``[lo, hi)`` range of its units.
        starts: Start character offset of each unit in its segment's text.
        ends: End character offset of each unit.
        costs: Cost of each unit in target tokens.
        unit: The unit name the segments were split into.
    """

    texts: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]
    starts: np.ndarray
    ends: np.ndarray
    costs: np.ndarray
    unit: str
    _words: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.starts)

    def unit_texts(self) -> list[str]:
        """The text of each unit, in table order."""
        return [
            self.texts[segment][a:b]
            for segment, (lo, hi) in enumerate(self.bounds)
            for a, b in zip(self.starts[lo:hi].tolist(), self.ends[lo:hi].tolist(), strict=True)
        ]

    def words(self, segment: int) -> np.ndarray:
        """The ``(n, 2)`` word spans of a segment's text, split once per table."""
        import numpy as np

        if segment not in self._words:
            if self.unit == "word":
                lo, hi = self.bounds[segment]
                self._words[segment] = np.stack((self.starts[lo:hi], self.ends[lo:hi]), axis=1)
            else:
                self._words[segment] = np.stack(word_boundaries(self.texts[segment]), axis=1)
        return self._words[segment]

    def word_counts(self) -> np.ndarray:
        """Number of words (:func:`contextzip.words.word_spans`) in each unit."""
        import numpy as np

        counts = np.zeros(len(self), dtype=np.float64)
        for segment, (lo, hi) in enumerate(self.bounds):
            if hi > lo:
                starts = self.words(segment)[:, 0]
                counts[lo:hi] = self.sum_points(segment, starts, np.ones(len(starts)))
        return counts

    def sum_points(self, segment: int, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum per-position values (e.g. token surprisal) into the segment's units."""
        import numpy as np

        lo, hi = self.bounds[segment]
        if hi == lo or len(positions) == 0:
            return np.zeros(hi - lo, dtype=np.float64)
        units = unit_of_position(self.ends[lo:hi], positions)
        return np.bincount(units, weights=values, minlength=hi - lo).astype(np.float64)


def build_unit_table(
    segments: Sequence[Segment],
    encoded: Sequence[list[int]],
    unit: str,
    counter: TokenCounter,
    splitter: Splitter | None = None,
) -> UnitTable:
    """Split the compressible ``segments`` (already ``encoded``) into ``unit`` s with costs.

    ``splitter``, when given, replaces :func:`~contextzip.words.word_boundaries` for
    ``unit="word"``.
    """
    import numpy as np

    check_unit(unit)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    bounds: list[tuple[int, int]] = []
    offset = 0
    for segment, tokens in zip(segments, encoded, strict=True):
        if is_compressible(segment):
            spans = _unit_array(segment.text, tokens, unit, counter, splitter)
        else:
            spans = np.zeros((0, 2), dtype=np.int64)
        starts.append(spans[:, 0])
        ends.append(spans[:, 1])
        if len(spans):
            token_starts = counter.token_starts(segment.text, tokens)
            costs.append(spread_token_costs(spans[:, 1], token_starts, len(segment.text)))
        else:
            costs.append(np.zeros(0, dtype=np.float64))
        bounds.append((offset, offset + len(spans)))
        offset += len(spans)
    return UnitTable(
        texts=tuple(s.text for s in segments),
        bounds=tuple(bounds),
        starts=np.concatenate(starts),
        ends=np.concatenate(ends),
        costs=np.concatenate(costs),
        unit=unit,
    )


def forced_units(table: UnitTable, force_tokens: Sequence[str]) -> np.ndarray:
    """Units that must stay: those overlapping a force token or Markdown table syntax.

    Code fences are not forced: :func:`balance_fences` keeps a block's fences exactly when
    some of its content is kept.
    """
    import numpy as np

    forced = np.zeros(len(table), dtype=bool)
    needles = [t for t in force_tokens if t and not t.isspace()]
    for segment, (lo, hi) in enumerate(table.bounds):
        if hi == lo:
            continue
        text = table.texts[segment]
        ranges = [(i, i + len(needle)) for needle in needles for i in _occurrences(text, needle)]
        if "|" in text:
            ranges.extend(_table_syntax(text))
        if ranges:
            forced[lo:hi] |= overlapping_units(table.starts[lo:hi], table.ends[lo:hi], ranges)
    return forced


def balance_fences(table: UnitTable, keep: np.ndarray, forced: np.ndarray, scores: np.ndarray) -> None:
    """Keep a fenced block's fence lines exactly when some of its content is kept, in place.

    A block with kept content gets both fences, forced so that later repairs keep them;
    a block with none loses them, and their scores drop to ``-inf`` so nothing adds them
    back: no code block comes out as two fences with nothing inside. Blocks that are one
    unit (see :data:`ATOMIC_BLOCK_TOKENS`) are kept or dropped whole already.
    """
    import numpy as np

    for segment, (lo, hi) in enumerate(table.bounds):
        text = table.texts[segment]
        if hi == lo or ("```" not in text and "~~~" not in text):
            continue
        starts, ends = table.starts[lo:hi], table.ends[lo:hi]
        for block_start, block_end in fenced_blocks(text):
            fences = [m.span() for m in _FENCE.finditer(text, block_start, block_end)]
            fence_units = overlapping_units(starts, ends, fences)
            inside = (starts < block_end) & (ends > block_start) & ~fence_units
            if not inside.any():
                continue  # one unit holds the block (and maybe more): it goes whole
            content_kept = bool(keep[lo:hi][inside].any())
            local = np.flatnonzero(fence_units) + lo
            keep[local] = content_kept
            if content_kept:
                forced[local] = True
            else:  # a repair emptied it: the fences go, even where an earlier call forced them
                forced[local] = False
                scores[local] = -np.inf


_HEADING = re.compile(r"^#{1,6} \S", re.M)


def section_ends(text: str) -> np.ndarray:
    """Where the sections of a text end: its Markdown sections (a heading and what follows it,
    outside code fences) when it has two or more headings, else its paragraphs."""
    import numpy as np

    fences = fenced_blocks(text)
    starts = [m.start() for m in _HEADING.finditer(text) if not any(a < m.start() < b for a, b in fences)]
    if len(starts) >= 2:
        return np.array([*(s for s in starts if s > 0), len(text)], dtype=np.int64)
    return spans_as_array(paragraph_spans(text))[:, 1]


def fenced_blocks(text: str) -> list[Span]:
    """The spans of ``text``'s fenced code blocks, opening fence to closing fence (or to the end).

    Example:
        >>> text = "Run:\\n```bash\\nmake demo\\n```\\nDone."
        >>> [text[a:b] for a, b in fenced_blocks(text)]
        ['```bash\\nmake demo\\n```']
    """
    fences = list(_FENCE.finditer(text))
    blocks: list[Span] = []
    for i in range(0, len(fences), 2):
        start = fences[i].start() + (len(fences[i].group(0)) - len(fences[i].group(0).lstrip()))
        end = fences[i + 1].end() if i + 1 < len(fences) else len(text.rstrip())
        blocks.append((start, end))
    return blocks


def _merge_code_blocks(text: str, spans: np.ndarray, tokens: list[int], counter: TokenCounter) -> np.ndarray:
    """Make each fenced block of at most :data:`ATOMIC_BLOCK_TOKENS` one unit (with what it overlaps)."""
    import numpy as np

    token_starts = counter.token_starts(text, tokens)
    for start, end in fenced_blocks(text):
        size = int(np.searchsorted(token_starts, end) - np.searchsorted(token_starts, start))
        inside = (spans[:, 1] > start) & (spans[:, 0] < end)
        if size > ATOMIC_BLOCK_TOKENS or inside.sum() <= 1:
            continue
        first, last = np.flatnonzero(inside)[[0, -1]]
        merged = (min(int(spans[first, 0]), start), max(int(spans[last, 1]), end))
        spans = np.concatenate((spans[:first], np.array([merged], dtype=spans.dtype), spans[last + 1 :]))
    return spans


def _table_syntax(text: str) -> list[tuple[int, int]]:
    """Spans of whole words made of table syntax only (``|``, ``|---|``, ``:---:``)."""
    found = []
    for match in _TABLE_SYNTAX.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if before.isspace() and after.isspace():
            found.append((start, end))
    return found


def _occurrences(text: str, needle: str) -> list[int]:
    found: list[int] = []
    index = text.find(needle)
    while index != -1:
        found.append(index)
        index = text.find(needle, index + len(needle))
    return found


def kept_runs(starts: np.ndarray, ends: np.ndarray, keep: np.ndarray) -> tuple[Span, ...]:
    """Spans of runs of consecutive kept units (only whitespace lies between neighbours)."""
    import numpy as np

    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return ()
    breaks = np.flatnonzero(np.diff(kept) != 1)
    firsts = kept[np.concatenate(([0], breaks + 1))]
    lasts = kept[np.concatenate((breaks, [len(kept) - 1]))]
    return tuple(zip(starts[firsts].tolist(), ends[lasts].tolist(), strict=True))


def _unit_array(
    text: str, tokens: list[int], unit: str, counter: TokenCounter, splitter: Splitter | None
) -> np.ndarray:
    """The ``(n, 2)`` spans of ``text``'s units."""
    import numpy as np

    if unit == "word":
        return np.stack((splitter or word_boundaries)(text), axis=1)
    if unit != "token":
        units = spans_as_array(unit_spans(text, unit))
        if "```" in text or "~~~" in text:
            units = _merge_code_blocks(text, units, tokens, counter)
        return units
    token_starts = counter.token_starts(text, tokens)
    # a token that starts inside a grapheme cluster (an accent, a joiner, half a flag)
    # stays with the token before it, so no cluster is ever cut
    starts = np.unique(token_starts[~extend_mask(text)[token_starts]]).tolist()
    if starts and starts[0] != 0:
        starts.insert(0, 0)
    spans: list[Span] = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[start:end]
        stripped_start = start + (len(piece) - len(piece.lstrip()))
        stripped_end = start + len(piece.rstrip())
        if stripped_start < stripped_end:
            spans.append((stripped_start, stripped_end))
    return spans_as_array(spans)
