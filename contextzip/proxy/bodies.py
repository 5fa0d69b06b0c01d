"""Request bodies of the three APIs as conversations :mod:`contextzip.conversation` reads, and back.

Chat Completions and Messages bodies hold their conversation in ``messages`` already; a
Responses body holds ``input`` items (messages, ``function_call``, ``function_call_output``),
which :func:`conversation_view` maps to a chat-shaped view with the way back to each text.
Only texts change on the way back: every other field and item, known or not, is kept.

Example:
    >>> body = {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    ...         "metadata": {"x": 1}}
    >>> view = conversation_view("responses", body)
    >>> from contextzip.conversation import Conversation
    >>> conversation = Conversation.read(view.messages, view.shape)
    >>> [s.text for s in conversation.segments]
    ['hi']
    >>> view.rewrite(conversation.changes({0: "hello"}))["input"][0]["content"][0]["text"]
    'hello'
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contextzip.messages import Path, Shape, replace_parts

__all__ = ["Api", "ConversationView", "conversation_view"]

Api = Literal["openai", "anthropic", "responses"]

_TEXT_BLOCKS = ("input_text", "output_text", "text")


@dataclass
class ConversationView:
    """A body's conversation in a shape :mod:`contextzip.messages` reads (``messages``, ``shape``)."""

    api: Api
    body: Mapping[str, Any]
    messages: list[Any]
    shape: Shape
    #: For Responses: view message index -> (path of its item in the body, field renames).
    locations: dict[int, tuple[Path, dict[str, str]]] = field(default_factory=dict)

    def rewrite(self, texts: Mapping[Path, str]) -> dict[str, Any]:
        """A copy of the body with the texts at ``texts``' keys replaced; the body is not changed."""
        if self.api != "responses":
            return {**self.body, "messages": replace_parts(self.messages, texts, self.shape)}
        body = copy.deepcopy(dict(self.body))
        for key, text in texts.items():
            where, renames = self.locations[int(key[0])]
            inner = tuple(renames.get(step, step) if isinstance(step, str) else step for step in key[1:])
            path = (*where, *inner)
            target: Any = body
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = text
        return body


def conversation_view(api: Api, body: Mapping[str, Any]) -> ConversationView:
    """The conversation in ``body``; a ``ValueError`` names what is malformed."""
    if api in ("openai", "anthropic"):
        chat = body.get("messages")
        if not isinstance(chat, list):
            raise ValueError("'messages' must be an array of messages")
        return ConversationView(api, body, chat, "openai" if api == "openai" else "anthropic")
    items = body.get("input")
    if isinstance(items, str):
        return ConversationView(
            api, body, [{"role": "user", "content": items}], "openai", {0: (("input",), {})}
        )
    if items is None:
        return ConversationView(api, body, [], "openai")
    if not isinstance(items, list):
        raise ValueError("'input' must be a string or an array of items")
    messages: list[Any] = []
    locations: dict[int, tuple[Path, dict[str, str]]] = {}
    for position, item in enumerate(items):
        viewed = _view_item(item)
        if viewed is not None:
            locations[len(messages)] = (("input", position), viewed[1])
            messages.append(viewed[0])
    return ConversationView(api, body, messages, "openai", locations)


def _view_item(item: Any) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A Responses input item as a chat message, and the renames of its fields (``None``: not text)."""
    if not isinstance(item, Mapping):
        return None
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        content = item.get("content")
        if isinstance(content, list):  # other blocks stay as placeholders, so positions agree
            content = [
                {"type": "text", "text": b["text"]}
                if isinstance(b, Mapping) and b.get("type") in _TEXT_BLOCKS and isinstance(b.get("text"), str)
                else {"type": "other"}
                for b in content
            ]
        return {"role": str(item.get("role", "user")), "content": content}, {}
    if kind == "function_call":
        call = {"name": item.get("name", ""), "arguments": item.get("arguments", "")}
        tool_call = {"id": str(item.get("call_id", "")), "type": "function", "function": call}
        return {"role": "assistant", "content": None, "tool_calls": [tool_call]}, {}
    if kind == "function_call_output" and isinstance(item.get("output"), str):
        message = {"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": item["output"]}
        return message, {"content": "output"}
    return None
