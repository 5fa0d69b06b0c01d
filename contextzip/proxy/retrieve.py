"""Retrievable originals: the model asks for what a ``cz:`` marker elided, and the proxy answers.

When the agent compressor cuts a text it leaves ``[contextzip: A → B tokens; original: cz:ID]``.
With retrieval on, the proxy keeps each original in its cache (memory or Redis, with the cache's
TTL; never logged) and, on a non-streaming Chat Completions or Messages request whose forwarded
texts carry markers, offers the model one more tool, :data:`TOOL`. When the model calls it, the
proxy answers the call itself and asks again, at most ``rounds`` times, each original cut to
``max_chars``; the client gets the final answer and never sees the tool. Never on a streaming
request (a tool call injected into a stream would reach the client), never on the Responses API,
and never where the client declared a tool of the same name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from contextzip.proxy.bodies import Api

__all__ = ["MARKER", "TOOL", "answer_with_originals", "can_offer", "markers", "original_key"]

TOOL = "contextzip_retrieve"
MARKER = re.compile(r"\bcz:([0-9a-f]{8,64})\b")
_DESCRIPTION = (
    "Return the full original text that a '[contextzip: ...; original: cz:ID]' marker in this "
    "conversation stands for. Call it only when the shortened text lacks what the answer needs."
)
_PARAMETERS = {
    "type": "object",
    "properties": {"id": {"type": "string", "description": "the marker's id, e.g. cz:0123456789ab"}},
    "required": ["id"],
}


def original_key(digest: str) -> str:
    """The cache key an original is kept under."""
    return f"contextzip-original:{digest}"


def markers(texts: Any) -> set[str]:
    """The marker ids in ``texts`` (a string or anything JSON-serializable).

    Example:
        >>> sorted(markers(["[contextzip: 900 → 40 tokens; original: cz:0123456789ab]"]))
        ['0123456789ab']
    """
    return set(MARKER.findall(texts if isinstance(texts, str) else json.dumps(texts)))


def can_offer(api: Api, body: Mapping[str, Any]) -> bool:
    """Whether this request may get the tool: not streamed, a chat API, no client tool of that name."""
    if api == "responses" or body.get("stream"):
        return False
    return not any(_tool_name(tool) == TOOL for tool in body.get("tools") or [])


def _tool_name(tool: Any) -> Any:
    """A tool definition's name, in either API's shape."""
    if not isinstance(tool, Mapping):
        return None
    function = tool.get("function")
    return function.get("name") if isinstance(function, Mapping) else tool.get("name")


Send = Callable[[dict[str, Any]], Awaitable[tuple[int, dict[str, Any] | None, Any]]]


async def answer_with_originals(
    api: Api,
    body: dict[str, Any],
    send: Send,
    lookup: Callable[[str], str | None],
    *,
    rounds: int,
    max_chars: int,
) -> tuple[Any, dict[str, Any] | None, int]:
    """Send ``body`` with the tool offered, answering the model's calls, until it answers.

    ``send`` posts a body upstream and returns ``(status, JSON or None, response)``. Returns the
    last response, its JSON with any call of the tool taken out (``None``: relay it as it came),
    and the number of originals handed to the model.
    """
    body = _with_tool(api, body)
    given = 0
    for round_ in range(rounds + 1):
        if round_ == rounds:  # the last round: the model must answer from what it has
            body = _without_tool(api, body)
        status, data, response = await send(body)
        if status != 200 or data is None:
            return response, None, given
        calls, others = _calls(api, data)
        if not calls:
            return response, None, given
        if others or round_ == rounds:  # the client's own tools too: it gets those, not ours
            return response, _strip(api, data), given
        results = []
        for call_id, digest in calls:
            original = lookup(digest)
            if original is None:
                results.append((call_id, f"no original is kept for cz:{digest} (expired or unknown)"))
                continue
            given += 1
            cut = original[:max_chars]
            results.append(
                (call_id, cut + ("\n[contextzip: cut at max_chars]" if len(cut) < len(original) else ""))
            )
        body = _with_results(api, body, data, results)
    raise AssertionError("unreachable")  # pragma: no cover


def _with_tool(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    if api == "anthropic":
        tool: dict[str, Any] = {"name": TOOL, "description": _DESCRIPTION, "input_schema": _PARAMETERS}
    else:
        tool = {
            "type": "function",
            "function": {"name": TOOL, "description": _DESCRIPTION, "parameters": _PARAMETERS},
        }
    return {**body, "tools": [*(body.get("tools") or []), tool]}


def _without_tool(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    tools = [t for t in body.get("tools") or [] if _tool_name(t) != TOOL]
    trimmed = {k: v for k, v in body.items() if k != "tools"}
    return {**trimmed, "tools": tools} if tools else trimmed


def _calls(api: Api, data: Mapping[str, Any]) -> tuple[list[tuple[str, str]], int]:
    """The model's calls of the tool as ``(call id, marker id)``, and how many other calls it made."""
    ours, others = [], 0
    if api == "anthropic":
        for block in data.get("content") or []:
            if isinstance(block, Mapping) and block.get("type") == "tool_use":
                if block.get("name") == TOOL:
                    ours.append((str(block.get("id")), _digest((block.get("input") or {}).get("id"))))
                else:
                    others += 1
        return ours, others
    for choice in data.get("choices") or []:
        for call in (choice.get("message") or {}).get("tool_calls") or []:
            function = call.get("function") or {}
            if function.get("name") != TOOL:
                others += 1
                continue
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            ours.append(
                (str(call.get("id")), _digest(arguments.get("id") if isinstance(arguments, dict) else None))
            )
    return ours, others


def _digest(value: Any) -> str:
    return str(value or "").strip().removeprefix("cz:")


def _with_results(
    api: Api, body: dict[str, Any], data: Mapping[str, Any], results: list[tuple[str, str]]
) -> dict[str, Any]:
    messages = list(body.get("messages") or [])
    if api == "anthropic":
        messages.append({"role": "assistant", "content": data.get("content")})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": text} for call_id, text in results
        ]})  # fmt: skip
    else:
        messages.append(data["choices"][0]["message"])
        messages += [{"role": "tool", "tool_call_id": call_id, "content": text} for call_id, text in results]
    return {**body, "messages": messages}


def _strip(api: Api, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without calls of the tool (a stop reason that still says what is left)."""
    data = json.loads(json.dumps(data))
    if api == "anthropic":
        data["content"] = [
            b
            for b in data.get("content") or []
            if not (b.get("type") == "tool_use" and b.get("name") == TOOL)
        ]
        if not any(b.get("type") == "tool_use" for b in data["content"]):
            data["stop_reason"] = "end_turn"
        return data
    for choice in data.get("choices") or []:
        message = choice.get("message") or {}
        kept = [c for c in message.get("tool_calls") or [] if (c.get("function") or {}).get("name") != TOOL]
        if kept:
            message["tool_calls"] = kept
        else:
            message.pop("tool_calls", None)
            choice["finish_reason"] = "stop"
    return data
