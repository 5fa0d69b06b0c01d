"""Which texts of a conversation may change: one policy for the proxy, LangChain and the library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contextzip.conversation.turns import MESSAGE_TEXTS, Turns
from contextzip.errors import ConfigurationError
from contextzip.types import Segment

__all__ = ["ConversationPolicy"]


@dataclass(frozen=True)
class ConversationPolicy:
    """Which texts of a conversation may change; the rest reach the compressor protected.

    A text may change when it is a tool result or a user's text, has at least
    ``min_tokens`` tokens, and no rule below keeps it. Assistant texts, tool calls and
    system prompts never change.

    Attributes:
        protected_roles: Messages of these roles are kept.
        keep_task: Keep the first user message (the task).
        keep_latest_user: Keep the latest user message. When false it may change even
            inside the last turns and even when it is the task (a prompt that carries
            its own documents).
        keep_last_turns: Keep the last turns: everything from the ``keep_last_turns``-th
            last assistant message on.
        live_only: Only texts after the last assistant message may change (the proxy's
            live zone: the client's history was settled on earlier turns).
        respect_cache_control: Keep texts in a block or message marked ``cache_control``.
        min_tokens: Shorter texts are kept.
        threshold_tokens: Keep everything in a conversation of at most this many tokens
            (``0``: no threshold).

    Example:
        >>> ConversationPolicy(keep_last_turns=0, live_only=True).min_tokens
        200
    """

    protected_roles: tuple[str, ...] = ("system", "developer")
    keep_task: bool = True
    keep_latest_user: bool = True
    keep_last_turns: int = 2
    live_only: bool = False
    respect_cache_control: bool = True
    min_tokens: int = 200
    threshold_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("keep_last_turns", "min_tokens", "threshold_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be an int >= 0, got {value!r}")

    @classmethod
    def live_zone(cls, min_tokens: int = 500) -> ConversationPolicy:
        """A gateway's policy (the proxy's, LiteLLM's): only the texts after the last assistant message.

        The client's history was settled on earlier turns (and its compressions come back from
        a cache), so what changes is the latest user message's long texts and the tool results
        since the last assistant turn.

        Example:
            >>> ConversationPolicy.live_zone(300).live_only
            True
        """
        return cls(keep_latest_user=False, keep_last_turns=0, live_only=True, min_tokens=min_tokens)

    def kept_messages(self, segments: Sequence[Segment], turns: Turns) -> set[int]:
        """The messages whose texts are kept whole, whatever their length or kind."""
        kept = {
            int(s.meta["message"])
            for s in segments
            if s.kind in MESSAGE_TEXTS and s.role in self.protected_roles
        }
        if turns.first_user is not None and self.keep_task:
            kept.add(turns.first_user)
        if turns.latest_user is not None and self.keep_latest_user:
            kept.add(turns.latest_user)
        assistants = turns.assistants
        if self.keep_last_turns and assistants:
            kept.update(range(assistants[-min(self.keep_last_turns, len(assistants))], len(turns.texts)))
        if turns.latest_user is not None and not self.keep_latest_user:
            kept.discard(turns.latest_user)
        if self.live_only:
            kept.update(range(max(assistants, default=-1) + 1))
        return kept
