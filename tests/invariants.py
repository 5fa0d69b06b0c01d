"""What the proxy must never do, as checks the load, fault and fuzz tests share.

* :func:`structure`: a request body with its texts masked; the upstream must receive the same
  structure the client sent (every message, every tool call's id, name and arguments, every
  other field), whatever compression did to the texts;
* :func:`leaks`: the secrets that appear in a text (log lines, ``/metrics``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Fields whose string values are texts the proxy may compress.
TEXT_FIELDS = frozenset({"content", "text", "output"})
#: Top-level fields that may be a text: Responses' ``input``, Messages' ``system``.
TOP_TEXT_FIELDS = frozenset({"input", "system"})
#: Fields compared whole, never masked inside: tool arguments and inputs are the caller's data.
EXACT_FIELDS = frozenset({"arguments", "input", "parameters", "input_schema"})
TEXT = "<text>"


def structure(body: Any) -> Any:
    """``body`` with each compressible string replaced by ``"<text>"``.

    Example:
        >>> structure({"model": "m", "messages": [{"role": "tool", "tool_call_id": "c1", "content": "x"}]})
        {'model': 'm', 'messages': [{'role': 'tool', 'tool_call_id': 'c1', 'content': '<text>'}]}
    """
    if isinstance(body, dict):
        return {
            k: (TEXT if isinstance(v, str) else _masked(v, None)) if k in TOP_TEXT_FIELDS else _masked(v, k)
            for k, v in body.items()
        }
    return _masked(body, None)


def _masked(value: Any, key: str | None) -> Any:
    if key in EXACT_FIELDS:
        return value
    if isinstance(value, str):
        return TEXT if key in TEXT_FIELDS else value
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key if key in TEXT_FIELDS else None) for v in value]
    return value


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (or their last 12 characters, what a truncated log would show) found in ``text``."""
    return [s for s in secrets if s in text or s[-12:] in text]
