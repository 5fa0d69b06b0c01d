"""Document-level peers that contextzip's selectors are measured against.

Each peer ranks whole documents (segments) and keeps the best-ranked ones that fit the
budget — the way retrieval pipelines cut context today:

* ``lc-embeddings-filter`` — LangChain's own ``EmbeddingsFilter`` (documents by embedding
  similarity to the query, ``k`` = all, so the budget decides how many stay) followed by
  ``EmbeddingsRedundantFilter`` (drops the later of two documents more similar than
  0.95), with the same all-MiniLM-L6-v2 embeddings contextzip uses;
* ``bm25-docs`` — BM25 top-k (``bm25s``);
* ``longllmlingua-docs`` — LongLLMLingua's coarse ranking: documents by how well they
  predict the question (mean surprisal of the question followed by LongLLMLingua's
  restrictive sentence, conditioned on the document, SmolLM2 by default), lowest first;
* ``code-bm25``, ``code-embedding``, ``code-random``, ``code-position`` — for the code
  compressor: the same chunks of source files, ranked by one score (:class:`CodeChunkRanker`).

Protected and non-text segments always stay. A document that does not fit the budget
left is skipped and a smaller one after it may still fit, so the kept tokens end within
one document of the budget.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contextzip.compressors.code import CodeCompressor
from contextzip.compressors.units import is_compressible
from contextzip.errors import ConfigurationError, missing_extra
from contextzip.memo import LRU
from contextzip.selection import select_units
from contextzip.sizing import size_input
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult

if TYPE_CHECKING:
    import numpy as np

    from contextzip.causal_lm import CausalLM

__all__ = [
    "BM25Documents",
    "CodeChunkRanker",
    "DocumentRanker",
    "LangChainEmbeddingsFilter",
    "LongLLMLinguaDocuments",
    "register_peers",
]

_RANK_MEMO = 64


class DocumentRanker:
    """Keep whole documents in the order :meth:`rank` gives, while they fit the budget.

    Args:
        encoding: The tiktoken encoding budgets are counted in.
    """

    name: str

    def __init__(self, *, encoding: str = DEFAULT_ENCODING) -> None:
        self.counter = TokenCounter(encoding)
        # the same documents and query at several rates are ranked once
        self._ranks: LRU[str, list[int]] = LRU(_RANK_MEMO)

    def rank(self, documents: list[str], query: str | None) -> list[int]:
        """Indices of ``documents``, best first; documents left out are dropped."""
        raise NotImplementedError

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        import numpy as np

        sized = size_input(segments, budget, self.counter)
        segments, counts, total, target = sized.segments, sized.counts, sized.total, sized.target
        movable = [i for i, s in enumerate(segments) if is_compressible(s)]
        if sized.keeps_everything or len(movable) < 2:
            reason = "nothing to drop: the budget keeps everything, or there are fewer than two documents"
            return sized.unchanged(self.name, reason)
        fixed = total - sum(counts[i] for i in movable)
        order = self._ranked([segments[i].text for i in movable], query)
        priority = np.full(len(movable), -np.inf)
        priority[order] = -np.arange(len(order), dtype=np.float64)
        costs = np.array([counts[i] for i in movable], dtype=np.float64)
        ranked = np.isfinite(priority)
        keep = np.zeros(len(movable), dtype=bool)
        keep[ranked] = select_units(priority[ranked], costs[ranked], float(target - fixed))
        kept = {movable[i] for i in np.flatnonzero(keep).tolist()}
        results = tuple(
            SegmentResult(s, s.text, ((0, len(s.text)),) if s.text else (), c, c)
            if i in kept or not is_compressible(s)
            else SegmentResult(s, "", (), c, 0, dropped=True)
            for i, (s, c) in enumerate(zip(segments, counts, strict=True))
        )
        return CompressionResult(results, self.name, target, time.perf_counter() - sized.started)

    def _ranked(self, documents: list[str], query: str | None) -> list[int]:
        digest = hashlib.sha256(json.dumps([query, documents]).encode("utf-8", "surrogatepass")).hexdigest()
        ranks = self._ranks.get(digest)
        if ranks is None:
            ranks = self.rank(documents, query)
            self._ranks.set(digest, ranks)
        return ranks


class LangChainEmbeddingsFilter(DocumentRanker):
    """LangChain's ``EmbeddingsFilter`` then ``EmbeddingsRedundantFilter``, budget-limited.

    Args:
        model: Sentence-embedding model (``None``: the packaged all-MiniLM-L6-v2).
        redundancy_threshold: ``EmbeddingsRedundantFilter``'s similarity threshold.
        encoding: The tiktoken encoding budgets are counted in.
    """

    name = "lc-embeddings-filter"

    def __init__(
        self,
        *,
        model: str | None = None,
        redundancy_threshold: float = 0.95,
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        super().__init__(encoding=encoding)
        self.model = model
        self.redundancy_threshold = redundancy_threshold

    def rank(self, documents: list[str], query: str | None) -> list[int]:
        try:
            from langchain_classic.retrievers.document_compressors import EmbeddingsFilter
            from langchain_community.document_transformers import EmbeddingsRedundantFilter
            from langchain_core.documents import Document
        except ImportError as exc:
            raise missing_extra(exc.name or "langchain_classic", "peers") from None
        embeddings = _encoder_embeddings(self.model)
        docs = [Document(text, metadata={"index": i}) for i, text in enumerate(documents)]
        relevant = EmbeddingsFilter(embeddings=embeddings, k=len(docs)).compress_documents(docs, query or "")
        distinct = EmbeddingsRedundantFilter(
            embeddings=embeddings, similarity_threshold=self.redundancy_threshold
        ).transform_documents(relevant)
        return [int(d.metadata["index"]) for d in distinct]


def _encoder_embeddings(model: str | None) -> Any:
    """contextzip's cached sentence encoder as a LangChain ``Embeddings``."""
    from langchain_core.embeddings import Embeddings

    from contextzip.embeddings import get_encoder

    encoder = get_encoder(model)

    class EncoderEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in encoder.encode(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in encoder.encode([text])[0]]

    return EncoderEmbeddings()


class BM25Documents(DocumentRanker):
    """Documents by BM25 score for the query (``bm25s``; English stop words)."""

    name = "bm25-docs"

    def rank(self, documents: list[str], query: str | None) -> list[int]:
        import numpy as np

        from contextzip.compressors.relevance import bm25_scores

        scores = bm25_scores(documents, query or "")
        return np.lexsort((np.arange(len(documents)), -scores)).tolist()


class LongLLMLinguaDocuments(DocumentRanker):
    """Documents by the mean surprisal of ``question + RESTRICTION`` given the document.

    Args:
        model: A causal LM (``None``: the packaged SmolLM2-135M-Instruct).
        precision: ``"float32"`` or ``"bfloat16"``.
        device: A torch device string.
        encoding: The tiktoken encoding budgets are counted in.
    """

    name = "longllmlingua-docs"

    def __init__(
        self,
        *,
        model: str | None = None,
        precision: str = "bfloat16",
        device: str = "cpu",
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        super().__init__(encoding=encoding)
        self.model = model
        self.precision = precision
        self.device = device
        self._lm: CausalLM | None = None

    def rank(self, documents: list[str], query: str | None) -> list[int]:
        import numpy as np

        from contextzip.causal_lm import CausalLM

        if self._lm is None:
            self._lm = CausalLM(self.model, precision=self.precision, device=self.device)
        scores = self._lm.question_surprisal(documents, query or "")
        return np.lexsort((np.arange(len(documents)), scores)).tolist()


class CodeChunkRanker(CodeCompressor):
    """Code peers: whole chunks (the same tree-sitter chunks) kept by one score, in rank order.

    No dependency closure and no fine stage; what is dropped leaves the same markers (and,
    with ``stubs``, the same signatures of functions left out).
    ``ranking``: ``"bm25"`` (``bm25s`` over the chunk text and the instruction),
    ``"embedding"`` (all-MiniLM-L6-v2 similarity), ``"random"`` (seeded) or ``"position"``
    (the file's head first: truncation by chunks).
    """

    RANKINGS = ("bm25", "embedding", "random", "position")

    def __init__(
        self, *, ranking: str, seed: int = 0, stubs: bool = True, encoding: str = DEFAULT_ENCODING
    ) -> None:
        if ranking not in self.RANKINGS:
            raise ConfigurationError(f"ranking must be one of {', '.join(self.RANKINGS)}, got {ranking!r}")
        super().__init__(mode="fast", fine=False, closure=0.0, stubs=stubs, encoding=encoding)
        self.ranking = ranking
        self.seed = seed
        self.name = f"code-{ranking}"

    def _score(self, texts: list[str], query: str | None, calls: Sequence[str | None] = ()) -> np.ndarray:
        import numpy as np

        if self.ranking == "bm25":
            from contextzip.compressors.relevance import bm25_scores

            return bm25_scores(texts, query or "")
        if self.ranking == "embedding":
            from contextzip.embeddings import get_encoder

            encoder = get_encoder()
            return encoder.encode(texts).astype(np.float64) @ encoder.encode([query or ""])[0].astype(
                np.float64
            )
        if self.ranking == "random":
            digest = hashlib.sha256(json.dumps([self.seed, texts]).encode("utf-8", "surrogatepass")).digest()
            return np.random.default_rng(int.from_bytes(digest[:8], "little")).random(len(texts))
        return -np.arange(len(texts), dtype=np.float64)


def register_peers() -> None:
    """Register the peers and chunk baselines (the ``contextzip.compressors`` entry point)."""
    from contextzip.protocol import register_compressor

    peers = [
        ("lc-embeddings-filter", "LangChainEmbeddingsFilter", {}, "peer",
         "peer: LangChain EmbeddingsFilter + EmbeddingsRedundantFilter, whole documents to the budget"),
        ("bm25-docs", "BM25Documents", {}, "peer", "peer: BM25 top-k whole documents to the budget"),
        ("longllmlingua-docs", "LongLLMLinguaDocuments", {}, "peer",
         "peer: LongLLMLingua document ranking (question perplexity given each document, SmolLM2)"),
        ("code-bm25", "CodeChunkRanker", {"ranking": "bm25"}, "peer", "peer: code chunks by BM25 top-k"),
        ("code-embedding", "CodeChunkRanker", {"ranking": "embedding"}, "peer",
         "peer: code chunks by embedding similarity"),
        ("code-random", "CodeChunkRanker", {"ranking": "random"}, "baseline",
         "baseline: seeded random code chunks"),
        ("code-position", "CodeChunkRanker", {"ranking": "position"}, "baseline",
         "baseline: the first code chunks (truncation by chunks)"),
        ("llmlingua2-parity", "contextzip.eval.llmlingua2_parity:LLMLingua2Parity", {}, "peer",
         "peer: llmlingua 0.2.2's LLMLingua-2 reproduced word for word (text rebuilt from tokens)"),
    ]  # fmt: skip
    for name, attribute, defaults, group, description in peers:
        # by path: a lookup imports nothing more
        factory = attribute if ":" in attribute else f"{__name__}:{attribute}"
        register_compressor(
            name, factory, description=description, defaults=defaults, group=group, replace=True
        )
