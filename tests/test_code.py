"""Code chunking (tree-sitter, eight languages, regex fallback) and the code compressor."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

from contextzip import Budget, Segment
from contextzip.compressors.code import (
    CodeCompressor,
    call_graph,
    check_valid,
    dynamic_ratios,
    identifier_words,
    language_for,
    parse_code,
    syntax_errors,
)
from contextzip.errors import ConfigurationError
from contextzip.selection import knapsack

pytest.importorskip("tree_sitter")

SNIPPETS = {
    "python": (
        "app.py",
        '''import os

# adds one
def helper(a):
    return a + 1


@cache
def load(path):
    """Read a file."""
    data = helper(len(path))
    return os.path.join(path, str(data))


class Store(Base):
    size = 3

    def get(self, key):
        return load(key)
''',
        {"helper": "function", "load": "function", "Store": "class", "get": "method"},
    ),
    "javascript": (
        "app.js",
        """import x from "y";
// adds one
function helper(a) {
  return a + 1;
}
class Store extends Base {
  get(key) {
    return load(key);
  }
}
export const load = (path) => {
  return helper(path.length);
};
""",
        {"helper": "function", "Store": "class", "get": "method", "load": "function"},
    ),
    "typescript": (
        "app.ts",
        """interface Shape { area(): number }
function helper(a: number): number {
  return a + 1;
}
export class Store {
  private get(key: string): number {
    return helper(key.length);
  }
}
""",
        {"Shape": "class", "helper": "function", "Store": "class", "get": "method"},
    ),
    "java": (
        "Store.java",
        """package p;
import java.util.List;
public class Store {
  int size;
  public Store() { size = 0; }
  int get(String key) {
    return helper(key.length());
  }
  static int helper(int a) { return a + 1; }
}
""",
        {"Store": "class", "get": "method", "helper": "method"},
    ),
    "go": (
        "store.go",
        """package main
import "fmt"
type Store struct { size int }
func (s *Store) Get(key string) int {
	return helper(len(key))
}
func helper(a int) int {
	fmt.Println(a)
	return a + 1
}
""",
        {"Get": "function", "helper": "function"},
    ),
    "rust": (
        "store.rs",
        """use std::io;
struct Store { size: i32 }
impl Store {
    fn get(&self, key: &str) -> i32 {
        helper(key.len() as i32)
    }
}
fn helper(a: i32) -> i32 {
    a + 1
}
""",
        {"get": "method", "helper": "function"},
    ),
    "c": (
        "store.c",
        """#include <stdio.h>
struct store { int size; };
static int helper(int a) {
    return a + 1;
}
int get(const char *key) {
    return helper((int) key[0]);
}
""",
        {"helper": "function", "get": "function"},
    ),
    "cpp": (
        "store.cpp",
        """#include <string>
namespace shop {
class Store {
 public:
  int get(const std::string& key) { return helper(key.size()); }
};
int helper(int a) { return a + 1; }
}
""",
        {"shop": "class", "Store": "class", "get": "method", "helper": "method"},
    ),
}


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_each_language_is_cut_into_its_definitions(language: str) -> None:
    path, source, expected = SNIPPETS[language]
    code = parse_code(source, path=path)
    assert code.language == language and code.parsed
    found = {(c.name, c.kind) for c in code.chunks if c.name}
    assert set(expected.items()) <= found, found
    # every line belongs to exactly one chunk
    owned = sorted(line for c in code.chunks for line in c.lines)
    assert owned == list(range(len(code.lines)))
    # the caller of helper is found through the call graph
    graph = call_graph(code)
    helper = next(i for i, c in enumerate(code.chunks) if c.name == "helper")
    assert any(helper in callees for callees in graph.values())


def test_leading_comments_and_decorators_stay_with_their_function() -> None:
    _, source, _ = SNIPPETS["python"]
    code = parse_code(source, path="app.py")
    helper = next(c for c in code.chunks if c.name == "helper")
    load = next(c for c in code.chunks if c.name == "load")
    assert code.lines[helper.lines[0]].startswith("# adds one")
    assert code.lines[load.lines[0]].startswith("@cache")
    assert code.lines[load.body_start].strip() == '"""Read a file."""'
    store = next(i for i, c in enumerate(code.chunks) if c.name == "Store")
    assert next(c for c in code.chunks if c.name == "get").parent == store


def test_unknown_languages_fall_back_to_definition_lines() -> None:
    source = "def alpha(x)\n  x + 1\nend\n\ndef beta(y)\n  alpha(y)\nend\n"
    code = parse_code(source, path="lib.rb")
    assert not code.parsed
    assert [c.name for c in code.chunks if c.kind == "function"] == ["alpha", "beta"]
    assert language_for("a.kt") is None and language_for("x.hpp") == "cpp"
    with pytest.raises(ConfigurationError, match="unknown language 'cobol'"):
        language_for(None, "cobol")


def test_knapsack_and_dynamic_ratios() -> None:
    assert knapsack(np.array([6.0, 10.0, 12.0]), np.array([1, 2, 3]), 5).tolist() == [False, True, True]
    assert knapsack(np.array([5.0, -1.0]), np.array([0, 0]), 0).tolist() == [True, False]
    ratios = dynamic_ratios(np.array([1.0, 0.0]), np.array([100.0, 100.0]), 100)
    assert ratios[0] > ratios[1] and (ratios * 100).sum() == pytest.approx(100, abs=1)
    assert dynamic_ratios(np.array([1.0]), np.array([10.0]), 50).tolist() == [1.0]


def test_identifiers_split_into_words() -> None:
    assert identifier_words("getHTTPResponse_code") == [
        "gethttpresponse_code",
        "get",
        "http",
        "response",
        "code",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_compressed_code_stays_valid_and_deterministic(language: str) -> None:
    path, source, _ = SNIPPETS[language]
    segment = Segment(source * 3, kind="code", meta={"path": path})
    first = CodeCompressor(mode="fast").compress([segment], query="get the key", budget=Budget(rate=0.4))
    again = CodeCompressor(mode="fast").compress([segment], query="get the key", budget=Budget(rate=0.4))
    assert first.text == again.text
    assert first.tokens_after < first.tokens_before
    assert check_valid(parse_code(segment.text, path=path), first.text)
    if language == "python":
        ast.parse(first.text)
    else:
        assert syntax_errors(first.text, language) <= syntax_errors(segment.text, language)
    assert "elided" in first.text


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "signal"), [("fast", "calls"), ("lm", "calls"), ("lm", "instruction")])
def test_real_module_keeps_what_the_instruction_needs(mode: str, signal: str) -> None:
    import contextzip.text

    source = open(contextzip.text.__file__, encoding="utf-8").read()
    instruction = (
        "def join_spans(text: str, spans: Sequence[Span]) -> str:\n    Join the kept spans with separators."
    )
    segment = Segment(source, kind="code", meta={"path": "text.py"})
    compressor = CodeCompressor(mode=mode, lm_signal=signal)
    result = compressor.compress([segment], query=instruction, budget=Budget(rate=0.25))
    ast.parse(result.text)
    assert result.tokens_after <= result.target_tokens * 1.05 + 10
    assert "def join_spans" in result.text and "def _joined_parts" in result.text  # named, and its callee
    assert "# " in result.text and "elided" in result.text
    # spans point at kept lines of the original
    for start, end in result.segments[0].spans:
        assert source[start:end] in result.text


def test_text_segments_pass_through_and_bad_options_fail() -> None:
    prose = Segment("Just prose, not code.")
    result = CodeCompressor(mode="fast").compress([prose], budget=Budget(rate=0.5))
    assert result.text == prose.text and "no code segment" in (result.reason or "")
    with pytest.raises(ConfigurationError, match="mode must be one of lm, fast"):
        CodeCompressor(mode="slow")
    with pytest.raises(ConfigurationError, match="lm_signal must be one of calls, instruction"):
        CodeCompressor(lm_signal="vibes")


def _long_functions(language: str, count: int = 20) -> str:
    body = {"python": "    total = {i} * a\n" * 8 + "    return total\n",
            "c": "    int total = {i} * a;\n" * 8 + "    return total;\n"}[language]  # fmt: skip
    head = {"python": "def helper_{i}(a):\n", "c": "static int helper_{i}(int a) {{\n"}[language]
    tail = {"python": "\n\n", "c": "}}\n\n"}[language]
    return "".join((head + body + tail).format(i=i) for i in range(count))


@pytest.mark.parametrize(("language", "path"), [("python", "gen.py"), ("c", "gen.c")])
def test_functions_left_out_keep_their_signatures_and_the_code_still_parses(language: str, path: str) -> None:
    from contextzip.eval.peers import CodeChunkRanker

    segment = Segment(_long_functions(language), kind="code", meta={"path": path})
    with_stubs = CodeChunkRanker(ranking="position").compress([segment], budget=Budget(rate=0.25))
    bare = CodeChunkRanker(ranking="position", stubs=False).compress([segment], budget=Budget(rate=0.25))
    for result in (with_stubs, bare):
        assert result.tokens_after <= result.target_tokens * 1.05 + 10
        assert check_valid(parse_code(segment.text, path=path), result.text)
    assert with_stubs.text.count("helper_") > bare.text.count("helper_") + 3
    assert re.search(r"lines elided: (helper_\d+, )*helper_19\n", with_stubs.text)  # named in its marker
    if language == "python":
        ast.parse(with_stubs.text)


def test_a_class_kept_for_its_method_drops_its_long_docstring() -> None:
    doc = "\n".join(f"    Line {i} of a long class description about tables and rows." for i in range(30))
    helpers = "\n\n".join(
        f"def helper_{i}(rows):\n    total = 0\n    for row in rows:\n"
        f"        total += row * {i}\n    return total\n"
        for i in range(30)
    )
    source = (
        f'class Ledger:\n    """Ledger.\n\n{doc}\n    """\n\n    currency = "EUR"\n\n'
        "    def balance_due(self, invoices, payments):\n        due = sum(invoices) - sum(payments)\n"
        "        return max(due, 0)\n\n" + helpers
    )
    files = [Segment(source, kind="code", meta={"path": "ledger.py"})]
    out = CodeCompressor(mode="fast", stubs=False).compress(
        files, query="def balance_due(self, invoices, payments):", budget=Budget(rate=0.2)
    )
    text = out.segments[0].text
    ast.parse(text)
    assert "def balance_due(self, invoices, payments):" in text and 'currency = "EUR"' in text
    assert "Line 12 of a long class description" not in text


@pytest.mark.slow
def test_block_boundaries_read_only_the_function_being_trimmed() -> None:
    from contextzip.causal_lm import CausalLM
    from contextzip.compressors.code.scoring import surprisal_jumps

    source = (
        "def first(x):\n    y = x + 1\n    z = y * 2\n    return z\n\n\n" + "def other():\n    pass\n" * 200
    )
    parsed = parse_code(source, path="m.py")
    first = next(c for c in parsed.chunks if c.name == "first")
    starts = [a for a, _ in first.statements]
    lm = CausalLM(precision="float32")
    read: list[str] = []
    real = lm.surprisal

    def spy(text: str, words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        read.append(text)
        return real(text, words)

    lm.surprisal = spy  # type: ignore[method-assign]
    surprisal_jumps(lm, parsed, starts, first.statements[-1][1])
    assert read == ["    y = x + 1\n    z = y * 2\n    return z\n"]


@pytest.mark.slow
def test_the_instruction_makes_the_helper_it_describes_the_expected_call() -> None:
    from contextzip.causal_lm import CausalLM
    from contextzip.compressors.code.scoring import call_pmi

    instruction = (
        "def total_price(items, coupon):\n"
        '    """Sum the item prices, then apply_discount for the coupon and round_cents."""'
    )
    calls = ["apply_discount(", "self.close_socket(", None, "round_cents("]
    pmi = call_pmi(CausalLM(), instruction, calls)
    assert pmi[0] > pmi[1] and pmi[3] > pmi[1]
    assert pmi[2] == -np.inf  # a module block has no name to call
