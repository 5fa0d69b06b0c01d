"""Token-classification compressor: LLMLingua-2's algorithm, kept faithful to the original text.

A bidirectional encoder labels every token keep or drop (:mod:`contextzip.token_classification`);
each word's keep probability is the ``mean`` (or ``first``) of its tokens'; the most
probable words are kept until the budget, counted in the target LLM's tokens, is spent.

Where it departs from ``llmlingua`` 0.2.2 (whose exact behaviour the ``llmlingua2-parity``
peer gives, see :mod:`contextzip.eval.llmlingua2_parity`):

* one global ranking over all windows and documents, so the achieved rate follows the
  request (LLMLingua-2 thresholds each 512-token window on its own);
* the output is spans of the original text, so case, whitespace inside kept runs, CJK,
  URLs, numbers and identifiers come out as written (LLMLingua-2 rebuilds text from
  tokens, lower-cased with uncased models); a word is a run of non-space characters with
  its leading and trailing punctuation split off
  (:func:`~contextzip.words.word_punctuation_boundaries`), so a URL or ``3.5km`` is kept
  or dropped whole;
* structure: JSON documents pass through, Markdown table pipes and code fences stay,
  inputs under ``min_tokens`` are left alone;
* ``query_aware``: the question goes in as the first sequence of every window, for
  models trained that way.

Complexity: one tokenization and ``O(n / 510)`` encoder windows, then vectorized numpy
over tokens and units (one sort for the selection).
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextzip.compressors.extractive import ExtractiveCompressor
from contextzip.compressors.units import UnitTable, is_compressible
from contextzip.errors import ConfigurationError, ContextZipError
from contextzip.selection import unit_of_position
from contextzip.shipped import locate_token_classifier, resolve_token_classifier
from contextzip.sizing import size_input
from contextzip.token_classification import TokenClassifier, TokenProbs, check_classifier_options
from contextzip.tokens import DEFAULT_ENCODING
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, check_segments
from contextzip.words import word_punctuation_boundaries

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TOKEN_TO_WORD", "TokenClassifierCompressor"]

#: How sub-token probabilities become a word's: their mean, or the first token's.
TOKEN_TO_WORD = ("mean", "first")

_DIGIT = re.compile(r"\d")


class TokenClassifierCompressor(ExtractiveCompressor):
    """Keep the words a token-classification encoder labels most worth keeping.

    Args:
        model: A local folder or hub name of a 2-label ``*ForTokenClassification``
            checkpoint (label 1 = keep), e.g. ``microsoft/llmlingua-2-xlm-roberta-large-meetingbank``
            where the hub is reachable; ``None`` for the model contextzip ships
            (``contextzip-minilm-v1``, or ``contextzip-minilm-query-v1`` with
            ``query_aware=True``), or the name of a shipped model.
        backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime, exported once and cached).
        device: Torch device.
        precision: ``"auto"`` (bf16 where the hardware runs it natively, else fp32),
            ``"float32"``, ``"bfloat16"``, or ``"int8"`` (ONNX).
        unit: ``"word"`` (default), ``"phrase"``, ``"sentence"`` or ``"paragraph"``
            (longer units are ranked by the mean keep probability of their tokens).
        token_to_word: ``"mean"`` or ``"first"``: how a word's probability is formed.
        force_tokens: Strings whose every occurrence is kept.
        force_reserve_digit: Keep every word that holds a digit.
        drop_consecutive: Drop a force-token word that repeats the previous kept one.
        chunk_end_tokens: Windows end after these tokens when they can.
        query_aware: Put the query in as the first sequence; ``None`` reads the model's
            ``contextzip_query_aware`` config flag (False when absent).
        context_level_filter: With several documents, first drop whole documents with the
            lowest mean keep probability, then compress the rest (LLMLingua-2's
            coarse-to-fine mode).
        context_level_rate: Share of the documents' tokens the coarse step keeps;
            ``None`` for ``(rate + 1) / 2`` as LLMLingua-2 does.
        return_word_label: Record each word's probability and label in the result
            (:meth:`SegmentResult.word_labels <contextzip.types.SegmentResult.word_labels>`).
        min_tokens: Inputs shorter than this are left alone.
        max_length: Model tokens per window (special tokens included).
        batch_size: Windows per forward pass.
        encoding: The tiktoken encoding budgets are counted in.

    Example:
        >>> from contextzip import Budget, Segment
        >>> compressor = TokenClassifierCompressor("path/to/classifier")  # doctest: +SKIP
        >>> compressor.compress([Segment(text)], budget=Budget(rate=0.33)).text  # doctest: +SKIP
    """

    name = "token-classifier"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        backend: str = "torch",
        device: str = "cpu",
        precision: str = "auto",
        unit: str = "word",
        token_to_word: str = "mean",
        force_tokens: Sequence[str] = (),
        force_reserve_digit: bool = False,
        drop_consecutive: bool = False,
        chunk_end_tokens: Sequence[str] = (".", "\n"),
        query_aware: bool | None = None,
        context_level_filter: bool = False,
        context_level_rate: float | None = None,
        return_word_label: bool = False,
        min_tokens: int = 32,
        max_length: int = 512,
        batch_size: int = 8,
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if unit == "token":
            raise ConfigurationError(
                "unit='token' would cut words; the token classifier keeps words, phrases, "
                "sentences or paragraphs"
            )
        if token_to_word not in TOKEN_TO_WORD:
            raise ConfigurationError(
                f"token_to_word must be one of {', '.join(TOKEN_TO_WORD)}, got {token_to_word!r}"
            )
        if context_level_rate is not None and not 0.0 < context_level_rate <= 1.0:
            raise ConfigurationError(f"context_level_rate must be in (0, 1], got {context_level_rate!r}")
        check_classifier_options(backend, device, precision, max_length, batch_size)
        super().__init__(
            unit=unit,
            force_tokens=force_tokens,
            encoding=encoding,
            min_tokens=min_tokens,
            drop_consecutive=drop_consecutive,
            return_word_label=return_word_label,
        )
        # found now (a missing default says how to make it); rebuilt into the cache on first use
        self._located = locate_token_classifier(model, query_aware=bool(query_aware))
        self.token_to_word = token_to_word
        self.force_reserve_digit = force_reserve_digit
        self.chunk_end_tokens = tuple(chunk_end_tokens)
        self._query_aware = query_aware
        self.context_level_filter = context_level_filter
        self.context_level_rate = context_level_rate
        self.backend = backend
        self._make_classifier = functools.partial(
            TokenClassifier,
            backend=backend,
            device=device,
            precision=precision,
            max_length=max_length,
            batch_size=batch_size,
            chunk_end_tokens=tuple(chunk_end_tokens),
        )

    @functools.cached_property
    def model(self) -> str:
        """The folder or hub name the classifier loads from (a shipped model is rebuilt on first use)."""
        return resolve_token_classifier(self._located)

    @functools.cached_property
    def classifier(self) -> TokenClassifier:
        """The keep/drop classifier, made on first use (loading its model waits for the first text)."""
        return self._make_classifier(self.model)

    @property
    def query_aware(self) -> bool:
        """Whether windows are (query, text) pairs: the option, else the model's config flag."""
        if self._query_aware is not None:
            return self._query_aware
        return bool(getattr(self.classifier.config, "contextzip_query_aware", False))

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Compress ``segments`` to ``budget`` (see the class docstring for the options)."""
        segments = check_segments(segments)
        documents = [i for i, s in enumerate(segments) if is_compressible(s)]
        if self.context_level_filter and len(documents) > 1:
            return self._compress_coarse_to_fine(segments, documents, query, budget)
        return super().compress(segments, query=query, budget=budget)

    def split_words(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return word_punctuation_boundaries(text)

    def forced(self, table: UnitTable) -> np.ndarray | None:
        if not self.force_reserve_digit:
            return None
        import numpy as np

        mask = np.zeros(len(table), dtype=bool)
        for segment, (lo, hi) in enumerate(table.bounds):
            text = table.texts[segment]
            digits = [m.start() for m in _DIGIT.finditer(text)]
            if digits:
                units = unit_of_position(table.ends[lo:hi], np.asarray(digits))
                inside = table.starts[lo:hi][units] <= np.asarray(digits)
                mask[lo + units[inside]] = True
        return mask

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        import numpy as np

        scores = np.zeros(len(table), dtype=np.float64)
        for segment, (lo, hi) in enumerate(table.bounds):
            if hi > lo:
                probs = self.token_probs(table.texts[segment], query)
                scores[lo:hi] = unit_probs(table.starts[lo:hi], table.ends[lo:hi], probs, self._mode)
        return scores

    @property
    def _mode(self) -> str:
        return self.token_to_word if self.unit == "word" else "mean"

    def token_probs(self, text: str, query: str | None = None) -> TokenProbs:
        """The classifier's keep probability for each model token of ``text``."""
        return self.classifier.keep_probs(text, query if self.query_aware else None)

    def _compress_coarse_to_fine(
        self, segments: Sequence[Segment], documents: list[int], query: str | None, budget: Budget
    ) -> CompressionResult:
        """Drop the documents the classifier likes least, then compress the others to the budget."""
        import numpy as np

        sized = size_input(segments, budget, self.counter)
        counts, total, target, started = sized.counts, sized.total, sized.target, sized.started
        if sized.keeps_everything or total < self.min_tokens:
            return super().compress(segments, query=query, budget=budget)
        try:
            means = [_mean_prob(self.token_probs(segments[i].text, query)) for i in documents]
        except ContextZipError:
            raise  # a setup problem (no model, bad option) is the caller's to fix, as in the driver
        except Exception as exc:  # a run-time failure must not lose the request
            reason = f"compression failed ({type(exc).__name__}: {exc}); the input is unchanged"
            return sized.unchanged(self.name, reason)
        rate = self.context_level_rate or (target / total + 1.0) / 2.0
        document_tokens = sum(counts[i] for i in documents)
        kept: set[int] = set()
        kept_tokens = 0
        for rank in np.argsort(-np.asarray(means), kind="stable").tolist():
            if kept and kept_tokens >= rate * document_tokens:
                break
            kept.add(documents[rank])
            kept_tokens += counts[documents[rank]]
        score = dict(zip(documents, means, strict=True))
        survivors = [s for i, s in enumerate(segments) if i not in documents or i in kept]
        # the whole input passed min_tokens; the survivors are compressed whatever their size
        inner = self._compress_units(
            survivors, query=query, budget=Budget(target_tokens=target), min_tokens=0
        )
        inner_results = iter(inner.segments)
        results: list[SegmentResult] = []
        for i, (segment, count) in enumerate(zip(segments, counts, strict=True)):
            if i in score and i not in kept:
                results.append(SegmentResult(segment, "", (), count, 0, dropped=True, score=score[i]))
            else:
                result = next(inner_results)
                results.append(result if i not in score else _with_score(result, score[i]))
        return CompressionResult(
            segments=tuple(results),
            compressor=self.name,
            target_tokens=target,
            elapsed_s=time.perf_counter() - started,
            # survivors that fit the budget come back unchanged: that is not a failure here
            reason=inner.reason if inner.tokens_after < inner.tokens_before else None,
        )

    def __repr__(self) -> str:
        return f"TokenClassifierCompressor(model={self._located!r}, backend={self.backend!r})"


def unit_probs(starts: np.ndarray, ends: np.ndarray, probs: TokenProbs, mode: str = "mean") -> np.ndarray:
    """Each unit's keep probability from the model tokens that start inside it.

    ``mode="mean"`` averages them, ``"first"`` takes the first. A unit no token starts in
    (a character the tokenizer drops) takes the probability of the unit before it.
    """
    import numpy as np

    count = len(starts)
    result = np.full(count, np.nan)
    if count == 0 or len(probs.starts) == 0:
        return np.nan_to_num(result, nan=0.0)
    units = unit_of_position(ends, probs.starts)
    inside = (probs.starts >= starts[units]) & (probs.starts < ends[units])
    units, values = units[inside], probs.probs[inside].astype(np.float64)
    if mode == "first":
        present, first = np.unique(units, return_index=True)
        result[present] = values[first]
    else:
        sums = np.bincount(units, weights=values, minlength=count)
        tokens = np.bincount(units, minlength=count)
        np.divide(sums, tokens, out=result, where=tokens > 0)
    # carry the last seen probability forward over units without tokens
    seen = np.where(np.isnan(result), -1, np.arange(count))
    last = np.maximum.accumulate(seen)
    filled = np.where(last >= 0, result[np.maximum(last, 0)], np.nan)
    return np.nan_to_num(filled, nan=float(np.nanmean(result)) if np.isfinite(result).any() else 0.0)


def _mean_prob(probs: TokenProbs) -> float:
    """A document's mean keep probability (0 when the tokenizer found nothing in it)."""
    return float(probs.probs.mean()) if len(probs.probs) else 0.0


def _with_score(result: SegmentResult, score: float) -> SegmentResult:
    import dataclasses

    return dataclasses.replace(result, score=score)
