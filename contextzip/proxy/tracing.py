"""OpenTelemetry spans for the proxy's compressing requests, when ``opentelemetry-api`` is installed.

One span per request on a compressing route, ``contextzip.proxy <route>``, from its arrival
until the last byte of the answer, with the GenAI attributes (``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` as the upstream reported it) and
contextzip's own (tokens before and after, method, texts compressed and reused, the fail-open
reason). Spans go wherever the application's tracer provider sends them (the ``otel`` extra
installs the API; configure an SDK and exporter as usual, e.g. ``opentelemetry-instrument``);
without the API, or without a configured provider, they cost nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROVIDERS", "end_span", "start_span"]

#: ``gen_ai.provider.name`` by route.
PROVIDERS = {"openai": "openai", "responses": "openai", "anthropic": "anthropic"}


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def end(self) -> None:
        pass


def start_span(route: str, model: Any) -> Any:
    """A started span for one request on ``route`` (a no-op one without OpenTelemetry)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return _NoSpan()
    span = trace.get_tracer("contextzip.proxy").start_span(f"contextzip.proxy {route}")
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.provider.name", PROVIDERS.get(route, route))
    if isinstance(model, str):
        span.set_attribute("gen_ai.request.model", model)
    return span


def end_span(span: Any, status: int) -> None:
    """End ``span`` (``None``: a request without one) with the HTTP status the client got."""
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        span.end()
