"""Relevance to a query, shared by the compressors: query words, BM25, and embeddings mixed in.

* :func:`lexical_relevance` — the distinct query words a text holds, rare ones weighing most;
* :func:`bm25_scores` — BM25 over English words (stop words out);
* :func:`bm25_word_scores` — BM25 over word lists split by the caller (code identifiers);
* :func:`mixed_relevance` — embedding similarity plus half the lexical score.

Both BM25 scorers are ``bm25s``'s Lucene BM25: one implementation for MIG, code and the peers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from contextzip.errors import missing_extra

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Relevance", "bm25_scores", "bm25_word_scores", "lexical_relevance", "mixed_relevance"]

#: Scores for texts, higher kept first.
Relevance = Callable[[Sequence[str]], "np.ndarray"]

_WORD = re.compile(r"[A-Za-z0-9_]{2,}")


def lexical_relevance(query: str | None) -> Relevance:
    """Scores texts by the distinct query words (two or more characters) they contain, rare ones most.

    Each word counts its inverse document frequency among the ``N`` texts scored together,
    ``log((N + 1) / df)``: an identifier the question names and one line holds outweighs the
    question's common words that every line has (each of those weighs almost nothing).
    Scores are weighted sums, not word counts.

    Example:
        >>> lexical_relevance("disk quota exceeded")(["quota: 10GB", "user ok"]).round(2).tolist()
        [1.1, 0.0]
    """
    words = {w.lower() for w in _WORD.findall(query or "")}

    def score(texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        found = [words & {w.lower() for w in _WORD.findall(t)} for t in texts]
        frequency = Counter(w for held in found for w in held)
        weight = {w: math.log((len(texts) + 1) / n) for w, n in frequency.items()}
        return np.array([sum(weight[w] for w in sorted(held)) for held in found], dtype=np.float64)

    return score


def mixed_relevance(
    query: Sequence[str], *, model: str | None = None, static_above: int | None = None
) -> Relevance:
    """Scores texts by their best embedding similarity to any query text, plus half their share
    of the query words (:func:`lexical_relevance`, scaled to the best text's).

    Texts scored together whose characters add up to more than ``static_above`` are embedded
    with the model's static token vectors (:mod:`contextzip.static_embeddings`) instead of the
    transformer: a 5k-token JSON document's 400 members in milliseconds instead of a second.
    """
    from contextzip.embeddings import get_encoder

    lexical = lexical_relevance(" ".join(query))

    def score(texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        words = lexical(texts)
        top = float(words.max()) if len(words) else 0.0
        words = words / top if top > 0 else words
        static = static_above is not None and sum(map(len, texts)) > static_above
        encoder = get_encoder(model, backend="static") if static else get_encoder(model)
        similarity = encoder.encode(list(texts)) @ encoder.encode(query).T
        return np.round(similarity.max(axis=1) + 0.5 * words, 6)

    return score


def bm25_scores(texts: Sequence[str], query: str) -> np.ndarray:
    """BM25 score of each text for ``query`` (English words, stop words out, no stemming)."""
    import numpy as np

    bm25s = _bm25s()
    corpus = bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
    words = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
    known = [w for w in words if w in corpus.vocab]
    if not known:
        return np.zeros(len(texts))
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return np.asarray(retriever.get_scores(known), dtype=np.float64)


def bm25_word_scores(
    documents: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> np.ndarray:
    """BM25 of word lists split by the caller (code identifiers: no stop words), in float64.

    The classic form, ``(k1 + 1)`` factor included, so scores keep their scale.
    """
    import numpy as np

    if not any(documents) or not query:
        return np.zeros(len(documents))
    retriever = _bm25s().BM25(k1=k1, b=b, dtype="float64")
    retriever.index(documents, show_progress=False)
    known = [w for w in sorted(set(query)) if w in retriever.vocab_dict]
    if not known:
        return np.zeros(len(documents))
    return (k1 + 1) * np.asarray(retriever.get_scores(known), dtype=np.float64)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:
        raise missing_extra(exc.name or "bm25s", "ml") from None
    return bm25s
