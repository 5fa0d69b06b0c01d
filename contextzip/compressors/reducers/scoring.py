"""How reducers weigh texts: the caller's relevance, and whether a text holds something kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.relevance import Relevance, lexical_relevance

if TYPE_CHECKING:
    import numpy as np

__all__ = ["weigh"]


def weigh(
    texts: Sequence[str], relevance: Relevance | None, keep: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's relevance score, and whether it holds a string from ``keep`` (it must stay)."""
    import numpy as np

    scores = np.asarray((relevance or lexical_relevance(None))(texts), dtype=np.float64)
    held = np.array([any(k and k in text for k in keep) for text in texts], dtype=bool)
    return scores, held
