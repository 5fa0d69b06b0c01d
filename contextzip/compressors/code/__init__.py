"""Code-aware compression: rank functions against the instruction, keep the best, then trim them.

LongCodeZip's two stages, for files and repositories sent to a coding model:

1. **Coarse.** Files are cut into chunks (functions, methods, classes, module blocks;
   :mod:`contextzip.compressors.code.chunks`). Each chunk is scored by how much it helps a small code LM
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

from contextzip.compressors.code.chunks import Chunk, CodeFile, call_graph, parse_code
from contextzip.compressors.code.compressor import LM_SIGNALS, MODES, CodeCompressor
from contextzip.compressors.code.languages import LANGUAGES, language_for, syntax_errors
from contextzip.compressors.code.render import check_valid, render
from contextzip.compressors.code.scoring import identifier_words
from contextzip.compressors.code.selection import dynamic_ratios

__all__ = [
    "LANGUAGES",
    "LM_SIGNALS",
    "MODES",
    "Chunk",
    "CodeCompressor",
    "CodeFile",
    "call_graph",
    "check_valid",
    "dynamic_ratios",
    "identifier_words",
    "language_for",
    "parse_code",
    "render",
    "syntax_errors",
]
