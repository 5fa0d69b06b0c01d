"""Teachers: who decides which words of a training text a compressor should keep.

Every teacher labels the *words* of a text — :func:`contextzip.words.word_punctuation_boundaries`,
the units the token-classification compressor keeps or drops — with a boolean "keep".

* :class:`QATeacher` — QA supervision: words inside an answer span, and words a question
  shares with the text (content words only), are kept. Needs questions; no model.
* :class:`SurprisalTeacher` — a causal LM's surprisal (self-information, summed over a word's
  tokens): the ``keep`` share of words the LM finds least predictable are kept.
* :class:`CombinedTeacher` — the default recipe's teacher: QA words first, then the most
  surprising other words until ``keep`` of all words are kept. QA supervision says what was
  asked; surprisal spreads the remaining budget over what an LM could not guess.
* :class:`LLMTeacher` — LLMLingua-2's data distillation: an LLM behind any OpenAI-compatible
  endpoint is told to drop unneeded words without adding, reordering or changing any; its
  output is aligned back to the original words (:func:`align_kept_words`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from contextzip.errors import ConfigurationError
from contextzip.selection import unit_of_position
from contextzip.words import word_punctuation_boundaries

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CombinedTeacher",
    "LLMTeacher",
    "QATeacher",
    "SurprisalTeacher",
    "Teacher",
    "align_kept_words",
    "answer_words",
    "word_keys",
]

Questions = Sequence[tuple[str, Sequence[str]]]

#: Words at least this common (wordfreq's Zipf scale) are function words: sharing "the" or
#: "what" with a question says nothing about relevance.
FUNCTION_WORD_ZIPF = 6.0


class Teacher(Protocol):
    """Labels each word of ``text`` keep (True) or drop; ``questions`` may guide it."""

    name: str

    def label(self, text: str, questions: Questions = ()) -> np.ndarray: ...


def word_keys(text: str) -> list[str]:
    """Each word's comparison form: lowercase, punctuation and accents kept as written.

    Example:
        >>> word_keys("The Eiffel Tower, 1889.")
        ['the', 'eiffel', 'tower', ',', '1889', '.']
    """
    starts, ends = word_punctuation_boundaries(text)
    return [text[s:e].lower() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]


def _check_share(keep: float) -> None:
    if not 0.0 < keep <= 1.0:
        raise ConfigurationError(f"keep must be in (0, 1], got {keep}")


class QATeacher:
    """Keep the words of answer spans and the content words a question shares with the text.

    An answer is located wherever it occurs in the text (case-sensitive first, then
    ignoring case); every word overlapping an occurrence is kept.

    Example:
        >>> text = "Paris is the capital of France."
        >>> labels = QATeacher().label(text, [("What is France's capital?", ["Paris"])])
        >>> [w for w, k in zip(word_keys(text), labels) if k]
        ['paris', 'capital', 'france']
    """

    name = "qa"

    def label(self, text: str, questions: Questions = ()) -> np.ndarray:
        import numpy as np

        starts, ends = word_punctuation_boundaries(text)
        keep = np.zeros(len(starts), dtype=bool)
        keys = [_overlap_key(text[s:e].lower()) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        asked: set[str] = set()
        for question, answers in questions:
            asked.update(_overlap_key(k) for k in word_keys(question) if _is_content_word(k))
            keep |= answer_words(text, answers)
        keep |= np.fromiter((k in asked for k in keys), dtype=bool, count=len(keys))
        return keep


def answer_words(text: str, answers: Sequence[str], *, content_only: bool = False) -> np.ndarray:
    """Which words of ``text`` overlap an occurrence of one of ``answers``.

    An answer is looked for case-sensitively first, then ignoring case. ``content_only``
    skips answers made of function words alone ("yes", "no"): they occur anywhere, so
    where they occur says nothing about the question.

    Example:
        >>> answer_words("Paris is in France.", ["France"]).tolist()
        [False, False, False, True, False]
        >>> answer_words("Is it in France? No.", ["no"], content_only=True).any()
        np.False_
    """
    import numpy as np

    starts, ends = word_punctuation_boundaries(text)
    found = np.zeros(len(starts), dtype=bool)
    for answer in answers:
        if content_only and not any(_is_content_word(k) for k in word_keys(answer)):
            continue
        for lo, hi in _occurrences(text, answer.strip()):
            found |= (starts < hi) & (ends > lo)
    return found


def _overlap_key(key: str) -> str:
    # "France's" in a question asks about "France"
    return re.sub(r"['’]s$", "", key)


@functools.lru_cache(maxsize=65536)
def _is_content_word(key: str) -> bool:
    from wordfreq import zipf_frequency

    return any(c.isalnum() for c in key) and zipf_frequency(key, "en") < FUNCTION_WORD_ZIPF


def _occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    if not needle:
        return []
    found = [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text)]
    if not found:
        found = [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text, re.IGNORECASE)]
    return found


class SurprisalTeacher:
    """Keep the ``keep`` share of words with the highest causal-LM surprisal.

    A word's surprisal is the sum over the LM tokens that start inside it (a token that
    starts on the space before a word counts for that word). Scores are memoized per
    text, so labelling one passage for several questions runs the LM once.

    Args:
        model: A causal LM folder or name; ``None`` for the packaged SmolLM2-135M.
        keep: Share of words labelled keep.
        precision: ``"float32"`` or ``"bfloat16"``.
        device: A torch device string.
    """

    name = "surprisal"

    def __init__(
        self,
        model: str | None = None,
        *,
        keep: float = 0.4,
        precision: str = "bfloat16",
        device: str = "cpu",
    ) -> None:
        from contextzip.causal_lm import CausalLM

        _check_share(keep)
        self.keep = keep
        self.lm = CausalLM(model, precision=precision, device=device)
        self._scores: dict[str, np.ndarray] = {}

    def word_surprisal(self, text: str) -> np.ndarray:
        """Surprisal in bits of each word of ``text``."""
        import numpy as np

        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if key not in self._scores:
            starts, ends = word_punctuation_boundaries(text)
            positions, bits = self.lm.surprisal(text)
            # a token counts for the word whose territory it starts in; none after the last word
            index = unit_of_position(ends, positions)
            inside = positions < (ends[-1] if len(ends) else 0)
            self._scores[key] = np.bincount(index[inside], weights=bits[inside], minlength=len(ends))
        return self._scores[key]

    def label(self, text: str, questions: Questions = ()) -> np.ndarray:
        return top_share(self.word_surprisal(text), self.keep)

    def with_keep(self, keep: float) -> SurprisalTeacher:
        """The same LM and score memo, keeping a different share of words."""
        _check_share(keep)
        sibling = copy.copy(self)  # shallow: the LM and the memo are shared
        sibling.keep = keep
        return sibling


def top_share(scores: np.ndarray, share: float, already: np.ndarray | None = None) -> np.ndarray:
    """Keep ``already`` plus the highest ``scores`` until ``share`` of all items are kept.

    Ties go to the earlier item, so the result is deterministic.
    """
    import numpy as np

    keep = np.zeros(len(scores), dtype=bool) if already is None else already.copy()
    wanted = int(round(share * len(scores))) - int(keep.sum())
    if wanted > 0:
        candidates = np.flatnonzero(~keep)
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        keep[order[:wanted]] = True
    return keep


class CombinedTeacher:
    """QA words first, then the most surprising other words, up to ``keep`` of all words.

    When the QA words alone exceed ``keep``, all of them are kept. Without questions
    this is the surprisal teacher.
    """

    name = "qa+surprisal"

    def __init__(
        self, surprisal: SurprisalTeacher, *, keep: float = 0.4, qa: QATeacher | None = None
    ) -> None:
        _check_share(keep)
        self.surprisal = surprisal
        self.qa = qa or QATeacher()
        self.keep = keep

    def label(self, text: str, questions: Questions = ()) -> np.ndarray:
        asked = self.qa.label(text, questions)
        return top_share(self.surprisal.word_surprisal(text), self.keep, already=asked)


EXTRACTIVE_INSTRUCTION = (
    "You shorten texts for another language model to read. Delete the words that are not "
    "needed to keep the text's facts and meaning. Keep every remaining word exactly as it "
    "is written, in its original order: never add, reorder, rephrase, abbreviate or "
    "translate a word. Answer with the shortened text only."
)


class LLMTeacher:
    """LLMLingua-2 style distillation from an LLM behind an OpenAI-compatible endpoint.

    Texts longer than ``chunk_words`` words are sent in chunks (at word boundaries) and
    their labels concatenated. Answers are cached on disk by the client (see
    :class:`contextzip.eval.openai_reader.OpenAIReader`), so relabelling costs nothing.

    Args:
        model: The model name sent to the server.
        base_url: The API root (``/chat/completions`` is appended).
        api_key: ``None`` reads ``OPENAI_API_KEY``.
        chunk_words: Most words per request.
        client_options: More :class:`OpenAIReader` options (``concurrency``, ``cache_dir``, ...).
    """

    name = "llm"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        chunk_words: int = 400,
        **client_options: Any,
    ) -> None:
        from contextzip.eval.openai_reader import OpenAIReader

        if chunk_words < 1:
            raise ConfigurationError(f"chunk_words must be >= 1, got {chunk_words}")
        self.chunk_words = chunk_words
        client_options.setdefault("max_tokens", 2048)
        self.client = OpenAIReader(model, base_url=base_url, api_key=api_key, **client_options)

    def label(self, text: str, questions: Questions = ()) -> np.ndarray:
        import numpy as np

        starts, ends = word_punctuation_boundaries(text)
        labels = []
        for lo in range(0, len(starts), self.chunk_words):
            hi = min(lo + self.chunk_words, len(starts))
            chunk = text[starts[lo] : ends[hi - 1]]
            answer = self.client.chat(
                [
                    {"role": "system", "content": EXTRACTIVE_INSTRUCTION},
                    {"role": "user", "content": chunk},
                ]
            )
            labels.append(align_kept_words(word_keys(chunk), word_keys(answer)))
        return np.concatenate(labels) if labels else np.zeros(0, dtype=bool)


def align_kept_words(original: Sequence[str], kept: Sequence[str], *, lookahead: int = 64) -> np.ndarray:
    """Which ``original`` words the extractive output ``kept`` retained.

    Greedy, in order: each output word is matched to the next unmatched original word
    with the same form within ``lookahead`` words; an output word with no match (the LLM
    added or changed it) is skipped. Linear in the output length times ``lookahead``.

    Example:
        >>> align_kept_words(["the", "cat", "sat", "on", "the", "mat"], ["cat", "the", "mat"]).tolist()
        [False, True, False, False, True, True]
    """
    import numpy as np

    keep = np.zeros(len(original), dtype=bool)
    cursor = 0
    for word in kept:
        window = original[cursor : cursor + lookahead]
        try:
            at = cursor + list(window).index(word)
        except ValueError:
            continue
        keep[at] = True
        cursor = at + 1
    return keep
