"""The proxy on a real uvicorn server, in front of a fake API in its own process, driven by real SDKs."""

from __future__ import annotations

import base64
import json
import logging
import sysconfig
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from contextzip.proxy.settings import ProxySettings
from tests.proxy_servers import ROOT, free_port, running_proxy

REPORT = (ROOT / "examples" / "incident_report.md").read_text(encoding="utf-8")
SYSTEM = "You are the on-call assistant. Answer from the report; cite times in UTC."
QUESTION = "Which library version caused the slowdown, and who was on call?"
KEY = "sk-test-client-key-123"


def tool_output() -> str:
    """A real tool result: the interpreter's build configuration as JSON."""
    config = {k: v for k, v in sorted(sysconfig.get_config_vars().items()) if isinstance(v, str | int)}
    return json.dumps(dict(list(config.items())[:300]), indent=1)


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[str]:
    settings = ProxySettings(upstream=upstream, min_tokens=200, max_body_bytes=2_000_000)
    with running_proxy(settings) as (url, _):
        yield url


@pytest.fixture(autouse=True)
def fresh_upstream(upstream: str) -> None:
    httpx.post(f"{upstream}/_reset")


def seen(upstream: str) -> list[dict[str, Any]]:
    return httpx.get(f"{upstream}/_seen").json()["requests"]


def last_body(upstream: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(seen(upstream)[-1]["body_b64"]))


def openai_client(proxy: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy}/v1", api_key=KEY, max_retries=0, **kwargs)


def rag_messages() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Use the report below.\n\n{REPORT}\n\nQuestion: {QUESTION}"},
    ]


# -- OpenAI chat completions ------------------------------------------------------------------------


@pytest.mark.slow
def test_openai_sdk_response_is_intact_and_upstream_sees_a_compressed_body(proxy: str, upstream: str) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "search", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    raw = openai_client(proxy).chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=rag_messages(),
        tools=tools,
        extra_body={"vendor_field": {"keep": [1, 2]}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from upstream"
    assert completion.usage.prompt_tokens_details.cached_tokens == 64
    assert raw.headers["x-request-id"] == "req_fake_123"  # upstream headers forwarded
    assert raw.headers["x-ratelimit-remaining-requests"] == "4999"
    before, after = (
        int(raw.headers["x-contextzip-tokens-before"]),
        int(raw.headers["x-contextzip-tokens-after"]),
    )
    assert after < 0.6 * before and int(raw.headers["x-contextzip-tokens-saved"]) == before - after
    assert raw.headers["x-contextzip-method"] == "agent"
    body = last_body(upstream)
    assert body["messages"][0] == rag_messages()[0]  # the system prompt, byte-identical
    assert body["tools"] == tools and body["vendor_field"] == {"keep": [1, 2]}  # unknown fields kept
    user = body["messages"][1]["content"]
    assert user.startswith("Use the report below.") and user.endswith(f"Question: {QUESTION}")
    assert len(user) < 0.6 * len(rag_messages()[1]["content"]) and "[contextzip:" in user
    headers = seen(upstream)[-1]["headers"]
    assert headers["authorization"] == f"Bearer {KEY}"  # the client's key passes through unchanged


@pytest.mark.slow
def test_openai_stream_is_relayed_chunk_by_chunk_with_usage(proxy: str, upstream: str) -> None:
    client = openai_client(proxy)
    started = time.perf_counter()
    arrivals, texts, usage = [], [], None
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=rag_messages(), stream=True, stream_options={"include_usage": True}
    ) as response:
        assert int(response.headers["x-contextzip-tokens-after"]) < int(
            response.headers["x-contextzip-tokens-before"]
        )
        for chunk in response.parse():
            arrivals.append(time.perf_counter() - started)
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
            usage = chunk.usage or usage
    assert "".join(texts) == "Hello from upstream"
    assert usage is not None and usage.prompt_tokens_details.cached_tokens == 64
    # the fake API sleeps 0.2 s between its 6 events: relayed, they arrive spread out, not at once
    assert arrivals[-1] - arrivals[0] > 0.6


def test_three_turns_send_byte_identical_compressed_history(upstream: str) -> None:
    settings = ProxySettings(upstream=upstream, min_tokens=200, method="lexical")
    with running_proxy(settings) as (proxy, _):
        client = openai_client(proxy)
        call = {"id": "call_1", "type": "function", "function": {"name": "build_config", "arguments": "{}"}}
        conversation: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Which compiler flags was this Python built with?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output()},
        ]
        sent = []
        for turn in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=conversation)
            sent.append(last_body(upstream)["messages"])
            conversation += [
                {"role": "assistant", "content": f"Answer {turn}."},
                {"role": "user", "content": f"And follow-up {turn}?"},
            ]
    assert len(sent[0][3]["content"]) < 0.5 * len(tool_output())  # compressed while live
    assert sent[0][3]["content"] == sent[1][3]["content"] == sent[2][3]["content"]  # then the same bytes
    assert json.dumps(sent[0]) == json.dumps(sent[1][:4]) == json.dumps(sent[2][:4])  # an identical prefix
    assert all(s[2]["tool_calls"] == [call] for s in sent)


def test_protected_parts_pass_byte_identical(proxy: str, upstream: str) -> None:
    big = REPORT * 2
    body = {
        "model": "gpt-4o-mini",
        "n": 1,
        "messages": [
            {"role": "developer", "content": big},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": big, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": big},
                ],
            },
        ],
    }
    response = httpx.post(
        f"{proxy}/v1/chat/completions", json=body, headers={"x-contextzip": "method=lexical"}
    )
    assert response.status_code == 200
    forwarded = last_body(upstream)
    assert forwarded["messages"][0] == body["messages"][0]  # developer message
    assert forwarded["messages"][1]["content"][0] == body["messages"][1]["content"][0]  # cache_control block
    assert len(forwarded["messages"][1]["content"][1]["text"]) < len(big)  # the unmarked block is compressed
    assert "x-contextzip" not in seen(upstream)[-1]["headers"]  # the control header is stripped


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"n": 2}, "n > 1"), ({}, "off")],
)
def test_requests_left_alone_go_byte_for_byte(
    proxy: str, upstream: str, change: dict[str, Any], reason: str
) -> None:
    raw = json.dumps({"model": "m", "messages": rag_messages(), **change}, indent=2).encode()
    headers = {"content-type": "application/json", **({"x-contextzip": "off"} if reason == "off" else {})}
    response = httpx.post(f"{proxy}/v1/chat/completions", content=raw, headers=headers)
    assert response.status_code == 200
    assert base64.b64decode(seen(upstream)[-1]["body_b64"]) == raw
    assert response.headers["x-contextzip-tokens-saved"] == "0"


def test_a_registry_name_in_the_header_picks_that_compressor(proxy: str, upstream: str) -> None:
    messages = rag_messages()
    response = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "m", "messages": messages},
        headers={"x-contextzip": "method=truncate; rate=0.2"},
    )
    assert response.status_code == 200 and response.headers["x-contextzip-method"] == "truncate"
    forwarded = last_body(upstream)["messages"]
    assert forwarded[0] == messages[0]
    prompt = messages[1]["content"]
    kept = forwarded[1]["content"]
    assert len(kept) < 0.5 * len(prompt) and prompt.startswith(kept.rstrip())  # truncate keeps the start
    bad = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "m", "messages": messages},
        headers={"x-contextzip": "method=nope"},
    )
    assert bad.status_code == 400 and "lexical" in bad.json()["error"]["message"]
    assert "truncate" in bad.json()["error"]["message"]  # the registered names are listed


# -- Anthropic and Responses ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_sdk_through_the_proxy(proxy: str, upstream: str, stream: bool) -> None:
    client = anthropic.Anthropic(base_url=proxy, api_key=KEY, max_retries=0)
    thinking = {"type": "thinking", "thinking": "The user wants the log read.", "signature": "sig-abc"}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Read the build configuration."},
        {
            "role": "assistant",
            "content": [thinking, {"type": "tool_use", "id": "tu_1", "name": "config", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "tu_1", "content": tool_output()},
                {"type": "text", "text": "Which compiler was used?"},
            ],
        },
    ]
    system = [{"type": "text", "text": SYSTEM * 30, "cache_control": {"type": "ephemeral"}}]
    if stream:
        with client.messages.stream(model="claude-x", max_tokens=64, system=system, messages=messages) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message()
        assert final.usage.cache_read_input_tokens == 80
    else:
        final = client.messages.create(model="claude-x", max_tokens=64, system=system, messages=messages)
        text = final.content[0].text
    assert text == "Hello from upstream"
    body = last_body(upstream)
    assert body["system"] == system and body["messages"][1] == messages[1]  # system, thinking + signature
    result = body["messages"][2]["content"][0]
    assert result["tool_use_id"] == "tu_1" and len(result["content"]) < 0.5 * len(tool_output())
    sent = {name.lower(): value for name, value in client.auth_headers.items()}
    assert sent and all(seen(upstream)[-1]["headers"][name] == value for name, value in sent.items())


@pytest.mark.slow
def test_responses_api_input_items_are_compressed(proxy: str, upstream: str) -> None:
    client = openai_client(proxy)
    items: list[Any] = [
        {"role": "user", "content": [{"type": "input_text", "text": "What is in the build configuration?"}]},
        {"type": "function_call", "call_id": "fc_1", "name": "config", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "fc_1", "output": tool_output()},
    ]
    response = client.responses.create(model="gpt-4o-mini", input=items, instructions=SYSTEM)
    assert response.output_text == "Hello from upstream"
    body = last_body(upstream)
    assert body["instructions"] == SYSTEM and body["input"][:2] == items[:2]
    assert body["input"][2]["call_id"] == "fc_1" and len(body["input"][2]["output"]) < 0.5 * len(
        tool_output()
    )


@pytest.mark.slow
def test_langchain_chat_openai_through_the_proxy(proxy: str, upstream: str) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", base_url=f"{proxy}/v1", api_key=KEY, max_retries=0)
    reply = model.invoke([("system", SYSTEM), ("human", rag_messages()[1]["content"])])
    assert reply.content == "Hello from upstream"
    assert "".join(c.content for c in model.stream([("human", "hi")])) == "Hello from upstream"
    assert last_body(upstream)["messages"] == [{"role": "user", "content": "hi"}]


# -- pass-through ---------------------------------------------------------------------------------------


def test_other_paths_pass_through_byte_for_byte(proxy: str, upstream: str) -> None:
    models = openai_client(proxy).models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    payload = bytes(range(256)) * 1000  # not JSON, not UTF-8
    response = httpx.post(
        f"{proxy}/v1/echo?purpose=test", content=payload, headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 200 and response.content == payload
    request = seen(upstream)[-1]
    assert request["query"] == "purpose=test" and base64.b64decode(request["body_b64"]) == payload
    # the request goes on as written: its query not re-quoted, no header added (no content type)
    query = "q=a%2Fb+c%20d&tilde=%7E&empty="
    assert httpx.post(f"{proxy}/v1/echo?{query}", content=b"raw").content == b"raw"
    request = seen(upstream)[-1]
    assert request["query"] == query and "content-type" not in request["headers"]
    assert request["headers"]["user-agent"] == f"python-httpx/{httpx.__version__}"


def test_the_environments_http_proxy_is_used_unless_no_proxy_names_the_upstream(
    upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the upstream's name cannot be resolved: only a forward proxy (here the fake upstream, which
    # routes an absolute-form request by its path) can reach it
    settings = ProxySettings(upstream="http://api.upstream.invalid")
    monkeypatch.setenv("HTTP_PROXY", upstream)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")  # the test's own requests go direct
    with running_proxy(settings, ready=False) as (url, _):
        assert httpx.get(f"{url}/v1/models").json()["data"][0]["id"] == "fake-model"
    assert seen(upstream)[-1]["path"] == "/v1/models"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,upstream.invalid")
    with running_proxy(settings, ready=False) as (url, _):
        unreachable = httpx.get(f"{url}/v1/models")
    assert unreachable.status_code == 502 and "unreachable" in unreachable.json()["error"]["message"]


# -- failures ----------------------------------------------------------------------------------------


def test_upstream_errors_come_back_as_they_are(proxy: str) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        openai_client(proxy).chat.completions.create(
            model="error-429", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["message"] == "slow down"
    with pytest.raises(anthropic.RateLimitError):
        anthropic.Anthropic(base_url=proxy, api_key=KEY, max_retries=0).messages.create(
            model="error-429", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )


def test_malformed_and_oversized_bodies_answer_in_the_apis_shape(proxy: str) -> None:
    bad = httpx.post(
        f"{proxy}/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    bad = httpx.post(f"{proxy}/v1/messages", content=b"[1, 2", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["type"] == "error"
    assert bad.json()["error"]["type"] == "invalid_request_error"
    huge = {"model": "m", "messages": [{"role": "user", "content": "x" * 2_100_000}]}
    too_big = httpx.post(f"{proxy}/v1/chat/completions", json=huge)
    assert too_big.status_code == 413 and "bytes" in too_big.json()["error"]["message"]
    bad_header = httpx.post(
        f"{proxy}/v1/chat/completions", json={"messages": []}, headers={"x-contextzip": "rate=7"}
    )
    assert bad_header.status_code == 400 and "rate" in bad_header.json()["error"]["message"]


def test_unreachable_upstream_is_502_and_timeout_is_504(upstream: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with running_proxy(ProxySettings(upstream=closed, enabled=False)) as (proxy, _):
        with pytest.raises(openai.InternalServerError) as caught:
            openai_client(proxy).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 502
        response = httpx.post(f"{proxy}/v1/messages", json={"model": "m", "messages": []})
        assert response.status_code == 502 and response.json()["error"]["type"] == "api_connection_error"
    with running_proxy(ProxySettings(upstream=upstream, enabled=False, upstream_timeout_s=0.5)) as (proxy, _):
        response = httpx.post(
            f"{proxy}/v1/chat/completions", json={"model": "slow", "messages": []}, timeout=10
        )
        assert response.status_code == 504 and response.json()["error"]["type"] == "timeout_error"


def test_compression_failure_forwards_the_original_and_is_counted(
    upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_proxy(ProxySettings(upstream=upstream, min_tokens=200, method="lexical")) as (proxy, app):

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("model exploded")

        app.state.proxy.policy.compress = broken  # type: ignore[attr-defined]
        raw = json.dumps({"model": "m", "messages": rag_messages()}).encode()
        with caplog.at_level(logging.WARNING, logger="contextzip.proxy"):
            response = httpx.post(
                f"{proxy}/v1/chat/completions",
                content=raw,
                headers={"content-type": "application/json", "authorization": f"Bearer {KEY}"},
            )
        assert response.status_code == 200 and "x-contextzip-method" not in response.headers
        assert base64.b64decode(seen(upstream)[-1]["body_b64"]) == raw
        metrics = httpx.get(f"{proxy}/metrics").text
    assert 'contextzip_fail_opens_total{reason="error",route="openai"} 1.0' in metrics
    assert "model exploded" in caplog.text and KEY not in caplog.text and KEY not in metrics


def test_compression_over_its_time_limit_fails_open(upstream: str) -> None:
    settings = ProxySettings(upstream=upstream, min_tokens=200, method="lexical", compression_timeout_s=0.05)
    with running_proxy(settings) as (proxy, app):
        original = app.state.proxy.policy.compress  # type: ignore[attr-defined]

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.5)
            return original(*args, **kwargs)

        app.state.proxy.policy.compress = slow  # type: ignore[attr-defined]
        raw = json.dumps({"model": "m", "messages": rag_messages()}).encode()
        response = httpx.post(
            f"{proxy}/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
        assert base64.b64decode(seen(upstream)[-1]["body_b64"]) == raw
        assert (
            'contextzip_fail_opens_total{reason="timeout",route="openai"} 1.0'
            in httpx.get(f"{proxy}/metrics").text
        )


def test_a_client_that_disconnects_cancels_the_upstream_stream(proxy: str, upstream: str) -> None:
    body = {"model": "forever", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    with httpx.stream("POST", f"{proxy}/v1/chat/completions", json=body) as response:
        first = next(response.iter_raw())
        assert first.startswith(b"data:")
    deadline = time.monotonic() + 10
    while (
        "client went away" not in httpx.get(f"{upstream}/_seen").json()["events"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert "client went away" in httpx.get(f"{upstream}/_seen").json()["events"]


# -- auth, metrics, health ---------------------------------------------------------------------------


def test_access_keys_and_the_upstream_key(upstream: str) -> None:
    settings = ProxySettings(
        upstream=upstream, enabled=False, access_keys=["proxy-key-1"], upstream_api_key="sk-upstream-secret"
    )
    with running_proxy(settings) as (proxy, _):
        with pytest.raises(openai.AuthenticationError):
            openai_client(proxy).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        ok = openai.OpenAI(base_url=f"{proxy}/v1", api_key="proxy-key-1", max_retries=0)
        ok.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert seen(upstream)[-1]["headers"]["authorization"] == "Bearer sk-upstream-secret"
        message = anthropic.Anthropic(base_url=proxy, api_key="proxy-key-1", max_retries=0).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        assert message.content[0].text == "Hello from upstream"
        assert seen(upstream)[-1]["headers"]["x-api-key"] == "sk-upstream-secret"
        metrics = httpx.get(f"{proxy}/metrics").text
    assert "sk-upstream-secret" not in metrics and "proxy-key-1" not in metrics
    assert 'contextzip_requests_total{outcome="unauthorized",route="openai"} 1.0' in metrics


def test_health_readiness_and_metrics(proxy: str) -> None:
    assert httpx.get(f"{proxy}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{proxy}/readyz").json() == {"status": "ready"}
    metrics = httpx.get(f"{proxy}/metrics").text
    for name in (
        "contextzip_requests_total",
        "contextzip_tokens_saved_total",
        "contextzip_compression_seconds",
        "contextzip_upstream_seconds",
        "contextzip_upstream_cached_tokens_total",
    ):
        assert name in metrics


def test_settings_from_a_config_file_and_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "contextzip.toml"
    config.write_text(
        'upstream = "http://up.example/"\nrate = 0.4\n[routes.anthropic]\nrate = 0.2\nmethod = "lexical"\n'
        '[models."gpt-4o*"]\nrate = 0.6\n'
    )
    monkeypatch.setenv("CONTEXTZIP_CONFIG", str(config))
    monkeypatch.setenv("CONTEXTZIP_MIN_TOKENS", "123")
    settings = ProxySettings()
    assert settings.upstream == "http://up.example" and settings.min_tokens == 123
    assert settings.policy_for("gpt-4o-mini").rate == 0.6 and settings.policy_for("o3").rate == 0.4
    assert settings.policy_for("claude-x", "anthropic").rate == 0.2
    assert settings.policy_for("claude-x", "anthropic").method == "lexical"
    assert settings.policy_for("gpt-4o", "anthropic").rate == 0.6  # the model's override comes last
    with pytest.raises(ValueError, match="unknown route"):
        ProxySettings(routes={"chat": {"rate": 0.5}})
    with pytest.raises(ValueError, match="method"):
        ProxySettings(models={"x*": {"method": "nope"}})


def test_a_method_is_a_registered_compressor_with_options() -> None:
    settings = ProxySettings(
        method="agent", options={"relevance": "lexical"}, models={"t*": {"method": "truncate"}}
    )
    agent = ("agent", {"relevance": "lexical", "min_tokens": 500, "static_above": 4000})
    assert settings.policy_for("gpt-4o").compressor() == agent
    assert ProxySettings(method="lexical").policy_for(None).compressor() == agent  # the shorthand
    assert settings.policy_for("t1").compressor() == ("truncate", {})  # options go with their method
    with pytest.raises(ValueError, match="takes no option relevance"):
        ProxySettings(models={"t*": {"method": "truncate", "options": {"relevance": "lexical"}}})
    with pytest.raises(ValueError, match="takes no option relevanc; valid options: .*relevance"):
        ProxySettings(options={"relevanc": "lexical"})


def test_replicas_sharing_redis_send_the_same_compressed_history(upstream: str) -> None:
    import threading

    from fakeredis import TcpFakeServer

    port = free_port()
    redis_server = TcpFakeServer(("127.0.0.1", port))
    threading.Thread(target=redis_server.serve_forever, daemon=True).start()
    settings = ProxySettings(
        upstream=upstream, min_tokens=200, method="lexical", redis_url=f"redis://127.0.0.1:{port}"
    )
    call = {"id": "call_1", "type": "function", "function": {"name": "build_config", "arguments": "{}"}}
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": "Which compiler flags was this Python built with?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": tool_output()},
    ]
    try:
        with running_proxy(settings) as (first, _):
            openai_client(first).chat.completions.create(model="m", messages=conversation)
        turn_1 = last_body(upstream)["messages"]
        conversation += [
            {"role": "assistant", "content": "Flags: -O3."},
            {"role": "user", "content": "And cc?"},
        ]
        with running_proxy(settings) as (second, app):  # another replica, its memory empty
            raw = openai_client(second).chat.completions.with_raw_response.create(
                model="m", messages=conversation
            )
        turn_2 = last_body(upstream)["messages"]
    finally:
        redis_server.shutdown()
        redis_server.server_close()
    assert len(turn_1[2]["content"]) < 0.5 * len(tool_output())
    assert turn_2[:3] == turn_1
    assert int(raw.headers["x-contextzip-tokens-after"]) < int(raw.headers["x-contextzip-tokens-before"])


def test_a_resent_history_is_not_counted_again(upstream: str) -> None:
    from contextzip.proxy.cache import MemoryCache
    from contextzip.proxy.policy import CompressionPolicy
    from contextzip.tokens import TokenCounter

    class CountingCounter(TokenCounter):
        calls = 0

        def count(self, text: str) -> int:
            CountingCounter.calls += 1
            return super().count(text)

    settings = ProxySettings(upstream=upstream, min_tokens=200, method="lexical")
    policy = CompressionPolicy(settings, MemoryCache(64))
    policy.counter = CountingCounter()
    body = {"model": "gpt-4o-mini", "messages": rag_messages()}
    first = policy.compress("openai", body)
    calls = CountingCounter.calls
    again = policy.compress("openai", body)
    assert CountingCounter.calls == calls  # every text's count came from the memo
    assert (again.tokens_before, again.tokens_after) == (first.tokens_before, first.tokens_after)
    assert first.tokens_after < first.tokens_before and first.compressed > 0
    assert again.reused == first.compressed and again.compressed == 0  # the cached compression went out
