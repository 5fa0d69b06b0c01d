"""One road for every conversation: messages -> segments -> a compressor -> messages.

A conversation in OpenAI, Anthropic or LangChain shape (:mod:`contextzip.messages`) is read
once into a :class:`Conversation`: its segments, in message order, each counted once.
One :class:`ConversationPolicy` marks which of them may change (the rest go to the
compressor ``protected``), any :class:`~contextzip.protocol.Compressor` runs once, and the
new texts are written back into one copy of the messages. The proxy, the LangChain step and
middleware, and ``AgentCompressor.compress_messages`` all take this road through
:func:`compress_conversation`.

What a conversation's segments are: :mod:`contextzip.conversation.read`.

Example:
    >>> messages = [{"role": "system", "content": "Be brief."},
    ...             {"role": "user", "content": "Summarize: " + "lorem ipsum dolor " * 200}]
    >>> from contextzip import Budget
    >>> out = compress_conversation(messages, "truncate", ConversationPolicy(keep_latest_user=False),
    ...                             budget=Budget(rate=0.5))
    >>> out.messages[0] == messages[0], out.compressed, out.tokens_after < out.tokens_before
    (True, 1, True)
"""

from contextzip.conversation.compress import ConversationResult, TextMemo, compress_conversation, memo_key
from contextzip.conversation.policy import ConversationPolicy
from contextzip.conversation.read import Conversation, is_conversation
from contextzip.conversation.turns import MESSAGE_TEXTS, Turns

__all__ = [
    "MESSAGE_TEXTS",
    "Conversation",
    "ConversationPolicy",
    "ConversationResult",
    "TextMemo",
    "Turns",
    "compress_conversation",
    "is_conversation",
    "memo_key",
]
