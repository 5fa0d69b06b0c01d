"""The agent-trajectory benchmark: needed facts kept, tokens saved, validity and cache stability.

Methods compared on the trajectories of :mod:`contextzip.eval.agent_tasks`:

* ``agent`` — :class:`~contextzip.compressors.agent.AgentCompressor` (defaults, rate 0.25);
  ``agent@R`` the same at rate ``R`` (``agent@0.5``), for the same token count as a peer;
* ``clear-tool-results`` — every tool result but the last 3 replaced by ``[cleared]``
  (LangChain ``ContextEditingMiddleware`` with ``ClearToolUsesEdit(keep=3)``, its default);
* ``truncate-turns`` — the oldest turns dropped (system prompt and task kept) until the
  conversation fits the token count ``agent`` reached on it;
* ``token-classifier-all`` — the shipped token classifier on every message but the system
  prompt, at the rate ``agent`` reached on the conversation (the same token count).

Metrics, per method, over every trajectory: needed facts kept (a fact counts when its text,
markup removed, is still in the result it came from), tokens after / before, API validity
of the output in OpenAI and Anthropic shape, and stability: of the tool results a method
changed when the agent was asked for turn *t*, the share that come out byte-identical when
it is asked for every later turn.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextzip.compressors.agent import AgentCompressor
from contextzip.errors import ConfigurationError
from contextzip.eval.agent_tasks import Trajectory
from contextzip.messages import ConversationError, Shape, check_conversation
from contextzip.tokens import TokenCounter

__all__ = [
    "AGENT_METHODS", "AgentRow", "Methods", "check_agent_methods", "message_text", "run_agent_eval",
    "to_anthropic", "visible", "write_agent_report", "write_rows_and_summary",
]  # fmt: skip

AGENT_METHODS = ("agent", "clear-tool-results", "truncate-turns", "token-classifier-all")
_TAG = re.compile(r"<[^>]{0,400}>")

#: ``(original index, message)`` pairs: which input message each output message is.
Output = list[tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class AgentRow:
    """One method on one trajectory."""

    method: str
    trajectory: str
    facts: int
    facts_kept: int
    tokens_before: int
    tokens_after: int
    valid_openai: bool
    valid_anthropic: bool
    compressed_results: int
    stable_results: int
    seconds: float


def visible(text: str) -> str:
    """``text`` with HTML tags removed and whitespace collapsed: what a fact is looked for in."""
    return " ".join(_TAG.sub("", text).split())


def to_anthropic(messages: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """An OpenAI-shape conversation as Anthropic's ``(system, messages)``; tool results become
    ``tool_result`` blocks of one user message after their calls."""
    system = "\n\n".join(str(m["content"]) for m in messages if m["role"] in ("system", "developer"))
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": message["content"],
            }
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        blocks: list[dict[str, Any]] = []
        if message.get("content"):
            blocks.append({"type": "text", "text": message["content"]})
        for call in message.get("tool_calls") or []:
            arguments = json.loads(call["function"]["arguments"] or "{}")
            blocks.append(
                {"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": arguments}
            )
        out.append(
            {"role": role, "content": blocks if message.get("tool_calls") else message.get("content") or ""}
        )
    return system, out


class Methods:
    """Each method maps a conversation (and the agent's token count on it) to an output."""

    def __init__(self, counter: TokenCounter, agent_options: dict[str, Any] | None = None) -> None:
        self.counter = counter
        self.agent_options = dict(agent_options or {})
        self.agents: dict[float, AgentCompressor] = {}
        self._classifier: Any = None

    def tokens(self, messages: Sequence[dict[str, Any]]) -> int:
        return sum(self.counter.count(message_text(m)) for m in messages)

    def agent(self, method: str, *, fresh: bool = False) -> AgentCompressor:
        """The compressor of ``agent`` or ``agent@R`` with the run's options; ``fresh``: nothing memoized."""
        rate = float(method.partition("@")[2] or 0.25)
        if fresh or rate not in self.agents:
            self.agents[rate] = AgentCompressor(**{**self.agent_options, "rate": rate})
        return self.agents[rate]

    def run(self, method: str, messages: list[dict[str, Any]], target: int, *, fresh: bool = False) -> Output:
        if method == "agent" or method.startswith("agent@"):
            return list(enumerate(self.agent(method, fresh=fresh).compress_messages(messages).messages))
        if method == "clear-tool-results":
            return clear_tool_results(messages, keep=3)
        if method == "truncate-turns":
            return truncate_turns(messages, target, self.counter)
        if method == "token-classifier-all":
            return self._classify_all(messages, target)
        raise ConfigurationError(
            f"unknown agent method {method!r}; choose from {', '.join(AGENT_METHODS)} or agent@RATE"
        )

    def _classify_all(self, messages: list[dict[str, Any]], target: int) -> Output:
        from contextzip.compressors.token_classifier import TokenClassifierCompressor
        from contextzip.types import Budget, Segment

        self._classifier = self._classifier or TokenClassifierCompressor()
        fixed = sum(self.counter.count(message_text(m)) for m in messages if m["role"] == "system")
        movable = self.tokens(messages) - fixed
        rate = min(max((target - fixed) / movable, 0.01), 1.0) if movable else 1.0
        out: Output = []
        for index, message in enumerate(messages):
            text = message.get("content")
            if message["role"] == "system" or not text or rate >= 1.0:
                out.append((index, message))
                continue
            result = self._classifier.compress([Segment(text)], budget=Budget(rate=rate))
            out.append((index, {**message, "content": result.segments[0].text}))
        return out


def clear_tool_results(messages: Sequence[dict[str, Any]], *, keep: int = 3) -> Output:
    """Every tool result but the last ``keep`` replaced by ``[cleared]``, LangChain's placeholder."""
    results = [n for n, m in enumerate(messages) if m["role"] == "tool"]
    cleared = set(results[:-keep] if keep else results)
    return [(n, {**m, "content": "[cleared]"} if n in cleared else m) for n, m in enumerate(messages)]


def truncate_turns(messages: Sequence[dict[str, Any]], target: int, counter: TokenCounter) -> Output:
    """The oldest turns (an assistant message and its results) dropped until ``target`` tokens."""
    head = [n for n, m in enumerate(messages) if m["role"] == "system"]
    task = next((n for n, m in enumerate(messages) if m["role"] == "user"), None)
    head += [task] if task is not None else []
    turns: list[list[int]] = []
    for n, message in enumerate(messages):
        if n in head:
            continue
        if message["role"] == "tool" and turns:
            turns[-1].append(n)
        else:
            turns.append([n])
    total = sum(counter.count(message_text(m)) for m in messages)
    while len(turns) > 1 and total > target:
        total -= sum(counter.count(message_text(messages[n])) for n in turns.pop(0))
    kept = sorted(head + [n for turn in turns for n in turn])
    return [(n, messages[n]) for n in kept]


def run_agent_eval(
    trajectories: Sequence[Trajectory],
    methods: Sequence[str] = AGENT_METHODS,
    *,
    agent_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[AgentRow]:
    """Every method on every trajectory; see the module docs for the metrics.

    ``agent_options`` go to every ``agent`` method's :class:`AgentCompressor` (``rate`` aside).
    """
    check_agent_methods(methods)
    counter = TokenCounter()
    runner = Methods(counter, agent_options)
    rows = []
    for trajectory in trajectories:
        messages = trajectory.messages
        agent_tokens = runner.tokens([m for _, m in runner.run("agent", messages, 0)])
        for method in methods:
            started = time.perf_counter()
            output = runner.run(method, messages, agent_tokens, fresh=True)
            seconds = time.perf_counter() - started
            by_index = dict(output)
            kept = sum(
                1
                for index, fact in trajectory.facts
                if index in by_index and visible(fact) in visible(message_text(by_index[index]))
            )
            compressed, stable = _stability(runner, method, messages)
            rows.append(
                AgentRow(
                    method, trajectory.id, len(trajectory.facts), kept, runner.tokens(messages),
                    runner.tokens([m for _, m in output]), _valid([m for _, m in output], "openai"),
                    _valid_anthropic(runner, method, messages, output), compressed, stable, seconds,
                )
            )  # fmt: skip
            if progress:
                progress(f"{trajectory.id} {method}: {kept}/{len(trajectory.facts)} facts")
    return rows


def _stability(runner: Methods, method: str, messages: list[dict[str, Any]]) -> tuple[int, int]:
    """Tool results changed at some turn, and how many stay byte-identical at every later turn."""
    ends = [n for n, m in enumerate(messages) if m["role"] == "assistant"] + [len(messages)]
    first: dict[int, str] = {}
    unstable: set[int] = set()
    for end in ends[1:]:
        prefix = messages[:end]
        target = runner.tokens([m for _, m in runner.run("agent", prefix, 0)])
        for index, message in runner.run(method, prefix, target):
            if messages[index]["role"] != "tool":
                continue
            text = message_text(message)
            if index in first and first[index] != text:
                unstable.add(index)
            elif index not in first and text != message_text(messages[index]):
                first[index] = text
    return len(first), len(first) - len(unstable & set(first))


def check_agent_methods(methods: Sequence[str], *, also: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigurationError` naming the valid methods if one of ``methods`` is unknown."""
    unknown = [m for m in methods if m not in AGENT_METHODS and m not in also and not _is_agent_rate(m)]
    if unknown:
        choices = ", ".join([*also, *AGENT_METHODS])
        raise ConfigurationError(f"unknown agent methods {unknown}; choose from {choices} or agent@RATE")


def _is_agent_rate(method: str) -> bool:
    head, _, rate = method.partition("@")
    try:
        return head == "agent" and 0 < float(rate) < 1
    except ValueError:
        return False


def _valid(messages: list[dict[str, Any]], shape: Shape) -> bool:
    try:
        check_conversation(messages, shape)
    except ConversationError:
        return False
    return True


def _valid_anthropic(runner: Methods, method: str, messages: list[dict[str, Any]], output: Output) -> bool:
    """The method's output in Anthropic shape; the agent compresses the Anthropic form itself."""
    if method != "agent" and not _is_agent_rate(method):
        return _valid(to_anthropic([m for _, m in output])[1], "anthropic")
    _, converted = to_anthropic(messages)
    compressed = runner.agent(method, fresh=True).compress_messages(converted, shape="anthropic")
    return _valid(compressed.messages, "anthropic")


def message_text(message: dict[str, Any]) -> str:
    """A message's content as text (structured content as its JSON)."""
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content) if content else ""


def summarize(rows: Sequence[AgentRow]) -> list[dict[str, Any]]:
    """One line per method: totals over the trajectories."""
    lines = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        facts, kept = sum(r.facts for r in mine), sum(r.facts_kept for r in mine)
        before, after = sum(r.tokens_before for r in mine), sum(r.tokens_after for r in mine)
        changed, stable = sum(r.compressed_results for r in mine), sum(r.stable_results for r in mine)
        lines.append({
            "method": method, "trajectories": len(mine), "facts": facts, "facts_kept": kept,
            "facts_kept_share": kept / facts if facts else 1.0,
            "tokens_before": before, "tokens_after": after,
            "token_reduction": 1 - after / before if before else 0.0,
            "valid_openai": sum(r.valid_openai for r in mine) / len(mine),
            "valid_anthropic": sum(r.valid_anthropic for r in mine) / len(mine),
            "results_changed": changed, "results_stable": stable,
            "stable_share": stable / changed if changed else 1.0,
            "median_seconds": sorted(r.seconds for r in mine)[len(mine) // 2],
        })  # fmt: skip
    return lines


def write_rows_and_summary(out_dir: Any, prefix: str, rows: Sequence[Any], summary: Any) -> Path:
    """``{prefix}rows.jsonl`` (one dataclass per line) and ``{prefix}summary.json``; returns the folder."""
    from dataclasses import asdict

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(asdict(r)) + "\n" for r in rows)
    (out / f"{prefix}rows.jsonl").write_text(lines, encoding="utf-8")
    (out / f"{prefix}summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return out


def write_agent_report(
    rows: Sequence[AgentRow], out_dir: Any, *, dataset: str = "agent-trajectories"
) -> dict[str, Any]:
    """``rows.jsonl``, ``summary.json`` and ``summary.md`` (the table) under ``out_dir``."""
    summary = summarize(rows)
    out = write_rows_and_summary(out_dir, "", rows, summary)
    table = [
        "| method | facts kept | tokens after / before | token reduction | valid OpenAI | valid Anthropic "
        "| stable results | median s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        table.append(
            f"| {s['method']} | {s['facts_kept']}/{s['facts']} ({s['facts_kept_share']:.0%}) "
            f"| {s['tokens_after']:,} / {s['tokens_before']:,} | {s['token_reduction']:.1%} "
            f"| {s['valid_openai']:.0%} | {s['valid_anthropic']:.0%} "
            f"| {s['results_stable']}/{s['results_changed']} | {s['median_seconds']:.2f} |"
        )
    per = ["", "| trajectory | " + " | ".join(summary_m["method"] for summary_m in summary) + " |",
           "|---|" + "---:|" * len(summary)]  # fmt: skip
    for trajectory in dict.fromkeys(r.trajectory for r in rows):
        cells = [
            f"{r.facts_kept}/{r.facts} · {r.tokens_after:,} tok"
            for s in summary for r in rows if r.method == s["method"] and r.trajectory == trajectory
        ]  # fmt: skip
        per.append(f"| {trajectory} | " + " | ".join(cells) + " |")
    text = f"# {dataset}\n\n" + "\n".join(table + per) + "\n"
    (out / "summary.md").write_text(text, encoding="utf-8")
    return {"markdown": out / "summary.md", "json": out / "summary.json", "rows": out / "rows.jsonl"}
