"""What the upstream itself reports it read: its ``usage``, from a JSON response or an event stream.

contextzip counts tokens with tiktoken; the provider's own count is the one that is billed. Both
are reported (logs, ``/metrics``, the trace span), so savings are never claimed from one side only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["UpstreamUsage", "upstream_usage"]


@dataclass(frozen=True)
class UpstreamUsage:
    """Prompt tokens the upstream reported, and how many of them its prompt cache served.

    ``input_tokens`` counts every prompt token, cached or not (Anthropic's separate cache
    fields are added in); ``None`` where the response did not say.
    """

    input_tokens: int | None = None
    cached_tokens: int | None = None


def upstream_usage(body: bytes) -> UpstreamUsage | None:
    """The usage in a Chat Completions, Responses or Messages response, streamed or not.

    Reads ``usage.prompt_tokens`` / ``usage.input_tokens`` and the cached tokens
    (``prompt_tokens_details.cached_tokens``, ``input_tokens_details.cached_tokens``,
    Anthropic's ``cache_read_input_tokens``); in a stream, the last event that carries them.

    Example:
        >>> start = b'data: {"message": {"usage": {"input_tokens": 10, "cache_read_input_tokens": 90}}}'
        >>> upstream_usage(start + b'\\n\\ndata: {"usage": {"output_tokens": 5}}\\n\\n')
        UpstreamUsage(input_tokens=100, cached_tokens=90)
    """
    if b"usage" not in body:
        return None
    documents = [body] if body.lstrip()[:1] == b"{" else [
        line[5:] for line in body.splitlines() if line.startswith(b"data:") and b"usage" in line
    ]  # fmt: skip
    found: UpstreamUsage | None = None
    for document in documents:
        try:
            usage = _usage_of(json.loads(document))
        except ValueError:
            continue
        if usage is not None:  # a later event's count wins; one that leaves a count out keeps it
            found = UpstreamUsage(
                usage.input_tokens
                if usage.input_tokens is not None
                else getattr(found, "input_tokens", None),
                usage.cached_tokens
                if usage.cached_tokens is not None
                else getattr(found, "cached_tokens", None),
            )
    return found


def _usage_of(data: Any) -> UpstreamUsage | None:
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("message"), data.get("response")):
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if isinstance(usage, dict):
            return UpstreamUsage(_input_tokens(usage), _cached_tokens(usage))
    return None


def _input_tokens(usage: dict[str, Any]) -> int | None:
    if isinstance(usage.get("prompt_tokens"), int):  # Chat Completions
        return int(usage["prompt_tokens"])
    if not isinstance(usage.get("input_tokens"), int):
        return None
    # Responses counts cached tokens inside input_tokens; Messages reports them beside it
    extra = [usage.get(k) for k in ("cache_read_input_tokens", "cache_creation_input_tokens")]
    return int(usage["input_tokens"]) + sum(v for v in extra if isinstance(v, int))


def _cached_tokens(usage: dict[str, Any]) -> int | None:
    for details in ("prompt_tokens_details", "input_tokens_details"):
        inner = usage.get(details)
        if isinstance(inner, dict) and isinstance(inner.get("cached_tokens"), int):
            return int(inner["cached_tokens"])
    if isinstance(usage.get("cache_read_input_tokens"), int):
        return int(usage["cache_read_input_tokens"])
    return None
