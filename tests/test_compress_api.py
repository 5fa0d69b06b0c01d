"""``POST /v1/compress`` on a real uvicorn server: three shapes, the cache, errors, keys, the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contextzip.proxy.settings import ProxySettings
from tests.proxy_servers import running_proxy
from tests.test_proxy import QUESTION, REPORT, SYSTEM, tool_output

#: Nothing is forwarded: an upstream that does not exist proves it.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    with running_proxy(ProxySettings(upstream=NOWHERE, min_tokens=200, method="lexical")) as (url, _):
        yield url


def post(proxy: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{proxy}/v1/compress", json=body, timeout=60, **kwargs)


def test_texts_are_compressed_under_one_policy_and_short_ones_say_why(proxy: str) -> None:
    texts = [tool_output(), "a short note"]
    answer = post(proxy, {"texts": texts, "query": "Which compiler was used?", "rate": 0.3}).json()
    assert len(answer["texts"]) == 2 and answer["texts"][1] == texts[1]
    assert len(answer["texts"][0]) < 0.5 * len(texts[0])
    assert answer["method"] == "lexical" and answer["compressed"] == 1
    long, short = answer["parts"]
    assert long["method"] == "agent" and long["tokens_after"] < long["tokens_before"]
    assert short["method"] is None and "under min_tokens=200" in short["reason"]
    assert answer["tokens_saved"] == answer["tokens_before"] - answer["tokens_after"] > 0
    assert answer["tokens_before"] == long["tokens_before"] + short["tokens_before"]
    again = post(proxy, {"texts": texts, "query": "Which compiler was used?", "rate": 0.3}).json()
    assert again["texts"] == answer["texts"] and again["reused"] == 1 and again["parts"][0]["reused"]


def test_messages_in_three_shapes_keep_what_the_policy_protects(proxy: str) -> None:
    user = f"Use the report below.\n\n{REPORT * 2}\n\nQuestion: {QUESTION}"
    chat = post(
        proxy, {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]}
    )
    answer = chat.json()
    assert answer["messages"][0] == {"role": "system", "content": SYSTEM}
    assert len(answer["messages"][1]["content"]) < len(user) and answer["messages"][1]["content"].endswith(
        QUESTION
    )
    assert [p["index"] for p in answer["parts"]] == [0, 1] and "policy" in answer["parts"][0]["reason"]
    blocks = [
        {"type": "text", "text": user, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": user},
    ]
    anthropic = post(proxy, {"api": "anthropic", "messages": [{"role": "user", "content": blocks}]}).json()
    kept, compressed = anthropic["messages"][0]["content"]
    assert kept == blocks[0] and len(compressed["text"]) < len(user)  # cache_control: untouched
    responses = post(
        proxy, {"input": [{"role": "user", "content": [{"type": "input_text", "text": user}]}]}
    ).json()
    assert len(responses["input"][0]["content"][0]["text"]) < len(user)
    assert responses["input"][0]["content"][0]["type"] == "input_text"


def test_bad_requests_get_a_400_in_openais_error_shape(proxy: str) -> None:
    cases = [
        ({"texts": ["x"], "messages": []}, "exactly one of messages, input or texts"),
        ({}, "exactly one of"),
        ({"texts": ["x"], "rate": 2}, "rate"),
        ({"texts": ["x"], "rate": 0.5, "target_tokens": 9}, "rate or target_tokens"),
        ({"texts": ["x"], "method": "nope"}, "unknown compressor 'nope'"),
        ({"texts": ["x"], "colour": "red"}, "colour"),
    ]
    for body, message in cases:
        response = post(proxy, body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert message in error["message"] and error["type"] == "invalid_request_error", (body, error)
    raw = httpx.post(f"{proxy}/v1/compress", content=b"{not json", timeout=10)
    assert raw.status_code == 400 and "error" in raw.json()


def test_keys_limits_metrics_and_the_schema() -> None:
    settings = ProxySettings(upstream=NOWHERE, access_keys=["proxy-key-1"], max_body_bytes=10_000)
    with running_proxy(settings) as (url, _):
        assert post(url, {"texts": ["x"]}).status_code == 401
        allowed = post(url, {"texts": ["x"]}, headers={"x-contextzip-key": "proxy-key-1"})
        assert allowed.status_code == 200 and allowed.json()["texts"] == ["x"]
        big = post(url, {"texts": ["x" * 20_000]}, headers={"x-contextzip-key": "proxy-key-1"})
        assert big.status_code == 413
        metrics = httpx.get(f"{url}/metrics").text
        assert 'contextzip_requests_total{outcome="unauthorized",route="compress"} 1.0' in metrics
        assert 'contextzip_requests_total{outcome="unchanged",route="compress"} 1.0' in metrics
        schema = httpx.get(f"{url}/contextzip/openapi.json").json()
    operation = schema["paths"]["/v1/compress"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"messages", "input", "texts", "query", "rate", "target_tokens", "method"} <= set(
        request["properties"]
    )
    assert "CompressResponse" in schema["components"]["schemas"]
    assert list(schema["paths"]) == ["/v1/compress"]  # the forwarded routes are the upstream's to describe
