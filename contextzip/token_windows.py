"""A text tokenized once and cut into model windows, alone or after a query.

The token classifier reads these windows and training builds its examples from the same
plan (:func:`plan_windows`), so a model is trained on the windows it will read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError
from contextzip.words import code_points

if TYPE_CHECKING:
    import numpy as np

__all__ = ["WindowPlan", "cut_windows", "pad_id", "plan_windows"]


@dataclass(frozen=True)
class _Layout:
    """Where the special tokens go around one sequence, or a (query, text) pair."""

    prefix: list[int]
    middle: list[int]  # between the query and the text (pairs only)
    middle_types: list[int]
    suffix: list[int]
    pair_suffix: list[int]
    single_type: int  # token type of a lone sequence
    query_type: int
    text_type: int  # token type of the text after a query


@dataclass(frozen=True)
class WindowPlan:
    """A text's model tokens and the windows they are read in.

    Attributes:
        ids: Token ids of the text (no special tokens).
        offsets: ``(start, end)`` character offsets of each token, shape ``(n, 2)``.
        windows: ``[lo, hi)`` token ranges, each read as one sequence.
        head: Ids before a window's text (prefix specials, then query and separator).
        head_types: Token-type ids of ``head``.
        tail: Ids after a window's text.
        text_type: Token-type id of the text.
    """

    ids: np.ndarray
    offsets: np.ndarray
    windows: list[tuple[int, int]]
    head: list[int]
    head_types: list[int]
    tail: list[int]
    text_type: int

    def sequence(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Input ids and token-type ids of window ``[lo, hi)``; its text starts at ``len(head)``."""
        import numpy as np

        ids = np.concatenate((self.head, self.ids[lo:hi], self.tail)).astype(np.int64)
        types = np.full(len(ids), self.text_type, dtype=np.int64)
        types[: len(self.head_types)] = self.head_types
        return ids, types


def plan_windows(
    tokenizer: Any,
    text: str,
    query: str | None = None,
    *,
    max_length: int = 512,
    chunk_end_tokens: Iterable[str] = (".", "\n"),
) -> WindowPlan:
    """Tokenize ``text`` once and cut it into windows of at most ``max_length`` model tokens.

    Windows end after a chunk-end token (``"\\n"``: a line break after a token) when one
    fits. With a ``query`` each window is read as the pair (query, window); the query is
    cut to a quarter of ``max_length`` so it leaves room for the text. Training and
    inference share this plan, so a model is trained on the windows it will read.
    """
    import numpy as np

    raw = _raw_tokenizer(tokenizer)
    encoding = raw.encode(text, add_special_tokens=False)
    ids = np.asarray(encoding.ids, dtype=np.int64)
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    layout = _layout(tokenizer)
    head, tail, text_type = list(layout.prefix), layout.suffix, layout.single_type
    head_types = [layout.single_type] * len(head)
    if query:
        query_ids = raw.encode(query, add_special_tokens=False).ids[: max_length // 4]
        head += query_ids + layout.middle
        head_types = [layout.query_type] * (len(layout.prefix) + len(query_ids)) + layout.middle_types
        tail, text_type = layout.pair_suffix, layout.text_type
    capacity = max_length - len(head) - len(tail)
    if capacity < 1:
        raise ConfigurationError(f"max_length={max_length} leaves no room for text; raise it")
    ends = _chunk_ends(text, encoding.tokens, offsets, frozenset(chunk_end_tokens))
    windows = cut_windows(len(ids), capacity, ends) if len(ids) else []
    return WindowPlan(ids, offsets, windows, head, head_types, list(tail), text_type)


def _chunk_ends(
    text: str, tokens: list[str], offsets: np.ndarray, chunk_end_tokens: frozenset[str]
) -> np.ndarray:
    """True after each token a window may end at."""
    import numpy as np

    words = {t for t in chunk_end_tokens if t != "\n"}
    ends = np.fromiter((t.lstrip("▁Ġ") in words for t in tokens), dtype=bool, count=len(tokens))
    if "\n" in chunk_end_tokens and len(tokens):
        newline_at = np.flatnonzero(code_points(text) == ord("\n"))
        if len(newline_at):
            # a token is followed by a line break when one lies before the next token starts
            next_start = np.append(offsets[1:, 0], len(text))
            ends |= np.searchsorted(newline_at, next_start) > np.searchsorted(newline_at, offsets[:, 1])
    return ends


def cut_windows(count: int, capacity: int, chunk_ends: np.ndarray) -> list[tuple[int, int]]:
    """``[lo, hi)`` token windows of at most ``capacity``, each ending at a chunk end when one fits."""
    import numpy as np

    end_positions = np.flatnonzero(chunk_ends)
    windows = []
    start = 0
    while start < count:
        stop = start + capacity
        if stop >= count:
            windows.append((start, count))
            break
        # the last chunk-end token inside [start, stop)
        index = int(np.searchsorted(end_positions, stop, side="left")) - 1
        if index >= 0 and end_positions[index] >= start:
            stop = int(end_positions[index]) + 1
        windows.append((start, stop))
        start = stop
    return windows


_raw_cache: dict[int, Any] = {}


def _raw_tokenizer(tokenizer: Any) -> Any:
    """A copy of the fast tokenizer's backend with truncation and padding turned off.

    Some ``tokenizer.json`` files pin truncation (all-MiniLM-L6-v2: 128 tokens); a long
    text must be tokenized whole and cut into windows here.
    """
    key = id(tokenizer)
    if key not in _raw_cache:
        from tokenizers import Tokenizer

        raw = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        raw.no_truncation()
        raw.no_padding()
        _raw_cache[key] = raw
    return _raw_cache[key]


_layouts: dict[int, _Layout] = {}


def _layout(tokenizer: Any) -> _Layout:
    """Probe the tokenizer's post-processor for its special-token template."""
    if id(tokenizer) not in _layouts:
        _layouts[id(tokenizer)] = _probe_layout(_raw_tokenizer(tokenizer))
    return _layouts[id(tokenizer)]


def _probe_layout(raw: Any) -> _Layout:
    single = raw.encode("a", add_special_tokens=True)
    content = [i for i, s in enumerate(single.sequence_ids) if s == 0]
    prefix, suffix = single.ids[: content[0]], single.ids[content[-1] + 1 :]
    pair = raw.encode("a", "b", add_special_tokens=True)
    first = [i for i, s in enumerate(pair.sequence_ids) if s == 0]
    second = [i for i, s in enumerate(pair.sequence_ids) if s == 1]
    return _Layout(
        prefix=list(prefix),
        middle=list(pair.ids[first[-1] + 1 : second[0]]),
        middle_types=list(pair.type_ids[first[-1] + 1 : second[0]]),
        suffix=list(suffix),
        pair_suffix=list(pair.ids[second[-1] + 1 :]),
        single_type=single.type_ids[content[0]],
        query_type=pair.type_ids[first[0]],
        text_type=pair.type_ids[second[0]],
    )


def pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(pad) if pad is not None else 0
