"""What compressing a conversation returns, and the helpers that read its history."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contextzip.messages import Part, ToolCall

__all__ = ["AgentResult"]


@dataclass(frozen=True)
class AgentResult:
    """The compressed conversation and what happened to it.

    Attributes:
        messages: The conversation, same shape and length as the input.
        tokens_before: Tokens of every text in the input.
        tokens_after: Tokens of every text in the output.
        compressed: How many texts were rewritten.
        deduplicated: How many of those became pointers to an earlier identical output.
        plan: The remaining steps the relevance target used (for the latest result).
        reason: Why nothing was compressed, when nothing was.
    """

    messages: list[Any]
    tokens_before: int
    tokens_after: int
    compressed: int = 0
    deduplicated: int = 0
    plan: tuple[str, ...] = ()
    reason: str | None = None
    details: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def ratio(self) -> float:
        """Tokens before over tokens after."""
        return self.tokens_before / self.tokens_after if self.tokens_after else 1.0


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def message_texts(parts: Sequence[Part], length: int) -> list[list[str]]:
    texts: list[list[str]] = [[] for _ in range(length)]
    for part in parts:
        texts[part.message].append(part.text)
    return texts


def first_user_part(parts: Sequence[Part]) -> int | None:
    return next((p.message for p in parts if p.role == "user" and p.kind == "text"), None)


def latest_user_part(parts: Sequence[Part]) -> int | None:
    return next((p.message for p in reversed(parts) if p.role == "user" and p.kind == "text"), None)


def horizon_end(assistants: Sequence[int], message: int, length: int) -> int:
    """One past the first assistant message after ``message``: what the answer to it could see."""
    following = [m for m in assistants if m > message]
    return following[0] + 1 if following else length


def arguments_between(calls: Sequence[ToolCall], start: int, end: int) -> list[str]:
    """The arguments of the tool calls made in messages ``start`` to ``end``: facts they reuse."""
    return [c.arguments for c in calls if start <= c.message < end]


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
