"""Conversations as parts and back: every shape keeps its calls, pairing and order."""

from __future__ import annotations

import copy

import pytest

from contextzip.messages import (
    ConversationError,
    check_conversation,
    conversation_parts,
    detect_shape,
    replace_parts,
)

OPENAI = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is in the repo?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "shell", "arguments": '{"cmd": "ls"}'}},
        {"id": "c2", "type": "function", "function": {"name": "shell", "arguments": '{"cmd": "wc -l *"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "a.py\nb.py"},
    {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "3 a.py\n4 b.py"}]},
    {"role": "user", "content": "Thanks."},
]  # fmt: skip

ANTHROPIC = [
    {"role": "user", "content": "What is in the repo?"},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Listing."},
        {"type": "tool_use", "id": "t1", "name": "shell", "input": {"cmd": "ls"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "a.py\nb.py"},
        {"type": "text", "text": "Go on."}]},
]  # fmt: skip


def test_openai_parts_know_their_calls_and_replacement_touches_only_text() -> None:
    parts = conversation_parts(OPENAI)
    results = [p for p in parts if p.kind == "tool_result"]
    assert [(p.call.id, p.tool_name) for p in results if p.call] == [("c1", "shell"), ("c2", "shell")]
    before = copy.deepcopy(OPENAI)
    out = replace_parts(OPENAI, {results[0].key: "a.py", results[1].key: "3 a.py"})
    assert OPENAI == before  # the input is not changed
    assert out[3]["content"] == "a.py" and out[4]["content"] == [{"type": "text", "text": "3 a.py"}]
    assert out[2] == OPENAI[2]  # tool calls, ids and arguments untouched
    check_conversation(out)


def test_anthropic_shape_is_detected_and_tool_results_are_parts() -> None:
    assert detect_shape(ANTHROPIC) == "anthropic"
    parts = conversation_parts(ANTHROPIC)
    result = next(p for p in parts if p.kind == "tool_result")
    assert (
        result.call is not None and result.call.name == "shell" and result.key == (2, "content", 0, "content")
    )
    out = replace_parts(ANTHROPIC, {result.key: "a.py"})
    assert out[2]["content"][0] == {"type": "tool_result", "tool_use_id": "t1", "content": "a.py"}
    check_conversation(out)


def test_langchain_messages_round_trip() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    messages = [
        HumanMessage("list files"),
        AIMessage("", tool_calls=[{"name": "shell", "args": {"cmd": "ls"}, "id": "c1"}]),
        ToolMessage("a.py\nb.py", tool_call_id="c1"),
    ]
    assert detect_shape(messages) == "langchain"
    result = next(p for p in conversation_parts(messages) if p.kind == "tool_result")
    out = replace_parts(messages, {result.key: "a.py"})
    assert isinstance(out[2], ToolMessage) and out[2].content == "a.py" and out[2].tool_call_id == "c1"
    assert messages[2].content == "a.py\nb.py"
    check_conversation(out)


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (OPENAI[:3], "have no results"),
        ([OPENAI[1], OPENAI[3]], "no earlier assistant call"),
        ([*OPENAI[:3], OPENAI[5]], "comes before the results"),
        ([ANTHROPIC[0], ANTHROPIC[2]], "did not call"),
    ],
)
def test_invalid_conversations_are_named(messages: list, problem: str) -> None:
    with pytest.raises(ConversationError, match=problem):
        check_conversation(messages)
