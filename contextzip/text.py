"""Text units with character offsets, and joining kept spans back into text.

Every extractive compressor picks ``(start, end)`` spans of the original and calls
:func:`join_spans`, so its output is made of the original's characters, in order.

Units:

* **word** — a run of non-space characters; each CJK ideograph or kana character is
  a word of its own (those scripts put no spaces between words);
* **phrase** — words grouped into chunks that end at clause punctuation or before an
  English function word that follows a content word ("the quick fox jumped | over
  the lazy dog, | then slept"), a dependency-free stand-in for Selective-Context's
  noun-phrase chunks;
* **sentence** — ends at ``. ! ? …`` (not after a known abbreviation or before a
  lower-case word), at ``。！？``, and at line breaks;
* **paragraph** — separated by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.words import CJK_RANGES, word_spans

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Span",
    "join_spans",
    "joined_offsets",
    "paragraph_spans",
    "phrase_spans",
    "sentence_spans",
    "span_array",
    "unit_spans",
]

Span = tuple[int, int]

_CJK = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)
_WORD_CJK = re.compile(rf"[{_CJK}]")
_SPACE = re.compile(r"\s")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")

_SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)"  # western terminal punctuation before a space
    r"|[\u3002\uff01\uff1f]+[\"\u201d\u2019\u300d\u300f)]*"  # CJK terminal punctuation
    r"|(?=\n)"  # a line break ends a sentence (lists, code, tables)
)

_BLOCK_LINE = re.compile(r"\s*(?:[-*+>#|]|\d+[.)]\s|```)|\t| {4}")

# Titles and the like never end a sentence; any other period does unless a lower-case
# word follows ("p.m. today" goes on, "etc. The" ends).
_TITLES = frozenset("mr mrs ms dr prof sr jr st vs e.g i.e cf fig vol pp al approx".split())

_NEXT_VISIBLE = re.compile(r"\s*(\S)")

_CLAUSE_END = re.compile(r"[,;:()\[\]{}\u2014\u2013\uff0c\u3001]$")

_FUNCTION_WORDS = frozenset(
    """a an the this that these those my your his her its our their some any each every no
    of in on at by for with from to into onto over under about above below between through
    during before after against among across along around behind beyond near within without
    and or but nor so yet if because although though while whereas unless since until as than
    is are was were be been being am do does did have has had will would shall should can
    could may might must i you he she it we they me him us them who whom whose which what
    where when why how not there here also then""".split()
)


def sentence_spans(text: str) -> list[Span]:
    """Return sentence spans, stripped of surrounding whitespace.

    Args:
        text: Any text; line breaks end a sentence unless they only wrap a line.

    Example:
        >>> t = "Dr. Smith arrived. He sat down!\\nNext line"
        >>> [t[s:e] for s, e in sentence_spans(t)]
        ['Dr. Smith arrived.', 'He sat down!', 'Next line']
    """
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group() and match.group()[0] in ".!?\u2026" and not _ends_sentence(text, match):
            continue
        if not match.group() and not _line_break_ends_sentence(text, match.start()):
            continue
        _append_stripped(text, start, end, spans)
        start = end
    _append_stripped(text, start, len(text), spans)
    return spans


def paragraph_spans(text: str) -> list[Span]:
    """Return paragraph spans (blocks separated by blank lines), stripped.

    Example:
        >>> t = "One.\\n\\nTwo.\\nStill two."
        >>> [t[s:e] for s, e in paragraph_spans(t)]
        ['One.', 'Two.\\nStill two.']
    """
    spans: list[Span] = []
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        _append_stripped(text, start, match.start(), spans)
        start = match.end()
    _append_stripped(text, start, len(text), spans)
    return spans


def phrase_spans(text: str) -> list[Span]:
    """Return phrase spans: word chunks cut at clause punctuation and function words.

    Example:
        >>> t = "The quick brown fox jumped over the lazy dog, then slept."
        >>> [t[s:e] for s, e in phrase_spans(t)]
        ['The quick brown fox jumped', 'over the lazy dog,', 'then slept.']
    """
    spans: list[Span] = []
    for sent_start, sent_end in sentence_spans(text):
        sentence = text[sent_start:sent_end]
        chunk_start: int | None = None
        chunk_end = 0
        previous_is_function = True
        for w_start, w_end in word_spans(sentence):
            word = sentence[w_start:w_end]
            is_function = word.lower().strip("\"'“”‘’([{") in _FUNCTION_WORDS
            if chunk_start is not None and is_function and not previous_is_function:
                spans.append((sent_start + chunk_start, sent_start + chunk_end))
                chunk_start = None
            if chunk_start is None:
                chunk_start = w_start
            chunk_end = w_end
            previous_is_function = is_function
            if _CLAUSE_END.search(word):
                spans.append((sent_start + chunk_start, sent_start + chunk_end))
                chunk_start, previous_is_function = None, True
        if chunk_start is not None:
            spans.append((sent_start + chunk_start, sent_start + chunk_end))
    return spans


_UNIT_SPLITTERS = {
    "word": word_spans,
    "phrase": phrase_spans,
    "sentence": sentence_spans,
    "paragraph": paragraph_spans,
}


def span_array(spans: Sequence[Span]) -> np.ndarray:
    """Spans as an ``(n, 2)`` int64 array (faster than ``np.asarray`` on tuples).

    Example:
        >>> span_array([(0, 2), (3, 5)]).tolist()
        [[0, 2], [3, 5]]
    """
    import itertools

    import numpy as np

    flat = np.fromiter(itertools.chain.from_iterable(spans), dtype=np.int64, count=2 * len(spans))
    return flat.reshape(-1, 2)


def unit_spans(text: str, unit: str) -> list[Span]:
    """Split ``text`` into ``unit`` spans (``word``, ``phrase``, ``sentence``, ``paragraph``).

    Example:
        >>> unit_spans("One. Two.", "sentence")
        [(0, 4), (5, 9)]
    """
    try:
        return _UNIT_SPLITTERS[unit](text)
    except KeyError:
        from contextzip.errors import ConfigurationError

        raise ConfigurationError(
            f"unknown unit {unit!r}; choose one of {', '.join(sorted(_UNIT_SPLITTERS))}"
        ) from None


def join_spans(text: str, spans: Sequence[Span]) -> str:
    """Join kept spans of ``text`` into the compressed text.

    Between two kept spans the original characters stay when the gap holds only
    whitespace (nothing was dropped there). Where something was dropped, the gap
    becomes one separator: ``"\\n\\n"`` if it held a blank line, ``"\\n"`` if it held a
    line break, ``" "`` if it held other whitespace or would otherwise fuse two runs
    of Latin letters or digits, and nothing otherwise (CJK text). The result is never
    longer than ``text``.

    Example:
        >>> t = "keep  this, drop that\\n\\nand keep this"
        >>> join_spans(t, [(0, 10), (23, 26), (32, 36)])
        'keep  this\\n\\nand this'
    """
    return "".join([part for part, _ in _joined_parts(text, spans)])


def joined_offsets(text: str, spans: Sequence[Span]) -> list[int]:
    """Where each non-empty span starts inside ``join_spans(text, spans)``.

    Example:
        >>> joined_offsets("aa bb cc", [(0, 2), (6, 8)])
        [0, 3]
    """
    offsets: list[int] = []
    position = 0
    for part, is_span in _joined_parts(text, spans):
        if is_span:
            offsets.append(position)
        position += len(part)
    return offsets


def _joined_parts(text: str, spans: Sequence[Span]) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    previous_end: int | None = None
    for start, end in spans:
        if start >= end:
            continue
        if previous_end is not None and start > previous_end:
            gap = _separator(text[previous_end:start], text[previous_end - 1], text[start])
            parts.append((gap, False))
        parts.append((text[start:end], True))
        previous_end = end
    return parts


def _separator(gap: str, before: str, after: str) -> str:
    if gap.isspace():
        return gap
    if _BLANK_LINE.search(gap):
        return "\n\n"
    if "\n" in gap:
        return "\n"
    if _SPACE.search(gap):
        return " "
    if _is_spaced_letter(before) and _is_spaced_letter(after):
        return " "  # two Latin runs would otherwise fuse into a new word
    return ""


def _is_spaced_letter(char: str) -> bool:
    return char.isalnum() and not _WORD_CJK.match(char)


def _line_break_ends_sentence(text: str, position: int) -> bool:
    """A soft-wrapped line goes on; a blank line, list item, heading, table or code line ends."""
    line_start = text.rfind("\n", 0, position) + 1
    next_end = text.find("\n", position + 1)
    next_line = text[position + 1 : next_end if next_end != -1 else len(text)]
    current_line = text[line_start:position]
    return (
        not next_line.strip()
        or not current_line.strip()
        or bool(_BLOCK_LINE.match(next_line))
        # a list item goes on into an indented continuation line, which ends with the indent
        or (bool(_BLOCK_LINE.match(current_line)) and not next_line[:1].isspace())
        or (current_line[:1].isspace() and not next_line[:1].isspace())
    )


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Tell a real sentence end from an abbreviation or a lower-case continuation."""
    punct_start = match.start()
    word_start = punct_start
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    previous_word = text[word_start:punct_start].lower().lstrip("\"'(")
    indent = word_start
    while indent > 0 and text[indent - 1] in " \t":
        indent -= 1
    at_line_start = indent == 0 or text[indent - 1] == "\n"
    if text[punct_start] == "." and (
        previous_word in _TITLES
        or (len(previous_word) == 1 and previous_word.isalpha())
        or (previous_word.isdigit() and at_line_start)  # "3. " numbering a list item
    ):
        return False
    following = _NEXT_VISIBLE.match(text, match.end())
    if following is None:
        return True
    return not following.group(1).islower()  # "etc. The" ends a sentence, "etc. and" does not


def _append_stripped(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))
