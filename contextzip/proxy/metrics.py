"""Prometheus metrics of the proxy, in a registry of their own (one per app).

Served at ``/metrics``. No label ever holds a key, a body or a header value: labels are
the route, the outcome and the method.
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ProxyMetrics", "cached_tokens"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ProxyMetrics:
    """The counters and histograms ``/metrics`` shows."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("contextzip_requests", "Requests handled", ["route", "outcome"], registry=r)
        self.tokens_before = Counter(
            "contextzip_tokens_before", "Conversation tokens as clients sent them", ["route"], registry=r
        )
        self.tokens_after = Counter(
            "contextzip_tokens_after", "Conversation tokens forwarded", ["route"], registry=r
        )
        self.tokens_saved = Counter(
            "contextzip_tokens_saved", "Tokens compression removed", ["route"], registry=r
        )
        self.compression_seconds = Histogram(
            "contextzip_compression_seconds", "Time spent compressing a request", ["route"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.fail_opens = Counter(
            "contextzip_fail_opens", "Requests forwarded uncompressed because compression failed",
            ["route", "reason"], registry=r,
        )  # fmt: skip
        self.upstream_seconds = Histogram(
            "contextzip_upstream_seconds", "Time from sending upstream to the response headers", ["route"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream_cached_tokens = Counter(
            "contextzip_upstream_cached_tokens", "Prompt tokens the upstream reported as cache hits",
            ["route"], registry=r,
        )  # fmt: skip


def cached_tokens(body: bytes) -> int | None:
    """Cached prompt tokens reported in a JSON response or a server-sent event stream.

    Reads OpenAI's ``usage.prompt_tokens_details.cached_tokens`` (Chat Completions),
    ``usage.input_tokens_details.cached_tokens`` (Responses) and Anthropic's
    ``usage.cache_read_input_tokens``.

    Example:
        >>> cached_tokens(b'data: {"usage": {"prompt_tokens_details": {"cached_tokens": 64}}}\\n\\n')
        64
    """
    if b"cached_tokens" not in body and b"cache_read_input_tokens" not in body:
        return None
    documents = [body] if body.lstrip()[:1] == b"{" else [
        line[5:] for line in body.splitlines() if line.startswith(b"data:") and b"cache" in line
    ]  # fmt: skip
    found = None
    for document in documents:
        try:
            value = _usage_cached(json.loads(document))
        except ValueError:
            continue
        if value is not None:
            found = value
    return found


def _usage_cached(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("message"), data.get("response")):
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if not isinstance(usage, dict):
            continue
        for details in ("prompt_tokens_details", "input_tokens_details"):
            inner = usage.get(details)
            if isinstance(inner, dict) and isinstance(inner.get("cached_tokens"), int):
                return int(inner["cached_tokens"])
        if isinstance(usage.get("cache_read_input_tokens"), int):
            return int(usage["cache_read_input_tokens"])
    return None
