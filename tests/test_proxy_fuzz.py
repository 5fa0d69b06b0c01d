"""Generated bodies for the three APIs through a real compressing proxy: never a 500, never a lost
message or tool call, and a 400 in the API's own shape for a body the API could not read.

Valid bodies have odd content: tool calls whose arguments are not strings, empty and null
content, image parts, any unicode, long texts that get compressed, deeply nested JSON. The fast
run tries a few dozen bodies per API; the ``slow`` one a few hundred, with 1 MB texts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextzip.proxy.settings import ProxySettings
from tests.invariants import structure
from tests.proxy_servers import metric_total, running_proxy

PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}
WORDS = ("cache", "server", "request", "the", "of", "error", "timeout", "retry", "user", "id", "42", "ünï",
         "数据", "🙂", "path/to/file.py", "0x1F", "\\n", "\"quoted\"", "<tag>")  # fmt: skip
FAST, SLOW = 10, 100

unicode_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200)
prose = st.lists(st.sampled_from(WORDS), min_size=250, max_size=700).map(" ".join)  # compressed
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | unicode_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(unicode_text, inner, max_size=4),
    max_leaves=40,
)
deep_json = st.integers(min_value=20, max_value=200).map(lambda d: json.dumps(_nested(d)))
records = st.integers(min_value=50, max_value=400).map(
    lambda n: json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(n)])
)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = {f"level{level}": value}
    return value


def texts(huge: bool) -> st.SearchStrategy[str]:
    choices = [unicode_text, st.just(""), prose, deep_json, records]
    if huge:
        choices.append(
            st.integers(1, 3).map(lambda n: ("lorem ipsum dolor sit amet " * 40_000)[: n * 400_000])
        )
    return st.one_of(*choices)


identifiers = st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True)
arguments = st.one_of(json_values.map(json.dumps), json_values)  # a string, as the API says, or not
IMAGE = {
    "type": "image_url",
    "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"png").decode()},
}


def openai_body(huge: bool) -> st.SearchStrategy[dict[str, Any]]:
    part = st.one_of(texts(huge).map(lambda t: {"type": "text", "text": t}), st.just(IMAGE))
    content = st.one_of(texts(huge), st.none(), st.lists(part, max_size=3))
    call = st.fixed_dictionaries(
        {"id": identifiers, "type": st.just("function"),
         "function": st.fixed_dictionaries({"name": identifiers, "arguments": arguments})}
    )  # fmt: skip
    message = st.one_of(
        st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": content}),
        st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none(),
                               "tool_calls": st.lists(call, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"role": st.just("tool"), "tool_call_id": identifiers, "content": texts(huge)}),
    )  # fmt: skip
    return st.fixed_dictionaries(
        {"model": st.just("gpt-4o-mini"), "messages": st.lists(message, min_size=1, max_size=6)}
    )


def anthropic_body(huge: bool) -> st.SearchStrategy[dict[str, Any]]:
    text_block = texts(huge).map(lambda t: {"type": "text", "text": t})
    image = st.just(
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "cG5n"}}
    )
    tool_use = st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": identifiers, "name": identifiers,
         "input": st.dictionaries(unicode_text, json_values, max_size=4)}
    )  # fmt: skip
    tool_result = st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": identifiers,
         "content": st.one_of(texts(huge), st.lists(text_block, max_size=2))}
    )  # fmt: skip
    blocks = st.lists(st.one_of(text_block, image, tool_use, tool_result), min_size=1, max_size=4)
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant"]), "content": st.one_of(texts(huge), blocks)}
    )
    return st.fixed_dictionaries(
        {
            "model": st.just("claude-x"),
            "max_tokens": st.just(16),
            "messages": st.lists(message, min_size=1, max_size=5),
        },
        optional={"system": st.one_of(texts(huge), st.lists(text_block, max_size=2))},
    )


def responses_body(huge: bool) -> st.SearchStrategy[dict[str, Any]]:
    part = texts(huge).map(lambda t: {"type": "input_text", "text": t})
    item = st.one_of(
        st.fixed_dictionaries({"role": st.sampled_from(["user", "developer"]),
                               "content": st.one_of(texts(huge), st.lists(part, max_size=3))}),
        st.fixed_dictionaries({"type": st.just("function_call"), "call_id": identifiers, "name": identifiers,
                               "arguments": arguments}),
        st.fixed_dictionaries({"type": st.just("function_call_output"), "call_id": identifiers,
                               "output": texts(huge)}),
    )  # fmt: skip
    return st.fixed_dictionaries(
        {
            "model": st.just("gpt-4o-mini"),
            "input": st.one_of(texts(huge), st.lists(item, min_size=1, max_size=6)),
        }
    )


_DOCUMENT = " ".join(
    f"Line {i}: the cache server answered request {i} after {i % 7} retries." for i in range(300)
)
LONG: dict[str, dict[str, Any]] = {
    "openai": {
        "model": "m",
        "messages": [{"role": "user", "content": f"Which request retried most?\n\n{_DOCUMENT}"}],
    },
    "anthropic": {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": _DOCUMENT}]},
    "responses": {"model": "m", "input": [{"role": "user", "content": _DOCUMENT}]},
}
BODIES = {"openai": openai_body, "anthropic": anthropic_body, "responses": responses_body}

#: Ways to break a readable body, each something the API itself refuses.
BREAKS = {
    "openai": [("messages", 5), ("messages", "hi"), ("messages", [5]), ("messages", [{"content": "no role"}]),
               ("messages", [{"role": "user", "content": {"a": 1}}]),
               ("messages", [{"role": "assistant", "tool_calls": "x"}])],
    "anthropic": [("messages", {"role": "user"}), ("messages", [{"role": "user", "content": 7}]),
                  ("system", [3])],
    "responses": [("input", 5), ("input", [5]), ("input", [{"role": "user", "content": 9}])],
}  # fmt: skip


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[str]:
    settings = ProxySettings(upstream=upstream, min_tokens=200, max_body_bytes=8_000_000)
    with running_proxy(settings) as (url, _):
        yield url


def received(upstream: str) -> list[Any]:
    seen = httpx.get(f"{upstream}/_seen").json()["requests"]
    return [json.loads(base64.b64decode(r["body_b64"])) for r in seen]


def check_roundtrip(proxy: str, upstream: str, api: str, body: dict[str, Any]) -> None:
    httpx.post(f"{upstream}/_reset")
    response = httpx.post(f"{proxy}{PATHS[api]}", json=body, timeout=120)
    assert response.status_code == 200, response.text[:300]
    [forwarded] = received(upstream)
    assert structure(forwarded) == structure(body)  # every message, tool call and field arrived


def fuzz(api: str, examples: int, huge: bool) -> Any:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])  # fmt: skip
    @given(body=BODIES[api](huge))
    def run(proxy: str, upstream: str, body: dict[str, Any]) -> None:
        check_roundtrip(proxy, upstream, api, body)

    return run


@pytest.mark.parametrize("api", list(BODIES))
def test_generated_bodies_arrive_whole(proxy: str, upstream: str, api: str) -> None:
    before = metric_total(proxy, "contextzip_requests", outcome="compressed", route=api)
    check_roundtrip(proxy, upstream, api, LONG[api])  # one that is surely compressed
    assert metric_total(proxy, "contextzip_requests", outcome="compressed", route=api) == before + 1
    fuzz(api, FAST, huge=False)(proxy, upstream)


@pytest.mark.slow
@pytest.mark.parametrize("api", list(BODIES))
def test_many_generated_bodies_with_huge_texts_arrive_whole(proxy: str, upstream: str, api: str) -> None:
    fuzz(api, SLOW, huge=True)(proxy, upstream)


@pytest.mark.parametrize(
    ("api", "field", "value"), [(a, f, v) for a, breaks in BREAKS.items() for f, v in breaks]
)
def test_an_unreadable_body_is_a_400_in_the_apis_shape(
    proxy: str, upstream: str, api: str, field: str, value: Any
) -> None:
    httpx.post(f"{upstream}/_reset")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], field: value}
    response = httpx.post(f"{proxy}{PATHS[api]}", json=body)
    assert response.status_code == 400
    error = response.json()
    if api == "anthropic":
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    else:
        assert error["error"]["type"] == "invalid_request_error" and field in error["error"]["message"]
    assert received(upstream) == []  # nothing went upstream


def test_the_structure_check_catches_a_dropped_tool_call() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}
    sent = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call, {**call, "id": "c2"}]}]}
    dropped = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    other = {**call, "id": "c2", "function": {"name": "f", "arguments": "{}"}}
    changed = {"messages": [{"role": "assistant", "content": None, "tool_calls": [call, other]}]}
    assert structure(dropped) != structure(sent)
    assert structure(changed) != structure(sent)
    assert structure({"messages": [{"role": "user", "content": "shorter"}]}) == structure(
        {"messages": [{"role": "user", "content": "a much longer text"}]}
    )
