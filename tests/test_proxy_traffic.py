"""Messages through a started proxy to a (fake) llama server: both modes recorded and measured."""

from __future__ import annotations

import json

import pytest

from contextzip.eval.proxy_traffic import PROXY_METHOD, run_proxy_traffic
from contextzip.eval.types import BASELINE_METHOD, QASample

FILLER = " ".join(
    f"Report {i}: the committee met on day {i} and reviewed budget line {i * 7} without a decision."
    for i in range(60)
)


def _sample(n: int) -> QASample:
    message = (
        f"Read these notes and answer: what is the capital of France?\n\n{FILLER}\n"
        f"The capital of France is Paris, the delegates noted on day {n}.\n{FILLER}"
    )
    return QASample(
        f"s{n}", "What is the capital of France?", ("Paris",), (message,), "toy", meta={"shape": "notes"}
    )


@pytest.mark.slow
def test_both_modes_go_through_the_proxy_and_resume(fake_llama, tmp_path, monkeypatch):
    model, requests = fake_llama
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    samples = [_sample(1), _sample(2)]
    results = run_proxy_traffic(samples, out_dir=tmp_path / "out", model=str(model), rate=0.3, progress=False)
    assert [(r.sample_id, r.method, r.dataset) for r in results] == [
        ("s1", BASELINE_METHOD, "toy/notes"), ("s1", PROXY_METHOD, "toy/notes"),
        ("s2", BASELINE_METHOD, "toy/notes"), ("s2", PROXY_METHOD, "toy/notes"),
    ]  # fmt: skip
    off, on = results[0], results[1]
    assert off.tokens_after == off.tokens_before > 1000 and off.rate == 1.0
    assert on.tokens_after < 0.5 * on.tokens_before and on.rate == 0.3
    assert on.compress_seconds > off.compress_seconds >= 0  # off still counts tokens
    assert all(r.prediction == "Paris" and r.accuracy == 1.0 for r in results)
    assert on.identifiers["number"][0] < on.identifiers["number"][1] == off.identifiers["number"][1]
    asked = int(requests.read_text())
    assert asked == 4

    again = run_proxy_traffic(samples, out_dir=tmp_path / "out", model=str(model), rate=0.3, progress=False)
    assert again == results and int(requests.read_text()) == asked  # resumed: nothing sent twice
    lines = (tmp_path / "out" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[1])["reason"] == "agent"
