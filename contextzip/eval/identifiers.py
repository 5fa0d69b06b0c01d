"""Identifier retention: how many of a text's numbers, names, paths, URLs and code identifiers survive.

These are what a reader most often needs verbatim and what word-dropping compressors
most often lose: a version number, a file path, a function name, a person. Found with
regular expressions, each span claimed by the first kind that matches it in the order
of :data:`IDENTIFIER_KINDS` (a URL's path is part of the URL, not a path of its own).

:func:`identifier_retention` counts, per kind, the distinct identifiers of the original
and how many of them still occur in the compressed text as whole tokens.

Example:
    >>> original = "Call parse_args() in cli/main.py; Ada Lovelace wrote it in 1843."
    >>> sorted(find_identifiers(original).items())
    [('code', {'parse_args()'}), ('name', {'Ada Lovelace'}), ('number', {'1843'}), ('path', {'cli/main.py'})]
    >>> kept = identifier_retention(original, "Call parse_args() in cli/main.py; wrote it")
    >>> kept["code"], kept["number"], kept["path"]
    ((1, 1), (0, 1), (1, 1))
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["IDENTIFIER_KINDS", "find_identifiers", "identifier_retention", "occurs", "retention_share"]

#: The kinds, in the order they claim text.
IDENTIFIER_KINDS: tuple[str, ...] = ("url", "path", "code", "number", "name")

_PATTERNS: dict[str, re.Pattern[str]] = {
    "url": re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`)\]]+[^\s<>\"'`)\].,;:!?]"),
    # a/b/c, ./x, ~/x, /usr/lib, or a bare file name with a common extension
    "path": re.compile(
        r"(?<![\w/])(?:~|\.{1,2})?/?(?:[\w.-]+/)+[\w.-]*\w"
        r"|\b[\w-]+\.(?:py|pyi|js|ts|tsx|jsx|md|rst|json|ya?ml|toml|txt|cfg|ini|sh|c|h|cc|cpp|hpp|rs|go|"
        r"java|kt|rb|php|html|css|log|csv|lock|gguf|whl)\b"
    ),
    # dotted names, snake_case, camelCase / PascalCase with an inner capital, calls
    "code": re.compile(
        r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?"
        r"|\b_*[A-Za-z][A-Za-z0-9]*_\w+(?:\(\))?"
        r"|\b[a-z]+[A-Z]\w*(?:\(\))?"
        r"|\b[A-Z][a-z0-9]+[A-Z]\w*(?:\(\))?"
        r"|\b[A-Za-z_]\w*\(\)"
    ),
    # integers, decimals, versions, times and dates (1,117,320,768; 3.5; 0.3.36; 12:05; 2026-12-05)
    "number": re.compile(r"(?<![\w.])\d+(?:[.,:/-]\d+)*(?![\w])"),
    # runs of capitalized words not opening a sentence (proper names)
    "name": re.compile(r"(?<=[a-z0-9,;:)] )[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*(?![\w])"),
}


def find_identifiers(text: str) -> dict[str, set[str]]:
    """The distinct identifiers of ``text`` by kind (kinds with none are left out)."""
    claimed = bytearray(len(text))
    found: dict[str, set[str]] = {}
    for kind in IDENTIFIER_KINDS:
        for match in _PATTERNS[kind].finditer(text):
            start, end = match.span()
            if any(claimed[start:end]):
                continue
            claimed[start:end] = b"\x01" * (end - start)
            found.setdefault(kind, set()).add(match.group(0))
    return found


def identifier_retention(original: str, compressed: str) -> dict[str, tuple[int, int]]:
    """Per kind, ``(kept, total)``: the original's distinct identifiers and how many ``compressed`` holds.

    An identifier is kept when it occurs in ``compressed`` not glued to a word character
    on either side (``12`` is not kept by ``123``).
    """
    counts: dict[str, tuple[int, int]] = {}
    for kind, identifiers in find_identifiers(original).items():
        kept = sum(occurs(identifier, compressed) for identifier in identifiers)
        counts[kind] = (kept, len(identifiers))
    return counts


def retention_share(counts: Mapping[str, tuple[int, int]] | Mapping[str, list[int]]) -> float | None:
    """Kept over total, summed over kinds; ``None`` when the original had no identifier.

    Example:
        >>> retention_share({"number": (1, 2), "path": (2, 2)})
        0.75
    """
    total = sum(pair[1] for pair in counts.values())
    return sum(pair[0] for pair in counts.values()) / total if total else None


def occurs(identifier: str, text: str) -> bool:
    """Whether ``identifier`` occurs in ``text`` not glued to a word character on either side."""
    start = text.find(identifier)
    while start != -1:
        end = start + len(identifier)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(identifier, start + 1)
    return False
