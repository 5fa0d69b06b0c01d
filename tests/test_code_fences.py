"""Fenced code blocks come out whole or gone, never as two fences with nothing inside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contextzip.compressors.agent import AgentCompressor, sniff_kind
from contextzip.compressors.units import ATOMIC_BLOCK_TOKENS, build_unit_table, fenced_blocks
from contextzip.protocol import get_compressor
from contextzip.tokens import TokenCounter
from contextzip.types import Budget, Segment

ROOT = Path(__file__).resolve().parents[1]

PROSE = " ".join(f"Paragraph sentence {i} explains one more detail of the setup." for i in range(12))
SMALL = "```bash\nmake demo\nmake test\n```"
LARGE = "```python\n" + "\n".join(f"value_{i} = compute({i}, scale={i * 3})" for i in range(80)) + "\n```"
DOC = f"# Setup\n\n{PROSE}\n\n## Quick start\n\n{SMALL}\n\n{PROSE}\n\n## Reference\n\n{LARGE}\n\n{PROSE}\n"


def _assert_no_empty_blocks(text: str) -> None:
    fences = [m.start() for m in re.finditer(r"^```", text, flags=re.M)]
    assert len(fences) % 2 == 0, text
    for start, end in zip(fences[::2], fences[1::2], strict=True):
        assert text[start:end].split("\n", 1)[1].strip(), f"an empty block in:\n{text}"


def test_a_small_block_is_one_sentence_unit_and_a_large_one_is_not():
    counter = TokenCounter()
    table = build_unit_table([Segment(DOC)], [counter.encode(DOC)], "sentence", counter)
    units = {DOC[a:b] for a, b in zip(table.starts.tolist(), table.ends.tolist(), strict=True)}
    assert SMALL in units
    assert counter.count(LARGE) > ATOMIC_BLOCK_TOKENS and LARGE not in units
    assert [DOC[a:b] for a, b in fenced_blocks(DOC)] == [SMALL, LARGE]


@pytest.mark.parametrize("method", ["random", "truncate-middle", "selfinfo"])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.6])
def test_no_compressor_leaves_an_empty_block(method, rate):
    text = get_compressor(method).compress([Segment(DOC)], budget=Budget(rate=rate)).text
    _assert_no_empty_blocks(text)


def test_markdown_is_prose_not_a_log():
    assert sniff_kind((ROOT / "README.md").read_text(encoding="utf-8")) == "text"
    assert sniff_kind(DOC) == "text"
    log = "\n".join(f"2026-12-05 12:00:{i:02d} INFO worker {i} started" for i in range(40))
    assert sniff_kind(log) == "log"
    with_html = '<p align="center"><img src="logo.png"></p>\n<div>\n<b>x</b>\n</div>\n' + DOC
    assert sniff_kind(with_html) == "text"  # a README with a little HTML is still Markdown


@pytest.mark.slow
def test_the_proxy_policy_keeps_the_quick_start_commands_of_the_readme():
    """The user report: through the proxy's policy the README kept its fences but lost the commands."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    question = "Read this README and answer: what are the two quick-start commands?"
    compressor = AgentCompressor(rate=0.3, min_tokens=500, keep_last_turns=0, keep_latest_user=False)
    out = compressor.compress_messages([{"role": "user", "content": f"{question}\n\n{readme}"}])
    text = out.messages[0]["content"]
    assert out.tokens_after < 0.5 * out.tokens_before
    assert "make demo" in text and "make test" in text
    _assert_no_empty_blocks(text)
