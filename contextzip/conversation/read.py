"""A conversation read once into counted segments, and its new texts written back.

The segments of a conversation, message by message:

* each text (kind ``"text"``, or ``"tool_output"`` for a tool's output), with ``role`` and
  ``meta["message"]``, and for a result ``meta["call_id"]``, ``["tool"]`` and ``["arguments"]``;
* each tool call (kind ``"tool_call"``, its arguments as text, its id as ``id``), always
  protected: what the assistant asked for is context, never changed;
* for a message with neither, one empty segment (kind ``"empty"``), so the turns' positions
  stay known to compressors that read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from contextzip.conversation.policy import ConversationPolicy
from contextzip.conversation.turns import MESSAGE_TEXTS, Turns
from contextzip.errors import ConfigurationError
from contextzip.messages import (
    Part,
    Path,
    Shape,
    ToolCall,
    conversation_parts,
    detect_shape,
    message_roles,
    replace_parts,
    tool_calls,
)
from contextzip.tokens import TokenCounter
from contextzip.types import Segment

__all__ = ["Conversation", "is_conversation"]


@dataclass(frozen=True)
class Conversation:
    """A conversation read once: its segments (see the module docs), counted.

    Build it with :meth:`read`. ``keys[i]`` is where segment ``i``'s text lives in the
    messages (``None`` for tool calls and place holders).
    """

    messages: Sequence[Any]
    shape: Shape
    segments: tuple[Segment, ...]
    keys: tuple[Path | None, ...]
    counts: tuple[int, ...]
    #: For each segment, whether it sits in a block or message marked ``cache_control``.
    marked: tuple[bool, ...]

    @classmethod
    def read(
        cls, messages: Sequence[Any], shape: Shape | None = None, counter: TokenCounter | None = None
    ) -> Conversation:
        """Read ``messages`` (not changed).

        Raises:
            ConversationError: ``messages`` are not a conversation (it says what is wrong).
        """
        shape = shape or detect_shape(messages)
        counter = counter or TokenCounter()
        calls = tool_calls(messages, shape)
        parts = conversation_parts(messages, shape, calls=calls)
        roles = message_roles(messages, shape)
        texts_of: dict[int, list[Part]] = {}
        for part in parts:
            texts_of.setdefault(part.message, []).append(part)
        calls_of: dict[int, list[ToolCall]] = {}
        for call in calls.values():
            calls_of.setdefault(call.message, []).append(call)
        segments: list[Segment] = []
        keys: list[Path | None] = []
        marked: list[bool] = []
        for index, role in enumerate(roles):
            for part in texts_of.get(index, []):
                segments.append(_text_segment(part))
                keys.append(part.key)
                marked.append(shape != "langchain" and _marked(messages, part.key))
            for call in calls_of.get(index, []):
                meta = {"message": index, "tool": call.name}
                segments.append(Segment(call.arguments, "tool_call", role, True, call.id, meta))
                keys.append(None)
                marked.append(False)
            if index not in texts_of and index not in calls_of:
                segments.append(Segment("", "empty", role, True, None, {"message": index}))
                keys.append(None)
                marked.append(False)
        counts = tuple(counter.count_remembered(s.text) for s in segments)
        return cls(messages, shape, tuple(segments), tuple(keys), counts, tuple(marked))

    @cached_property
    def turns(self) -> Turns:
        """Where the user spoke, the assistant answered and tools ran."""
        return Turns.of(self.segments)

    @property
    def tokens(self) -> int:
        """Tokens of every text and tool call."""
        return sum(self.counts)

    def changeable(self, policy: ConversationPolicy) -> list[bool]:
        """For each segment, whether ``policy`` lets it change."""
        kept = policy.kept_messages(self.segments, self.turns)
        return [
            segment.kind in MESSAGE_TEXTS
            and (segment.kind == "tool_output" or segment.role == "user")
            and segment.role not in policy.protected_roles
            and int(segment.meta["message"]) not in kept
            and count >= policy.min_tokens
            and not (policy.respect_cache_control and marked)
            for segment, count, marked in zip(self.segments, self.counts, self.marked, strict=True)
        ]

    def reusable(self, policy: ConversationPolicy) -> list[bool]:
        """For each segment, whether a remembered compression of its text may replace it.

        Wider than :meth:`changeable`: a text compressed when it was live is replaced by the
        same bytes when the client sends it again as history, so the upstream sees the same
        prefix turn after turn.
        """
        return [
            segment.kind in MESSAGE_TEXTS
            and segment.role not in policy.protected_roles
            and not (policy.respect_cache_control and marked)
            for segment, marked in zip(self.segments, self.marked, strict=True)
        ]

    def write(self, texts: Mapping[int, str]) -> list[Any]:
        """A copy of the messages with segment ``i``'s text replaced by ``texts[i]``."""
        return replace_parts(self.messages, self.changes(texts), self.shape)

    def changes(self, texts: Mapping[int, str]) -> dict[Path, str]:
        """``texts`` keyed by where they live in the messages (for writing them elsewhere)."""
        changes = {}
        for index, text in texts.items():
            key = self.keys[index]
            if key is None:
                raise ConfigurationError(f"segment {index} is a {self.segments[index].kind}, not a text")
            changes[key] = text
        return changes


def is_conversation(segments: Sequence[Segment]) -> bool:
    """Whether ``segments`` came from :meth:`Conversation.read` (each knows its message)."""
    return bool(segments) and all(isinstance(s.meta.get("message"), int) for s in segments)


def _text_segment(part: Part) -> Segment:
    meta: dict[str, Any] = {"message": part.message}
    if part.call is not None:
        meta.update(call_id=part.call.id, tool=part.call.name, arguments=part.call.arguments)
    kind = "tool_output" if part.kind == "tool_result" else "text"
    return Segment(part.text, kind, part.role, False, None, meta)


def _marked(messages: Sequence[Any], key: Path) -> bool:
    """Whether the text at ``key``, or a block or message holding it, is marked ``cache_control``."""
    node: Any = messages
    for step in key:
        node = node[step]
        if isinstance(node, Mapping) and "cache_control" in node:
            return True
    return False
