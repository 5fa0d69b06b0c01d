"""Upstream faults through a real proxy: each answered in the API's error shape or relayed as it
happened, the proxy keeps serving, and ``/metrics`` counts each."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from contextzip.eval.servers import free_port
from contextzip.proxy.settings import ProxySettings
from tests.fault_upstream import FaultUpstream
from tests.proxy_servers import metric_total, running_proxy

EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": "part"}}]}\n\n'


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultUpstream]:
    with FaultUpstream().running() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def proxy(faulty: FaultUpstream) -> Iterator[str]:
    # compression off: these faults are the forwarding path's; timeouts short so a stall ends
    settings = ProxySettings(
        upstream=faulty.url, enabled=False, upstream_timeout_s=1.0, connect_timeout_s=1.0
    )
    with running_proxy(settings) as (url, _):
        yield url


def chat(
    proxy: str, model: str, *, stream: bool = False, path: str = "/v1/chat/completions"
) -> httpx.Response:
    body = {
        "model": model,
        "stream": stream,
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return httpx.post(f"{proxy}{path}", json=body, timeout=30)


def test_no_headers_is_a_502_in_each_apis_shape(proxy: str) -> None:
    before = metric_total(proxy, "contextzip_requests", outcome="upstream_unreachable")
    openai = chat(proxy, "reset-before-headers")
    anthropic = chat(proxy, "reset-before-headers", path="/v1/messages")
    assert openai.status_code == 502 and openai.json()["error"]["type"] == "api_connection_error"
    assert anthropic.status_code == 502 and anthropic.json()["type"] == "error"
    assert metric_total(proxy, "contextzip_requests", outcome="upstream_unreachable") == before + 2


def test_a_refused_connection_is_a_502() -> None:
    settings = ProxySettings(upstream=f"http://127.0.0.1:{free_port()}", enabled=False, connect_timeout_s=1.0)
    with running_proxy(settings) as (url, _):
        response = chat(url, "any")
        assert response.status_code == 502
        assert "upstream unreachable" in response.json()["error"]["message"]
        assert metric_total(url, "contextzip_requests", outcome="upstream_unreachable") == 1


def test_a_stall_before_headers_is_a_504(proxy: str) -> None:
    before = metric_total(proxy, "contextzip_requests", outcome="upstream_timeout")
    response = chat(proxy, "stall")
    assert response.status_code == 504 and response.json()["error"]["type"] == "timeout_error"
    assert metric_total(proxy, "contextzip_requests", outcome="upstream_timeout") == before + 1


@pytest.mark.parametrize("status", [500, 503])
def test_error_statuses_are_relayed_as_they_came(proxy: str, status: int) -> None:
    before = metric_total(proxy, "contextzip_upstream_responses", status="5xx")
    response = chat(proxy, f"error-{status}")
    assert response.status_code == status
    assert response.json() == {"error": {"message": "upstream broke", "type": "server_error"}}
    assert metric_total(proxy, "contextzip_upstream_responses", status="5xx") == before + 1


def test_invalid_json_and_a_truncated_stream_are_relayed_byte_for_byte(proxy: str) -> None:
    invalid = chat(proxy, "invalid-json")
    assert invalid.status_code == 200 and invalid.content == b'{"id": "chatcmpl-x", "choices": [ not json'
    truncated = chat(proxy, "truncated-sse", stream=True)
    assert truncated.status_code == 200 and truncated.content == EVENT * 2


@pytest.mark.parametrize("fault", ["reset-mid-stream", "stall-mid-stream"])
def test_a_stream_broken_upstream_breaks_off_for_the_client_too(proxy: str, fault: str) -> None:
    before = metric_total(proxy, "contextzip_requests", outcome="upstream_broken")
    received = b""
    body = {"model": fault, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(httpx.HTTPError):  # noqa: PT012 - the error comes while reading the body
        with httpx.stream("POST", f"{proxy}/v1/chat/completions", json=body, timeout=30) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received += chunk
    assert received == EVENT * 2  # what the upstream sent, then the break: not a made-up ending
    assert metric_total(proxy, "contextzip_requests", outcome="upstream_broken") == before + 1


def test_after_every_fault_the_proxy_still_serves(proxy: str, faulty: FaultUpstream) -> None:
    for fault in ("reset-before-headers", "reset-mid-stream", "error-500", "invalid-json"):
        try:
            chat(proxy, fault, stream=fault.endswith("stream"))
        except httpx.HTTPError:
            pass
    response = chat(proxy, "gpt-4o-mini")
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "fine"
    assert json.loads(httpx.get(f"{proxy}/healthz").text) == {"status": "ok"}
    assert faulty.served["ok"] >= 1
