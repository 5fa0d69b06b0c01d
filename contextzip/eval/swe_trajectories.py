"""``swe-agent-trajectories``: real SWE-agent runs as OpenAI conversations with questions.

The 22 trajectories of SWE-agent's test data (``swe-agent-trajectories/*.traj`` in the data
directory) are agents fixing repositories and solving CTF tasks. Each run's history becomes
an OpenAI-shape conversation: the system prompt, the task, and each action as an assistant
tool call whose observation is the tool result that follows it.

Questions come from the observations by pattern, never by hand, and only from results
at least two tool calls before the end (what an agent would have to look back for):

* ``[File: PATH (N lines total)]`` → how many lines PATH has;
* ``Found N matches for "TERM" in PATH`` → how many matches the search found;
* ``NAME: message`` after ``Traceback`` → which exception a command raised;
* ``N:    def NAME(`` in a numbered file view → on which line ``NAME`` is defined.

A trajectory keeps at most one question per pattern, its first whose answer never changes
later in the run and is longer than one character.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from contextzip.errors import ResourceNotFoundError
from contextzip.eval.agent_tasks import Question, Trajectory
from contextzip.resources import data_dir

__all__ = ["FOLDER", "ORIGIN", "swe_agent_trajectories", "trajectory_from_history"]

FOLDER = "swe-agent-trajectories"
ORIGIN = "https://github.com/princeton-nlp/SWE-agent/tree/main/tests/test_data/trajectories"
#: A question must come from a tool result with at least this many tool results after it.
_LOOK_BACK = 2

_FILE = re.compile(r"^\[File: (\S+) \((\d+) lines total\)\]", re.M)
_FOUND = re.compile(r'^Found (\d+) matches for "([^"\n]{1,60})" in (\S+?):?$', re.M)
_RAISED = re.compile(
    r"^Traceback \(most recent call last\):\n(?:[ \t].*\n|\n)*?([A-Za-z_][\w.]*(?:Error|Exception)):", re.M
)
_DEFINED = re.compile(r"^(\d+):\s*(?:async\s+)?(?:def|class) ([A-Za-z_]\w*)", re.M)

#: From a tool result and the command that produced it: ``(subject, question, answer)`` triples;
#: the subject names what is asked about, so another answer to it later in the run is noticed.
Asker = Callable[[str, str | None], Iterator[tuple[str, str, str]]]


def _file_lines(text: str, _: str | None) -> Iterator[tuple[str, str, str]]:
    for match in _FILE.finditer(text):
        path, lines = match.groups()
        yield f"lines:{Path(path).name}", f"How many lines does the file {path} have in total?", lines


def _matches_found(text: str, _: str | None) -> Iterator[tuple[str, str, str]]:
    for match in _FOUND.finditer(text):
        count, term, where = match.groups()
        yield f"found:{term}:{where}", f'How many matches did the search for "{term}" in {where} find?', count


def _raised(text: str, command: str | None) -> Iterator[tuple[str, str, str]]:
    if command is None:
        return
    for match in _RAISED.finditer(text):
        shown = command.strip().splitlines()[0][:80]
        yield f"raised:{shown}", f"Which exception did the command `{shown}` raise?", match.group(1)


def _defined_on(text: str, _: str | None) -> Iterator[tuple[str, str, str]]:
    file = _FILE.search(text)
    if file is None:
        return
    for match in _DEFINED.finditer(text):
        line, name = match.groups()
        question = f"On which line of {file.group(1)} is {name} defined?"
        yield f"defined:{Path(file.group(1)).name}:{name}", question, line


_ASKERS: tuple[Asker, ...] = (_file_lines, _matches_found, _raised, _defined_on)


def trajectory_from_history(ident: str, history: list[dict[str, Any]]) -> Trajectory:
    """One SWE-agent history as an OpenAI conversation, with its questions and needed facts.

    An action followed by its observation becomes a tool call and its result; an action
    nothing answered (the final ``submit``) stays assistant text, so the conversation is
    valid as a request.
    """
    trajectory = Trajectory(ident)
    messages = trajectory.messages
    pending: int | None = None  # the message whose call the next observation answers

    def settle() -> None:  # a call without an observation is spelled out as text
        if pending is not None:
            message = messages[pending]
            command = json.loads(message.pop("tool_calls")[0]["function"]["arguments"])["command"]
            message["content"] = "\n\n".join(part for part in (message["content"], command) if part)

    for step, entry in enumerate(history):
        role, text = entry["role"], str(entry.get("content") or "")
        if role in ("user", "tool") and pending is not None:
            call_id = messages[pending]["tool_calls"][0]["id"]
            messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
            pending = None
            continue
        settle()
        pending = None
        if role == "assistant" and entry.get("action"):
            action = str(entry["action"])
            name = action.split(maxsplit=1)[0] if action.strip() else "shell"
            messages.append({
                "role": "assistant", "content": str(entry.get("thought") or text) or None,
                "tool_calls": [{"id": f"call_{step}", "type": "function", "function": {
                    "name": name, "arguments": json.dumps({"command": action})}}],
            })  # fmt: skip
            pending = len(messages) - 1
        else:
            messages.append({"role": "user" if role == "tool" else role, "content": text})
    settle()
    _ask(trajectory)
    return trajectory


def _ask(trajectory: Trajectory) -> None:
    """Questions about old tool results, the first per pattern whose answer never changes.

    A subject seen again with another answer (a file re-read after an edit) is not asked,
    nor is a one-character answer, which a reply could hit by chance.
    """
    commands = {
        call["id"]: json.loads(call["function"]["arguments"])["command"]
        for message in trajectory.messages
        for call in message.get("tool_calls") or []
    }  # fmt: skip
    results = [i for i, m in enumerate(trajectory.messages) if m["role"] == "tool" and m.get("tool_call_id")]
    found = [
        (index, asker, subject, question, answer)
        for index in results
        for asker in _ASKERS
        for subject, question, answer in asker(
            trajectory.messages[index]["content"], commands.get(trajectory.messages[index]["tool_call_id"])
        )
    ]  # fmt: skip
    answers: dict[str, set[str]] = {}
    for _, _, subject, _, answer in found:
        answers.setdefault(subject, set()).add(answer)
    old = set(results[: max(len(results) - _LOOK_BACK, 0)])
    asked: set[Asker] = set()
    for index, asker, subject, question, answer in found:
        if index in old and asker not in asked and len(answers[subject]) == 1 and len(answer) > 1:
            asked.add(asker)
            trajectory.questions.append(Question(index, question, answer))
            trajectory.facts.append((index, answer))


def swe_agent_trajectories(folder: Path | None = None) -> list[Trajectory]:
    """Every ``*.traj`` of the data folder's ``swe-agent-trajectories``, by file name.

    Raises:
        ResourceNotFoundError: The folder is missing or holds no trajectory.
    """
    folder = folder or data_dir() / FOLDER
    files = sorted(folder.glob("*.traj")) if folder.is_dir() else []
    if not files:
        raise ResourceNotFoundError(
            f"no SWE-agent trajectories (*.traj) in {folder}; copy the files of {ORIGIN} there, "
            f"or set CONTEXTZIP_DATA_DIR to the folder that holds {FOLDER}/"
        )
    return [
        trajectory_from_history(path.stem, json.loads(path.read_text(encoding="utf-8"))["history"])
        for path in files
    ]
