"""How code chunks are scored against an instruction: identifiers, BM25, an LM's expectations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.code.chunks import Chunk, CodeFile
from contextzip.compressors.relevance import bm25_word_scores

if TYPE_CHECKING:
    import numpy as np

    from contextzip.causal_lm import CausalLM

__all__ = ["call_pmi", "fast_scores", "identifier_words", "surprisal_jumps"]


def call_text(chunk: Chunk) -> str | None:
    """How a body would call the chunk's definition (``self.name(`` for methods)."""
    if chunk.name is None or chunk.kind == "module":
        return None
    return f"self.{chunk.name}(" if chunk.kind == "method" else f"{chunk.name}("


def call_pmi(lm: CausalLM, instruction: str, calls: Sequence[str | None]) -> np.ndarray:
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
    body = instruction.rstrip() + "\n" + " " * body_indent(instruction)
    texts = [str(calls[n]) for n in named]
    pmi[named] = lm.continuations_surprisal(_NEUTRAL_BODY, texts) - lm.continuations_surprisal(body, texts)
    return pmi


_NEUTRAL_BODY = "def run(self, *args, **kwargs):\n    "


def body_indent(instruction: str) -> int:
    first = next((line for line in instruction.splitlines() if line.strip()), "")
    return len(first) - len(first.lstrip()) + 4


def unit_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank scaled to ``[0, 1]`` (ties share their mean rank's order by index)."""
    import numpy as np

    order = np.lexsort((np.arange(len(values)), values))
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values) - 1, 1)
    return ranks


def surprisal_jumps(lm: CausalLM, code: CodeFile, starts: list[int], end: int) -> list[int]:
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


def fast_scores(texts: list[str], query: str | None, lexical_weight: float) -> np.ndarray:
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
    lexical = bm25_word_scores([identifier_words(t) for t in texts], identifier_words(query or ""))
    top = lexical.max() if len(lexical) else 0.0
    lexical = lexical / top if top > 0 else lexical
    return np.round((1 - lexical_weight) * semantic + lexical_weight * lexical, 6)


def names_in(query: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query))
