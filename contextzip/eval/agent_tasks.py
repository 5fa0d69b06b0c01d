"""``agent-trajectories``: agent conversations replayed from real tools over real data.

Each trajectory is an OpenAI-shape conversation a coding or research agent could have had:
a task, a plan written by the assistant, tool calls, and their results — produced by
running the tools for real on this machine (shell commands over the Python standard
library's source tree: ``ls``, ``grep``, ``cat``, ``wc``, a ``unittest`` run; package
metadata as JSON; ``pydoc`` HTML pages; ``sysconfig`` as JSON). Each trajectory marks the
**needed facts**: strings of a tool result that a later step of the plan uses (a line
number, a signature, a version, an error message). They are found in the real output by
pattern, never written by hand, so the benchmark follows the machine's Python version.

A compressor is judged on the needed facts still in their tool result after compression
(:mod:`contextzip.eval.agent_bench`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from contextzip.errors import ConfigurationError

__all__ = ["Question", "Trajectory", "agent_trajectories"]

SYSTEM = (
    "You are a careful software agent. Work in small steps, call one tool at a time, "
    "and keep your plan up to date. Tools: shell(cmd), read_file(path), package_info(name), "
    "docs_page(module), config_vars()."
)
_MAX_OUTPUT = 60_000  # characters of a tool result, as agent harnesses cap them


@dataclass
class Trajectory:
    """One replayed conversation and the facts its later steps need.

    Attributes:
        id: A stable name.
        messages: OpenAI chat messages (system, task, assistant turns with tool calls, results).
        facts: ``(message index of a tool result, fact)`` pairs: the fact is in that result
            and a later plan step needs it.
        questions: Questions about facts with a short answer (a line number, a version, a
            name), for a reader asked after the history was compressed.
    """

    id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    facts: list[tuple[int, str]] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


class Question(NamedTuple):
    """A question whose answer sits in the tool result at index ``message`` of the conversation."""

    message: int
    question: str
    answer: str


class _Recorder:
    """Builds a trajectory by running each tool call for real."""

    def __init__(self, ident: str, root: Path, task: str) -> None:
        self.root = root
        self.trajectory = Trajectory(ident)
        self.trajectory.messages += [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}]
        self._calls = 0

    def call(self, text: str | None, tool: str, **arguments: Any) -> str:
        """An assistant turn with ``text`` and one tool call; the tool runs; returns its output."""
        self._calls += 1
        call_id = f"call_{self.trajectory.id}_{self._calls}"
        self.trajectory.messages.append(
            {
                "role": "assistant",
                "content": text,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": tool, "arguments": json.dumps(arguments)},
                    }
                ],
            }
        )
        output = _TOOLS[tool](self.root, **arguments)[:_MAX_OUTPUT]
        self.trajectory.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        return output

    def need(self, pattern: str, *, group: int = 0, ask: str | None = None, answer: int = 1) -> str:
        """Mark the first match of ``pattern`` in the latest tool result as a needed fact.

        With ``ask``, the fact also gets a question, answered by the match's group ``answer``.
        """
        index = len(self.trajectory.messages) - 1
        match = re.search(pattern, self.trajectory.messages[index]["content"], re.M)
        if match is None:
            raise ConfigurationError(f"{self.trajectory.id}: no {pattern!r} in the output of message {index}")
        fact = match.group(group).strip()
        self.trajectory.facts.append((index, fact))
        if ask is not None:
            self.trajectory.questions.append(Question(index, ask, match.group(answer).strip()))
        return fact

    def say(self, role: str, text: str) -> None:
        self.trajectory.messages.append({"role": role, "content": text})


# -- the tools ------------------------------------------------------------------------------


def _shell(root: Path, cmd: str) -> str:
    done = subprocess.run(
        ["bash", "-c", cmd], cwd=root, capture_output=True, text=True, timeout=300,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LC_ALL": "C", "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    return done.stdout + done.stderr


def _read_file(root: Path, path: str) -> str:
    return (root / path).read_text(encoding="utf-8")


def _package_info(root: Path, name: str) -> str:
    from importlib import metadata

    dist = metadata.distribution(name)
    meta = dist.metadata
    files = sorted(dist.files or [], key=str)
    record = {
        "name": meta["Name"],
        "version": dist.version,
        "summary": meta["Summary"],
        "license": meta["License-Expression"] or meta["License"],
        "requires_python": meta["Requires-Python"],
        "requires_dist": sorted(dist.requires or []),
        "entry_points": sorted(f"{e.group}:{e.name}={e.value}" for e in dist.entry_points),
        "files": [
            {"path": str(f), "size": f.size, "hash": f.hash.value if f.hash else None} for f in files[:400]
        ],
    }
    return json.dumps(record, indent=2)


def _docs_page(root: Path, module: str) -> str:
    import importlib
    import pydoc

    target = importlib.import_module(module)
    return pydoc.html.page(pydoc.describe(target), pydoc.html.document(target, module))


def _config_vars(root: Path) -> str:
    values = sysconfig.get_config_vars()
    return json.dumps({k: values[k] for k in sorted(values)}, indent=1, default=str)


_TOOLS: dict[str, Callable[..., str]] = {
    "shell": _shell,
    "read_file": _read_file,
    "package_info": _package_info,
    "docs_page": _docs_page,
    "config_vars": _config_vars,
}


# -- the trajectories -------------------------------------------------------------------------


def _json_decoder(root: Path) -> Trajectory:
    task = (
        "Where does the json package raise JSONDecodeError for an unterminated "
        "string? Give file and line, the base class, and confirm the json tests pass."
    )
    r = _Recorder("json-decoder", root, task)
    plan = (
        "Plan:\n1. List the json package and its size.\n2. Grep the standard library for JSONDecodeError.\n"
        "3. Read decoder.py where unterminated strings are scanned.\n"
        "4. Grep scanner.py for the C accelerator hook.\n"
        "5. Run the json tests.\n6. Report file, line and base class."
    )
    r.call(plan, "shell", cmd="ls -la json && wc -l json/*.py")
    r.need(r"^\s*(\d+) json/decoder\.py$", ask="How many lines does json/decoder.py have?")
    r.call(
        "Step 1 done. decoder.py is the biggest module.",
        "shell",
        cmd="grep -rn JSONDecodeError --include=*.py .",
    )
    r.need(
        r"^\./json/decoder\.py:(\d+):class JSONDecodeError\(ValueError\):",
        ask="On which line of json/decoder.py is the class JSONDecodeError defined?",
    )
    r.call("Step 2 done: the class is in json/decoder.py.", "read_file", path="json/decoder.py")
    r.need(r'^.*"Unterminated string starting at".*$')
    r.need(r"^def py_scanstring\(.*$")
    r.call("Step 3 done.", "shell", cmd="grep -n 'c_make_scanner\\|make_scanner' json/*.py")
    r.need(
        r"^json/scanner\.py:(\d+):make_scanner = c_make_scanner or py_make_scanner",
        ask="On which line of json/scanner.py is make_scanner assigned?",
    )
    r.call("Step 4 done.", "shell", cmd="python -m unittest -v test.test_json 2>&1 | tail -n 400")
    r.need(r"^Ran (\d+) tests in", ask="How many tests did the json test run report?")
    r.say("assistant", "Step 5 done. All six steps but the report are finished.")
    r.say("user", "Write the report now: file, line, base class, and whether the tests passed.")
    return r.trajectory


def _email_dates(root: Path) -> Trajectory:
    task = (
        "How does the email package parse RFC 2822 dates? Find the parsing "
        "function, its return value, and which public helper in email.utils wraps it."
    )
    r = _Recorder("email-dates", root, task)
    plan = (
        "- [ ] Find every def in the email package that mentions dates\n- [ ] Read _parseaddr.py\n"
        "- [ ] Read the email.utils docs page\n- [ ] Count the lines of the email modules\n"
        "- [ ] Summarize the call chain"
    )
    r.call(plan, "shell", cmd="grep -rn 'def ' email/ --include=*.py")
    r.need(
        r"^email/_parseaddr\.py:(\d+):def parsedate_tz\(data\):",
        ask="On which line of email/_parseaddr.py is parsedate_tz defined?",
    )
    r.need(
        r"^email/utils\.py:(\d+):def parsedate_to_datetime\(data\):",
        ask="On which line of email/utils.py is parsedate_to_datetime defined?",
    )
    r.call("- [x] grep done; parsedate_tz lives in _parseaddr.py.", "read_file", path="email/_parseaddr.py")
    r.need(r"^\s*Returns a 10-tuple.*$|^\s*\"\"\"Convert date to extended time tuple\..*$")
    r.need(r"^def mktime_tz\(data\):")
    r.call("- [x] read _parseaddr.py", "docs_page", module="email.utils")
    r.need(r"format_datetime</strong></a>\(dt, usegmt=False\)|format_datetime\(dt, usegmt=False\)")
    r.call("- [x] read the docs", "shell", cmd="wc -l email/*.py | sort -n")
    r.need(
        r"^\s*(\d+) email/_header_value_parser\.py$",
        ask="How many lines does email/_header_value_parser.py have?",
    )
    r.say("assistant", "- [x] counted. Only the summary is left.")
    r.say("user", "Summarize the call chain with the function names and the biggest module.")
    return r.trajectory


def _package_audit(root: Path) -> Trajectory:
    task = (
        "Audit the installed numpy and tiktoken packages: versions, what they "
        "require, and whether tiktoken ships its own encodings file list."
    )
    r = _Recorder("package-audit", root, task)
    plan = (
        "Plan:\n1. Get numpy's package info.\n2. Get tiktoken's package info.\n3. Check the Python build "
        "config (compiler and SOABI).\n4. Write the audit with versions, requirements and the SOABI."
    )
    r.call(plan, "package_info", name="numpy")
    r.need(r'^\s*"version": "([^"]+)"', ask="Which version of numpy is installed?")
    r.need(r'^\s*"requires_python": "[^"]+"')
    r.call("numpy done.", "package_info", name="tiktoken")
    r.need(r'^\s*"version": "([^"]+)"', ask="Which version of tiktoken is installed?")
    r.need(r'"regex[^"]*"')
    r.call("tiktoken done; step 3 next.", "config_vars")
    r.need(r'^\s*"SOABI": "([^"]+)"', ask="What is the SOABI of this Python build?")
    r.need(r'^\s*"CC": "[^"]+"')
    r.say("assistant", "Steps 1 to 3 done.")
    r.say("user", "Write the audit.")
    return r.trajectory


def _textwrap_docs(root: Path) -> Trajectory:
    task = (
        "Explain how textwrap.shorten decides where to cut, with the default "
        "placeholder, and find the tests that cover it."
    )
    r = _Recorder("textwrap-docs", root, task)
    plan = (
        "Plan:\n1. Read the textwrap docs page.\n2. Read textwrap.py.\n3. Find the shorten tests.\n"
        "4. Run them.\n5. Explain with the placeholder and test names."
    )
    r.call(plan, "docs_page", module="textwrap")
    r.need(r"shorten</strong></a>\(text, width, \*\*kwargs\)|shorten\(text, width, \*\*kwargs\)")
    r.call("Step 1 done.", "read_file", path="textwrap.py")
    r.need(r"placeholder=' \[\.\.\.\]'")
    r.need(r"^\s*def _fix_sentence_endings\(self, chunks\):")
    r.call("Step 2 done.", "shell", cmd="grep -n 'def test' test/test_textwrap.py")
    r.need(
        r"^(\d+):\s*def test_first_word_too_long_but_placeholder_fits\(self\):",
        ask="On which line of test/test_textwrap.py is test_first_word_too_long_but_placeholder_fits "
        "defined?",
    )
    r.call("Step 3 done.", "shell", cmd="python -m unittest -v test.test_textwrap 2>&1")
    r.need(r"^Ran (\d+) tests in", ask="How many tests did the textwrap test run report?")
    r.say("assistant", "Step 4 done.")
    r.say("user", "Explain it now.")
    return r.trajectory


def _logging_config(root: Path) -> Trajectory:
    task = (
        "Which handler classes does logging.config know by default, and "
        "what does dictConfig do with an unknown 'version'? Cite lines."
    )
    r = _Recorder("logging-config", root, task)
    plan = (
        "TODO: grep logging for handler classes\nTODO: read logging/config.py\n"
        "TODO: grep for the version check\nTODO: answer with line numbers"
    )
    r.call(plan, "shell", cmd="grep -rn 'class .*Handler' logging/")
    r.need(
        r"^logging/handlers\.py:(\d+):class RotatingFileHandler\(BaseRotatingHandler\):",
        ask="On which line of logging/handlers.py is the class RotatingFileHandler defined?",
    )
    r.call("Handlers found.", "read_file", path="logging/config.py")
    r.need(r"^.*Unsupported version: %s.*$")
    r.call("config.py read.", "shell", cmd="grep -n 'version' logging/config.py")
    r.need(
        r"^(\d+):(?:\s*if config\['version'\] != 1:|.*version.*!= 1.*)$",
        ask="On which line of logging/config.py is the configuration's version compared with 1?",
    )
    r.say("assistant", "All TODOs but the answer are done.")
    r.say("user", "Answer with the line numbers.")
    return r.trajectory


TRAJECTORIES: tuple[Callable[[Path], Trajectory], ...] = (
    _json_decoder,
    _email_dates,
    _package_audit,
    _textwrap_docs,
    _logging_config,
)


def agent_trajectories(root: Path | None = None, *, recorded: Path | None = None) -> list[Trajectory]:
    """Run the tools and return every trajectory (a few seconds: the test runs are real).

    Tool output changes from run to run (a test run's timing, a package's version), so a reader's
    cached answers would not match a second replay. With ``recorded``, the trajectories are read
    from that JSON file when it exists and written to it when it does not: a long evaluation can
    stop and go on with the same conversations (delete the file to replay the tools again).
    """
    if recorded is not None and recorded.is_file():
        return _read_trajectories(recorded)
    base = root or Path(sysconfig.get_paths()["stdlib"])
    trajectories = [build(base) for build in TRAJECTORIES]
    if recorded is not None:
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.write_text(json.dumps([asdict(t) for t in trajectories], indent=1) + "\n", encoding="utf-8")
    return trajectories


def _read_trajectories(path: Path) -> list[Trajectory]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [
            Trajectory(
                t["id"], t["messages"], [(i, fact) for i, fact in t["facts"]],
                [Question(*q) for q in t["questions"]],
            )
            for t in raw
        ]  # fmt: skip
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(
            f"{path} does not hold recorded trajectories ({error}); delete it to replay the tools again"
        ) from error
