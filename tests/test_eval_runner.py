"""The evaluation runner and `contextzip eval`, on the committed fixture (no download)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from contextzip import ConfigurationError
from contextzip.eval.datasets import load_dataset
from contextzip.eval.readers import PresenceReader
from contextzip.eval.runner import RESULTS_FILE, load_results, run_eval
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def samples():
    return load_dataset("fixture", limit=12, length=1500)


def run(samples, out, **kwargs):
    options = {"methods": ["truncate", "selfinfo", "random"], "rates": [1.0, 0.5, 0.2]} | kwargs
    return run_eval(samples, reader=PresenceReader(), out_dir=out, progress=False, **options)


def test_nothing_is_lost_when_nothing_is_asked(samples, tmp_path):
    results = run(samples, tmp_path)
    full = [r for r in results if r.rate == 1.0]
    assert len(full) == len(samples) * 4  # the baseline and three methods at rate 1.0
    assert all(r.presence == 1.0 and r.tokens_after == r.tokens_before for r in full)
    compressed = [r for r in results if r.rate == 0.2]
    assert all(abs(r.achieved_rate - 0.2) < 0.05 for r in compressed)
    assert sum(r.presence for r in compressed) < len(compressed)  # 5x compression does lose some answers


def test_results_are_resumed_not_recomputed(samples, tmp_path):
    first = run(samples[:6], tmp_path)
    lines = (tmp_path / RESULTS_FILE).read_text().splitlines()
    again = run(samples[:6], tmp_path)
    assert (tmp_path / RESULTS_FILE).read_text().splitlines() == lines
    assert [r.to_json() for r in again] == [r.to_json() for r in first]
    more = run(samples, tmp_path)  # only the new samples are computed
    assert len((tmp_path / RESULTS_FILE).read_text().splitlines()) == len(more)


def test_a_torn_last_line_is_skipped(samples, tmp_path):
    run(samples[:2], tmp_path, methods=["truncate"], rates=[0.5])
    with open(tmp_path / RESULTS_FILE, "a") as handle:
        handle.write('{"dataset": "squad-mul')
    assert len(load_results(tmp_path / RESULTS_FILE)) == 4
    # the next run starts on a fresh line, so its results stay readable
    run(samples[:3], tmp_path, methods=["truncate"], rates=[0.5])
    assert len(load_results(tmp_path / RESULTS_FILE)) == 6


def test_presence_numbers_are_reproducible(samples, tmp_path):
    a = run(samples, tmp_path / "a")
    b = run(samples, tmp_path / "b")
    assert [(r.method, r.rate, r.presence, r.tokens_after) for r in a] == [
        (r.method, r.rate, r.presence, r.tokens_after) for r in b
    ]


def test_bad_runs_are_rejected(samples, tmp_path):
    with pytest.raises(ConfigurationError, match=r"\(0, 1\]"):
        run(samples, tmp_path, rates=[1.5])
    with pytest.raises(ConfigurationError, match="unknown compressor"):
        run(samples, tmp_path, methods=["nope"])


def test_two_settings_of_one_compressor_run_side_by_side_under_labels(samples, tmp_path):
    both = run(samples, tmp_path / "both", methods=["truncate", "tail=truncate"], rates=[0.2],
               method_options={"tail": {"side": "tail"}})  # fmt: skip
    alone = run(samples, tmp_path / "alone", methods=["truncate"], rates=[0.2],
                method_options={"truncate": {"side": "tail"}}, baseline=False)  # fmt: skip
    assert {r.method for r in both} == {"original", "truncate", "tail"}

    def fields(results, method):
        return [(r.sample_id, r.presence, r.tokens_after) for r in results if r.method == method]

    assert fields(both, "tail") == fields(alone, "truncate")  # the label ran the labelled setting
    assert fields(both, "tail") != fields(both, "truncate")  # and the plain name the default one


@pytest.mark.parametrize(
    ("methods", "message"),
    [(["truncate", "truncate"], "given twice"), (["original=truncate"], "uncompressed baseline"),
     (["a:b=truncate"], "LABEL=COMPRESSOR"), (["=truncate"], "LABEL=COMPRESSOR"),
     (["x=nope"], "unknown compressor")],
)  # fmt: skip
def test_bad_method_labels_are_rejected(methods, message, samples, tmp_path):
    with pytest.raises(ConfigurationError, match=message):
        run(samples[:1], tmp_path, methods=methods)
    assert not (tmp_path / RESULTS_FILE).exists()


def test_cli_eval_writes_table_json_and_plot(tmp_path):
    out = tmp_path / "report"
    command = [sys.executable, "-m", "contextzip", "eval", "--dataset", "fixture",
               "--methods", "random,selfinfo", "--rates", "0.5,0.2", "--reader", "presence",
               "--limit", "10", "--length", "2000", "--out", str(out), "--quiet"]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=300, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    assert "| selfinfo" in result.stdout and "| random" in result.stdout
    for name in ("samples.jsonl", "summary.json", "summary.md", "plot.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    original = [row for row in summary if row["method"] == "original"]
    assert original and original[0]["presence"] == 1.0
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_eval_bad_arguments_are_one_line(tmp_path):
    command = [sys.executable, "-m", "contextzip", "eval", "--dataset", "fixture", "--methods", "selfinfo",
               "--rates", "half", "--out", str(tmp_path)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not a number" in result.stderr


def test_cli_eval_slices_concatenate_to_the_whole_run(tmp_path, capsys):
    from contextzip.cli import main

    def eval_rows(out, *extra):
        args = ["eval", "--dataset", "synthetic", "--methods", "random,truncate", "--rates", "0.2",
                "--limit", "10", "--length", "1000", "--out", str(out), "--quiet", *extra]  # fmt: skip
        assert main(args) == 0
        rows = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
        return {json.dumps({k: v for k, v in row.items() if k != "compress_seconds"}) for row in rows}

    whole = eval_rows(tmp_path / "whole")
    head = eval_rows(tmp_path / "head", "--slice", ":4")
    tail = eval_rows(tmp_path / "tail", "--slice", "4:")
    # synthetic deals samples per task, so --limit 4 would not be the first 4 of --limit 10
    assert head | tail == whole and not head & tail
    assert len(whole) == 10 * 3  # the baseline and two methods


def test_cli_eval_random_sample_is_the_library_one(tmp_path):
    from contextzip.cli import main

    args = ["eval", "--dataset", "fixture", "--methods", "truncate", "--rates", "0.5", "--limit", "5",
            "--length", "1000", "--no-baseline", "--out", str(tmp_path), "--quiet"]  # fmt: skip
    assert main(args) == 0  # --sample random is the default
    rows = [json.loads(line) for line in (tmp_path / RESULTS_FILE).read_text().splitlines()]
    drawn = load_dataset("fixture", limit=5, length=1000, sample="random")
    assert [row["sample_id"] for row in rows] == [s.id for s in drawn]
    first = load_dataset("fixture", limit=5, length=1000, sample="first")
    assert [s.id for s in drawn] != [s.id for s in first]


@pytest.mark.parametrize("bad", ["4", "5:2", "-1:3", "a:b"])
def test_cli_eval_bad_slice_is_one_clear_error(bad, tmp_path, capsys):
    from contextzip.cli import main

    args = ["eval", "--dataset", "fixture", "--methods", "random", f"--slice={bad}", "--out", str(tmp_path)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"--slice {bad!r}" in error and "e.g. --slice 50:100" in error
    assert not (tmp_path / RESULTS_FILE).exists()


@pytest.mark.slow
def test_the_issue_command_runs_offline_on_squad_multidoc(tmp_path):
    command = [sys.executable, "-m", "contextzip", "eval", "--dataset", "squad-multidoc",
               "--methods", "random,selfinfo", "--rates", "0.5,0.2", "--reader", "presence",
               "--limit", "50", "--out", str(tmp_path), "--quiet"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert {row["method"] for row in rows} == {"original", "random", "selfinfo"}
    assert all(row["samples"] == 50 for row in rows)
    assert next(row for row in rows if row["method"] == "original")["presence"] == 1.0
    assert (tmp_path / "plot.png").is_file()


def test_a_compressor_that_fails_open_is_reported(samples, tmp_path, caplog):
    from contextzip.compressors.code import CodeCompressor
    from contextzip.protocol import register_compressor

    class Broken(CodeCompressor):
        def _plan(self, files, query, budget):  # noqa: ANN001, ANN202 - the planner raising at run time
            raise RuntimeError("ranker exploded")

    register_compressor("broken-code", Broken, description="fails open", replace=True)
    code = [type(s)(**{**vars(s), "kind": "code"}) for s in samples[:2]]
    with caplog.at_level("WARNING", logger="contextzip.eval.runner"):
        results = run_eval(code, methods=["broken-code"], rates=[0.5], reader=PresenceReader(),
                           out_dir=tmp_path, progress=False, baseline=False)  # fmt: skip
    assert all(r.achieved_rate == 1.0 for r in results)
    assert "broken-code: 2 of its results left the input unchanged" in caplog.text
    assert "ranker exploded" in caplog.text


class SentenceReader:
    """Answers in a sentence, as small chat models do: right when the context holds the answer."""

    name = "sentence"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = 0

    def read(self, question, context):  # noqa: ANN001, ANN201 - the Reader protocol
        from contextzip.eval.types import ReaderOutput

        self.calls += 1
        answer = self.answers[question]
        return ReaderOutput(
            f"The answer is {answer}, as the text says." if answer in context else "I do not know."
        )


def test_accuracy_credits_an_answer_given_in_a_sentence(samples, tmp_path):
    reader = SentenceReader({s.question: s.answers[0] for s in samples[:4]})
    results = run_eval(samples[:4], methods=["truncate"], rates=[0.05], reader=reader, out_dir=tmp_path,
                       progress=False)  # fmt: skip
    for result in results:
        assert result.accuracy == (1.0 if "The answer is" in result.prediction else 0.0)
        assert result.exact_match == 0.0  # the sentence is not the answer itself
    assert {r.accuracy for r in results if r.method == "original"} == {1.0}
    assert sum(r.accuracy for r in results if r.method == "truncate") < 4  # 20x truncation loses answers


def test_replies_recorded_before_accuracy_get_it_on_resume(samples, tmp_path):
    reader = SentenceReader({s.question: s.answers[0] for s in samples[:3]})
    first = run_eval(samples[:3], methods=[], rates=[], reader=reader, out_dir=tmp_path, progress=False)
    path = tmp_path / RESULTS_FILE
    old = [{k: v for k, v in r.to_json().items() if k != "accuracy"} | {"later": 1} for r in first]
    other = old[2] | {"sample_id": "another-sample"}
    kept = [json.dumps(other) + "\n", "not json\n", json.dumps(old[0]) + "\n"]  # a duplicate too
    path.write_text("".join(json.dumps(row) + "\n" for row in old) + "".join(kept))

    again = run_eval(samples[:3], methods=[], rates=[], reader=reader, out_dir=tmp_path, progress=False)
    assert reader.calls == 3  # nothing was read again
    assert [r.accuracy for r in again] == [r.accuracy for r in first] == [1.0, 1.0, 1.0]
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 6 and lines[3:5] == kept[:2]  # other samples and bad lines are left alone
    rows = [json.loads(line) for line in lines if line != "not json\n"]
    assert [row.get("accuracy") for row in rows] == [1.0, 1.0, 1.0, None, 1.0]
    assert all(row["later"] == 1 for row in rows)  # fields this version does not know survive
    assert [p.name for p in tmp_path.iterdir()] == [RESULTS_FILE]  # no temporary file left behind


def test_cli_eval_slice_is_refused_where_it_does_not_apply(tmp_path, capsys):
    from contextzip.cli import main

    args = [
        "eval",
        "--dataset",
        "agent-trajectories",
        "--methods",
        "agent",
        "--slice",
        "0:2",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 2
    assert "--slice does not apply to agent-trajectories" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
