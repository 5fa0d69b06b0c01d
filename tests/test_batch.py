"""``contextzip batch``: records in order, resumable, deterministic, the same bytes on Ray."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from contextzip.batch import BatchJob, run_batch
from contextzip.errors import ConfigurationError
from tests.conftest import EXAMPLE, ROOT

JOB = BatchJob("selfinfo", rate=0.5, query_field="question")


def write_records(path: Path, count: int = 200) -> list[dict]:
    """``count`` records cut from the example report, with a question and fields of every JSON type."""
    words = EXAMPLE.read_text(encoding="utf-8").split()
    rng = random.Random(0)
    records = []
    for n in range(count):
        size = rng.randint(30, 150)
        start = rng.randint(0, len(words) - size)
        text = " ".join(words[start : start + size])
        records.append(
            {"id": n, "text": text, "question": "Who was on call?", "meta": {"x": [1, 2.5, None, "é"]}}
        )
    lines = [json.dumps(r, ensure_ascii=False) + "\n" + "\n" * (n % 7 == 0) for n, r in enumerate(records)]
    path.write_text("".join(lines), encoding="utf-8")  # a blank line now and then: skipped, not a record
    return records


def test_each_record_comes_back_in_order_with_its_compressed_text(tmp_path: Path) -> None:
    records = write_records(tmp_path / "in.jsonl")
    stats = run_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl", JOB, progress=False)
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert (stats.resumed, stats.compressed) == (0, 200) and len(out) == 200
    for record, result in zip(records, out, strict=True):
        assert {k: result[k] for k in record} == record  # the original fields, untouched
        assert result["tokens_after"] < result["tokens_before"]
        assert result["compressed"] and set(result["compressed"].split()) <= set(record["text"].split())


def test_an_interrupted_run_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    write_records(tmp_path / "in.jsonl")
    run_batch(tmp_path / "in.jsonl", tmp_path / "full.jsonl", JOB, progress=False)
    full = (tmp_path / "full.jsonl").read_bytes()
    lines = full.splitlines(keepends=True)
    (tmp_path / "part.jsonl").write_bytes(b"".join(lines[:73]) + lines[73][:40])  # killed mid-line
    stats = run_batch(tmp_path / "in.jsonl", tmp_path / "part.jsonl", JOB, progress=False)
    assert (stats.resumed, stats.compressed) == (73, 127)
    assert (tmp_path / "part.jsonl").read_bytes() == full
    again = run_batch(tmp_path / "in.jsonl", tmp_path / "part.jsonl", JOB, progress=False)
    assert again.compressed == 0 and (tmp_path / "part.jsonl").read_bytes() == full


@pytest.mark.parametrize(
    ("line", "job", "message"),
    [
        ('{"body": "x"}', JOB, "no string field 'text' in a record (its fields: body)"),
        ("[1, 2]", JOB, "each line must be a JSON object"),
        ("{oops", JOB, "not a JSON line"),
        ('{"text": "x", "question": 3}', JOB, "field 'question' must be a string"),
    ],
)
def test_bad_records_stop_the_run_with_the_fix(
    tmp_path: Path, line: str, job: BatchJob, message: str
) -> None:
    (tmp_path / "in.jsonl").write_text(line + "\n")
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl", job, progress=False)


def test_bad_jobs_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="output field must differ"):
        BatchJob("selfinfo", rate=0.5, output_field="text")
    with pytest.raises(ConfigurationError, match="rate"):
        BatchJob("selfinfo", rate=3)


def test_the_command_line_reports_and_resumes(tmp_path: Path) -> None:
    write_records(tmp_path / "in.jsonl", 20)
    files = [str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl")]
    options = ["-m", "selfinfo", "--rate", "0.4", "--query-field", "question", "--quiet"]
    command = [sys.executable, "-m", "contextzip", "batch", *files, *options]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("selfinfo: 20 records compressed (0 already done)")
    second = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "0 records compressed (20 already done)" in second.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 20


@pytest.mark.slow
def test_ray_writes_the_bytes_the_local_engine_writes(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    write_records(tmp_path / "in.jsonl")
    run_batch(tmp_path / "in.jsonl", tmp_path / "local.jsonl", JOB, progress=False)
    stats = run_batch(
        tmp_path / "in.jsonl", tmp_path / "ray.jsonl", JOB, engine="ray", workers=2, progress=False
    )
    assert stats.compressed == 200
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
