"""Questions about old tool results, asked by a reader after a method compressed the history.

For each trajectory of :mod:`contextzip.eval.agent_tasks` and each method of
:mod:`contextzip.eval.agent_bench` (plus ``original``, the history as it is), the conversation
is compressed once and written out as a transcript; then each of the trajectory's questions
(a line number, a version, a count that only an old tool result holds) is asked after it. The
history comes first and the question last, so a llama.cpp reader reuses the history's prompt
from one question to the next.

Per question: ``accuracy`` (a gold answer in the reply), ``presence`` (the answer still in the
tool result it came from, as a whole word), and the history's tokens before and after. A
history longer than the reader's window is not asked (its ``prediction`` is ``None``): an
uncompressed history that does not fit is a result too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextzip.eval.agent_bench import (
    AGENT_METHODS,
    Methods,
    check_agent_methods,
    message_text,
    visible,
    write_rows_and_summary,
)
from contextzip.eval.agent_tasks import Trajectory
from contextzip.eval.identifiers import occurs
from contextzip.eval.metrics import answer_in_reply
from contextzip.eval.types import Reader
from contextzip.tokens import TokenCounter

__all__ = ["ORIGINAL", "QARow", "run_agent_qa", "transcript", "write_agent_qa_report"]

ORIGINAL = "original"


@dataclass(frozen=True)
class QARow:
    """One question about one trajectory after one method."""

    method: str
    trajectory: str
    question: str
    answer: str
    prediction: str | None
    accuracy: float | None
    presence: float
    tokens_before: int
    tokens_after: int


def transcript(messages: Sequence[dict[str, Any]]) -> str:
    """The conversation as one text a reader can take: each message under its role, calls spelled out.

    Example:
        >>> call = {"id": "c1", "type": "function",
        ...         "function": {"name": "shell", "arguments": '{"cmd": "ls"}'}}
        >>> print(transcript([{"role": "assistant", "content": None, "tool_calls": [call]},
        ...                   {"role": "tool", "tool_call_id": "c1", "content": "a.py"}]))
        [assistant] calls shell({"cmd": "ls"})
        <BLANKLINE>
        [tool result of shell]
        a.py
    """
    names = {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls") or []
    }  # fmt: skip
    blocks = []
    for message in messages:
        role = message["role"]
        text = message_text(message)
        if role == "tool":
            blocks.append(f"[tool result of {names.get(message.get('tool_call_id'), 'a tool')}]\n{text}")
            continue
        functions = [call["function"] for call in message.get("tool_calls") or []]
        calls = [f"calls {f['name']}({f['arguments']})" for f in functions]
        body = "\n".join(part for part in [text, *calls] if part)
        blocks.append(f"[{role}]\n{body}" if "\n" in body or not calls else f"[{role}] {body}")
    return "\n\n".join(blocks)


def run_agent_qa(
    trajectories: Sequence[Trajectory],
    reader: Reader,
    methods: Sequence[str] = (ORIGINAL, *AGENT_METHODS),
    *,
    window: int | None = None,
    agent_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    after_each: Callable[[list[QARow]], object] | None = None,
) -> list[QARow]:
    """Every question of every trajectory after every method; see the module docs.

    Args:
        window: The longest transcript, in the counter's tokens, the reader is asked about.
        after_each: Called with the rows so far after each trajectory (to write a report a
            long run stopped early still has).
    """
    check_agent_methods(methods, also=(ORIGINAL,))
    counter = TokenCounter()
    runner = Methods(counter, agent_options)
    rows: list[QARow] = []
    for trajectory in trajectories:
        if not trajectory.questions:
            continue
        messages = trajectory.messages
        before = runner.tokens(messages)
        agent_tokens = runner.tokens([m for _, m in runner.run("agent", messages, 0)])
        for method in methods:
            output = (
                list(enumerate(messages))
                if method == ORIGINAL
                else runner.run(method, messages, agent_tokens)
            )
            history = transcript([m for _, m in output])
            after = runner.tokens([m for _, m in output])
            fits = window is None or counter.count(history) <= window
            by_index = dict(output)
            answered = 0
            for question in trajectory.questions:
                kept = question.message in by_index and occurs(
                    question.answer, visible(message_text(by_index[question.message]))
                )
                prediction = reader.read(question.question, history).prediction if fits else None
                accuracy = None if prediction is None else answer_in_reply(prediction, [question.answer])
                answered += int(bool(accuracy))
                rows.append(
                    QARow(
                        method, trajectory.id, question.question, question.answer, prediction, accuracy,
                        float(kept), before, after,
                    )
                )  # fmt: skip
            if progress:
                verdict = f"{answered}/{len(trajectory.questions)} answered" if fits else "too long to ask"
                progress(f"{trajectory.id} {method}: {verdict}")
        if after_each is not None:
            after_each(rows)
    return rows


def summarize_qa(rows: Sequence[QARow]) -> list[dict[str, Any]]:
    """Per method: questions, how many were asked (the history fit), accuracy over those, presence."""
    summary = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        asked = [r for r in mine if r.accuracy is not None]
        histories = {r.trajectory: (r.tokens_before, r.tokens_after) for r in mine}
        summary.append(
            {
                "method": method,
                "questions": len(mine),
                "asked": len(asked),
                "accuracy": sum(r.accuracy or 0.0 for r in asked) / len(asked) if asked else None,
                "presence": sum(r.presence for r in mine) / len(mine),
                "tokens_before": sum(b for b, _ in histories.values()),
                "tokens_after": sum(a for _, a in histories.values()),
            }
        )
    return summary


def paired_lines(rows: Sequence[QARow], baseline: str = ORIGINAL) -> list[str]:
    """Each method minus ``baseline`` on the questions both asked.

    In accuracy points, with a 95% bootstrap interval and the questions each side wins.
    """
    from contextzip.eval.paired import bootstrap_interval

    asked = {(r.method, r.trajectory, r.question): r.accuracy for r in rows if r.accuracy is not None}
    lines = [
        f"Paired with `{baseline}` on the questions both asked (95% bootstrap interval, 2,000 resamples):",
        "",
    ]
    lines += ["| method | n | accuracy difference | wins / losses |", "|---|---:|---|---:|"]
    for method in dict.fromkeys(r.method for r in rows if r.method != baseline):
        pairs = [
            (value, asked[(baseline, t, q)])
            for (m, t, q), value in asked.items()
            if m == method and (baseline, t, q) in asked
        ]
        if not pairs:
            continue
        deltas = [a - b for a, b in pairs]
        low, high = bootstrap_interval(deltas)
        mean = 100 * sum(deltas) / len(deltas)
        interval = f"{mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
        wins, losses = sum(d > 0 for d in deltas), sum(d < 0 for d in deltas)
        lines.append(f"| {method} | {len(deltas)} | {interval} | {wins} / {losses} |")
    return lines


def write_agent_qa_report(
    rows: Sequence[QARow], out_dir: str | Path, *, reader: str, dataset: str = "agent-trajectories"
) -> dict[str, Path]:
    """``qa_rows.jsonl``, ``qa_summary.json`` and ``qa_summary.md`` under ``out_dir``."""
    summary = summarize_qa(rows)
    out = write_rows_and_summary(out_dir, "qa_", rows, summary)
    lines = [
        f"# {dataset}: questions about old tool results ({reader})",
        "",
        "| method | asked / questions | accuracy | answer kept | tokens after / before |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in summary:
        accuracy = "–" if s["accuracy"] is None else f"{s['accuracy']:.1%}"
        lines.append(
            f"| {s['method']} | {s['asked']}/{s['questions']} | {accuracy} | {s['presence']:.1%} "
            f"| {s['tokens_after']:,} / {s['tokens_before']:,} |"
        )
    lines += ["", "A question is asked only where the method's history fits the reader's window.", ""]
    lines += paired_lines(rows)
    (out / "qa_summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"markdown": out / "qa_summary.md", "json": out / "qa_summary.json", "rows": out / "qa_rows.jsonl"}
