"""Structure-keeping reducers for tool output: JSON stays valid, logs keep their errors."""

from __future__ import annotations

import importlib.metadata
import json
import json.decoder
from pathlib import Path

from contextzip.compressors.reducers import (
    DROPPED_KEY,
    lexical_relevance,
    log_template,
    reduce_json,
    reduce_log,
)
from contextzip.tokens import count_tokens


def installed_packages_json() -> str:
    """A real tool output: this environment's packages and their metadata, as `pip inspect` would give."""
    rows = []
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        meta = dist.metadata
        rows.append({"name": meta["Name"], "version": dist.version, "summary": meta.get("Summary") or "",
                     "requires": sorted(dist.requires or [])[:5]})  # fmt: skip
    return json.dumps({"environment": "test", "packages": rows}, indent=2)


def test_json_stays_valid_fits_and_keeps_what_is_asked_for() -> None:
    text = installed_packages_json()
    budget = count_tokens(text) // 6
    reduced = reduce_json(
        text, budget=budget, relevance=lexical_relevance("which version of numpy is installed")
    )
    data = json.loads(reduced)  # valid JSON
    assert count_tokens(reduced) <= budget
    names = [p.get("name") for p in data["packages"] if isinstance(p, dict)]
    assert "numpy" in names
    assert any(isinstance(p, str) and p.endswith("more items") for p in data["packages"])  # says how many
    assert reduced.startswith("{\n  ")  # the original's two-space layout
    # same input, same bytes
    assert reduced == reduce_json(
        text, budget=budget, relevance=lexical_relevance("which version of numpy is installed")
    )


def test_json_uses_its_budget_at_every_size() -> None:
    records = [
        {"id": i, "user": f"user{i}", "note": "x" * (i % 9), "tags": ["a"] * (i % 3)} for i in range(120)
    ]
    text = json.dumps({"records": records})
    relevance = lexical_relevance("which note has user77")
    largest = max(count_tokens(json.dumps(r)) for r in records)
    sizes = []
    for budget in range(60, count_tokens(text) + 40, 97):
        reduced = reduce_json(text, budget=budget, relevance=relevance)
        json.loads(reduced)
        used = count_tokens(reduced)
        assert used <= budget or budget >= count_tokens(text)
        # what was dropped was needed: one more record would not have fitted
        assert budget - used <= largest + 12 or reduced == text
        sizes.append(used)
    assert sizes == sorted(sizes)  # a larger budget never keeps less


def test_json_keep_strings_survive_and_dropped_members_are_counted() -> None:
    doc = json.dumps(
        {"id": "req-7f3a", "status": "failed", "detail": {"a": 1, "b": 2, "c": 3}, "trace": list(range(40))}
    )
    reduced = json.loads(reduce_json(doc, budget=20, keep=["req-7f3a"]))
    assert reduced["id"] == "req-7f3a" and reduced[DROPPED_KEY] >= 1


def test_logs_collapse_templates_and_keep_errors() -> None:
    lines = [f"2026-11-24 10:00:{i:02d} INFO GET /api/item/{i} 200 {3 + i % 5}ms" for i in range(60)]
    lines.insert(30, "2026-11-24 10:00:30 ERROR payment service timeout for order 9912")
    lines += [f"2026-11-24 10:01:{i:02d} INFO cache refresh shard {i}" for i in range(30)]
    text = "\n".join(lines)
    reduced = reduce_log(text, budget=count_tokens(text) // 8)
    assert "ERROR payment service timeout for order 9912" in reduced
    assert "similar lines" in reduced or "lines" in reduced
    assert count_tokens(reduced) <= count_tokens(text) // 8 + 10
    assert log_template(lines[0]) == log_template(lines[1])


def pydoc_page(module: str) -> str:
    """A real HTML page: pydoc's documentation of a standard-library module."""
    import importlib
    import pydoc

    target = importlib.import_module(module)
    return pydoc.html.page(pydoc.describe(target), pydoc.html.document(target, module))


def test_html_becomes_its_block_tree_and_keeps_the_relevant_section() -> None:
    from contextzip.compressors.reducers import html_blocks, reduce_html

    page = pydoc_page("textwrap")
    blocks = html_blocks(page)
    assert blocks and all("<td" not in text and "<a " not in text for _, _, text in blocks)  # markup gone
    reduced = reduce_html(page, budget=300, relevance=lexical_relevance("shorten text width placeholder"))
    assert count_tokens(reduced) <= 300 * 1.05
    assert "shorten(text, width, **kwargs)" in reduced
    assert "… " in reduced  # dropped runs say so
    assert reduce_html(page, budget=300, relevance=lexical_relevance("shorten")) == reduce_html(
        page, budget=300, relevance=lexical_relevance("shorten")
    )


def test_outline_keeps_the_chain_above_a_kept_line() -> None:
    from contextzip.compressors.reducers import reduce_outline

    tree = "\n".join(
        ["RootWebArea 'Shop'"]
        + [f"  region 'Ad {i}'\n    StaticText 'Buy now, offer {i}'" for i in range(40)]
        + ["  main", "    form 'Checkout'", "      textbox 'Card number'", "      button 'Pay now'"]
    )
    reduced = reduce_outline(tree, budget=60, relevance=lexical_relevance("enter the card number and pay"))
    lines = reduced.splitlines()
    assert "      textbox 'Card number'" in lines
    assert (
        lines.index("  main")
        < lines.index("    form 'Checkout'")
        < lines.index("      textbox 'Card number'")
    )
    assert count_tokens(reduced) <= 60 * 1.05


def test_a_real_test_run_log_keeps_its_failure(tmp_path) -> None:
    import subprocess
    import sys

    cases = "\n".join(
        f"    def test_case_{i:03d}(self):\n        self.assertEqual({i} * 2, {2 * i})\n" for i in range(150)
    )
    broken = "    def test_rounding(self):\n        self.assertEqual(round(2.675, 2), 2.68)\n"
    (tmp_path / "test_numbers.py").write_text(
        f"import unittest\n\n\nclass Numbers(unittest.TestCase):\n{cases}{broken}", encoding="utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_numbers"], cwd=tmp_path, capture_output=True, text=True
    )
    log = run.stderr
    assert run.returncode == 1 and "FAIL: test_rounding" in log
    budget = count_tokens(log) // 10
    reduced = reduce_log(log, budget=budget, relevance=lexical_relevance("why does the rounding test fail"))
    assert "FAIL: test_rounding (test_numbers.Numbers" in reduced
    assert "AssertionError: 2.67 != 2.68" in reduced
    assert "similar lines" in reduced  # the 150 passing cases collapsed to their ends and a count
    assert count_tokens(reduced) <= budget * 1.1


def test_a_traceback_s_exception_line_is_kept_in_a_long_log():
    from contextzip.compressors.reducers import lexical_relevance, reduce_log
    from contextzip.tokens import TokenCounter

    lines = [f"import time: {100 + i:>6} | {200 + i:>8} | module_{i}" for i in range(300)]
    lines += ["Traceback (most recent call last):", '  File "<string>", line 2, in <module>',
              "json.decoder.JSONDecodeError: Expecting property name: line 1 column 9 (char 8)"]  # fmt: skip
    text = "\n".join(lines)
    reduced = reduce_log(text, budget=200, relevance=lexical_relevance("which module took longest"),
                         keep=[], counter=TokenCounter())  # fmt: skip
    assert "json.decoder.JSONDecodeError: Expecting property name" in reduced


def test_the_best_matching_log_lines_keep_their_neighbours():
    import itertools
    import random

    from contextzip.compressors.reducers import lexical_relevance, reduce_log
    from contextzip.tokens import TokenCounter

    names = ["".join(p) for p in itertools.product("abcdefghij", "klmnopqrst", "uvwxyz")][:300]
    timer = random.Random(0)
    lines = [f"import time: {timer.randint(5, 900):>6} | {timer.randint(900, 5000):>8} | {n}" for n in names]
    question = lexical_relevance(f"which module was imported just before {names[150]}")
    reduced = reduce_log("\n".join(lines), budget=150, relevance=question, keep=[], counter=TokenCounter())
    assert reduced.count("\n") < 60  # pruned hard
    assert all(f"| {n}" in reduced for n in names[149:152])


def test_a_rare_query_word_outweighs_the_common_ones_every_line_has() -> None:
    lines = [f"the value of setting {i} is its default" for i in range(30)] + ["tempdir = None"]
    scores = lexical_relevance("What is the value of `tempdir`?")(lines)
    assert int(scores.argmax()) == 30  # four common words on every line lose to the one rare name
    assert lexical_relevance("nothing here")(lines).max() == 0


def test_a_long_paragraph_before_a_table_is_not_the_label_its_cells_need() -> None:
    from contextzip.compressors.reducers import reduce_html
    from contextzip.compressors.reducers.lines import LABEL_TOKENS

    paragraph = " ".join(f"Sentence {i} of a long module docstring about databases." for i in range(60))
    rows = "".join(f"<dt>helper_{i}(path, flag='r')</dt><dd>Helper {i}.</dd>" for i in range(30))
    page = (
        f"<html><body><p>{paragraph}</p><table><tr><td><dl>"
        f"<dt>open(file, flag='r', mode=438)</dt><dd>Open a database.</dd>{rows}"
        "</dl></td></tr></table></body></html>"
    )
    assert count_tokens(paragraph) > 4 * LABEL_TOKENS
    reduced = reduce_html(page, budget=120, relevance=lexical_relevance("the mode parameter of open"))
    assert "open(file, flag='r', mode=438)" in reduced and "Sentence 1 " not in reduced


def numbered_view(path: str, first: int, count: int) -> str:
    """A real file shown the way an agent's editor shows it: ``N:line``, a window of ``count`` lines."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()[first - 1 : first - 1 + count]
    return "\n".join(f"{first + i}:{line}" for i, line in enumerate(lines))


def test_a_numbered_source_view_keeps_its_definitions_and_what_each_kept_line_sits_in() -> None:
    from contextzip.compressors.agent import sniff_kind
    from contextzip.compressors.reducers import LISTING_LANDMARK, reduce_outline

    total = len(Path(json.decoder.__file__).read_text(encoding="utf-8").splitlines())
    header = f"[File: {json.decoder.__file__} ({total} lines total)]"
    view = header + "\n" + numbered_view(json.decoder.__file__, 250, 110)  # JSONDecoder and its methods
    assert sniff_kind(view, '{"command": "goto 250"}') == "listing"
    clock = "\n".join(f"12:{m:02d}:07 INFO worker {m} done" for m in range(20))
    assert sniff_kind(clock) == "log"  # clock times are not line numbers
    budget = count_tokens(view) // 4
    reduced = reduce_outline(view, budget=budget, relevance=lexical_relevance("raw_decode index"),
                             landmarks=LISTING_LANDMARK)  # fmt: skip
    definitions = [line for line in view.splitlines() if LISTING_LANDMARK.match(line) and line != header]
    assert len(definitions) >= 3 and all(line in reduced.splitlines() for line in definitions)
    assert reduced.startswith(header)  # the frame says which file and how long: "how many lines" stays
    # a kept body line keeps the def it sits in: its line number is the answer to "where is X"
    body = next(
        line for line in reduced.splitlines() if "raw_decode" in line and not LISTING_LANDMARK.match(line)
    )
    assert body and count_tokens(reduced) <= budget * 1.05
    without = reduce_outline(view, budget=budget, relevance=lexical_relevance("raw_decode index"))
    assert not all(line in without.splitlines() for line in definitions)  # landmarks are what keeps them
