"""Words and characters: word spans and boundaries, code points, and the character classes
(CJK, combining marks, spaces, punctuation) that decide where a word starts and ends.

Each CJK ideograph or kana character is a word of its own (those scripts put no spaces
between words); combining marks, joiners and variation selectors never begin one.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CJK_RANGES",
    "code_points",
    "extend_mask",
    "word_boundaries",
    "word_punctuation_boundaries",
    "word_spans",
]

Span = tuple[int, int]

# Scripts written without spaces between words: each character is a word of its own.
# (U+3000, the ideographic space, is whitespace and stays out.)
CJK_RANGES = (
    (0x3001, 0x303F),  # CJK punctuation
    (0x3040, 0x30FF),  # kana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x2FFFF),
)

# Characters that never begin a unit: combining marks, joiners, variation selectors,
# emoji skin-tone modifiers and tag characters.
_EXTEND_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05BD),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0900, 0x0903),
    (0x093A, 0x094F),
    (0x0E31, 0x0E31),
    (0x0E34, 0x0E3A),
    (0x0E47, 0x0E4E),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x200C, 0x200D),
    (0x20D0, 0x20FF),
    (0x3099, 0x309A),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
    (0x1F3FB, 0x1F3FF),
    (0xE0020, 0xE007F),
    (0xE0100, 0xE01EF),
)


def word_spans(text: str) -> list[Span]:
    """Return the ``(start, end)`` spans of the words in ``text``.

    Example:
        >>> word_spans("Hello, world")
        [(0, 6), (7, 12)]
        >>> [("日本語です"[s:e]) for s, e in word_spans("日本語です")]
        ['日', '本', '語', 'で', 'す']
    """
    starts, ends = word_boundaries(text)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def word_boundaries(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the words of :func:`word_spans`, as int64 arrays.

    Vectorized over the text's code points: a long text is split without a Python loop.
    Combining marks, joiners, variation selectors and emoji modifiers stay with the
    character before them, so a grapheme cluster is never split.

    Example:
        >>> starts, ends = word_boundaries("ok 東京")
        >>> starts.tolist(), ends.tolist()
        ([0, 3, 4], [2, 4, 5])
    """
    import numpy as np

    points = code_points(text)
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    spaces = _space_table()
    is_space = (points < len(spaces)) & spaces[np.minimum(points, len(spaces) - 1)]
    is_cjk = _in_ranges(points, CJK_RANGES)
    extend = _extend_mask(points) & ~is_space
    in_word = ~is_space
    # the character a cluster is built on decides whether it stands alone (CJK) or not
    base = np.maximum.accumulate(np.where(extend, -1, np.arange(len(points))))
    base_is_cjk = np.where(base >= 0, is_cjk[np.maximum(base, 0)], False)
    previous_in_word = np.concatenate(([False], in_word[:-1]))
    previous_base_cjk = np.concatenate(([False], base_is_cjk[:-1]))
    starts_here = in_word & (~previous_in_word | (~extend & (is_cjk | previous_base_cjk)))
    next_in_word = np.concatenate((in_word[1:], [False]))
    next_starts = np.concatenate((starts_here[1:], [False]))
    ends_here = in_word & (~next_in_word | next_starts)
    return np.flatnonzero(starts_here).astype(np.int64), np.flatnonzero(ends_here).astype(np.int64) + 1


def word_punctuation_boundaries(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`word_boundaries`, with a word's leading and trailing punctuation split off.

    ``"(see Paris, France.)"`` gives ``( see Paris , France .)``: punctuation runs at the
    edges of a word become units of their own (as a BERT-style tokenizer sees them), while
    punctuation inside a word stays, so URLs, numbers and identifiers (``3.5km``,
    ``http://x.io/a?b=1``, ``ID-42``) remain one unit. A word made only of punctuation
    stays whole. Vectorized like :func:`word_boundaries`.

    Example:
        >>> text = "(see Paris, x.io/a?b=1)."
        >>> starts, ends = word_punctuation_boundaries(text)
        >>> [text[s:e] for s, e in zip(starts, ends)]
        ['(', 'see', 'Paris', ',', 'x.io/a?b=1', ').']
    """
    import numpy as np

    starts, ends = word_boundaries(text)
    if len(starts) == 0:
        return starts, ends
    points = code_points(text)
    punct = _punctuation_table()[np.minimum(points, 0xFFFF)] & (points <= 0xFFFF)
    positions = np.arange(len(points))
    # first non-punctuation position at or after i, and last one at or before i
    next_plain = np.minimum.accumulate(np.where(punct, len(points), positions)[::-1])[::-1]
    last_plain = np.maximum.accumulate(np.where(punct, -1, positions))
    core_start = next_plain[starts]
    core_end = last_plain[ends - 1] + 1
    plain = core_start < ends  # the word has a non-punctuation character
    core_start = np.where(plain, core_start, starts)
    core_end = np.where(plain, core_end, ends)
    pieces = np.stack(
        [
            np.stack((starts, core_start), axis=1),
            np.stack((core_start, core_end), axis=1),
            np.stack((core_end, ends), axis=1),
        ],
        axis=1,
    ).reshape(-1, 2)
    pieces = pieces[pieces[:, 1] > pieces[:, 0]]
    return pieces[:, 0].astype(np.int64), pieces[:, 1].astype(np.int64)


@functools.lru_cache(maxsize=1)
def _punctuation_table() -> np.ndarray:
    import unicodedata

    import numpy as np

    # Unicode punctuation, plus the ASCII symbols BERT's tokenizer also splits off
    return np.array(
        [unicodedata.category(chr(c)).startswith("P") or (c < 128 and chr(c) in "$+<=>^`|~")
         for c in range(0x10000)],
        dtype=bool,
    )  # fmt: skip


def extend_mask(text: str) -> np.ndarray:
    """True at each character that continues the grapheme cluster before it.

    Example:
        >>> extend_mask("e\u0301!").tolist()
        [False, True, False]
    """
    return _extend_mask(code_points(text))


def code_points(text: str) -> np.ndarray:
    """The Unicode code points of ``text`` as a uint32 array (lone surrogates kept).

    Example:
        >>> code_points("a東").tolist()
        [97, 26481]
    """
    import numpy as np

    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _extend_mask(points: np.ndarray) -> np.ndarray:
    import numpy as np

    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    extend = _in_ranges(points, _EXTEND_RANGES)
    # after a zero-width joiner the next character joins the cluster (👩‍💻)
    extend[1:] |= points[:-1] == 0x200D
    # regional indicators pair up into flags: the second of each pair extends the first
    if int(points.max()) < 0x1F1E6:
        return extend
    regional = (points >= 0x1F1E6) & (points <= 0x1F1FF)
    if regional.any():
        run_start = np.maximum.accumulate(np.where(~regional, np.arange(len(points)), -1))
        extend |= regional & ((np.arange(len(points)) - run_start) % 2 == 0)
    return extend


def _in_ranges(points: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Membership of each code point in ``ranges``: a table lookup in the BMP."""
    import numpy as np

    in_bmp = _bmp_table(ranges)[np.minimum(points, 0xFFFF)] & (points <= 0xFFFF)
    if int(points.max()) <= 0xFFFF:
        return in_bmp
    for lo, hi in ranges:
        if hi > 0xFFFF:
            in_bmp |= (points >= lo) & (points <= hi)
    return in_bmp


@functools.lru_cache(maxsize=4)
def _bmp_table(ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    import numpy as np

    table = np.zeros(0x10000, dtype=bool)
    for lo, hi in ranges:
        if lo <= 0xFFFF:
            table[lo : min(hi, 0xFFFF) + 1] = True
    return table


@functools.lru_cache(maxsize=1)
def _space_table() -> np.ndarray:
    import numpy as np

    # Every character str.isspace() accepts lies below U+3001.
    return np.array([chr(c).isspace() for c in range(0x3001)], dtype=bool)
