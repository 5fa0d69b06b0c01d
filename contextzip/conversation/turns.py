"""What a conversation's segments say about its turns: who spoke where, and which tools ran.

The conversation policy reads it to decide what may change, and compressors that follow the
turns (the agent compressor) read it from the segments they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contextzip.types import Segment

__all__ = ["MESSAGE_TEXTS", "Turns"]

#: The kinds of segment that hold a message's text (the others are tool calls and place holders).
MESSAGE_TEXTS = ("text", "tool_output")


@dataclass(frozen=True)
class Turns:
    """A conversation's texts by message, its assistant turns and its tool calls.

    Attributes:
        texts: Each message's texts, in order.
        assistants: The positions of the assistant messages.
        calls: ``(message, arguments)`` of each tool call.
        first_user: The message of the first user text (the task), if any.
        latest_user: The message of the latest user text, if any.
    """

    texts: list[list[str]]
    assistants: list[int]
    calls: list[tuple[int, str]]
    first_user: int | None
    latest_user: int | None

    @classmethod
    def of(cls, segments: Sequence[Segment]) -> Turns:
        """Read segments of :meth:`Conversation.read <contextzip.conversation.Conversation.read>`."""
        length = max(int(s.meta["message"]) for s in segments) + 1 if segments else 0
        texts: list[list[str]] = [[] for _ in range(length)]
        assistants: set[int] = set()
        calls = []
        users = []
        for segment in segments:
            message = int(segment.meta["message"])
            if segment.role == "assistant":
                assistants.add(message)
            if segment.kind == "tool_call":
                calls.append((message, segment.text))
            elif segment.kind in MESSAGE_TEXTS:
                texts[message].append(segment.text)
                if segment.role == "user" and segment.kind == "text":
                    users.append(message)
        return cls(
            texts, sorted(assistants), calls, users[0] if users else None, users[-1] if users else None
        )

    @property
    def task(self) -> str:
        """The first user text: what the agent was asked to do."""
        return self.texts[self.first_user][0] if self.first_user is not None else ""

    def horizon_end(self, message: int) -> int:
        """One past the first assistant message after ``message``: what the answer to it could see."""
        following = [m for m in self.assistants if m > message]
        return following[0] + 1 if following else len(self.texts)

    def later(self, message: int, end: int) -> list[str]:
        """The texts of messages ``message + 1`` to ``end`` and the arguments of calls made there."""
        texts = [t for m in range(message + 1, end) for t in self.texts[m]]
        return texts + [arguments for at, arguments in self.calls if message + 1 <= at < end]
