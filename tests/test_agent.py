"""The agent-state compressor on conversations replayed from real tools."""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
from collections import OrderedDict

import pytest

from contextzip.compressors.agent import AgentCompressor, extract_plan, referenced_facts, sniff_kind
from contextzip.errors import ConfigurationError
from contextzip.eval.agent_bench import run_agent_eval, to_anthropic
from contextzip.eval.agent_tasks import Trajectory, agent_trajectories
from contextzip.messages import check_conversation


@functools.cache
def trajectories() -> tuple[Trajectory, ...]:
    return tuple(agent_trajectories())


def test_only_old_tool_results_change_and_the_conversation_stays_valid() -> None:
    for trajectory in trajectories():
        messages = trajectory.messages
        before = copy.deepcopy(messages)
        out = AgentCompressor(relevance="lexical").compress_messages(messages)
        assert messages == before
        assert len(out.messages) == len(messages) and out.tokens_after < out.tokens_before
        check_conversation(out.messages, "openai")
        last_assistant = max(n for n, m in enumerate(messages) if m["role"] == "assistant")
        cut = sorted(n for n, m in enumerate(messages) if m["role"] == "assistant")[-2]
        for n, (old, new) in enumerate(zip(messages, out.messages, strict=True)):
            if old["role"] != "tool" or n >= cut:
                assert new == old, f"{trajectory.id}: message {n} ({old['role']}) changed"
            else:
                assert new.get("tool_call_id") == old["tool_call_id"]
        assert last_assistant >= cut


def test_anthropic_shape_gives_valid_output_with_the_same_compressed_texts() -> None:
    trajectory = trajectories()[0]
    compressor = AgentCompressor(relevance="lexical")
    _, anthropic = to_anthropic(trajectory.messages)
    out = compressor.compress_messages(anthropic)
    check_conversation(out.messages, "anthropic")
    openai = compressor.compress_messages(trajectory.messages).messages
    openai_results = [m["content"] for m in openai if m["role"] == "tool"]
    anthropic_results = [
        b["content"] for m in out.messages if isinstance(m["content"], list)
        for b in m["content"] if b.get("type") == "tool_result"
    ]  # fmt: skip
    assert anthropic_results == openai_results


def test_compressed_results_are_byte_identical_on_every_later_turn() -> None:
    messages = trajectories()[1].messages
    compressor = AgentCompressor()
    ends = [n for n, m in enumerate(messages) if m["role"] == "assistant"] + [len(messages)]
    first: dict[int, str] = {}
    for end in ends[1:]:
        fresh = AgentCompressor()  # a new process: nothing memoized
        out = compressor.compress_messages(messages[:end]).messages
        assert out == fresh.compress_messages(messages[:end]).messages
        for n, message in enumerate(out):
            if message["role"] == "tool" and message["content"] != messages[n]["content"]:
                assert first.setdefault(n, message["content"]) == message["content"]
    assert len(first) >= 2


def test_a_repeated_output_points_to_its_first_copy_and_markers_retrieve_originals() -> None:
    messages = copy.deepcopy(trajectories()[0].messages)
    repeat = copy.deepcopy(messages[2:4])  # the same ls again, with a new call id
    repeat[0]["tool_calls"][0]["id"] = repeat[1]["tool_call_id"] = "again"
    messages[6:6] = repeat
    compressor = AgentCompressor(relevance="lexical")
    out = compressor.compress_messages(messages)
    assert [n for n in out.notes if n.startswith("same output")] == [
        "same output as tool call call_json-decoder_1"
    ]
    pointer = out.messages[7]["content"]
    assert "same output as tool call call_json-decoder_1" in pointer
    digest = pointer.rsplit("cz:", 1)[1].rstrip("]")
    assert compressor.retrieve(digest) == messages[7]["content"]
    compressed = next(
        m["content"] for m in out.messages if m["role"] == "tool" and "tokens; original: cz:" in m["content"]
    )
    original = compressor.retrieve(compressed.rsplit("cz:", 1)[1].rstrip("]"))
    assert original is not None and original in [m["content"] for m in messages]


def test_facts_the_answer_quotes_are_kept() -> None:
    messages = trajectories()[0].messages
    out = AgentCompressor(relevance="lexical").compress_messages(messages)
    grep_result = out.messages[5]["content"]
    assert "json/decoder.py" in messages[6]["content"]  # the assistant quoted it...
    assert "./json/decoder.py:20:class JSONDecodeError(ValueError):" in grep_result  # ...so it stays


def test_threshold_leaves_short_conversations_alone() -> None:
    messages = trajectories()[0].messages
    out = AgentCompressor(relevance="lexical", threshold_tokens=10**6).compress_messages(messages)
    assert out.messages == messages and out.reason and "threshold" in out.reason


def test_plans_in_checkboxes_and_todos() -> None:
    boxes = extract_plan(["- [x] grep\n- [ ] read the file\n- [ ] fix it"])
    assert [(s.text, s.done) for s in boxes] == [("grep", True), ("read the file", False), ("fix it", False)]
    todos = extract_plan(["TODO: grep logging\nTODO: answer"])
    assert [s.text for s in todos] == ["grep logging", "answer"]
    assert extract_plan(["no plan here"]) == []
    assert "https://example.org/a?b=1" in referenced_facts(["see https://example.org/a?b=1."])


def test_tool_outputs_are_sniffed_by_what_they_are() -> None:
    kinds = {}
    for trajectory in trajectories():
        for call, result in zip(trajectory.messages, trajectory.messages[1:], strict=False):
            if result["role"] == "tool":
                tool = call["tool_calls"][0]["function"]
                kinds[(tool["name"], tool["arguments"][:30])] = sniff_kind(
                    result["content"], tool["arguments"]
                )
    expected = [
        ("read_file", {"path": "json/decoder.py"}, "code"),
        ("package_info", {"name": "numpy"}, "json"),
        ("docs_page", {"module": "textwrap"}, "html"),
        ("shell", {"cmd": "grep -rn JSONDecodeError --include=*.py ."}, "log"),
    ]
    for name, arguments, kind in expected:
        assert kinds[(name, json.dumps(arguments)[:30])] == kind, name


def test_bad_options_are_named() -> None:
    with pytest.raises(ConfigurationError, match="horizon"):
        AgentCompressor(horizon="later")
    with pytest.raises(ConfigurationError, match="rate"):
        AgentCompressor(rate=1.5)


def test_benchmark_reports_validity_and_stability_for_each_method() -> None:
    rows = run_agent_eval(trajectories()[:1], ["agent", "clear-tool-results", "truncate-turns"])
    assert {r.method for r in rows} == {"agent", "clear-tool-results", "truncate-turns"}
    for row in rows:
        assert row.valid_openai and row.valid_anthropic
        assert row.stable_results == row.compressed_results
        assert 0 <= row.facts_kept <= row.facts == 6


def test_long_user_documents_are_compressed_as_prose_and_the_task_is_not() -> None:
    import pathlib

    from contextzip.eval.agent_tasks import SYSTEM

    document = (pathlib.Path(__file__).parent.parent / "examples" / "incident_report.md").read_text(
        encoding="utf-8"
    )
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Summarize the incident for the status page."},
        {
            "role": "assistant",
            "content": "Plan:\n1. Read the report.\n2. Draft the summary.\n3. Check names.",
        },
        {"role": "user", "content": document},
        {"role": "assistant", "content": "Reading it."},
        {"role": "user", "content": "Keep it short."},
    ]
    for prose in ("mig", "mig-tokens"):
        out = AgentCompressor(prose=prose, keep_last_turns=1).compress_messages(messages)
        assert out.messages[:3] == messages[:3] and out.messages[4:] == messages[4:]
        assert out.compressed == 1 and len(out.messages[3]["content"]) < len(document)
        assert out.messages[3]["content"].rstrip().endswith("]")  # the cz: marker
    with pytest.raises(ConfigurationError, match="prose"):
        AgentCompressor(prose="tokens")


def test_langchain_messages_come_back_as_langchain_messages() -> None:
    from langchain_core.messages import ToolMessage, convert_to_messages

    trajectory = trajectories()[2]
    messages = convert_to_messages(trajectory.messages)
    out = AgentCompressor(relevance="lexical").compress_messages(messages)
    assert [type(m) for m in out.messages] == [type(m) for m in messages]
    check_conversation(out.messages)
    tools = [(a, b) for a, b in zip(messages, out.messages, strict=True) if isinstance(a, ToolMessage)]
    assert all(a.tool_call_id == b.tool_call_id for a, b in tools)
    assert any(a.content != b.content for a, b in tools)


def test_the_registered_compressor_reduces_segments_by_kind() -> None:
    from contextzip import Budget, Segment, get_compressor

    package = next(t for t in trajectories() if t.id == "package-audit").messages[3]["content"]
    segments = [Segment("Keep this note.", protected=True), Segment(package, kind="json")]
    result = get_compressor("agent", relevance="lexical").compress(
        segments, query="numpy version and requirements", budget=Budget(rate=0.2)
    )
    assert result.segments[0].text == "Keep this note."
    data = json.loads(result.segments[1].text)  # still JSON
    assert data["version"] and result.segments[1].tokens_after < result.segments[1].tokens_before * 0.3


def test_a_reducer_that_fails_leaves_its_text_and_the_rest_is_still_compressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contextzip.compressors.reducers import REDUCERS

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("reducer crashed")

    monkeypatch.setitem(REDUCERS, "log", broken)
    messages = trajectories()[0].messages  # json-decoder: grep output (a log) and decoder.py (code)
    out = AgentCompressor(relevance="lexical", keep_last_turns=1).compress_messages(messages)
    assert out.messages[5]["content"] == messages[5]["content"]  # the grep output, untouched
    assert out.messages[7]["content"] != messages[7]["content"]  # decoder.py still shrinks
    assert any("reducer crashed" in note for note in out.notes)
    check_conversation(out.messages)


def test_the_question_steers_a_user_document_and_its_last_paragraph_does_not(monkeypatch) -> None:
    question = "What is the default value of the `limit` parameter of `method_37`?"
    rows = (f"<dt>method_{i}(self, arg, limit={i})</dt><dd>Runs step {i} of the job.</dd>" for i in range(80))
    body = "\n".join(rows)
    tail = "<dt>onecmd(self, line)</dt><dd>Interpret the argument as though typed.</dd></dl></body></html>"
    message = f"{question}\n\n<html><body><dl>\n{body}\n\n{tail}"
    steered: list[list[str]] = []
    relevance = AgentCompressor._relevance

    def spy(self: AgentCompressor, query: list[str]):  # noqa: ANN202
        steered.append(query)
        return relevance(self, query)

    monkeypatch.setattr(AgentCompressor, "_relevance", spy)
    compressor = AgentCompressor(
        rate=0.3, min_tokens=200, keep_last_turns=0, keep_latest_user=False, relevance="lexical"
    )
    out = compressor.compress_messages([{"role": "user", "content": message}])
    text = out.messages[0]["content"]
    assert text.startswith(question) and text.rstrip().endswith(tail)  # both edges stay as written
    assert [[q.strip() for q in query] for query in steered] == [[question]]
    assert "method_37(self, arg, limit=37)" in text
    steered.clear()
    link = "See https://example.com/docs?page=2 for more."  # a URL's question mark asks nothing
    compressor.compress_messages(
        [{"role": "user", "content": f"{link}\n\n<html><body><dl>\n{body}\n\n{tail}"}]
    )
    assert [[q.strip() for q in query] for query in steered] == [[link, tail]]


def _lookup_conversation(n: int) -> list[dict]:
    rows = [{"service": f"svc-{n}-{i}", "owner": f"team-{i % 7}", "port": 8000 + i} for i in range(120)]
    call = {"id": f"c{n}", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    return [
        {"role": "user", "content": f"Find the owner of service {n}."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"c{n}", "content": json.dumps(rows)},
        {"role": "assistant", "content": "Looking further."},
        {"role": "user", "content": "Go on."},
    ]


class _SlowOrderedDict(OrderedDict):
    """An ordered dict that yields to other threads in the middle of ``move_to_end``."""

    def move_to_end(self, key, last=True):  # type: ignore[no-untyped-def]
        time.sleep(0.001)
        super().move_to_end(key, last)


def test_one_compressor_shared_by_threads_gives_each_the_same_bytes_as_alone(monkeypatch) -> None:
    # The proxy shares one compressor between its worker threads. With a one-entry memo whose
    # dict yields mid-operation, every thread evicts what another is reading: an unlocked memo
    # raises KeyError here (it did before the memos took a lock).
    import contextzip.compressors.agent.compressor as agent_module
    import contextzip.memo as memo_module

    monkeypatch.setattr(agent_module, "MEMO_SIZE", 1)
    for module in (agent_module, memo_module):
        monkeypatch.setattr(module, "OrderedDict", _SlowOrderedDict, raising=False)
    conversations = [_lookup_conversation(n) for n in range(2)]
    alone = [
        AgentCompressor(relevance="lexical", keep_last_turns=0).compress_messages(c).messages
        for c in conversations
    ]
    shared = AgentCompressor(relevance="lexical", keep_last_turns=0)
    errors: list[BaseException] = []
    mismatches: list[int] = []

    def work(offset: int) -> None:
        try:
            for round_ in range(6):
                n = (offset + round_) % len(conversations)
                if shared.compress_messages(conversations[n]).messages != alone[n]:
                    mismatches.append(n)
        except BaseException as exc:  # noqa: BLE001 - the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and mismatches == []
    assert alone[0][2]["content"] != conversations[0][2]["content"]  # the tool result was compressed
