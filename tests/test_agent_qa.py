"""Questions about old tool results, asked after a method compressed the agent's history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contextzip.cli import main
from contextzip.errors import ConfigurationError
from contextzip.eval.agent_bench import clear_tool_results
from contextzip.eval.agent_qa import ORIGINAL, run_agent_qa, transcript, write_agent_qa_report
from contextzip.eval.agent_tasks import agent_trajectories
from contextzip.eval.types import ReaderOutput
from contextzip.tokens import TokenCounter


class LookupReader:
    """Answers a question it knows the answer to when that answer is in the context."""

    name = "lookup"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def read(self, question: str, context: str) -> ReaderOutput:
        self.asked.append((question, context))
        answer = self.answers[question]
        return ReaderOutput(f"It is {answer}." if answer in context else "I cannot tell.")


@pytest.fixture(scope="module")
def trajectories():
    return agent_trajectories()


def test_every_trajectory_asks_about_facts_its_tool_results_hold(trajectories) -> None:
    asked = [q for t in trajectories for q in t.questions]
    assert len(asked) >= 12 and all(t.questions for t in trajectories)
    for t in trajectories:
        for q in t.questions:
            assert t.messages[q.message]["role"] == "tool" and q.answer in t.messages[q.message]["content"]
            assert q.answer not in q.question


def test_cleared_results_lose_their_answers_and_the_original_keeps_all(trajectories) -> None:
    answers = {q.question: q.answer for t in trajectories for q in t.questions}
    reader = LookupReader(answers)
    rows = run_agent_qa(trajectories[:2], reader, [ORIGINAL, "clear-tool-results", "truncate-turns"])
    questions = sum(len(t.questions) for t in trajectories[:2])
    assert len(rows) == 3 * questions
    original = [r for r in rows if r.method == ORIGINAL]
    assert all(r.presence == 1.0 and r.accuracy == 1.0 for r in original)
    cleared = [r for r in rows if r.method == "clear-tool-results"]
    assert any(r.presence == 0.0 and r.accuracy == 0.0 for r in cleared)  # an old result was cleared
    assert all(r.tokens_after < r.tokens_before for r in cleared)
    # the history comes first and the question last, the same history for each question of a method
    first = trajectories[0]
    histories = {context for question, context in reader.asked[: len(first.questions)]}
    assert histories == {transcript(first.messages)}


def test_recorded_trajectories_come_back_as_they_were_recorded(trajectories, tmp_path: Path) -> None:
    recorded = tmp_path / "trajectories.json"
    first = agent_trajectories(recorded=recorded)  # replays the tools and records what they said
    saved = json.loads(recorded.read_text(encoding="utf-8"))
    assert [t["id"] for t in saved] == [t.id for t in trajectories]
    saved[0]["messages"][-1]["content"] = "what the tools said last time"  # not what they would say now
    recorded.write_text(json.dumps(saved), encoding="utf-8")
    again = agent_trajectories(recorded=recorded)
    assert again[0].messages[-1]["content"] == "what the tools said last time"
    assert again[1:] == first[1:] and again[0].questions == first[0].questions
    recorded.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="delete it to replay"):
        agent_trajectories(recorded=recorded)


def test_a_history_longer_than_the_window_is_not_asked(trajectories) -> None:
    reader = LookupReader({q.question: q.answer for t in trajectories for q in t.questions})
    cleared = transcript([m for _, m in clear_tool_results(trajectories[0].messages)])
    window = TokenCounter().count(cleared)  # the cleared history fits, the whole one does not
    rows = run_agent_qa(trajectories[:1], reader, [ORIGINAL, "clear-tool-results"], window=window)
    assert {r.prediction for r in rows if r.method == ORIGINAL} == {None}
    assert all(r.prediction is not None for r in rows if r.method == "clear-tool-results")
    with pytest.raises(ConfigurationError, match="unknown agent methods"):
        run_agent_qa(trajectories[:1], reader, ["summarize"])


def test_the_report_tables_accuracy_and_presence(trajectories, tmp_path: Path) -> None:
    reader = LookupReader({q.question: q.answer for t in trajectories for q in t.questions})
    rows = run_agent_qa(trajectories[:1], reader, [ORIGINAL, "clear-tool-results"])
    paths = write_agent_qa_report(rows, tmp_path, reader="lookup")
    table = paths["markdown"].read_text(encoding="utf-8")
    assert "| original | 4/4 | 100.0% | 100.0% |" in table
    assert "| clear-tool-results | 4 | " in table and "wins / losses" in table  # paired with the original
    assert len(paths["rows"].read_text(encoding="utf-8").splitlines()) == len(rows)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))[0]["method"] == ORIGINAL


@pytest.mark.slow
def test_eval_with_a_reader_asks_the_questions(fake_llama, tmp_path: Path, capsys) -> None:
    model, requests = fake_llama
    out = tmp_path / "qa"
    options = [f"model={model}", f"cache_dir={tmp_path / 'answers'}", "n_ctx=65536"]
    options = [arg for option in options for arg in ("--reader-option", option)]
    command = ["eval", "--dataset", "agent-trajectories", "--methods", "clear-tool-results",
               "--reader", "llama", *options, "--out", str(out), "--quiet"]  # fmt: skip
    assert main([*command, "--limit", "2"]) == 0  # the first two trajectories: 7 questions
    # every question of the original; of the cleared histories those that differ (the rest are cached)
    assert int(requests.read_text(encoding="utf-8")) > 7
    table = capsys.readouterr().out
    assert "| original | 7/7 |" in table and "| clear-tool-results | 7/7 |" in table
    assert len((out / "qa_rows.jsonl").read_text(encoding="utf-8").splitlines()) == 14
    # a second run replays the recorded conversations: every answer comes from the cache (a fresh
    # replay of the tools differs in its test timings, and would be read again)
    read = int(requests.read_text(encoding="utf-8"))
    assert main([*command, "--limit", "2"]) == 0
    assert int(requests.read_text(encoding="utf-8")) == read
    assert "| original | 7/7 |" in capsys.readouterr().out
    assert main([*command, "--limit", "0"]) != 0
    assert "--limit must be >= 1" in capsys.readouterr().err
