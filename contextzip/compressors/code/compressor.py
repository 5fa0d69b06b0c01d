"""The code compressor: LongCodeZip's coarse and fine stages (see :mod:`contextzip.compressors.code`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.code.chunks import CodeFile, call_graph, parse_code
from contextzip.compressors.code.languages import LANGUAGES
from contextzip.compressors.code.render import render
from contextzip.compressors.code.scoring import (
    call_pmi,
    call_text,
    fast_scores,
    names_in,
    surprisal_jumps,
    unit_ranks,
)
from contextzip.compressors.code.selection import (
    Item,
    class_docstrings,
    cross_file_calls,
    dynamic_ratios,
    keep_containers,
    must_keep,
    signature_lines,
    take_in_order,
)
from contextzip.errors import ConfigurationError
from contextzip.selection import knapsack
from contextzip.sizing import size_input
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult

if TYPE_CHECKING:
    import numpy as np

    from contextzip.causal_lm import CausalLM

__all__ = ["LM_SIGNALS", "MODES", "CodeCompressor"]

MODES = ("lm", "fast")

LM_SIGNALS = ("calls", "instruction")


# The coarse stage may keep up to 1 + this x rate times the budget (1.3x at 4x, 1.15x at 8x); the fine
# stage trims it. Tighter budgets get less slack: functions cannot shrink below their signature,
# docstring and returns, so what is over-selected only pushes whole chunks out again (tuned on the
# code-deps train split).
_SLACK_PER_RATE = 1.2

_REPAIRS = 6

_STUB_SHARE = 0.3  # at most this share of the budget goes to signatures of functions left out

_MARKER_TOKENS = 8


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
        sized = size_input(segments, budget, self.counter)
        segments, counts, total, target = sized.segments, sized.counts, sized.total, sized.target
        code_at = [i for i, s in enumerate(segments) if self._is_code(s)]
        if sized.keeps_everything or not code_at:
            why = "no code segment to compress" if not code_at else "the budget keeps the whole input"
            return sized.unchanged(self.name, why)
        files = [self._parse(segments[i]) for i in code_at]
        fixed = total - sum(counts[i] for i in code_at)
        try:
            plans = self._plan(files, query, target - fixed)
        except ConfigurationError:
            raise
        except Exception as exc:  # a run-time failure must not lose the request
            why = f"compression failed ({type(exc).__name__}: {exc}); the input is unchanged"
            return sized.unchanged(self.name, why)
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
            return sized.unchanged(self.name, "compression would not shorten the code")
        reason: str | None = None
        if after > target * 1.05 + 20:
            reason = f"kept {after} tokens for a budget of {target}: signatures and structure that must stay"
        return CompressionResult(
            tuple(results), self.name, target, time.perf_counter() - sized.started, reason
        )

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
            Item(f, c, code.chunk_text(c), self.counter.count(code.chunk_text(c)))
            for f, code in enumerate(files) for c in range(len(code.chunks))
        ]  # fmt: skip
        calls = [call_text(files[item.file].chunks[item.chunk]) for item in items]
        scores = self._score([item.text for item in items], query, calls)
        for item, score in zip(items, scores.tolist(), strict=True):
            item.score = score
        stub_lines = [signature_lines(files[item.file], item.chunk) if self.stubs else () for item in items]
        stub_costs = [
            self._lines_cost(files[item.file], lines) for item, lines in zip(items, stub_lines, strict=True)
        ]
        reserve = min(_STUB_SHARE * budget, float(sum(stub_costs)))
        main = int(budget - reserve)
        keep, hosts = self._coarse(files, items, query, main)
        lines_kept = [np.zeros(len(code.lines), dtype=bool) for code in files]
        docstrings = [class_docstrings(code) for code in files]
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
        self, files: list[CodeFile], items: list[Item], keep: np.ndarray, lines_kept: list[np.ndarray],
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
            return fast_scores(texts, query, self.lexical_weight)
        lm = self._causal_lm()
        if self.lm_signal == "instruction":  # LongCodeZip: bits per token of the instruction saved
            alone = lm.continuation_surprisal([""], query)[0]
            return np.round(alone - lm.continuation_surprisal([t + "\n" for t in texts], query), 6)
        fast = fast_scores(texts, query, self.lexical_weight)
        if not any(calls):  # blocks inside a function have no name to be called by
            return fast
        return np.round(0.5 * unit_ranks(call_pmi(lm, query, calls)) + 0.5 * unit_ranks(fast), 6)

    def _causal_lm(self) -> CausalLM:
        if self._lm is None:
            from contextzip.causal_lm import CausalLM

            self._lm = CausalLM(self.model, precision=self.precision, device=self.device)
        return self._lm

    def _coarse(
        self, files: list[CodeFile], items: list[Item], query: str | None, budget: int
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
        named = names_in(query or "")
        for n, item in enumerate(items):
            if files[item.file].chunks[item.chunk].name in named:
                rank[n] += self.closure * 2
        edges = {
            n: {index_of[(item.file, c)] for c in call_graph(files[item.file]).get(item.chunk, ())}
            for n, item in enumerate(items)
        }
        cross_file_calls(files, items, index_of, edges)
        costs = np.array([item.cost for item in items], dtype=float)
        rate = min(budget / max(float(costs.sum()), 1.0), 1.0)
        allowed = budget * (1.0 + _SLACK_PER_RATE * rate if self.fine else 1.0)
        keep = np.zeros(len(items), dtype=bool)
        for _ in range(3):  # closure: callees of what is kept move up, then choose again
            keep = take_in_order(rank, costs, allowed)
            boosted = rank.copy()
            for n in np.flatnonzero(keep).tolist():
                for callee in edges.get(n, ()):
                    boosted[callee] = max(boosted[callee], rank[callee] + self.closure)
            if np.array_equal(take_in_order(boosted, costs, allowed), keep):
                break
            rank = boosted
        for n, item in enumerate(items):
            item.rank = float(rank[n])
        hosts = keep_containers(files, items, keep, index_of)
        return keep, hosts

    def _trim(
        self, files: list[CodeFile], items: list[Item], keep: np.ndarray,
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
            must = np.array([must_keep(code, item.chunk, a, b) for a, b in blocks])
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
            cut = set(surprisal_jumps(self._causal_lm(), code, starts, statements[-1][1]))
        else:
            cut = {a for a in starts if a > 0 and not code.lines[a - 1].strip()}
        cut.add(starts[0])
        bounds = sorted(cut) + [statements[-1][1]]
        return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
