"""Marginal-information-gain selection (COMI's idea, applied to text), coarse to fine.

Under a tight budget, the words worth keeping are those relevant to the question and not
already said elsewhere. COMI scores that as *marginal information gain*::

    MIG = alpha * relevance - beta * redundancy

and applies it twice: across groups (documents) to decide how much of the budget each
group gets, then within each group to decide which of its units (sentences, paragraphs)
spend it. COMI merges hidden states inside its own model; this compressor selects text,
so it can sit in front of any API.

The steps, for segments ``S`` (groups: the segments, or the paragraphs of a single one)
split into units with embeddings ``e_i`` (unit vectors, :mod:`contextzip.embeddings`):

1. **Relevance.** ``rel_i = e_i . q`` for the query's embedding ``q`` — or, with no query,
   the cost-weighted centroid of all units (what the context is mostly about). With
   ``lexical_weight = w > 0`` and a query, ``rel_i = (1 - w) e_i . q + w bm25_i / max bm25``
   (BM25 over the units, ``bm25s``): exact names and numbers count beside meaning.
   With ``identifier_links = d > 0``, a unit sharing a rare identifier with a more relevant
   one is raised to ``d`` times that one's relevance, hop by hop (multi-hop chains).
2. **Redundancy.** ``redundancy="pairwise"`` is COMI's form: a unit's (or group's) largest
   similarity to any other one of its level. ``"greedy"`` is the sequential form (MMR):
   similarity to those already picked, so of two near-duplicates the first keeps its score
   and only the second is penalized.
3. **Coarse reallocation.** A group's vector is the cost-weighted mean of its units'; its
   relevance mixes its best unit's relevance with its vector's similarity to the target
   (``document_weight`` of the latter): one strong sentence, or a document about the
   question as a whole; with ``lm_weight > 0``, mixed again with how well the group's text
   predicts the question under a small causal LM. Each group gets ``MIG_g`` at group
   level and a weight ``exp((MIG_g - max MIG) / group_temperature)``; the budget is shared in proportion to
   the weights, capped at each group's size (what a full group cannot use goes to the
   others), in whole tokens by largest remainder. A share smaller than the group's
   smallest unit is withdrawn and given to the others, so groups with nothing relevant get
   zero.
4. **Fine selection.** Inside each group, units are taken by intra-group MIG until the
   group's share is spent; tokens a group could not place go to the best remaining units
   anywhere. Kept units stay in their original order.

A token-level pass can follow: :func:`mig_pipeline` is MIG then the query-aware token
classifier, as a :class:`~contextzip.pipeline.Pipeline`.

Cost: one embedding per distinct unit text (cached by content hash: repeats cost nothing)
plus O(n_g^2) similarity work per group of ``n_g`` units and O(G^2) across ``G`` groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contextzip.compressors.extractive import ExtractiveCompressor
from contextzip.compressors.identifier_links import linked_relevance
from contextzip.compressors.mig_math import DECIMALS, allocate_budget, max_similarity, mmr_order
from contextzip.compressors.relevance import bm25_scores
from contextzip.compressors.units import UnitTable, section_ends
from contextzip.embeddings import normalize_rows
from contextzip.errors import ConfigurationError
from contextzip.selection import select_units, unit_of_position
from contextzip.tokens import DEFAULT_ENCODING

if TYPE_CHECKING:
    import numpy as np

    from contextzip.causal_lm import CausalLM
    from contextzip.embeddings import SentenceEncoder
    from contextzip.pipeline import Pipeline

__all__ = ["MMR_LIMIT", "REDUNDANCY_FORMS", "MIGCompressor", "allocate_budget", "mig_pipeline", "mmr_order"]

REDUNDANCY_FORMS = ("greedy", "pairwise")
_GROUPINGS = ("auto", "segment", "paragraph")
_UNITS = ("sentence", "paragraph", "phrase")
#: Items ranked by exact greedy MIG per level; beyond, see :meth:`MIGCompressor._mig`.
MMR_LIMIT = 2048


class MIGCompressor(ExtractiveCompressor):
    """Keep the units with the most marginal information gain, budget shared across documents.

    Args:
        unit: What is kept or dropped whole: ``"sentence"``, ``"paragraph"`` or ``"phrase"``.
        groups: ``"segment"`` (each document is a group), ``"paragraph"`` (the paragraphs
            of each segment, or its sections when it is Markdown with headings), or
            ``"auto"`` (segments when there are several, else paragraphs).
        redundancy: ``"greedy"`` (similarity to what was picked) or ``"pairwise"`` (COMI's:
            similarity to every other unit).
        alpha: Weight of relevance.
        beta: Weight of redundancy; ``0`` ranks by relevance alone.
        lexical_weight: Share of BM25 in relevance when there is a query, in ``[0, 1]``.
        group_temperature: How sharply the budget follows group MIG; small values give
            nearly all of it to the best groups, large ones spread it evenly.
        document_weight: Share of the whole group's similarity in group relevance, in
            ``[0, 1]`` (the rest is its best unit's relevance).
        lead: Keep a group's first unit (a document's title and opening sentence, a
            paragraph's topic sentence) whenever other units of it are kept, so no kept
            sentence loses what it is about; leftover budget then only goes to groups
            whose lead is kept. On by default: with a 1.5B reader on NQ (10 passages, rate
            0.25, 200 questions) it answered 5.0 points more than ``lead=False`` (14 wins,
            4 losses; interval [+1.0, +9.0], ``eval/reports/2026-12-05-end-task``).
        lm_weight: Share, in ``[0, 1]``, of a small causal LM's judgement in group relevance
            when there is a query and several groups: how well the group's text predicts the
            question (LongLLMLingua's coarse ranking), rescaled to ``[0, 1]`` across groups.
            Off by default: ~3 s per ten passages on 2 CPU cores (~500x ``mig``'s own time) for
            no gain on the 1.5B headline (57.5% either way, 200 questions; a 42-question train
            screen had shown +4.8; ``eval/reports/2026-12-05-end-task``, sections 1 and 3).
        identifier_links: With a query, the share of a unit's relevance passed on to units sharing
            a rare identifier with it, hop by hop, so a chain of definitions whose start the
            question names is kept whole (:mod:`contextzip.compressors.identifier_links`; 0: off).
            Off by default: at 0.9 it keeps the synthetic variable chains whole in 20 of 20
            contexts (2k tokens, rate 0.25) against 3, but no reader here answers that task from
            any context, and it changes 11 of the 200 headline contexts (report, section 9).
        lm_model: That causal LM (``None``: the packaged SmolLM2-135M-Instruct).
        model: Sentence-embedding model (see :class:`~contextzip.embeddings.SentenceEncoder`);
            ``None`` is the packaged all-MiniLM-L6-v2.
        backend: ``"torch"`` or ``"onnx"``.
        device: Torch device.
        precision: ``"auto"``, ``"float32"`` or ``"bfloat16"`` (torch backend).
        force_tokens: Strings whose units are always kept.
        encoding: The tiktoken encoding budgets are counted in.
        min_tokens: Inputs shorter than this are returned unchanged.
        return_word_label: Record every unit's score and keep label.

    Example:
        >>> from contextzip import Budget, Segment
        >>> docs = [Segment("The Eiffel Tower was finished in 1889. It is in Paris."),
        ...         Segment("Tokyo was called Edo. It became the capital in 1868.")]
        >>> r = MIGCompressor().compress(docs, query="When was the Eiffel Tower built?",
        ...                              budget=Budget(rate=0.4))  # doctest: +SKIP
        >>> r.text  # doctest: +SKIP
        'The Eiffel Tower was finished in 1889.'
    """

    name = "mig"

    def __init__(
        self,
        *,
        unit: str = "sentence",
        groups: str = "auto",
        redundancy: str = "greedy",
        alpha: float = 1.0,
        beta: float = 0.3,
        lexical_weight: float = 0.3,
        group_temperature: float = 0.05,
        document_weight: float = 0.5,
        lead: bool = True,
        lm_weight: float = 0.0,
        identifier_links: float = 0.0,
        lm_model: str | None = None,
        model: str | None = None,
        backend: str = "torch",
        device: str = "cpu",
        precision: str = "auto",
        force_tokens: Sequence[str] = (),
        encoding: str = DEFAULT_ENCODING,
        min_tokens: int = 0,
        return_word_label: bool = False,
    ) -> None:
        if unit not in _UNITS:
            raise ConfigurationError(f"MIG keeps whole {', '.join(_UNITS)}s; got unit={unit!r}")
        if groups not in _GROUPINGS:
            raise ConfigurationError(f"groups must be one of {', '.join(_GROUPINGS)}, got {groups!r}")
        if redundancy not in REDUNDANCY_FORMS:
            raise ConfigurationError(
                f"redundancy must be one of {', '.join(REDUNDANCY_FORMS)}, got {redundancy!r}"
            )
        if alpha <= 0 or beta < 0:
            raise ConfigurationError(f"need alpha > 0 and beta >= 0, got alpha={alpha}, beta={beta}")
        if group_temperature <= 0:
            raise ConfigurationError(f"group_temperature must be > 0, got {group_temperature}")
        weights = dict(lexical_weight=lexical_weight, document_weight=document_weight, lm_weight=lm_weight)
        for option, value in weights.items():
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{option} must be in [0, 1], got {value}")
        if not 0.0 <= identifier_links < 1.0:
            raise ConfigurationError(f"identifier_links must be in [0, 1), got {identifier_links}")
        super().__init__(
            unit=unit,
            force_tokens=force_tokens,
            encoding=encoding,
            min_tokens=min_tokens,
            return_word_label=return_word_label,
        )
        self.groups = groups
        self.redundancy = redundancy
        self.alpha = alpha
        self.beta = beta
        self.lexical_weight = lexical_weight
        self.group_temperature = group_temperature
        self.document_weight = document_weight
        self.lead = lead
        self.lm_weight = lm_weight
        self.identifier_links = identifier_links
        self.lm_model = lm_model
        self._lm: CausalLM | None = None
        self.encoder_options: dict[str, Any] = {
            "backend": backend, "device": device, "precision": precision,
        }  # fmt: skip
        self.model = model
        self._encoder: SentenceEncoder | None = None

    @property
    def encoder(self) -> SentenceEncoder:
        """The sentence encoder, shared process-wide with every user of the same model."""
        if self._encoder is None:
            from contextzip.embeddings import get_encoder

            self._encoder = get_encoder(self.model, **self.encoder_options)
        return self._encoder

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        """The final per-unit scores (group MIG plus unit MIG), as :meth:`chooser` ranks them."""
        scores, _ = self._choose(table, query, float(table.costs.sum()), None)
        return scores

    def chooser(
        self, table: UnitTable, query: str | None, budget: float, forced: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Share ``budget`` across groups by group MIG, then spend each share by unit MIG."""
        return self._choose(table, query, budget, forced)

    def _choose(
        self, table: UnitTable, query: str | None, budget: float, forced: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        texts = table.unit_texts()
        vectors = self.encoder.encode(texts)
        costs = table.costs
        target = self._target(vectors, costs, query)
        relevance = self._relevance(texts, vectors, target, query)
        group_of = self._group_ids(table)
        groups = int(group_of.max()) + 1 if len(group_of) else 0
        group_relevance = np.full(groups, -np.inf)
        np.maximum.at(group_relevance, group_of, relevance)
        group_vectors = np.zeros((groups, vectors.shape[1]), dtype=np.float64)
        np.add.at(group_vectors, group_of, vectors * costs[:, None])
        group_vectors = normalize_rows(group_vectors)
        whole = np.round(group_vectors @ target, DECIMALS)
        group_relevance = (1 - self.document_weight) * group_relevance + self.document_weight * whole
        if self.lm_weight > 0 and groups > 1 and query and query.strip():
            predicts = self._question_likelihood(texts, group_of, groups, query)
            group_relevance = (1 - self.lm_weight) * group_relevance + self.lm_weight * predicts
        group_mig = self._mig(np.round(group_relevance, DECIMALS), group_vectors)
        group_sizes = np.bincount(group_of, weights=costs, minlength=groups)
        smallest = np.full(groups, np.inf)
        np.minimum.at(smallest, group_of, costs)
        weights = np.exp((group_mig - group_mig.max()) / self.group_temperature) if groups else group_mig
        shares = allocate_budget(weights, group_sizes, smallest, budget)

        unit_mig = np.zeros(len(table))
        keep = np.zeros(len(table), dtype=bool) if forced is None else forced.copy()
        by_group = np.argsort(group_of, kind="stable")
        bounds = np.searchsorted(group_of[by_group], np.arange(groups + 1))
        for group in range(groups):
            members = by_group[bounds[group] : bounds[group + 1]]
            unit_mig[members] = self._mig(relevance[members], vectors[members].astype(np.float64))
            chosen = select_units(
                unit_mig[members], costs[members], float(shares[group]),
                forced=keep[members], keep_at_least_one=False,
            )  # fmt: skip
            if self.lead:
                chosen = self._with_lead(chosen, unit_mig[members], costs[members], float(shares[group]))
            keep[members] = chosen
        scores = np.round(unit_mig + group_mig[group_of], DECIMALS)
        room = budget - float(costs[keep].sum())
        if room > 0:  # what the groups could not place goes to the best units left anywhere
            rest = np.flatnonzero(~keep)
            if self.lead:  # ...as long as each lands in a group whose lead is kept, or is a lead
                leads = bounds[:-1][bounds[:-1] < bounds[1:]]
                led = np.zeros(groups, dtype=bool)
                led[group_of[by_group[leads]][keep[by_group[leads]]]] = True
                is_lead = np.zeros(len(keep), dtype=bool)
                is_lead[by_group[leads]] = True
                rest = rest[led[group_of[rest]] | is_lead[rest]]
            fits = select_units(scores[rest], costs[rest], room, keep_at_least_one=False)
            keep[rest[fits]] = True
        if not keep.any() and len(keep):
            keep[int(np.argmax(scores))] = True  # never lose everything to rounding
        return scores, keep

    @staticmethod
    def _with_lead(chosen: np.ndarray, gains: np.ndarray, costs: np.ndarray, share: float) -> np.ndarray:
        """A group's choice with its first unit (a title, a topic sentence) added when it keeps others.

        The lead and the group's best chosen unit are kept, then the rest of the share is
        spent as before; a share too small for both keeps nothing (its tokens go to the
        groups that can keep a lead): a fragment of a document the budget cannot introduce
        is noise to a reader.
        """
        import numpy as np

        if not chosen.any() or chosen[0]:
            return chosen
        best = int(np.flatnonzero(chosen)[np.argmax(gains[chosen])])
        if costs[0] + costs[best] > share + 1e-9:
            return np.zeros(len(chosen), dtype=bool)
        forced = np.zeros(len(chosen), dtype=bool)
        forced[[0, best]] = True
        return select_units(gains, costs, share, forced=forced, keep_at_least_one=False)

    def _question_likelihood(
        self, texts: list[str], group_of: np.ndarray, groups: int, query: str
    ) -> np.ndarray:
        """How well each group's text predicts the question, best 1 and worst 0 (see ``lm_weight``)."""
        import numpy as np

        from contextzip.causal_lm import CausalLM

        if self._lm is None:
            self._lm = CausalLM(self.lm_model)
        joined = [" ".join(texts[i] for i in np.flatnonzero(group_of == g)) for g in range(groups)]
        surprisal = np.round(self._lm.question_surprisal(joined, query), DECIMALS)
        spread = float(surprisal.max() - surprisal.min())
        return (surprisal.max() - surprisal) / spread if spread > 0 else np.ones(groups)

    def _target(self, vectors: np.ndarray, costs: np.ndarray, query: str | None) -> np.ndarray:
        """The query's vector, or with no query the cost-weighted centroid of the units."""
        import numpy as np

        if query and query.strip():
            return self.encoder.encode([query])[0].astype(np.float64)
        return normalize_rows((vectors * costs[:, None]).sum(axis=0, keepdims=True).astype(np.float64))[0]

    def _relevance(
        self, texts: list[str], vectors: np.ndarray, target: np.ndarray, query: str | None
    ) -> np.ndarray:
        import numpy as np

        mixed = vectors.astype(np.float64) @ target
        if not query or not query.strip():
            return np.round(mixed, DECIMALS)
        if self.lexical_weight > 0:
            lexical = bm25_scores(texts, query)
            top = lexical.max() if len(lexical) else 0.0
            lexical = lexical / top if top > 0 else lexical
            mixed = (1 - self.lexical_weight) * mixed + self.lexical_weight * lexical
        mixed = np.round(mixed, DECIMALS)
        return linked_relevance(texts, mixed, decay=self.identifier_links) if self.identifier_links else mixed

    def _mig(self, relevance: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """``alpha * relevance - beta * redundancy`` for items with unit ``vectors``."""
        import numpy as np

        count = len(relevance)
        if count <= 1 or self.beta == 0:
            return np.round(self.alpha * relevance, DECIMALS)
        if self.redundancy == "pairwise":
            redundancy = max_similarity(vectors, vectors, skip_self=True)
            return np.round(self.alpha * relevance - self.beta * redundancy, DECIMALS)
        # greedy: MMR over the most relevant items; past MMR_LIMIT the rest are measured
        # against that picked set at once (an n x n matrix of a huge input would not fit)
        top = np.lexsort((np.arange(count), -relevance))[:MMR_LIMIT]
        similarity = np.round(vectors[top] @ vectors[top].T, DECIMALS)
        gains = np.empty(count)
        _, gains[top] = mmr_order(relevance[top], similarity, alpha=self.alpha, beta=self.beta)
        if count > len(top):
            rest = np.setdiff1d(np.arange(count), top)
            redundancy = max_similarity(vectors[rest], vectors[top], skip_self=False)
            gains[rest] = np.round(self.alpha * relevance[rest] - self.beta * redundancy, DECIMALS)
        return gains

    def _group_ids(self, table: UnitTable) -> np.ndarray:
        """The group of each unit: its segment, or its paragraph within the segment."""
        import numpy as np

        compressible = sum(1 for lo, hi in table.bounds if hi > lo)
        by_paragraph = self.groups == "paragraph" or (self.groups == "auto" and compressible == 1)
        ids = np.zeros(len(table), dtype=np.int64)
        next_id = 0
        for segment, (lo, hi) in enumerate(table.bounds):
            if hi == lo:
                continue
            if by_paragraph:
                local = unit_of_position(section_ends(table.texts[segment]), table.starts[lo:hi])
                _, local = np.unique(local, return_inverse=True)  # paragraphs without units vanish
                ids[lo:hi] = next_id + local
                next_id += int(local.max()) + 1
            else:
                ids[lo:hi] = next_id
                next_id += 1
        return ids


def mig_pipeline(*, coarse_share: float = 0.7, token_model: str | None = None, **options: Any) -> Pipeline:
    """MIG over sentences, then the query-aware token classifier inside what MIG kept.

    Args:
        coarse_share: Part of the compression (in log space) MIG does; the token
            classifier does the rest.
        token_model: The token classifier's model; ``None`` is the shipped query-aware one.
        **options: :class:`MIGCompressor` options.
    """
    from contextzip.compressors.token_classifier import TokenClassifierCompressor
    from contextzip.pipeline import Pipeline

    mig = MIGCompressor(**options)
    tokens = TokenClassifierCompressor(token_model, query_aware=True)
    return Pipeline(mig, tokens, coarse_share=coarse_share, encoding=mig.counter.encoding_name)
