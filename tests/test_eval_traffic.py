"""proxy-traffic: whole user messages of five shapes from real files, each answer in its message."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest

from contextzip.errors import ConfigurationError
from contextzip.eval.datasets import load_dataset
from contextzip.eval.traffic import (
    ENCODING,
    MAX_TOKENS,
    MIN_TOKENS,
    SHAPES,
    cut,
    shapes_of,
    traffic_samples,
)
from contextzip.eval.traffic_found import Found, blank_line_cuts
from contextzip.eval.traffic_packages import markdown_cuts
from contextzip.eval.traffic_python import defaults
from contextzip.tokens import TokenCounter

_FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)", re.M)


@pytest.fixture(scope="module")
def samples():
    return traffic_samples()


def _parts(sample):
    first, blank, document = sample.documents[0].partition("\n\n")
    return first, blank, document


def test_at_least_forty_samples_eight_of_every_shape(samples):
    counts = shapes_of(samples)
    assert sum(counts.values()) >= 40
    assert list(counts) == list(SHAPES)  # shape by shape, in order
    assert min(counts.values()) >= 8, counts
    assert len({s.id for s in samples}) == len(samples)
    assert all(s.id.startswith(f"traffic-{s.meta['shape']}-") for s in samples)
    assert {(s.dataset, s.kind) for s in samples} == {("proxy-traffic", "text")}


def test_each_message_asks_first_then_holds_a_sized_document_with_the_answer(samples):
    counter = TokenCounter(ENCODING)
    for sample in samples:
        first, blank, document = _parts(sample)
        assert blank and "\n" not in first and sample.question in first, sample.id
        assert first.startswith("Read this ") and first.endswith(sample.question), sample.id
        assert sample.answers and all(answer in document for answer in sample.answers), sample.id
        tokens = counter.count(document)
        assert MIN_TOKENS <= tokens <= MAX_TOKENS and sample.meta["tokens"] == tokens, sample.id
        assert re.search(r"\d+\.\d+", sample.meta["source"]), sample.meta  # a version


def test_readme_answers_sit_inside_code_fences_and_nowhere_else(samples):
    readmes = [s for s in samples if s.meta["shape"] == "readme"]
    for sample in readmes:
        document = _parts(sample)[2]
        assert len(_FENCE_LINE.findall(document)) % 2 == 0, sample.id  # no block cut open
        at = document.index(sample.answers[0])
        assert len(_FENCE_LINE.findall(document[:at])) % 2 == 1, sample.id  # inside an open block
        # keeping the fences but dropping what is between them loses the answer
        emptied = re.sub(r"^ {0,3}```[^\n]*\n.*?^ {0,3}```", "```\n```", document, flags=re.M | re.S)
        assert sample.answers[0] not in emptied, sample.id
        heading = re.search(r'heading "(.+)"', sample.question)
        assert heading is None or heading.group(1) in document[:at], sample.id
    assert sum("pip install" not in s.answers[0] for s in readmes) >= len(readmes) * 3 // 4  # code first


def test_source_and_html_answers_are_the_named_defaults(samples):
    for sample in samples:
        document = _parts(sample)[2]
        asked = re.match(r"What is the default value of the `(\w+)` parameter of `(\w+)`", sample.question)
        if sample.meta["shape"] not in ("source", "html") or asked is None:
            continue
        parameter, function = asked.groups()
        assert re.search(rf"\b(def|class) {function}\b|<strong>{function}</strong>|#{function}\"", document)
        value = re.escape(sample.answers[0])
        shown = rf"\b{parameter}\s*(?::[^=\n]*)?=\s*(?:'|&#x27;)?{value}(?!\w)"
        assert re.search(shown, document), sample.id


def test_the_same_samples_in_this_and_a_fresh_process(samples):
    again = traffic_samples()
    assert again == samples and [s.meta for s in again] == [s.meta for s in samples]
    digest = hashlib.sha1("".join(s.id + s.documents[0] for s in samples).encode()).hexdigest()
    script = (
        "import hashlib; from contextzip.eval.traffic import traffic_samples; s = traffic_samples(); "
        "print(hashlib.sha1(''.join(x.id + x.documents[0] for x in s).encode()).hexdigest())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == digest, done.stderr[-2000:]  # no addresses, timings or hash order


def test_limit_draws_with_the_seed_and_load_dataset_draws_the_same(samples):
    drawn = traffic_samples(limit=5, seed=3)
    assert len(drawn) == 5 and drawn != samples[:5]
    positions = [samples.index(s) for s in drawn]
    assert positions == sorted(positions)
    assert traffic_samples(limit=5, sample="first") == samples[:5]
    assert load_dataset("proxy-traffic", limit=5, seed=3) == drawn
    assert traffic_samples(limit=len(samples) + 10, seed=3) == samples


@pytest.mark.parametrize("options", [{"limit": 0}, {"sample": "last"}])
def test_bad_options_are_rejected_with_the_valid_ones(options):
    with pytest.raises(ConfigurationError, match="first, random|>= 1"):
        traffic_samples(**options)


def test_cut_keeps_the_lines_asked_for_and_starts_at_a_block_outside_fences():
    counter = TokenCounter(ENCODING)
    blocks = [f"## Part {i}\n\nSome words about part {i}, and more words.\n" for i in range(30)]
    blocks[20] = "## Usage\n\n```python\nimport alpha\n\nalpha.run(beta=17)\n```\n"
    text = "\n".join(blocks)
    lines = text.splitlines(keepends=True)
    heading = lines.index("## Usage\n")
    answer = lines.index("alpha.run(beta=17)\n")
    found = Found("?", ("alpha.run(beta=17)",), text, "toy 1.0", (heading, answer), markdown_cuts)
    document = cut(found, counter, min_tokens=40, max_tokens=120)
    assert document is not None and "## Usage" in document and "alpha.run(beta=17)" in document
    assert document.startswith("## Part") and counter.count(document) <= 120
    assert document.count("```") == 2
    assert document.index("## Usage") > len(document) // 3  # more kept before than after
    assert cut(found, counter, min_tokens=40, max_tokens=10) is None  # the kept lines alone are too long
    assert cut(found, counter, min_tokens=10_000, max_tokens=20_000) is None  # too short a document


def test_blank_line_cuts_and_defaults_worth_asking():
    assert blank_line_cuts(["a\n", "\n", "b\n", "c\n", "\n", "\n", "d\n"]) == [2, 6]
    source = (
        "def connect(host, port=8080, *, mode='fast', retries=1, strict=True, hook=None):\n    pass\n\n"
        "class Pool:\n    def __init__(self, size=32, scale=0.75, name='default-pool'):\n        pass\n\n"
        "def twice(x=5): pass\n\ndef twice(x=6): pass\n"
    )
    found = [(d.name, d.parameter, d.written) for d in defaults(source)]
    assert found == [
        ("connect", "port", "8080"),
        ("connect", "mode", "fast"),
        ("Pool", "size", "32"),
        ("Pool", "scale", "0.75"),
        ("Pool", "name", "default-pool"),
    ]
