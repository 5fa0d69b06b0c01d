"""Helpers the agent compressor reads a history with: content hashes and kept line spans."""

from __future__ import annotations

import hashlib

__all__ = ["content_hash", "kept_line_spans"]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def kept_line_spans(original: str, text: str) -> tuple[tuple[int, int], ...]:
    """Where the output's lines sit in ``original`` (lines not found, like markers, are skipped)."""
    spans = []
    at = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        found = original.find(line, at)
        if found >= 0:
            spans.append((found, found + len(line)))
            at = found + len(line)
    return tuple(spans)
