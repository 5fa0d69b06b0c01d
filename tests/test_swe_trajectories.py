"""Real SWE-agent runs as OpenAI conversations, with questions about their old observations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contextzip.errors import ResourceNotFoundError
from contextzip.eval.agent_bench import message_text
from contextzip.eval.swe_trajectories import FOLDER, swe_agent_trajectories, trajectory_from_history
from contextzip.messages import check_conversation

VIEW = "[File: /repo/app.py (120 lines total)]\n10:import os\n41:def handler(event):\n42:    return event\n"
EDITED = "[File: /repo/app.py (125 lines total)]\n41:def handler(event):\n"
TRACE = (
    "Traceback (most recent call last):\n  File \"run.py\", line 3, in <module>\n    go()\nKeyError: 'x'\n"
)


def step(action: str, observation: str) -> list[dict[str, str]]:
    return [
        {
            "role": "assistant",
            "content": f"Let me run {action}.",
            "thought": f"Let me run {action}.",
            "action": action,
        },
        {"role": "user", "content": observation},
    ]


def history(*steps: list[dict[str, str]]) -> list[dict[str, str]]:
    start = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": "Fix the bug."}]
    return start + [message for pair in steps for message in pair]


def test_each_action_becomes_a_tool_call_answered_by_its_observation() -> None:
    submit = {"role": "assistant", "content": "Done.", "thought": "Done.", "action": "submit"}
    trajectory = trajectory_from_history(
        "t", [*history(step("open app.py", VIEW), step("ls", "a\nb")), submit]
    )
    roles = [m["role"] for m in trajectory.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    # the final action nothing answered is spelled out as text, so the request is valid
    assert trajectory.messages[-1] == {"role": "assistant", "content": "Done.\n\nsubmit"}
    check_conversation(trajectory.messages, "openai")
    call = trajectory.messages[2]["tool_calls"][0]
    assert call["function"]["name"] == "open"
    assert json.loads(call["function"]["arguments"]) == {"command": "open app.py"}
    assert trajectory.messages[3]["tool_call_id"] == call["id"]
    assert message_text(trajectory.messages[3]) == VIEW  # observations pass through byte for byte


def test_questions_come_from_old_results_and_skip_answers_that_change_later() -> None:
    steps = [step("open app.py", VIEW), step("python run.py", TRACE), step("ls", "x"), step("ls", "y")]
    trajectory = trajectory_from_history("t", history(*steps))
    asked = {q.question: (q.answer, q.message) for q in trajectory.questions}
    assert asked == {
        "How many lines does the file /repo/app.py have in total?": ("120", 3),
        "On which line of /repo/app.py is handler defined?": ("41", 3),
        "Which exception did the command `python run.py` raise?": ("KeyError", 5),
    }
    for question in trajectory.questions:  # every answer stands in the result it is asked about
        assert question.answer in message_text(trajectory.messages[question.message])
    # the same file re-read after an edit with another length: its length is no longer asked
    edited = trajectory_from_history(
        "t", history(step("open app.py", VIEW), step("edit", EDITED), *steps[2:])
    )
    assert [q.question for q in edited.questions] == ["On which line of /repo/app.py is handler defined?"]
    # the last two results are too recent to be looked back for
    recent = trajectory_from_history(
        "t", history(step("ls", "x"), step("open app.py", VIEW), step("ls", "y"))
    )
    assert recent.questions == []


def test_a_missing_folder_says_where_the_files_go(tmp_path: Path) -> None:
    with pytest.raises(ResourceNotFoundError, match="SWE-agent"):
        swe_agent_trajectories(tmp_path)


@pytest.mark.skipif(
    not (Path(os.environ.get("CONTEXTZIP_DATA_DIR", "/nonexistent")) / FOLDER).is_dir(),
    reason="the SWE-agent trajectories are not in the data folder",
)
def test_the_real_runs_load_and_ask_about_what_their_observations_hold() -> None:
    trajectories = swe_agent_trajectories()
    assert len(trajectories) == 22
    asked = [t for t in trajectories if t.questions]
    assert len(asked) >= 12
    for trajectory in trajectories:
        check_conversation(trajectory.messages, "openai")
    for trajectory in asked:
        calls = {c["id"] for m in trajectory.messages for c in m.get("tool_calls") or []}
        results = [m for m in trajectory.messages if m["role"] == "tool" and m.get("tool_call_id")]
        assert results and {m["tool_call_id"] for m in results} <= calls
        for question in trajectory.questions:
            assert question.answer in message_text(trajectory.messages[question.message])
