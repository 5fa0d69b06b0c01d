"""Chat conversations as texts a compressor may read and rewrite, and back.

A conversation comes in one of three shapes: OpenAI chat messages (dicts with ``role``,
``content``, ``tool_calls``, ``tool_call_id``), Anthropic messages (``role`` and
``content`` blocks: ``text``, ``tool_use``, ``tool_result``) or LangChain message objects.
:func:`conversation_parts` lists every piece of text in it as a :class:`Part` that knows
where it lives; :func:`replace_parts` writes new texts back into a copy. Only text
content is ever rewritten, so message order, roles, tool-call ids, names and arguments,
and the pairing of each tool result with its call are kept by construction;
:func:`check_conversation` says whether a conversation is valid for its API.

Example:
    >>> messages = [
    ...     {"role": "user", "content": "List the files."},
    ...     {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
    ...      "function": {"name": "shell", "arguments": '{"cmd": "ls"}'}}]},
    ...     {"role": "tool", "tool_call_id": "c1", "content": "a.py\\nb.py"},
    ... ]
    >>> [(p.role, p.kind, p.tool_name) for p in conversation_parts(messages)]
    [('user', 'text', None), ('tool', 'tool_result', 'shell')]
    >>> result = conversation_parts(messages)[1]
    >>> replace_parts(messages, {result.key: "a.py"})[2]["content"]
    'a.py'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from contextzip.errors import ConfigurationError

__all__ = [
    "ConversationError",
    "Part",
    "Path",
    "Shape",
    "ToolCall",
    "check_conversation",
    "conversation_parts",
    "detect_shape",
    "message_roles",
    "replace_parts",
    "tool_calls",
]

Shape = Literal["openai", "anthropic", "langchain"]

#: Where a text lives: the message's index, then keys and list positions inside it.
Path = tuple[Any, ...]


class ConversationError(ConfigurationError):
    """A conversation that no API would accept (a result without its call, unknown roles, ...)."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call an assistant made: its id, tool name and arguments as JSON text."""

    id: str
    name: str
    arguments: str
    message: int


@dataclass(frozen=True)
class Part:
    """One text of a conversation.

    Attributes:
        key: Where the text lives (message index first); pass it to :func:`replace_parts`.
        role: ``system``, ``developer``, ``user``, ``assistant`` or ``tool``.
        kind: ``"text"`` or ``"tool_result"``.
        text: The text.
        call: For a tool result, the call it answers (``None`` when the call is missing).
    """

    key: Path
    role: str
    kind: str
    text: str
    call: ToolCall | None = None

    @property
    def message(self) -> int:
        """The index of the message the text is in."""
        return int(self.key[0])

    @property
    def tool_name(self) -> str | None:
        """The name of the tool whose result this is, if it is one."""
        return self.call.name if self.call else None


def detect_shape(messages: Sequence[Any]) -> Shape:
    """Which API's shape ``messages`` are in.

    Anthropic is told from OpenAI by its content blocks (``tool_use``, ``tool_result``) and
    by the absence of OpenAI-only roles and fields; plain text conversations read the same
    in both and are called ``"openai"``.

    Example:
        >>> detect_shape([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}])
        'anthropic'
    """
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise ConversationError("messages must be a list of messages (dicts or LangChain messages)")
    if messages and all(_is_langchain(m) for m in messages):
        return "langchain"
    for position, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise ConversationError(
                f"message {position} is not a chat message: expected a dict with a 'role' "
                f"(or a LangChain message), got {type(message).__name__}"
            )
        if message["role"] in ("tool", "system", "developer", "function") or "tool_calls" in message:
            return "openai"
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") in ("tool_use", "tool_result") for b in content
        ):
            return "anthropic"
    return "openai"


def tool_calls(messages: Sequence[Any], shape: Shape | None = None) -> dict[str, ToolCall]:
    """Every tool call in the conversation, by id."""
    shape = shape or detect_shape(messages)
    calls: dict[str, ToolCall] = {}
    for index, message in enumerate(messages):
        for call in _calls_of(message, index, shape):
            calls[call.id] = call
    return calls


def message_roles(messages: Sequence[Any], shape: Shape | None = None) -> list[str]:
    """Each message's role, LangChain types named like the APIs' roles (``ai`` is ``assistant``).

    Example:
        >>> message_roles([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}])
        ['user', 'assistant']
    """
    shape = shape or detect_shape(messages)
    if shape == "langchain":
        return [_langchain_role(m) for m in messages]
    return [str(m.get("role")) for m in messages]


def conversation_parts(
    messages: Sequence[Any], shape: Shape | None = None, *, calls: Mapping[str, ToolCall] | None = None
) -> list[Part]:
    """The texts of ``messages`` in order: message contents, text blocks and tool results.

    Tool-call arguments, images and other non-text blocks are not parts: they are never
    rewritten. ``calls`` are the conversation's :func:`tool_calls`, when known already.
    """
    shape = shape or detect_shape(messages)
    calls = tool_calls(messages, shape) if calls is None else calls
    parts: list[Part] = []
    for index, message in enumerate(messages):
        parts.extend(_parts_of(message, index, shape, calls))
    return parts


def replace_parts(
    messages: Sequence[Any], texts: Mapping[Path, str], shape: Shape | None = None
) -> list[Any]:
    """A copy of ``messages`` with the texts at ``texts``' keys replaced.

    The input is not changed. Keys come from :func:`conversation_parts` of the same messages.
    """
    shape = shape or detect_shape(messages)
    by_message: dict[int, dict[Path, str]] = {}
    for key, text in texts.items():
        if not isinstance(text, str):
            raise ConfigurationError(f"replacement texts must be str, got {type(text).__name__} at {key}")
        by_message.setdefault(int(key[0]), {})[key[1:]] = text
    out = list(messages)
    for index, changes in by_message.items():
        if not 0 <= index < len(out):
            raise ConfigurationError(f"no message {index} in a conversation of {len(out)}")
        if shape == "langchain":
            out[index] = _replace_langchain(out[index], changes)
        else:
            message = copy.deepcopy(out[index])
            for path, text in changes.items():
                _set(message, path, text)
            out[index] = message
    return out


def check_conversation(messages: Sequence[Any], shape: Shape | None = None) -> None:
    """Raise :class:`ConversationError` when ``messages`` break their API's rules.

    Checked: known roles; every tool result answers an earlier call of an assistant message
    not answered before; in OpenAI shape, an assistant's calls are answered by the ``tool``
    messages right after it; in Anthropic shape, by ``tool_result`` blocks in the next
    (user) message.
    """
    shape = shape or detect_shape(messages)
    if shape == "langchain":
        messages = [_langchain_as_openai(m) for m in messages]
        shape = "openai"
    problems = _openai_problems(messages) if shape == "openai" else _anthropic_problems(messages)
    if problems:
        raise ConversationError("invalid conversation: " + "; ".join(problems))


# -- reading ------------------------------------------------------------------------------


def _calls_of(message: Any, index: int, shape: Shape) -> list[ToolCall]:
    if shape == "langchain":
        return [
            ToolCall(
                str(c.get("id")), str(c.get("name")), json.dumps(c.get("args", {}), sort_keys=True), index
            )
            for c in getattr(message, "tool_calls", None) or []
        ]
    if shape == "openai":
        found = []
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments", "")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, sort_keys=True)
            found.append(ToolCall(str(call.get("id")), str(function.get("name")), arguments, index))
        return found
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [
        ToolCall(str(b.get("id")), str(b.get("name")), json.dumps(b.get("input", {}), sort_keys=True), index)
        for b in content
        if isinstance(b, Mapping) and b.get("type") == "tool_use"
    ]


def _parts_of(message: Any, index: int, shape: Shape, calls: Mapping[str, ToolCall]) -> list[Part]:
    if shape == "langchain":
        role = _langchain_role(message)
        call = calls.get(str(getattr(message, "tool_call_id", ""))) if role == "tool" else None
        kind = "tool_result" if role == "tool" else "text"
        return _content_parts(message.content, (index, "content"), role, kind, call)
    role = str(message.get("role"))
    if shape == "openai":
        call = calls.get(str(message.get("tool_call_id"))) if role in ("tool", "function") else None
        kind = "tool_result" if role in ("tool", "function") else "text"
        return _content_parts(message.get("content"), (index, "content"), role, kind, call)
    content = message.get("content")
    if isinstance(content, str):
        return _content_parts(content, (index, "content"), role, "text", None)
    parts: list[Part] = []
    for position, block in enumerate(content or []):
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(Part((index, "content", position, "text"), role, "text", block["text"]))
        elif block.get("type") == "tool_result":
            call = calls.get(str(block.get("tool_use_id")))
            key = (index, "content", position, "content")
            parts.extend(_content_parts(block.get("content"), key, "tool", "tool_result", call))
    return parts


def _content_parts(content: Any, key: Path, role: str, kind: str, call: ToolCall | None) -> list[Part]:
    """Parts of a content that is a string or a list of text blocks (or strings)."""
    if isinstance(content, str):
        return [Part(key, role, kind, content, call)]
    parts = []
    for position, block in enumerate(content or []):
        if isinstance(block, str):
            parts.append(Part((*key, position), role, kind, block, call))
        elif (
            isinstance(block, Mapping) and block.get("type") == "text" and isinstance(block.get("text"), str)
        ):
            parts.append(Part((*key, position, "text"), role, kind, block["text"], call))
    return parts


def _set(container: Any, path: Path, text: str) -> None:
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = text


# -- LangChain ----------------------------------------------------------------------------


def _is_langchain(message: Any) -> bool:
    return hasattr(message, "content") and hasattr(message, "type") and not isinstance(message, Mapping)


def _langchain_role(message: Any) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(
        message.type, message.type
    )


def _replace_langchain(message: Any, changes: Mapping[Path, str]) -> Any:
    content = copy.deepcopy(message.content)
    for path, text in changes.items():
        if path == ("content",):
            content = text
        else:
            _set({"content": content}, path, text)
    return message.model_copy(update={"content": content})


def _langchain_as_openai(message: Any) -> dict[str, Any]:
    role = _langchain_role(message)
    out: dict[str, Any] = {"role": role, "content": message.content}
    if role == "tool":
        out["tool_call_id"] = message.tool_call_id
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function", "function": {"name": c.get("name"), "arguments": "{}"}}
            for c in calls
        ]
    return out


# -- validity -----------------------------------------------------------------------------

_OPENAI_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def _openai_problems(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    open_calls: list[str] = []  # calls of the last assistant message not answered yet
    answered: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in _OPENAI_ROLES:
            problems.append(f"message {index} has an unknown role {role!r}")
            continue
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                why = "answered twice" if call_id in answered else "no earlier assistant call has this id"
                problems.append(f"tool message {index} answers {call_id!r}: {why}")
            else:
                open_calls.remove(call_id)
                answered.add(call_id)
            continue
        if open_calls:
            problems.append(f"message {index} ({role}) comes before the results of calls {open_calls}")
            open_calls = []
        if role == "assistant":
            open_calls = [str(c.get("id")) for c in message.get("tool_calls") or []]
    if open_calls:
        problems.append(f"the last assistant calls {open_calls} have no results")
    return problems


def _anthropic_problems(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    pending: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            problems.append(f"message {index} has role {role!r}; Anthropic messages are user or assistant")
            continue
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
        results = [str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"]
        if results and role != "user":
            problems.append(f"message {index}: tool_result blocks must be in a user message")
        missing = [r for r in results if r not in pending]
        if missing:
            problems.append(f"message {index} answers {missing}, which the previous message did not call")
        if pending and sorted(results) != sorted(pending) and role == "user":
            problems.append(f"message {index} does not answer every call of the previous message: {pending}")
        elif pending and role != "user":
            problems.append(f"message {index} follows tool calls {pending} without their results")
        pending = (
            [str(b.get("id")) for b in blocks if b.get("type") == "tool_use"] if role == "assistant" else []
        )
    return problems
