"""Compress a conversation with any compressor, in one call, remembering what it did."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from contextzip.conversation.policy import ConversationPolicy
from contextzip.conversation.read import Conversation
from contextzip.defaults import DEFAULTS
from contextzip.messages import Path, Shape
from contextzip.tokens import TokenCounter
from contextzip.types import Budget, CompressionResult, SegmentResult

if TYPE_CHECKING:
    from contextzip.protocol import Compressor

__all__ = ["ConversationResult", "TextMemo", "compress_conversation", "memo_key"]


class TextMemo(Protocol):
    """Where compressions are remembered by their original (the proxy's memory or Redis cache)."""

    def get(self, key: str, /) -> str | None: ...

    def set(self, key: str, value: str, /) -> None: ...


def memo_key(namespace: str, original: str) -> str:
    """The key of ``original`` compressed under ``namespace`` (a method and rate, say)."""
    return hashlib.sha256(f"{namespace}\x00{original}".encode()).hexdigest()


@dataclass(frozen=True)
class ConversationResult:
    """A compressed conversation.

    Attributes:
        conversation: The conversation as read.
        result: What the compressor did, one segment result per segment of the conversation.
        texts: The new texts, by segment index (only those that changed).
        compressed: Texts the compressor changed in this call.
        reused: Texts replaced by a remembered compression of the same original.
    """

    conversation: Conversation
    result: CompressionResult
    texts: Mapping[int, str]
    compressed: int = 0
    reused: int = 0

    @cached_property
    def messages(self) -> list[Any]:
        """The messages, same shape and length as the input, with the new texts."""
        return self.conversation.write(self.texts)

    @property
    def changes(self) -> dict[Path, str]:
        """The new texts keyed by where they live in the messages."""
        return self.conversation.changes(self.texts)

    @property
    def tokens_before(self) -> int:
        return self.result.tokens_before

    @property
    def tokens_after(self) -> int:
        return self.result.tokens_after

    @property
    def ratio(self) -> float:
        """Tokens before over tokens after (``1.0`` when nothing changed)."""
        return self.tokens_before / self.tokens_after if self.tokens_after else 1.0

    @property
    def reason(self) -> str | None:
        """Why nothing changed, when nothing did."""
        return self.result.reason if not self.texts else None

    @property
    def notes(self) -> list[str]:
        """What the compressor said about single texts (duplicates, reducers that failed)."""
        return [r.note for r in self.result.segments if r.note]


def compress_conversation(
    messages: Sequence[Any] | Conversation,
    compressor: Compressor | str = DEFAULTS["conversation"].method,
    policy: ConversationPolicy | None = None,
    *,
    budget: Budget | None = None,
    query: str | None = None,
    shape: Shape | None = None,
    memo: TextMemo | None = None,
    memo_namespace: str = "",
    counter: TokenCounter | None = None,
) -> ConversationResult:
    """Compress the texts of a conversation that ``policy`` lets change, with one compressor call.

    Args:
        messages: The conversation (not changed), or a :class:`Conversation` already read.
        compressor: A compressor or a registered name; ``"agent"`` reads the conversation's
            turns and plan (each changeable text keeps ``budget.rate`` of its tokens).
        policy: What may change (default :class:`ConversationPolicy`).
        budget: Passed to the compressor (default: the ``conversation`` rate of
            :data:`contextzip.defaults.DEFAULTS`, 0.25).
        query: What the next call will ask; for the agent compressor, the plan's remaining
            steps, one per line.
        shape: The messages' shape, when it should not be detected.
        memo: Remembered compressions: a changeable text whose original was compressed
            before under ``memo_namespace`` gets those bytes again (no compressor call for
            it), and new compressions are remembered.
        memo_namespace: What the remembered compressions depend on (method and rate).
        counter: Counts tokens (default: the compressor's ``counter``, else ``o200k_base``).
    """
    started = time.perf_counter()
    policy = policy or ConversationPolicy()
    if isinstance(compressor, str):
        from contextzip.protocol import get_compressor

        compressor = get_compressor(compressor)
    counter = counter or getattr(compressor, "counter", None) or TokenCounter()
    if isinstance(messages, Conversation):
        conversation = messages
    else:
        conversation = Conversation.read(messages, shape, counter)
    name = str(getattr(compressor, "name", type(compressor).__name__))
    total = conversation.tokens
    if policy.threshold_tokens and total <= policy.threshold_tokens:
        why = f"{total} tokens, not above threshold_tokens={policy.threshold_tokens}"
        unchanged = CompressionResult.unchanged(
            conversation.segments, conversation.counts, name, total, why, started
        )
        return ConversationResult(conversation, unchanged, {})
    texts = _remembered(conversation, policy, memo, memo_namespace) if memo is not None else {}
    reused = len(texts)
    changeable = conversation.changeable(policy)
    segments = [
        s
        if s.protected == (not changeable[n] or n in texts)
        else dataclasses.replace(s, protected=not s.protected)
        for n, s in enumerate(conversation.segments)
    ]
    if all(s.protected for s in segments):
        why = "nothing in the conversation may change and is long enough to compress"
        result = CompressionResult.unchanged(segments, conversation.counts, name, total, why, started)
    else:
        result = compressor.compress(
            segments, query=query, budget=budget or Budget(rate=DEFAULTS["conversation"].rate)
        )
    compressed = 0
    for index, (segment, out) in enumerate(zip(segments, result.segments, strict=True)):
        if index not in texts and out.text != segment.text:
            texts[index] = out.text
            compressed += 1
            if memo is not None:
                memo.set(memo_key(memo_namespace, segment.text), out.text)
    if reused:
        result = _with_remembered(result, conversation, texts, counter)
    return ConversationResult(conversation, result, texts, compressed, reused)


def _remembered(
    conversation: Conversation, policy: ConversationPolicy, memo: TextMemo, namespace: str
) -> dict[int, str]:
    """The remembered compressions of the texts ``policy`` lets be replaced, by segment index."""
    found = {}
    for index, (segment, reusable) in enumerate(
        zip(conversation.segments, conversation.reusable(policy), strict=True)
    ):
        remembered = memo.get(memo_key(namespace, segment.text)) if reusable else None
        if remembered is not None:
            found[index] = remembered
    return found


def _with_remembered(
    result: CompressionResult, conversation: Conversation, texts: Mapping[int, str], counter: TokenCounter
) -> CompressionResult:
    """``result`` with the remembered texts in place of the protected originals the compressor saw."""
    outs = list(result.segments)
    for index, out in enumerate(outs):
        if index in texts and out.text != texts[index]:
            tokens = counter.count_remembered(texts[index])
            original = conversation.segments[index]
            outs[index] = SegmentResult(
                original, texts[index], (), out.tokens_before, tokens, note="remembered"
            )
    return dataclasses.replace(result, segments=tuple(outs))
