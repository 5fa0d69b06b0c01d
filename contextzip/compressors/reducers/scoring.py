"""How reducers score texts: a caller's relevance function, or query words by default."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Relevance", "lexical_relevance", "mixed_relevance", "weigh"]

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


def mixed_relevance(query: Sequence[str], *, model: str | None = None) -> Relevance:
    """Scores texts by their best embedding similarity to any query text, plus half their share
    of the query words (:func:`lexical_relevance`, scaled to the best text's)."""
    from contextzip.embeddings import get_encoder

    lexical = lexical_relevance(" ".join(query))
    encoder = get_encoder(model)

    def score(texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        words = lexical(texts)
        top = float(words.max()) if len(words) else 0.0
        words = words / top if top > 0 else words
        similarity = encoder.encode(list(texts)) @ encoder.encode(query).T
        return np.round(similarity.max(axis=1) + 0.5 * words, 6)

    return score


def weigh(
    texts: Sequence[str], relevance: Relevance | None, keep: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's relevance score, and whether it holds a string from ``keep`` (it must stay)."""
    import numpy as np

    scores = np.asarray((relevance or lexical_relevance(None))(texts), dtype=np.float64)
    held = np.array([any(k and k in text for k in keep) for text in texts], dtype=bool)
    return scores, held
