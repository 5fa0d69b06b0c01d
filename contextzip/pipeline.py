"""Coarse-to-fine composition: one compressor picks units, a second prunes inside them.

The budget is split geometrically: with ``coarse_share = s`` and an overall rate
``r``, the coarse stage keeps ``r**s`` of the input and the fine stage brings what is
left down to the overall target (so the total meets the budget whatever the coarse
stage achieved). ``s = 0.5`` splits the compression evenly: at ``r = 0.1`` each
stage keeps about 32%.

Both stages must be extractive; the pipeline maps the fine stage's spans back
through the coarse stage's, so the result's spans point into the original text.
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from collections.abc import Sequence

from contextzip.errors import ConfigurationError
from contextzip.protocol import Compressor
from contextzip.sizing import size_input
from contextzip.text import Span, join_spans, joined_offsets
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, round_tokens

__all__ = ["Pipeline", "compose_spans"]


class Pipeline:
    """Run a coarse compressor, then a fine one, under one budget.

    Args:
        coarse: Chooses units (documents, sentences) first.
        fine: Prunes within what the coarse stage kept.
        coarse_share: Part of the compression, in log space, done by the coarse stage,
            in ``(0, 1]``.
        encoding: The tiktoken encoding budgets are counted in.

    Example:
        >>> from contextzip import Budget, Segment, get_compressor
        >>> pipe = Pipeline(get_compressor("selfinfo", unit="sentence"), get_compressor("selfinfo"))
        >>> text = "Paris is the capital of France. It has many museums. The Louvre is the largest."
        >>> pipe.compress([Segment(text)], budget=Budget(rate=0.5)).compressor
        'selfinfo>selfinfo'
    """

    def __init__(
        self,
        coarse: Compressor,
        fine: Compressor,
        *,
        coarse_share: float = 0.5,
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if isinstance(coarse_share, bool) or not isinstance(coarse_share, int | float):
            raise ConfigurationError(f"coarse_share must be a number in (0, 1], got {coarse_share!r}")
        if not 0.0 < coarse_share <= 1.0:
            raise ConfigurationError(f"coarse_share must be in (0, 1], got {coarse_share!r}")
        for stage in (coarse, fine):
            stage_encoding = getattr(getattr(stage, "counter", None), "encoding_name", encoding)
            if stage_encoding != encoding:
                raise ConfigurationError(
                    f"stage {stage.name!r} counts tokens in {stage_encoding}, the pipeline in "
                    f"{encoding}; pass encoding={stage_encoding!r} to Pipeline (or to the stage)"
                )
        self.coarse = coarse
        self.fine = fine
        self.coarse_share = coarse_share
        self.counter = TokenCounter(encoding)
        self.name = f"{coarse.name}>{fine.name}"

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Compress ``segments`` to ``budget`` in two stages.

        Args:
            segments: The input; not modified.
            query: Passed to both stages.
            budget: The overall budget; the stages' own budgets derive from it.

        Returns:
            A result whose spans point into the original segments. The stages' own
            reasons are not repeated: ``reason`` is set only when the original comes
            back unchanged.
        """
        sized = size_input(segments, budget, self.counter)
        segments, total, target = sized.segments, sized.total, sized.target
        if sized.keeps_everything:
            reason = (
                "the input is empty" if total == 0 else f"the budget ({target} tokens) keeps the whole input"
            )
            return sized.unchanged(self.name, reason)
        coarse_target = round_tokens(total * (target / total) ** self.coarse_share)
        first = self.coarse.compress(segments, query=query, budget=Budget(target_tokens=coarse_target))
        kept = [r for r in first.segments if not r.dropped]
        second = self.fine.compress(
            [dataclasses.replace(r.segment, text=r.text) for r in kept],
            query=query,
            budget=Budget(target_tokens=target),
        )
        fine_by_segment = iter(second.segments)
        results: list[SegmentResult] = []
        for coarse_result in first.segments:
            if coarse_result.dropped:
                results.append(coarse_result)
                continue
            results.append(self._compose(coarse_result, next(fine_by_segment)))
        after = sum(r.tokens_after for r in results if not r.dropped)
        if after >= total:
            reason = f"compression would not shorten the input ({after} >= {total} tokens)"
            return sized.unchanged(self.name, reason)
        return CompressionResult(
            segments=tuple(results),
            compressor=self.name,
            target_tokens=target,
            elapsed_s=time.perf_counter() - sized.started,
        )

    def _compose(self, coarse: SegmentResult, fine: SegmentResult) -> SegmentResult:
        original = coarse.segment.text
        if join_spans(original, coarse.spans) != coarse.text:
            raise ConfigurationError(
                f"Pipeline needs extractive stages; {self.coarse.name!r} returned text that is not "
                "its spans joined"
            )
        spans = compose_spans(original, coarse.spans, fine.spans)
        text = join_spans(original, spans)
        return SegmentResult(
            segment=coarse.segment,
            text=text,
            spans=spans,
            tokens_before=coarse.tokens_before,
            tokens_after=self.counter.count(text),
            dropped=not spans,
            score=fine.score,
        )


def compose_spans(original: str, outer: Sequence[Span], inner: Sequence[Span]) -> tuple[Span, ...]:
    """Map ``inner`` spans, taken in ``join_spans(original, outer)``, back into ``original``.

    Separator characters the join inserted map to nothing; spans that end up touching
    are merged.

    Args:
        original: The text ``outer`` points into.
        outer: The first stage's kept spans.
        inner: The second stage's kept spans, in the first stage's joined text.

    Example:
        >>> text = "alpha beta gamma delta"
        >>> outer = [(0, 5), (11, 22)]          # joined: "alpha gamma delta"
        >>> compose_spans(text, outer, [(0, 5), (12, 17)])
        ((0, 5), (17, 22))
    """
    outer = [(s, e) for s, e in outer if s < e]
    positions = joined_offsets(original, outer)
    composed: list[Span] = []
    for inner_start, inner_end in inner:
        index = max(bisect.bisect_right(positions, inner_start) - 1, 0)
        while index < len(outer) and positions[index] < inner_end:
            start, end = outer[index]
            position = positions[index]
            lo = max(inner_start, position)
            hi = min(inner_end, position + (end - start))
            index += 1
            if lo >= hi:
                continue
            mapped = (start + lo - position, start + hi - position)
            if composed and composed[-1][1] == mapped[0]:
                composed[-1] = (composed[-1][0], mapped[1])
            else:
                composed.append(mapped)
    return tuple(composed)
