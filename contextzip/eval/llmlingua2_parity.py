"""Parity mode: ``llmlingua`` 0.2.2's LLMLingua-2 compression, reproduced word for word.

For comparisons and migrations only (registered as ``llmlingua2-parity``, a peer); the default
:class:`~contextzip.compressors.token_classifier.TokenClassifierCompressor` does better.
What this reproduces, step by step (``compress_prompt(use_llmlingua2=True)``):

1. Force tokens that the tokenizer splits into several pieces are replaced in the text
   by added special tokens ``[NEW{i}]`` (the embedding matrix grows by 100 rows, drawn
   after seeding 42, as ``llmlingua`` does).
2. Each context is tokenized and cut into chunks of at most 510 tokens, ending at the
   last chunk-end token that fits; a chunk is rebuilt as text from its tokens (which
   lower-cases with uncased tokenizers) and tokenized again, padded to 512, 50 per batch.
3. Sub-tokens merge into words (WordPiece: a ``##`` piece continues the word; SentencePiece:
   a ``▁`` piece or punctuation starts one). ``llmlingua`` picks the rule from the model's
   *path* (``bert-base-multilingual-cased`` or ``xlm-roberta-large`` in it); here it comes
   from the tokenizer's model type, which gives the same rule for those checkpoints.
4. Per chunk, each word's probability (``mean`` or ``first`` of its pieces, in float32) is
   repeated once per cl100k token of the word, and words above the
   ``int(100 * (1 - rate) + 1)``-th percentile are kept; kept words are joined back with
   the tokenizer's ``convert_tokens_to_string``; chunks are concatenated, contexts joined
   with a blank line.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contextzip.compressors.token_classifier import TOKEN_TO_WORD
from contextzip.errors import ConfigurationError, missing_extra
from contextzip.eval.llmlingua2_words import WordMerge
from contextzip.loading import load_once
from contextzip.shipped import locate_token_classifier, resolve_token_classifier
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, check_segments

__all__ = ["LLMLingua2Parity", "ParityOutput", "llmlingua2_compress"]

_MAX_FORCE_TOKENS = 100
_WINDOW = 512
_BATCH = 50


@dataclass(frozen=True)
class ParityOutput:
    """What ``llmlingua`` returns, per context: compressed text, words and their labels."""

    compressed: list[str | None]
    words: list[list[str]]
    labels: list[list[int]]
    origin_tokens: int

    @property
    def compressed_prompt(self) -> str:
        return "\n\n".join(c for c in self.compressed if c is not None)


class LLMLingua2Parity:
    """``llmlingua`` 0.2.2's LLMLingua-2 compression as a compressor (``llmlingua2-parity``).

    For comparisons and migrations: the output is rebuilt from tokens, so it is not made of
    the original's spans. The options mean what the token classifier's do
    (:class:`~contextzip.compressors.token_classifier.TokenClassifierCompressor`).
    """

    name = "llmlingua2-parity"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        token_to_word: str = "mean",
        force_tokens: Sequence[str] = (),
        force_reserve_digit: bool = False,
        drop_consecutive: bool = False,
        chunk_end_tokens: Sequence[str] = (".", "\n"),
        context_level_filter: bool = False,
        context_level_rate: float | None = None,
        query_aware: bool | None = None,
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if token_to_word not in TOKEN_TO_WORD:
            raise ConfigurationError(
                f"token_to_word must be one of {', '.join(TOKEN_TO_WORD)}, got {token_to_word!r}"
            )
        self._located = locate_token_classifier(model, query_aware=bool(query_aware))
        self.token_to_word = token_to_word
        self.force_tokens = tuple(force_tokens)
        self.force_reserve_digit = force_reserve_digit
        self.drop_consecutive = drop_consecutive
        self.chunk_end_tokens = tuple(chunk_end_tokens)
        self.context_level_filter = context_level_filter
        self.context_level_rate = context_level_rate
        self.counter = TokenCounter(encoding)

    @functools.cached_property
    def model(self) -> str:
        """The folder the classifier loads from."""
        return resolve_token_classifier(self._located)

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """What :func:`llmlingua2_compress` makes of ``segments``, one context each (``query`` unused).

        ``spans`` are empty, since the text is rebuilt from tokens.
        """
        started = time.perf_counter()
        segments = check_segments(segments)
        if any(s.protected or s.kind != "text" for s in segments):
            raise ConfigurationError(
                "parity mode takes plain text segments only; llmlingua has no protected or typed content"
            )
        output = llmlingua2_compress(
            self.model,
            [s.text for s in segments],
            rate=budget.rate if budget.rate is not None else 0.5,
            target_token=budget.target_tokens if budget.target_tokens is not None else -1,
            token_to_word=self.token_to_word,
            force_tokens=self.force_tokens,
            force_reserve_digit=self.force_reserve_digit,
            drop_consecutive=self.drop_consecutive,
            chunk_end_tokens=self.chunk_end_tokens,
            use_context_level_filter=self.context_level_filter,
            context_level_rate=self.context_level_rate or 1.0,
        )
        count = self.counter.count
        results = tuple(
            SegmentResult(segment=s, text=text or "", spans=(), tokens_before=count(s.text),
                          tokens_after=count(text or ""), dropped=not text)
            for s, text in zip(segments, output.compressed, strict=True)
        )  # fmt: skip
        target = budget.resolve(sum(r.tokens_before for r in results))
        return CompressionResult(results, self.name, target, time.perf_counter() - started)


def llmlingua2_compress(
    model: str,
    contexts: Sequence[str],
    *,
    rate: float = 0.5,
    target_token: int = -1,
    token_to_word: str = "mean",
    force_tokens: Sequence[str] = (),
    force_reserve_digit: bool = False,
    drop_consecutive: bool = False,
    chunk_end_tokens: Sequence[str] = (".", "\n"),
    use_context_level_filter: bool = True,
    context_level_rate: float = 1.0,
    force_context_ids: Sequence[int] = (),
) -> ParityOutput:
    """``PromptCompressor(model, use_llmlingua2=True).compress_prompt(contexts, ...)``, reproduced.

    As ``compress_prompt`` does by default, several contexts first go through the
    context-level filter: contexts whose mean word probability (first piece of each word,
    force tokens not forced) is below the ``(1 - context_level_rate)`` percentile are dropped,
    ``context_level_rate`` defaulting to ``(rate + 1) / 2`` (or ``2 * target_token`` tokens).
    A dropped context's entry in ``compressed`` is ``None``.
    """
    if len(force_tokens) > _MAX_FORCE_TOKENS:
        raise ConfigurationError(f"llmlingua takes at most {_MAX_FORCE_TOKENS} force tokens")
    tokenizer, encoder = _load(model)
    added = [f"[NEW{i}]" for i in range(_MAX_FORCE_TOKENS)]
    token_map = {t: added[i] for i, t in enumerate(force_tokens) if len(tokenizer.tokenize(t)) != 1}
    ends = set(chunk_end_tokens) | {token_map[t] for t in chunk_end_tokens if t in token_map}
    cl100k = TokenCounter("cl100k_base")
    origin_tokens = sum(cl100k.count(c) for c in contexts)
    chunked = []
    for context in contexts:
        for original, replacement in token_map.items():
            context = context.replace(original, replacement)
        chunked.append(_chunks(tokenizer, context, ends))
    merge = WordMerge(tokenizer, force_tokens, token_map, force_reserve_digit)

    def to_word(pieces: list[Any]) -> Any:
        return sum(pieces) / len(pieces) if token_to_word == "mean" else pieces[0]

    reserved = list(range(len(contexts)))
    words_of: dict[int, list[str]] = {}
    if use_context_level_filter and len(contexts) > 1:
        if context_level_rate >= 1.0:
            if target_token < 0 and rate < 1.0:
                context_level_rate = (rate + 1.0) / 2
            if target_token >= 0:
                context_level_rate = min(target_token * 2 / origin_tokens, 1.0)
        scored = _score_chunks(tokenizer, encoder, merge, [c for chunks in chunked for c in chunks])
        reserved, words_of = _filter_contexts(
            scored, chunked, to_word, context_level_rate, force_context_ids, merge.sentencepiece
        )
        if target_token >= 0:
            kept_tokens = sum(cl100k.count(c) for i in reserved for c in chunked[i])
            rate = min(target_token / kept_tokens, 1.0)
    elif target_token > 0:
        rate = min(target_token / origin_tokens, 1.0)
    reduce_rate = max(0.0, 1.0 - rate)

    flat = [chunk for i in reserved for chunk in chunked[i]]
    kept_text: list[str] = []
    chunk_words: list[list[str]] = []
    chunk_labels: list[list[int]] = []
    for words, pieces, _ in _score_chunks(tokenizer, encoder, merge, flat):
        keep, labels = _select(
            words, [to_word(p) for p in pieces], reduce_rate, force_tokens, drop_consecutive, cl100k
        )
        kept_text.append(tokenizer.convert_tokens_to_string(keep))
        chunk_words.append([w.lstrip("▁") for w in words] if merge.sentencepiece else words)
        chunk_labels.append(labels)
    return _assemble(chunked, reserved, words_of, kept_text, chunk_words, chunk_labels, origin_tokens)


def _assemble(
    chunked: list[list[str]],
    reserved: list[int],
    words_of: dict[int, list[str]],
    kept_text: list[str],
    chunk_words: list[list[str]],
    chunk_labels: list[list[int]],
    origin_tokens: int,
) -> ParityOutput:
    """Per-context results from per-chunk ones (the kept contexts' chunks, in order)."""
    compressed: list[str | None] = []
    words_out, labels_out = [], []
    position = 0
    for index, chunks in enumerate(chunked):
        if index not in reserved:
            compressed.append(None)
            words_out.append(words_of[index])
            labels_out.append([0] * len(words_of[index]))
            continue
        span = range(position, position + len(chunks))
        compressed.append("".join(kept_text[i] for i in span))
        words_out.append([w for i in span for w in chunk_words[i]])
        labels_out.append([label for i in span for label in chunk_labels[i]])
        position += len(chunks)
    return ParityOutput(compressed, words_out, labels_out, origin_tokens)


def _filter_contexts(
    scored: list[Any],
    chunked: list[list[str]],
    to_word: Any,
    context_level_rate: float,
    force_context_ids: Sequence[int],
    sentencepiece: bool,
) -> tuple[list[int], dict[int, list[str]]]:
    """The contexts kept by mean word probability, and every context's words."""
    import numpy as np

    context_probs = []
    words_of: dict[int, list[str]] = {}
    position = 0
    for index, chunks in enumerate(chunked):
        mine = scored[position : position + len(chunks)]
        position += len(chunks)
        probs = [to_word(no_force) for _, _, plain in mine for no_force in plain]
        words_of[index] = [w.lstrip("▁") if sentencepiece else w for words, _, _ in mine for w in words]
        context_probs.append(sum(probs) / len(probs))
    threshold = np.percentile(context_probs, int(100 * (1 - context_level_rate)))
    reserved = [i for i, p in enumerate(context_probs) if p >= threshold or i in force_context_ids]
    return reserved, words_of


def _score_chunks(tokenizer: Any, encoder: Any, merge: WordMerge, chunks: list[str]) -> list[Any]:
    """(words, piece probabilities, piece probabilities before forcing) of each chunk."""
    import torch

    scored = []
    with torch.no_grad():
        for lo in range(0, len(chunks), _BATCH):
            ids, mask = _padded_batch(tokenizer, chunks[lo : lo + _BATCH])
            probs = torch.softmax(encoder(input_ids=ids, attention_mask=mask).logits, dim=-1)[:, :, 1]
            for row in range(ids.shape[0]):
                active = ids[row][mask[row]].tolist()
                scored.append(
                    merge(tokenizer.convert_ids_to_tokens(active), list(probs[row][mask[row]].numpy()))
                )
    return scored


def _load(model: str) -> tuple[Any, Any]:
    """A private (tokenizer, fp32 model) pair with llmlingua's 100 added tokens."""

    def build() -> tuple[Any, Any]:
        try:
            import torch
            from transformers import AutoModelForTokenClassification, AutoTokenizer
        except ImportError as exc:
            raise missing_extra(exc.name or "torch", "ml") from None
        tokenizer = AutoTokenizer.from_pretrained(model)
        encoder = AutoModelForTokenClassification.from_pretrained(model, dtype=torch.float32).eval()
        tokenizer.add_special_tokens(
            {"additional_special_tokens": [f"[NEW{i}]" for i in range(_MAX_FORCE_TOKENS)]}
        )
        # llmlingua seeds 42 before growing the embeddings; do so without touching the caller's RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(42)
            encoder.resize_token_embeddings(len(tokenizer))
        return tokenizer, encoder

    return load_once("llmlingua2-token-classifier", (model,), build)


def _chunks(tokenizer: Any, text: str, chunk_end_tokens: set[str]) -> list[str]:
    """Cut ``text`` into chunks of at most ``_WINDOW - 2`` tokens at chunk-end tokens."""
    size = _WINDOW - 2
    tokens = tokenizer.tokenize(text)
    chunks = []
    start = 0
    while start < len(tokens):
        if start + size > len(tokens) - 1:
            chunks.append(tokenizer.convert_tokens_to_string(tokens[start:]))
            break
        stop = start + size
        for back in range(stop - start):
            if tokens[stop - back] in chunk_end_tokens:
                stop -= back
                break
        chunks.append(tokenizer.convert_tokens_to_string(tokens[start : stop + 1]))
        start = stop + 1
    return chunks


def _padded_batch(tokenizer: Any, chunks: list[str]) -> tuple[Any, Any]:
    """Token ids padded to the full window, and the mask of real tokens."""
    import torch

    rows = []
    for chunk in chunks:
        tokens = [tokenizer.cls_token, *tokenizer.tokenize(chunk), tokenizer.sep_token][:_WINDOW]
        tokens += [tokenizer.pad_token] * (_WINDOW - len(tokens))
        rows.append(tokenizer.convert_tokens_to_ids(tokens))
    ids = torch.tensor(rows, dtype=torch.long)
    return ids, ids != tokenizer.pad_token_id


def _select(
    words: list[str],
    word_probs: list[Any],
    reduce_rate: float,
    force_tokens: Sequence[str],
    drop_consecutive: bool,
    cl100k: TokenCounter,
) -> tuple[list[str], list[int]]:
    """The kept words of one chunk and every word's label: llmlingua's per-chunk threshold."""
    import numpy as np

    force = set(force_tokens)
    if drop_consecutive:
        threshold = np.percentile(word_probs, int(100 * reduce_rate))
        between = False
        previous = None
        for i, (word, prob) in enumerate(zip(words, word_probs, strict=True)):
            if word in force:
                if between:
                    between = False
                elif word == previous:
                    word_probs[i] = 0.0
                previous = word
            else:
                between |= prob > threshold
    weighted = [prob for word, prob in zip(words, word_probs, strict=True) for _ in range(cl100k.count(word))]
    threshold = np.percentile(weighted, int(100 * reduce_rate + 1))
    keep: list[str] = []
    labels: list[int] = []
    for word, prob in zip(words, word_probs, strict=True):
        if prob > threshold or (threshold == 1.0 and prob == threshold):
            if drop_consecutive and word in force and keep and keep[-1] == word:
                labels.append(0)
            else:
                keep.append(word)
                labels.append(1)
        else:
            labels.append(0)
    return keep, labels
