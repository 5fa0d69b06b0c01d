"""Prometheus metrics of the proxy, in a registry of their own (one per app).

Served at ``/metrics``. With several workers (``PROMETHEUS_MULTIPROC_DIR`` set, as
``contextzip serve --workers N`` does) each process writes its counts to that folder and
``/metrics`` adds them up, whichever worker answers. No label ever holds a key, a body or
a header value: labels are the route, the outcome and the method.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from contextzip.proxy.policy import Outcome
from contextzip.proxy.usage import UpstreamUsage

__all__ = ["ProxyMetrics"]

logger = logging.getLogger("contextzip.proxy")

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
        self.upstream_status = Counter(
            "contextzip_upstream_responses", "Upstream responses by status class", ["route", "status"],
            registry=r,
        )  # fmt: skip
        self.upstream_input_tokens = Counter(
            "contextzip_upstream_input_tokens", "Prompt tokens the upstream reported (its own count)",
            ["route"], registry=r,
        )  # fmt: skip
        self.upstream_cached_tokens = Counter(
            "contextzip_upstream_cached_tokens", "Prompt tokens the upstream reported as cache hits",
            ["route"], registry=r,
        )  # fmt: skip

    def render(self) -> bytes:
        """The text ``/metrics`` serves: this app's counts, or every worker's in multi-process mode."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged)

    def count_tokens(self, route: str, before: int, after: int) -> None:
        self.tokens_before.labels(route).inc(before)
        self.tokens_after.labels(route).inc(after)
        self.tokens_saved.labels(route).inc(before - after)

    def count_outcome(self, route: str, outcome: Outcome, span: Any) -> None:
        """A compressed request's token counts, in metrics and on its span."""
        self.count_tokens(route, outcome.tokens_before, outcome.tokens_after)
        for key, value in (("tokens_before", outcome.tokens_before), ("tokens_after", outcome.tokens_after),
                           ("method", outcome.method), ("compressed", outcome.compressed),
                           ("reused", outcome.reused)):  # fmt: skip
            span.set_attribute(f"contextzip.{key}", value)

    def fail_open(self, route: str, reason: str, detail: str) -> None:
        self.fail_opens.labels(route, reason).inc()
        logger.warning(
            json.dumps({"event": "fail_open", "route": route, "reason": reason, "detail": detail[:500]})
        )

    def count_usage(self, route: str, usage: UpstreamUsage, outcome: Outcome | None, span: Any) -> None:
        """The upstream's own count beside contextzip's, in metrics, a log line and the span."""
        if usage.input_tokens is not None:
            self.upstream_input_tokens.labels(route).inc(usage.input_tokens)
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
        if usage.cached_tokens:
            self.upstream_cached_tokens.labels(route).inc(usage.cached_tokens)
            span.set_attribute("contextzip.upstream.cached_tokens", usage.cached_tokens)
        logger.info(json.dumps({
            "event": "upstream_usage", "route": route, "input_tokens": usage.input_tokens,
            "cached_tokens": usage.cached_tokens,
            "tokens_after": outcome.tokens_after if outcome is not None else None,
        }))  # fmt: skip
