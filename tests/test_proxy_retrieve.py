"""Retrievable originals through the real SDKs: the proxy answers the model's retrieve calls itself."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from contextzip.proxy.settings import ProxySettings
from tests.proxy_servers import running_proxy
from tests.test_proxy import KEY, SYSTEM, openai_client, tool_output

CALL = {"id": "call_1", "type": "function", "function": {"name": "build_config", "arguments": "{}"}}


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[str]:
    settings = ProxySettings(upstream=upstream, min_tokens=200, method="lexical", retrieve=True)
    with running_proxy(settings) as (url, _):
        yield url


def bodies(upstream: str) -> list[dict[str, Any]]:
    requests = httpx.get(f"{upstream}/_seen").json()["requests"]
    return [json.loads(base64.b64decode(r["body_b64"])) for r in requests]


def chat() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Which compiler flags was this Python built with?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": tool_output()},
    ]


def tool_names(body: dict[str, Any]) -> list[str]:
    return [(t.get("function") or t).get("name") for t in body.get("tools") or []]


def test_openai_the_model_gets_the_original_and_the_client_only_the_answer(proxy: str, upstream: str) -> None:
    httpx.post(f"{upstream}/_reset")
    raw = openai_client(proxy).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=chat())
    message = raw.parse().choices[0].message
    assert message.content == f"Hello from upstream; retrieved: {tool_output()[:30]}"
    assert not message.tool_calls and raw.headers["x-contextzip-originals"] == "1"
    first, second = bodies(upstream)
    assert tool_names(first) == ["contextzip_retrieve"]
    assert "cz:" in first["messages"][3]["content"] and len(first["messages"][3]["content"]) < len(
        tool_output()
    )
    answer = second["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_cz"
    assert answer["content"] == tool_output()  # the original, byte for byte


def test_no_tool_on_a_stream_nor_beside_a_client_tool_of_the_same_name(proxy: str, upstream: str) -> None:
    httpx.post(f"{upstream}/_reset")
    stream = openai_client(proxy).chat.completions.create(model="gpt-4o-mini", messages=chat(), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello from upstream"
    (sent,) = bodies(upstream)
    assert "tools" not in sent and "cz:" in sent["messages"][3]["content"]  # compressed, no tool injected
    httpx.post(f"{upstream}/_reset")
    own = {"type": "function", "function": {"name": "contextzip_retrieve", "parameters": {"type": "object"}}}
    openai_client(proxy).chat.completions.create(model="gpt-4o-mini", messages=chat(), tools=[own])  # type: ignore[list-item]
    (sent,) = bodies(upstream)
    assert sent["tools"] == [own]


def test_off_by_default_and_on_by_header(upstream: str) -> None:
    with running_proxy(ProxySettings(upstream=upstream, min_tokens=200, method="lexical")) as (url, _):
        httpx.post(f"{upstream}/_reset")
        openai_client(url).chat.completions.create(model="m", messages=chat())
        (sent,) = bodies(upstream)
        assert "tools" not in sent
        httpx.post(f"{upstream}/_reset")
        client = openai_client(url, default_headers={"x-contextzip": "retrieve"})
        reply = client.chat.completions.create(model="m", messages=chat())
        assert reply.choices[0].message.content.startswith("Hello from upstream; retrieved:")
        assert len(bodies(upstream)) == 2


def test_anthropic_the_model_gets_the_original(proxy: str, upstream: str) -> None:
    httpx.post(f"{upstream}/_reset")
    client = anthropic.Anthropic(base_url=proxy, api_key=KEY, max_retries=0)
    messages: Any = [
        {"role": "user", "content": "Which compiler flags was this Python built with?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "build_config", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_output()}],
        },
    ]
    reply = client.messages.create(model="claude-x", max_tokens=50, system=SYSTEM, messages=messages)
    assert [b.type for b in reply.content] == ["text"] and reply.stop_reason == "end_turn"
    assert reply.content[0].text == f"Hello from upstream; retrieved: {tool_output()[:30]}"  # type: ignore[union-attr]
    first, second = bodies(upstream)
    assert tool_names(first) == ["contextzip_retrieve"] and first["system"] == SYSTEM
    result = second["messages"][-1]["content"][0]
    assert result["tool_use_id"] == "toolu_cz" and result["content"] == tool_output()
