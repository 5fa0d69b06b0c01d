"""The contextzip command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ENGLISH, EXAMPLE, ROOT


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "contextzip", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_compress_file_prints_text_to_stdout_and_stats_to_stderr():
    result = run("compress", str(EXAMPLE), "--rate", "0.33")
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout) < len(ENGLISH) * 0.6
    assert "selfinfo:" in result.stderr and "ratio" in result.stderr and "tokens" in result.stderr
    assert result.stdout.strip() not in result.stderr


def test_compress_stdin_json_with_options():
    result = run("compress", "-", "--target-tokens", "50", "-m", "truncate", "-o", "unit=sentence", "--json",
                 stdin=ENGLISH)  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["compressor"] == "truncate"
    assert payload["target_tokens"] == 50
    assert ENGLISH.startswith(payload["text"])


def test_show_marks_dropped_text():
    plain = run("compress", "-", "--rate", "0.5", "--show", stdin="the cat sat on the mat today")
    assert plain.returncode == 0, plain.stderr
    assert "[-" in plain.stdout and "-]" in plain.stdout
    colored = run("compress", "-", "--rate", "0.5", "--show", stdin="the cat sat on the mat today",
                  env={"FORCE_COLOR": "1", "NO_COLOR": ""})  # fmt: skip
    assert "\x1b[2;9m" in colored.stdout


def test_methods_lists_compressors():
    result = run("methods")
    assert result.returncode == 0
    assert "selfinfo-lm" in result.stdout and "truncate-middle" in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("compress", "missing.txt", "--rate", "0.5"), None, "cannot read missing.txt"),
        (("compress", "-", "--rate", "2"), "some text", "rate must be in (0, 1]"),
        (("compress", "-"), "some text", "one of the arguments --rate --target-tokens is required"),
        (("compress", "-", "--rate", "0.5", "-m", "nope"), "some text", "unknown compressor 'nope'"),
        (("compress", "-", "--rate", "0.5", "-o", "oops"), "some text", "is not KEY=VALUE"),
        (("compress", "-", "--rate", "0.5", "-o", "colour=red"), "some text", "valid options"),
        (("compress", "-", "--rate", "abc"), "some text", "invalid float value"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, stdin, message):
    result = run(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_undecodable_input_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "contextzip", "compress", "-", "--rate", "0.5"],
        input=b"\xff\xfe bad bytes",
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"not UTF-8" in result.stderr
