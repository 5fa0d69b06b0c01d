"""One road for conversations: read once, one policy, one compressor call, written back once."""

from __future__ import annotations

import collections
import copy
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contextzip import Budget, ConversationPolicy, compress_conversation
from contextzip.compressors.agent import AgentCompressor
from contextzip.conversation import Conversation
from contextzip.errors import ConfigurationError
from contextzip.memo import LRU
from contextzip.messages import conversation_parts, replace_parts
from contextzip.tokens import TokenCounter


def unique_log(lines: int) -> str:
    """A tool output no earlier test has counted (counts are remembered process-wide)."""
    nonce = uuid.uuid4().hex[:8]
    return "\n".join(f"[{nonce}] step {n}: compiled module_{n}.c in {n % 7}.{n % 10}s" for n in range(lines))


def agent_conversation() -> list[dict[str, Any]]:
    call = {"id": "c1", "type": "function", "function": {"name": "make", "arguments": '{"target": "all"}'}}
    return [
        {"role": "system", "content": "You fix builds."},
        {"role": "user", "content": "Find why the build fails."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": unique_log(300) + "\nerror: x.c:9 bad"},
        {"role": "assistant", "content": "x.c:9 has the error."},
        {"role": "user", "content": "Fix it."},
    ]


def spy(monkeypatch: pytest.MonkeyPatch, function: Callable[..., Any]) -> list[tuple[Any, ...]]:
    """Record every call of ``function`` from any contextzip module that imported it."""
    calls: list[tuple[Any, ...]] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return function(*args, **kwargs)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("contextzip") and getattr(module, function.__name__, None) is function:
            monkeypatch.setattr(module, function.__name__, recording)
    return calls


def test_a_conversation_is_read_as_texts_tool_calls_and_turns() -> None:
    conversation = Conversation.read(agent_conversation())
    kinds = [(s.kind, s.role, s.meta["message"]) for s in conversation.segments]
    assert kinds == [
        ("text", "system", 0),
        ("text", "user", 1),
        ("tool_call", "assistant", 2),
        ("tool_output", "tool", 3),
        ("text", "assistant", 4),
        ("text", "user", 5),
    ]
    call, result = conversation.segments[2], conversation.segments[3]
    assert (call.id, call.text, call.protected) == ("c1", '{"target": "all"}', True)
    assert (result.meta["call_id"], result.meta["tool"]) == ("c1", "make")
    assert conversation.tokens == sum(TokenCounter().count(s.text) for s in conversation.segments)


def test_the_policy_decides_what_may_change() -> None:
    conversation = Conversation.read(agent_conversation())
    may = conversation.changeable
    assert may(ConversationPolicy(keep_last_turns=0)) == [False, False, False, True, False, False]
    assert may(ConversationPolicy(keep_last_turns=2)) == [False] * 6  # the result is in the last turns
    assert may(ConversationPolicy(keep_last_turns=0, live_only=True)) == [False] * 6  # history
    assert may(ConversationPolicy(keep_last_turns=0, min_tokens=10**6)) == [False] * 6
    marked = agent_conversation()
    marked[3]["cache_control"] = {"type": "ephemeral"}
    assert not any(Conversation.read(marked).changeable(ConversationPolicy(keep_last_turns=0)))
    with pytest.raises(ConfigurationError, match="keep_last_turns"):
        ConversationPolicy(keep_last_turns=-1)


def test_any_compressor_takes_the_same_road() -> None:
    messages = agent_conversation()
    before = copy.deepcopy(messages)
    out = compress_conversation(
        messages, "truncate", ConversationPolicy(keep_last_turns=0), budget=Budget(rate=0.5)
    )
    assert messages == before  # the input is not changed
    assert [m.get("content") for m in out.messages if m["role"] != "tool"] == [
        m.get("content") for m in messages if m["role"] != "tool"
    ]
    assert out.messages[2]["tool_calls"] == messages[2]["tool_calls"]
    assert messages[3]["content"].startswith(out.messages[3]["content"])  # truncated, extractive
    assert out.compressed == 1 and out.tokens_after < out.tokens_before
    assert out.result.compressor == "truncate"


def test_nothing_to_change_comes_back_unchanged_with_a_reason() -> None:
    messages = agent_conversation()
    out = compress_conversation(messages, "truncate", ConversationPolicy(), budget=Budget(rate=0.5))
    assert out.messages == messages and out.compressed == 0 and out.reason
    threshold = ConversationPolicy(keep_last_turns=0, threshold_tokens=10**6)
    out = compress_conversation(messages, "truncate", threshold, budget=Budget(rate=0.5))
    assert out.messages == messages and "threshold_tokens" in str(out.reason)


def test_a_remembered_compression_comes_back_for_the_same_original() -> None:
    messages = agent_conversation()
    memo: LRU[str, str] = LRU(16)
    agent = AgentCompressor(relevance="lexical")
    policy = ConversationPolicy(keep_last_turns=0)
    first = compress_conversation(messages, agent, policy, memo=memo, memo_namespace="lexical")
    assert (first.compressed, first.reused) == (1, 0)
    # the same text as history of a longer conversation: replaced by the same bytes, not compressed again
    longer = [*messages, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Thanks."}]
    live = ConversationPolicy(keep_last_turns=0, live_only=True)
    again = compress_conversation(longer, agent, live, memo=memo, memo_namespace="lexical")
    assert (again.compressed, again.reused) == (0, 1)
    assert again.messages[3]["content"] == first.messages[3]["content"]
    assert again.tokens_after == first.tokens_after + sum(
        TokenCounter().count(t) for t in ("Done.", "Thanks.")
    )
    other = compress_conversation(longer, agent, policy, memo=memo, memo_namespace="other")
    assert other.reused == 0


def test_a_proxy_request_is_read_counted_and_copied_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from contextzip.proxy.cache import MemoryCache
    from contextzip.proxy.policy import CompressionPolicy
    from contextzip.proxy.settings import ProxySettings

    body = {"model": "gpt-4o-mini", "messages": agent_conversation()[:4]}  # the result is live
    tokenized: collections.Counter[str] = collections.Counter()
    count = TokenCounter.count

    def counting(self: TokenCounter, text: str) -> int:
        tokenized[text] += 1
        return count(self, text)

    monkeypatch.setattr(TokenCounter, "count", counting)
    parsed = spy(monkeypatch, conversation_parts)
    copied = spy(monkeypatch, replace_parts)
    settings = ProxySettings(upstream="http://127.0.0.1:9", min_tokens=200, method="lexical")
    outcome = CompressionPolicy(settings, MemoryCache(64)).compress("openai", body)
    assert outcome.body is not None and outcome.compressed == 1
    assert len(parsed) == 1 and len(copied) == 1
    texts = [m["content"] for m in body["messages"] if m.get("content")]
    assert all(tokenized[text] <= 1 for text in texts) and tokenized[texts[-1]] == 1
    assert json.loads(json.dumps(outcome.body))["messages"][:3] == body["messages"][:3]


def test_the_langchain_step_takes_the_same_road(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.messages import convert_to_messages

    from contextzip.integrations.langchain import compress_messages

    messages = convert_to_messages(agent_conversation())
    calls = spy(monkeypatch, compress_conversation)
    out = compress_messages(messages, relevance="lexical", keep_last_turns=0)
    assert len(calls) == 1
    direct = compress_conversation(
        messages,
        AgentCompressor(relevance="lexical"),
        ConversationPolicy(keep_latest_user=False, keep_last_turns=0),
    )
    assert out == direct.messages and out[3].content != messages[3].content
