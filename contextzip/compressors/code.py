"""Code-aware compression: rank functions against the instruction, keep the best, then trim them.

LongCodeZip's two stages, for files and repositories sent to a coding model:

1. **Coarse.** Files are cut into chunks (functions, methods, classes, module blocks;
   :mod:`contextzip.code_chunks`). Each chunk is scored by how much it helps a small code LM
   predict the instruction: ``ppl(instruction) - ppl(instruction | chunk)``, in bits per token
   (``mode="lm"``, SmolLM2-135M by default; any transformers causal LM). ``mode="fast"`` needs
   no LM: BM25 over identifiers (split at ``snake_case`` and ``camelCase``) plus embedding
   similarity, for the proxy. Then *dependency closure*, beyond LongCodeZip: chunks that the
   instruction names, and chunks that kept chunks call (call graph from the syntax tree),
   are raised in rank, and a class whose member is kept keeps its own lines (its signature).
   Chunks are kept in rank order under a relaxed budget.
2. **Fine.** Kept functions get a keep ratio that grows with their rank (LongCodeZip's
   dynamic ratio, solved so that the total meets the budget). A function that must shrink is
   cut into blocks at its body's statement boundaries where line surprisal jumps (LM mode) or
   at blank lines (fast mode); blocks are chosen by 0/1 knapsack on their value (the same
   score as chunks), always keeping the signature, the docstring or leading comment, and
   blocks that return.

What is dropped leaves a one-line marker in the file's own comment syntax: ``# 12 lines
elided: def parse_header`` for a whole chunk, and in Python an ``...`` statement (with the
comment) for blocks inside a function, so the output parses (``ast.parse``; other
languages: tree-sitter finds no new error nodes). The output is the original's lines plus
these markers; ``spans`` point at the kept lines.

Segments of kind ``"code"`` (the language from ``meta["path"]`` or ``language=``) are
compressed; other segments pass through unchanged.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contextzip.code_chunks import LANGUAGES, Chunk, CodeFile, call_graph, parse_code, syntax_errors
from contextzip.errors import ConfigurationError
from contextzip.selection import knapsack
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, check_segments

if TYPE_CHECKING:
    import numpy as np

    from contextzip.causal_lm import CausalLM

__all__ = ["MODES", "CodeCompressor", "identifier_words"]

MODES = ("lm", "fast")
LM_SIGNALS = ("calls", "instruction")
_MIN_RATIO = 0.2  # a kept function keeps at least this share of itself
# The coarse stage may keep up to 1 + this x rate times the budget (1.3x at 4x, 1.15x at 8x); the fine
# stage trims it. Tighter budgets get less slack: functions cannot shrink below their signature,
# docstring and returns, so what is over-selected only pushes whole chunks out again (tuned on the
# code-deps train split).
_SLACK_PER_RATE = 1.2
_REPAIRS = 6
_STUB_SHARE = 0.3  # at most this share of the budget goes to signatures of functions left out
_MARKER_TOKENS = 8


@dataclass
class _Item:
    """A chunk of one file, as the compressor ranks it."""

    file: int
    chunk: int
    text: str
    cost: int
    score: float = 0.0
    rank: float = 0.0


class CodeCompressor:
    """Keep the functions and blocks a coding instruction needs.

    Args:
        mode: ``"lm"`` (conditional perplexity with a causal LM) or ``"fast"`` (BM25 over
            identifiers plus embeddings; no LM).
        model: The causal LM (``None``: the packaged SmolLM2-135M-Instruct).
        precision: The LM's precision, ``"bfloat16"`` or ``"float32"``.
        device: A torch device string.
        language: The language of every code segment, instead of guessing from paths.
        fine: Trim kept functions by blocks (the fine stage).
        closure: Weight of dependency closure, ``0`` to rank by score alone.
        stubs: Keep the signatures of functions left out (their bodies elided), best
            ranked first, in up to 30% of the budget: the model still sees the API.
        lexical_weight: Fast mode (and no-query LM mode): the share of BM25 over identifier
            words in a chunk's score, the rest embedding similarity.
        lm_signal: LM mode's ranking: ``"calls"`` (default) mixes, by rank, the fast score
            with how much the instruction makes the LM expect a body to call the chunk
            (pointwise mutual information of ``name(`` and the instruction);
            ``"instruction"`` is LongCodeZip's: how much the chunk lowers the perplexity of
            the instruction (slower: every chunk is read by the LM).
        encoding: The tiktoken encoding budgets are counted in.

    Example:
        >>> from contextzip import Budget, Segment
        >>> source = open("contextzip/text.py").read()
        >>> files = [Segment(source, kind="code", meta={"path": "text.py"})]
        >>> r = CodeCompressor(mode="fast").compress(files, query="def join_spans(text, spans):",
        ...                                          budget=Budget(rate=0.25))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        mode: str = "lm",
        model: str | None = None,
        precision: str = "bfloat16",
        device: str = "cpu",
        language: str | None = None,
        fine: bool = True,
        closure: float = 0.5,
        stubs: bool = True,
        lexical_weight: float = 0.5,
        lm_signal: str = "calls",
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if language is not None and language not in LANGUAGES:
            raise ConfigurationError(
                f"unknown language {language!r}; choose one of {', '.join(sorted(LANGUAGES))}"
            )
        if lm_signal not in LM_SIGNALS:
            raise ConfigurationError(f"lm_signal must be one of {', '.join(LM_SIGNALS)}, got {lm_signal!r}")
        if closure < 0:
            raise ConfigurationError(f"closure must be >= 0, got {closure}")
        if not 0 <= lexical_weight <= 1:
            raise ConfigurationError(f"lexical_weight must be in [0, 1], got {lexical_weight}")
        self.mode = mode
        self.name = "code" if mode == "lm" else "code-fast"
        self.model = model
        self.precision = precision
        self.device = device
        self.language = language
        self.fine = fine
        self.closure = closure
        self.stubs = stubs
        self.lexical_weight = lexical_weight
        self.lm_signal = lm_signal
        self.counter = TokenCounter(encoding)
        self._lm: CausalLM | None = None

    # -- the protocol ---------------------------------------------------------------------

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Compress the code segments of ``segments`` to ``budget``; see the module docs."""
        started = time.perf_counter()
        segments = check_segments(segments)
        counts = [self.counter.count(s.text) for s in segments]
        total = sum(counts)
        target = budget.resolve(total)
        code_at = [i for i, s in enumerate(segments) if self._is_code(s)]
        if total == 0 or target >= total or not code_at:
            why = "no code segment to compress" if not code_at else "the budget keeps the whole input"
            return CompressionResult.unchanged(segments, counts, self.name, target, why, started)
        files = [self._parse(segments[i]) for i in code_at]
        fixed = total - sum(counts[i] for i in code_at)
        try:
            plans = self._plan(files, query, target - fixed)
        except ConfigurationError:
            raise
        except Exception as exc:  # a run-time failure must not lose the request
            return CompressionResult.unchanged(
                segments, counts, self.name, target,
                f"compression failed ({type(exc).__name__}: {exc}); the input is unchanged", started,
            )  # fmt: skip
        rendered = dict(zip(code_at, plans, strict=True))
        results = []
        for index, (segment, count) in enumerate(zip(segments, counts, strict=True)):
            if index not in rendered:
                results.append(SegmentResult(segment, segment.text, ((0, len(segment.text)),), count, count))
                continue
            text, spans = rendered[index]
            after = self.counter.count(text)
            results.append(SegmentResult(segment, text, spans, count, after, dropped=not text.strip()))
        after = sum(r.tokens_after for r in results)
        if after >= total:
            return CompressionResult.unchanged(
                segments, counts, self.name, target, "compression would not shorten the code", started
            )
        reason: str | None = None
        if after > target * 1.05 + 20:
            reason = f"kept {after} tokens for a budget of {target}: signatures and structure that must stay"
        return CompressionResult(tuple(results), self.name, target, time.perf_counter() - started, reason)

    def _is_code(self, segment: Segment) -> bool:
        return not segment.protected and segment.kind == "code" and bool(segment.text.strip())

    def _parse(self, segment: Segment) -> CodeFile:
        path = segment.meta.get("path") if segment.meta else None
        return parse_code(segment.text, path=str(path) if path else None, language=self.language)

    # -- coarse and fine --------------------------------------------------------------------

    def _plan(
        self, files: list[CodeFile], query: str | None, budget: int
    ) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
        import numpy as np

        items = [
            _Item(f, c, code.chunk_text(c), self.counter.count(code.chunk_text(c)))
            for f, code in enumerate(files) for c in range(len(code.chunks))
        ]  # fmt: skip
        calls = [_call_text(files[item.file].chunks[item.chunk]) for item in items]
        scores = self._score([item.text for item in items], query, calls)
        for item, score in zip(items, scores.tolist(), strict=True):
            item.score = score
        stub_lines = [_stub_lines(files[item.file], item.chunk) if self.stubs else () for item in items]
        stub_costs = [
            self._lines_cost(files[item.file], lines) for item, lines in zip(items, stub_lines, strict=True)
        ]
        reserve = min(_STUB_SHARE * budget, float(sum(stub_costs)))
        main = int(budget - reserve)
        keep, hosts = self._coarse(files, items, query, main)
        lines_kept = [np.zeros(len(code.lines), dtype=bool) for code in files]
        docstrings = [_class_docstrings(code) for code in files]
        for n, (item, kept) in enumerate(zip(items, keep.tolist(), strict=True)):
            if kept:
                lines = files[item.file].chunks[item.chunk].lines
                if n in hosts:  # kept for a member's sake: its signature and fields, not its long docstring
                    lines = tuple(i for i in lines if i not in docstrings[item.file])
                lines_kept[item.file][list(lines)] = True
        if self.fine:
            self._trim(files, items, keep, lines_kept, query, main)
        self._fit(files, items, keep, lines_kept, main)
        if self.stubs:  # signatures of the functions left out, best first, in what is left
            used = sum(
                self.counter.count(render(code, mask)[0])
                for code, mask in zip(files, lines_kept, strict=True)
            )
            room = budget - used
            for n in sorted(range(len(items)), key=lambda n: (-items[n].rank, n)):
                mask = lines_kept[items[n].file]
                if not stub_lines[n] or mask[list(files[items[n].file].chunks[items[n].chunk].lines)].any():
                    continue
                if stub_costs[n] <= room:
                    mask[list(stub_lines[n])] = True
                    room -= stub_costs[n]
            self._fit(files, items, keep, lines_kept, budget, stub_lines=stub_lines)
        return [render(code, mask) for code, mask in zip(files, lines_kept, strict=True)]

    def _lines_cost(self, code: CodeFile, lines: Sequence[int]) -> int:
        """Tokens of ``lines`` plus the elision marker that follows a stub."""
        return self.counter.count("".join(code.lines[i] for i in lines)) + _MARKER_TOKENS if lines else 0

    def _fit(
        self, files: list[CodeFile], items: list[_Item], keep: np.ndarray, lines_kept: list[np.ndarray],
        budget: int, *, stub_lines: Sequence[Sequence[int]] = (),
    ) -> None:  # fmt: skip
        """Markers and forced lines can overrun: drop stubs, then kept chunks, lowest rank first."""
        import numpy as np

        stubbed = [
            n for n in sorted(range(len(stub_lines)), key=lambda n: (items[n].rank, -n))
            if stub_lines[n] and not keep[n] and lines_kept[items[n].file][list(stub_lines[n])].all()
        ]  # fmt: skip
        by_rank = sorted(np.flatnonzero(keep).tolist(), key=lambda n: (items[n].rank, -n))
        for _ in range(_REPAIRS):
            texts = [render(code, mask)[0] for code, mask in zip(files, lines_kept, strict=True)]
            over = sum(self.counter.count(text) for text in texts) - budget
            if over <= max(0.02 * budget, 5):
                return
            while over > 0 and stubbed:
                n = stubbed.pop(0)
                lines_kept[items[n].file][list(stub_lines[n])] = False
                over -= self._lines_cost(files[items[n].file], stub_lines[n])
            while over > 0 and len(by_rank) > 1:
                n = by_rank.pop(0)
                item = items[n]
                chunk = files[item.file].chunks[item.chunk]
                members = [c for c in files[item.file].chunks if c.parent == item.chunk]
                if chunk.kind == "class" and any(lines_kept[item.file][list(c.lines)].any() for c in members):
                    continue  # a class stays while a member does
                lines_kept[item.file][list(chunk.lines)] = False
                over -= item.cost
            if not stubbed and len(by_rank) <= 1:
                return

    def _score(self, texts: list[str], query: str | None, calls: Sequence[str | None] = ()) -> np.ndarray:
        """Higher: the chunk matters more to ``query`` (see ``lm_signal``)."""
        import numpy as np

        if not texts:
            return np.zeros(0)
        if self.mode == "fast" or not query or not query.strip():
            return _fast_scores(texts, query, self.lexical_weight)
        lm = self._causal_lm()
        if self.lm_signal == "instruction":  # LongCodeZip: bits per token of the instruction saved
            alone = lm.continuation_surprisal([""], query)[0]
            return np.round(alone - lm.continuation_surprisal([t + "\n" for t in texts], query), 6)
        fast = _fast_scores(texts, query, self.lexical_weight)
        if not any(calls):  # blocks inside a function have no name to be called by
            return fast
        return np.round(0.5 * _unit_ranks(_call_pmi(lm, query, calls)) + 0.5 * _unit_ranks(fast), 6)

    def _causal_lm(self) -> CausalLM:
        if self._lm is None:
            from contextzip.causal_lm import CausalLM

            self._lm = CausalLM(self.model, precision=self.precision, device=self.device)
        return self._lm

    def _coarse(
        self, files: list[CodeFile], items: list[_Item], query: str | None, budget: int
    ) -> tuple[np.ndarray, set[int]]:
        """Chunks kept by rank (score, then closure), under the budget plus slack, and the
        containers kept only because a member is."""
        import numpy as np

        scores = np.array([item.score for item in items])
        # ranks in [0, 1]: the closure bonus means the same in both modes
        order = np.lexsort((np.arange(len(items)), -scores))
        rank = np.empty(len(items))
        rank[order] = 1.0 - np.arange(len(items)) / max(len(items), 1)
        index_of = {(item.file, item.chunk): n for n, item in enumerate(items)}
        named = _names_in(query or "")
        for n, item in enumerate(items):
            if files[item.file].chunks[item.chunk].name in named:
                rank[n] += self.closure * 2
        edges = {
            n: {index_of[(item.file, c)] for c in call_graph(files[item.file]).get(item.chunk, ())}
            for n, item in enumerate(items)
        }
        _cross_file_calls(files, items, index_of, edges)
        costs = np.array([item.cost for item in items], dtype=float)
        rate = min(budget / max(float(costs.sum()), 1.0), 1.0)
        allowed = budget * (1.0 + _SLACK_PER_RATE * rate if self.fine else 1.0)
        keep = np.zeros(len(items), dtype=bool)
        for _ in range(3):  # closure: callees of what is kept move up, then choose again
            keep = _take_in_order(rank, costs, allowed)
            boosted = rank.copy()
            for n in np.flatnonzero(keep).tolist():
                for callee in edges.get(n, ()):
                    boosted[callee] = max(boosted[callee], rank[callee] + self.closure)
            if np.array_equal(_take_in_order(boosted, costs, allowed), keep):
                break
            rank = boosted
        for n, item in enumerate(items):
            item.rank = float(rank[n])
        hosts = _keep_containers(files, items, keep, index_of)
        return keep, hosts

    def _trim(
        self, files: list[CodeFile], items: list[_Item], keep: np.ndarray,
        lines_kept: list[np.ndarray], query: str | None, budget: int,
    ) -> None:  # fmt: skip
        """Cut kept functions down by blocks until the kept lines fit ``budget``."""
        import numpy as np

        line_costs = [np.array([self.counter.count(line) for line in code.lines]) for code in files]
        kept_cost = sum(float(c[m].sum()) for c, m in zip(line_costs, lines_kept, strict=True))
        if kept_cost <= budget:
            return
        functions = [
            n
            for n in np.flatnonzero(keep).tolist()
            if files[items[n].file].chunks[items[n].chunk].is_function
        ]
        if not functions:
            return
        fixed = kept_cost - sum(items[n].cost for n in functions)
        ratios = dynamic_ratios(
            np.array([items[n].rank for n in functions]),
            np.array([items[n].cost for n in functions], dtype=float),
            budget - fixed,
        )
        for n, ratio in zip(functions, ratios.tolist(), strict=True):
            if ratio >= 0.999:
                continue
            item = items[n]
            code = files[item.file]
            chunk = code.chunks[item.chunk]
            blocks = self._blocks(code, item.chunk)
            if len(blocks) < 2:
                continue
            costs = np.array([int(line_costs[item.file][list(range(a, b))].sum()) for a, b in blocks])
            must = np.array([_must_keep(code, item.chunk, a, b) for a, b in blocks])
            values = self._score(["".join(code.lines[a:b]) for a, b in blocks], query)
            values = values - values.min() + 1e-3  # every block is worth something; the best most
            header = int(line_costs[item.file][list(chunk.header_lines)].sum()) if chunk.header_lines else 0
            capacity = int(ratio * item.cost) - header - int(costs[must].sum())
            chosen = knapsack(np.where(must, 0.0, values), np.where(must, 0, costs), max(capacity, 0)) | must
            for (a, b), take in zip(blocks, chosen.tolist(), strict=True):
                if not take:
                    lines_kept[item.file][a:b] = False

    def _blocks(self, code: CodeFile, index: int) -> list[tuple[int, int]]:
        """Line ranges of a function body's blocks: runs of top-level statements."""
        chunk = code.chunks[index]
        statements = [(a, b) for a, b in chunk.statements if a >= (chunk.body_start or 0)]
        if not statements:
            return []
        starts = [a for a, _ in statements]
        if self.mode == "lm":
            cut = set(_surprisal_jumps(self._causal_lm(), code, starts, statements[-1][1]))
        else:
            cut = {a for a in starts if a > 0 and not code.lines[a - 1].strip()}
        cut.add(starts[0])
        bounds = sorted(cut) + [statements[-1][1]]
        return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _stub_lines(code: CodeFile, index: int) -> tuple[int, ...]:
    """A function's signature lines (decorators included) and a closing-brace line, if it has a body."""
    chunk = code.chunks[index]
    if not chunk.is_function or chunk.definition_line is None or chunk.body_start is None:
        return ()
    lines = list(range(chunk.definition_line, chunk.body_start))
    last = chunk.lines[-1]
    if last >= chunk.body_start and code.lines[last].strip() in ("}", "};", "end"):
        lines.append(last)
    return tuple(lines)


def _call_text(chunk: Chunk) -> str | None:
    """How a body would call the chunk's definition (``self.name(`` for methods)."""
    if chunk.name is None or chunk.kind == "module":
        return None
    return f"self.{chunk.name}(" if chunk.kind == "method" else f"{chunk.name}("


def _call_pmi(lm: CausalLM, instruction: str, calls: Sequence[str | None]) -> np.ndarray:
    """How much more the instruction makes a body call each chunk than a body with no instruction.

    Pointwise mutual information in bits per token between the instruction (a signature
    and docstring, the body about to start) and each chunk's call text, from the LM:
    ``surprisal(call | neutral body start) - surprisal(call | instruction)``. The target's
    callees are what its body will name; a name the instruction makes likely ranks high,
    a name likely anywhere (``close(``) does not.
    """
    import numpy as np

    named = [n for n, call in enumerate(calls) if call]
    pmi = np.full(len(calls), -np.inf)
    if not named:
        return pmi
    body = instruction.rstrip() + "\n" + " " * _body_indent(instruction)
    texts = [str(calls[n]) for n in named]
    pmi[named] = lm.continuations_surprisal(_NEUTRAL_BODY, texts) - lm.continuations_surprisal(body, texts)
    return pmi


_NEUTRAL_BODY = "def run(self, *args, **kwargs):\n    "


def _body_indent(instruction: str) -> int:
    first = next((line for line in instruction.splitlines() if line.strip()), "")
    return len(first) - len(first.lstrip()) + 4


def _unit_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank scaled to ``[0, 1]`` (ties share their mean rank's order by index)."""
    import numpy as np

    order = np.lexsort((np.arange(len(values)), values))
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values) - 1, 1)
    return ranks


def dynamic_ratios(ranks: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """Per-function keep ratios growing with rank, solved so that ``sum(ratio * cost) ~ budget``.

    LongCodeZip's dynamic ratio: ``ratio_i = clip(r * (0.5 + rank_i'), _MIN_RATIO, 1)`` with
    ``rank'`` the ranks scaled to ``[0, 1]`` and ``r`` found by bisection.

    Example:
        >>> import numpy as np
        >>> dynamic_ratios(np.array([1.0, 0.5, 0.0]), np.array([100.0, 100.0, 100.0]), 150).round(2).tolist()
        [0.75, 0.5, 0.25]
    """
    import numpy as np

    spread = ranks.max() - ranks.min() if len(ranks) else 0.0
    scaled = (ranks - ranks.min()) / spread if spread > 0 else np.full(len(ranks), 0.5)

    def ratios(r: float) -> np.ndarray:
        return np.clip(r * (0.5 + scaled), _MIN_RATIO, 1.0)

    if float((ratios(1e6) * costs).sum()) <= budget:
        return np.ones(len(ranks))
    lo, hi = 0.0, 1e6
    for _ in range(60):
        mid = (lo + hi) / 2
        if float((ratios(mid) * costs).sum()) > budget:
            hi = mid
        else:
            lo = mid
    return ratios(lo)


def _take_in_order(rank: np.ndarray, costs: np.ndarray, allowed: float) -> np.ndarray:
    from contextzip.selection import select_units

    return select_units(rank, costs, allowed, keep_at_least_one=True)


def _keep_containers(
    files: list[CodeFile], items: list[_Item], keep: np.ndarray, index_of: dict[tuple[int, int], int]
) -> set[int]:
    """A kept member keeps its container's own lines (class header, fields, closing brace).

    Returns the containers that were not kept on their own rank.
    """
    hosts: set[int] = set()
    for n in [int(i) for i in keep.nonzero()[0]]:
        item = items[n]
        parent = files[item.file].chunks[item.chunk].parent
        while parent is not None:
            at = index_of[(item.file, parent)]
            if not keep[at]:
                hosts.add(at)
            keep[at] = True
            parent = files[item.file].chunks[parent].parent
    return hosts


def _class_docstrings(code: CodeFile) -> set[int]:
    """Python: the lines of class docstrings longer than two lines (empty for other languages)."""
    import ast

    if code.language != "python":
        return set()
    try:
        tree = ast.parse(code.text)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.body:
            first = node.body[0]
            if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
                continue
            long_doc = first.end_lineno is not None and first.end_lineno - first.lineno >= 2
            if isinstance(first.value.value, str) and long_doc and len(node.body) > 1:
                lines.update(range(first.lineno - 1, first.end_lineno or first.lineno))
    return lines


def _cross_file_calls(
    files: list[CodeFile],
    items: list[_Item],
    index_of: dict[tuple[int, int], int],
    edges: dict[int, set[int]],
) -> None:
    """Calls to names defined in another file of the input count as edges too."""
    defined: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        name = files[item.file].chunks[item.chunk].name
        if name:
            defined.setdefault(name, []).append(n)
    for n, item in enumerate(items):
        for name in files[item.file].chunks[item.chunk].calls:
            edges[n].update(d for d in defined.get(name, ()) if items[d].file != item.file)


def _names_in(query: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query))


def _must_keep(code: CodeFile, index: int, start: int, end: int) -> bool:
    """Blocks that hold the docstring or leading comment, or a return, stay."""
    chunk = code.chunks[index]
    text = "".join(code.lines[start:end])
    if start == (chunk.body_start or -1):
        first = text.lstrip()
        if first.startswith(('"""', "'''", '"', "'", "#", "//", "/*")):
            return True
    return bool(re.search(r"^\s*(return|yield|raise)\b", text, re.MULTILINE))


def _surprisal_jumps(lm: CausalLM, code: CodeFile, starts: list[int], end: int) -> list[int]:
    """Statement starts whose line is more surprising than the function's lines on average (+0.5 sd).

    Only the body, ``starts[0]`` to ``end``, is read: reading on to the end of the file made
    every trimmed function cost a pass over the rest of the module.
    """
    import numpy as np

    first, last = starts[0], end
    text = "".join(code.lines[first:last])
    positions, bits = lm.surprisal(text)
    offsets = np.cumsum([0] + [len(code.lines[i]) for i in range(first, last)])
    line_of = np.searchsorted(offsets, positions, side="right") - 1
    per_line = np.bincount(line_of, weights=bits, minlength=len(offsets)) / np.maximum(
        np.bincount(line_of, minlength=len(offsets)), 1
    )
    values = per_line[[s - first for s in starts]]
    threshold = values.mean() + 0.5 * values.std()
    return [s for s, v in zip(starts, values.tolist(), strict=True) if v > threshold]


def identifier_words(text: str) -> list[str]:
    """Identifiers, lowercased, each followed by its parts when it has several.

    Example:
        >>> identifier_words("def parseHTTPHeader_v2(raw_bytes):")
        ['def', 'parsehttpheader_v2', 'parse', 'http', 'header', 'v', '2', 'raw_bytes', 'raw', 'bytes']
    """
    words: list[str] = []
    for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
        parts = [
            p
            for piece in token.split("_")
            for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[A-Z]+", piece)
        ]
        words.append(token.lower())
        if len(parts) > 1:
            words.extend(p.lower() for p in parts)
    return words


def _fast_scores(texts: list[str], query: str | None, lexical_weight: float) -> np.ndarray:
    """Embedding similarity mixed with BM25 over identifier words (scaled to [0, 1])."""
    import numpy as np

    from contextzip.embeddings import get_encoder

    encoder = get_encoder()
    vectors = encoder.encode(texts).astype(np.float64)
    if query and query.strip():
        target = encoder.encode([query])[0].astype(np.float64)
    else:
        from contextzip.embeddings import normalize_rows

        target = normalize_rows(vectors.sum(axis=0, keepdims=True))[0]
    semantic = vectors @ target
    lexical = _bm25_words([identifier_words(t) for t in texts], identifier_words(query or ""))
    top = lexical.max() if len(lexical) else 0.0
    lexical = lexical / top if top > 0 else lexical
    return np.round((1 - lexical_weight) * semantic + lexical_weight * lexical, 6)


def _bm25_words(documents: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of word lists (identifiers are already split; no stop words in code)."""
    import math

    import numpy as np

    if not documents or not query:
        return np.zeros(len(documents))
    lengths = np.array([len(d) for d in documents], dtype=float)
    average = lengths.mean() or 1.0
    frequency: dict[str, int] = {}
    for document in documents:
        for word in set(document):
            frequency[word] = frequency.get(word, 0) + 1
    scores = np.zeros(len(documents))
    counts = [dict.fromkeys(d, 0) for d in documents]
    for document, count in zip(documents, counts, strict=True):
        for word in document:
            count[word] += 1
    for word in set(query):
        if word not in frequency:
            continue
        idf = math.log(1 + (len(documents) - frequency[word] + 0.5) / (frequency[word] + 0.5))
        tf = np.array([c.get(word, 0) for c in counts], dtype=float)
        scores += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / average))
    return scores


# -- rendering -------------------------------------------------------------------------------


def render(code: CodeFile, kept: np.ndarray) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The kept lines of ``code`` with one marker line per dropped run, and the kept spans.

    A dropped run that is a whole chunk becomes a comment naming it; inside a function, in
    Python, the marker is an ``...`` statement so the body stays valid.
    """
    comment = LANGUAGES[code.language].comment if code.language in LANGUAGES else "#"
    owner = {line: index for index, chunk in enumerate(code.chunks) for line in chunk.lines}
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    offsets = [0]
    for source_line in code.lines:
        offsets.append(offsets[-1] + len(source_line))
    line = 0
    count = len(code.lines)
    while line < count:
        if kept[line]:
            start = line
            while line < count and kept[line]:
                line += 1
            out.extend(code.lines[start:line])
            spans.append((offsets[start], offsets[line]))
            continue
        start = line
        while line < count and not kept[line]:
            line += 1
        # the rest of a function's body and the whole chunks after it get markers of their own
        first_lines = {c.lines[0] for c in code.chunks}
        cut = next((n for n in range(start + 1, line) if n in first_lines), line)
        out.append(_marker(code, start, cut, owner, comment))
        if cut < line:
            out.append(_marker(code, cut, line, owner, comment))
    text = "".join(part for part in out if part)
    if code.language == "python" and not _parses(text):
        text = _python_fill_empty_bodies(text)
    return text, tuple(spans)


def _marker(code: CodeFile, start: int, end: int, owner: dict[int, int], comment: str) -> str:
    dropped = [code.lines[i] for i in range(start, end)]
    if not any(line.strip() for line in dropped):
        return "".join(dropped[:1]) if len(dropped) and start > 0 else ""
    first = next(line for line in dropped if line.strip())
    indent = first[: len(first) - len(first.lstrip())]
    chunk = code.chunks[owner[start]] if start in owner else None
    lines = sum(1 for line in dropped if line.strip())
    inside_body = chunk is not None and chunk.is_function and start >= (chunk.body_start or start + 1)
    names = sorted({code.chunks[owner[i]].name or "" for i in range(start, end) if i in owner} - {""})
    what = f": {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" if names and not inside_body else ""
    note = f"{comment} {lines} line{'s' if lines != 1 else ''} elided{what}"
    if inside_body and code.language == "python":
        return f"{indent}...  {note}\n"
    return f"{indent}{note}\n"


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _python_fill_empty_bodies(text: str) -> str:
    """Add ``...`` after a block header (``class K:``) whose whole body was elided."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(line)
        stripped = line.rstrip()
        if not stripped.endswith(":") or stripped.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        following = [n for n in lines[number + 1 :] if n.strip() and not n.lstrip().startswith("#")]
        if not following or len(following[0]) - len(following[0].lstrip()) <= indent:
            out.append(" " * (indent + 4) + "...\n")
    return "".join(out)


def check_valid(code: CodeFile, text: str) -> bool:
    """The compressed ``text`` is as valid as the original: Python parses; others have no new error nodes."""
    if code.language == "python":
        return _parses(text) or not _parses(code.text)
    if code.language in LANGUAGES:
        return syntax_errors(text, code.language) <= syntax_errors(code.text, code.language)
    return True
