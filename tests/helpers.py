"""Assertions shared by the compressor tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from contextzip.types import CompressionResult
from contextzip.words import word_spans


def words(text: str) -> list[str]:
    return [text[s:e] for s, e in word_spans(text)]


def is_subsequence(needles: list[str] | str, haystack: list[str] | str) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def assert_extractive(original: str, compressed: str, *, whole_words: bool = True) -> None:
    """Compressed text is the original's characters (and its words) in order, case intact."""
    visible = [c for c in compressed if not c.isspace()]
    assert is_subsequence(visible, [c for c in original if not c.isspace()])
    if whole_words:
        assert is_subsequence(words(compressed), words(original)), (compressed, original)


def max_unit_tokens(result: CompressionResult) -> int:
    """An upper bound on one unit's cost: the longest kept-or-dropped span, in tokens."""
    from contextzip.tokens import count_tokens

    longest = 0
    for r in result.segments:
        for start, end in r.spans:
            longest = max(longest, count_tokens(r.segment.text[start:end]))
    return longest


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI ``app`` under a real uvicorn server on 127.0.0.1; yield its base URL."""
    from contextzip.eval.servers import serve_in_thread

    with serve_in_thread(app) as url:
        yield url
