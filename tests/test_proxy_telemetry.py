"""What the proxy reports of a request: the upstream's own usage beside contextzip's count, a span."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contextzip.proxy.settings import ProxySettings
from contextzip.proxy.usage import upstream_usage
from tests.proxy_servers import fake_upstream, running_proxy
from tests.test_proxy import KEY, openai_client, rag_messages

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)  # once per process: OpenTelemetry keeps the first
    return EXPORTER


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    with fake_upstream() as upstream:
        with running_proxy(ProxySettings(upstream=upstream, min_tokens=200, method="lexical")) as (url, _):
            yield url


def finished(spans: InMemorySpanExporter) -> list[Any]:
    return [s for s in spans.get_finished_spans() if s.name == "contextzip.proxy openai"]


def wait_for_span(spans: InMemorySpanExporter) -> None:
    """The span ends, and the usage is read, once the last byte has gone to the client: wait for it."""
    deadline = time.monotonic() + 30
    while not finished(spans) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"usage": {"prompt_tokens": 120, "prompt_tokens_details": {"cached_tokens": 64}}}', (120, 64)),
        (
            b'{"response": {"usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0}}}}',
            (50, 0),
        ),
        (  # Anthropic streams: the input counts come first, the last event only adds output tokens
            b'event: message_start\ndata: {"message": {"usage": {"input_tokens": 20, '
            b'"cache_read_input_tokens": 80, "cache_creation_input_tokens": 5}}}\n\n'
            b'event: message_delta\ndata: {"usage": {"output_tokens": 2}}\n\n',
            (105, 80),
        ),
        (b'data: {"choices": []}\n\ndata: [DONE]\n\n', None),
    ],
)
def test_the_upstreams_usage_is_read_from_every_api_shape(
    body: bytes, expected: tuple[int, int] | None
) -> None:
    usage = upstream_usage(body)
    assert (usage.input_tokens, usage.cached_tokens) == expected if usage else expected is None


def test_the_upstreams_count_is_reported_beside_contextzips(
    proxy: str, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    spans.clear()
    with caplog.at_level(logging.INFO, logger="contextzip.proxy"):
        raw = openai_client(proxy).chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=rag_messages()
        )
        raw.parse()
        wait_for_span(spans)
    after = int(raw.headers["x-contextzip-tokens-after"])
    usage_lines = [json.loads(r.getMessage()) for r in caplog.records if '"upstream_usage"' in r.getMessage()]
    assert usage_lines[-1] == {
        "event": "upstream_usage", "route": "openai", "input_tokens": 100, "cached_tokens": 64,
        "tokens_after": after,
    }  # fmt: skip
    metrics = httpx.get(f"{proxy}/metrics").text
    assert 'contextzip_upstream_input_tokens_total{route="openai"} 100.0' in metrics
    (span,) = finished(spans)
    attributes = dict(span.attributes or {})
    assert (
        attributes["gen_ai.provider.name"] == "openai" and attributes["gen_ai.request.model"] == "gpt-4o-mini"
    )
    assert attributes["gen_ai.usage.input_tokens"] == 100 and attributes["contextzip.tokens_after"] == after
    assert attributes["contextzip.tokens_before"] > after and attributes["contextzip.method"] == "lexical"
    assert attributes["http.response.status_code"] == 200
    assert KEY not in json.dumps(attributes) and all(KEY not in r.getMessage() for r in caplog.records)


def test_a_failed_compression_is_on_the_span(spans: InMemorySpanExporter) -> None:
    with fake_upstream() as upstream:
        settings = ProxySettings(upstream=upstream, min_tokens=200, method="lexical")
        with running_proxy(settings) as (url, app):

            def broken(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("a compressor bug")

            app.state.proxy.policy.compress = broken  # type: ignore[attr-defined]
            spans.clear()
            response = httpx.post(
                f"{url}/v1/chat/completions", json={"model": "m", "messages": rag_messages()}
            )
            wait_for_span(spans)
    assert response.status_code == 200  # forwarded uncompressed
    (span,) = finished(spans)
    assert (span.attributes or {})["contextzip.fail_open"] == "error"
