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

__all__ = ["Api", "ConversationView", "body_problem", "conversation_view"]

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


def body_problem(api: Api, body: Mapping[str, Any]) -> str | None:
    """What makes ``body`` unreadable as a request of ``api``, or ``None`` when it can be read.

    Only the structure the conversation is read from is checked (what the API itself would
    refuse): arrays where arrays belong, objects inside them, strings for roles. Values the
    API may accept and contextzip does not read (unknown fields, tool arguments) are not.

    Example:
        >>> body_problem("openai", {"messages": [{"role": "user", "content": 5}]})
        'messages[0].content must be a string, an array of content parts or null'
        >>> body_problem("openai", {"messages": [{"role": "user", "content": "hi"}]}) is None
        True
    """
    if api == "responses":
        return _input_problem(body.get("input"))
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages must be an array of messages"
    system = body.get("system")
    if api == "anthropic" and not _text_or_objects(system):
        return "system must be a string or an array of text blocks"
    return next((p for i, m in enumerate(messages) if (p := _message_problem(i, m)) is not None), None)


def _input_problem(items: Any) -> str | None:
    """What is wrong with a Responses ``input``, if anything."""
    if items is None or isinstance(items, str):
        return None
    if not isinstance(items, list):
        return "input must be a string or an array of items"
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            return f"input[{i}] must be an object"
        for name in ("content", "output"):
            if not _text_or_objects(item.get(name)):
                return f"input[{i}].{name} must be a string or an array of objects"
    return None


def _message_problem(i: int, message: Any) -> str | None:
    """What is wrong with the chat message at ``messages[i]``, if anything."""
    if not isinstance(message, Mapping):
        return f"messages[{i}] must be an object"
    if not isinstance(message.get("role"), str):
        return f"messages[{i}].role must be a string"
    content = message.get("content")
    if not _text_or_objects(content):
        return f"messages[{i}].content must be a string, an array of content parts or null"
    for j, block in enumerate(content if isinstance(content, list) else []):
        if not _text_or_objects(block.get("content")):
            return f"messages[{i}].content[{j}].content must be a string or an array of blocks"
    calls = message.get("tool_calls")
    if calls is not None and not (_objects(calls) and all(_objects([c.get("function", {})]) for c in calls)):
        return f"messages[{i}].tool_calls must be an array of tool calls (objects with a function object)"
    return None


def _text_or_objects(value: Any) -> bool:
    """Whether ``value`` is absent, a string or an array of objects."""
    return value is None or isinstance(value, str) or _objects(value)


def _objects(value: Any) -> bool:
    """Whether ``value`` is an array of objects."""
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)
