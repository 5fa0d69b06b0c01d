"""The plain data every compressor takes and returns.

A string, a list of documents, a code file and a chat history all become
:class:`Segment` objects; a :class:`Budget` says how much of them may stay; a
:class:`CompressionResult` says what stayed, per segment, with the numbers.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from contextzip.errors import ConfigurationError

__all__ = [
    "SEGMENT_SEPARATOR",
    "Budget",
    "CompressionResult",
    "Segment",
    "SegmentResult",
    "check_segments",
    "round_tokens",
]

#: Placed between the texts of kept segments in :attr:`CompressionResult.text`.
SEGMENT_SEPARATOR = "\n\n"

Span = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    """One piece of context: a document, a file, a message or a tool output.

    Args:
        text: The content.
        kind: What the text is (``"text"``, ``"code"``, ``"json"``, ``"tool_output"``,
            ``"html"``, ...); compressors that understand a kind treat it specially.
        role: The chat role it came from, if any.
        protected: When true, every compressor returns the text unchanged.
        id: A caller's identifier, carried through to the result.
        meta: Free-form data carried through (e.g. ``{"path": "src/app.py"}``).

    Example:
        >>> Segment("def f(): ...", kind="code", meta={"path": "f.py"}).kind
        'code'
    """

    text: str
    kind: str = "text"
    role: str | None = None
    protected: bool = False
    id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConfigurationError(
                f"Segment.text must be a str, got {type(self.text).__name__}; "
                "decode bytes or convert the value with str() first"
            )


def check_segments(segments: Sequence[Segment]) -> list[Segment]:
    """Return ``segments`` as a list after checking each is a :class:`Segment`.

    Example:
        >>> check_segments([Segment("a")])
        [Segment(text='a', kind='text', role=None, protected=False, id=None, meta={})]
    """
    if isinstance(segments, str | bytes | Segment):
        raise ConfigurationError(
            "compress() of a Compressor takes a sequence of Segment; wrap a single text as "
            "[Segment(text)] or use contextzip.compress(text, ...)"
        )
    checked = list(segments)
    for position, segment in enumerate(checked):
        if not isinstance(segment, Segment):
            raise ConfigurationError(
                f"segments[{position}] is a {type(segment).__name__}, expected contextzip.Segment"
            )
    return checked


@dataclass(frozen=True)
class Budget:
    """How much context may stay, in the target LLM's tokens. Set exactly one field.

    Args:
        rate: Kept tokens over original tokens, in ``(0, 1]`` (LLMLingua's ``rate``).
        target_tokens: An absolute number of tokens to keep, ``>= 0``.

    Example:
        >>> Budget(rate=0.25).resolve(400)
        100
        >>> Budget(target_tokens=50).resolve(400)
        50
    """

    rate: float | None = None
    target_tokens: int | None = None

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.target_tokens is None):
            raise ConfigurationError("Budget needs exactly one of rate= or target_tokens=")
        if self.rate is not None:
            if isinstance(self.rate, bool) or not isinstance(self.rate, numbers.Real):
                raise ConfigurationError(f"rate must be a number in (0, 1], got {self.rate!r}")
            if not (0.0 < float(self.rate) <= 1.0) or math.isnan(self.rate):
                raise ConfigurationError(
                    f"rate must be in (0, 1] (kept/original tokens), got {self.rate!r}; "
                    "for a 4x compression use rate=0.25"
                )
        if self.target_tokens is not None:
            if isinstance(self.target_tokens, bool) or not isinstance(self.target_tokens, numbers.Integral):
                raise ConfigurationError(
                    f"target_tokens must be an int, got {type(self.target_tokens).__name__}"
                )
            object.__setattr__(self, "target_tokens", int(self.target_tokens))
            if self.target_tokens < 0:
                raise ConfigurationError(f"target_tokens must be >= 0, got {self.target_tokens}")

    def resolve(self, original_tokens: int) -> int:
        """Return the number of tokens that may stay out of ``original_tokens``.

        A rate is rounded half up: ``rate=0.5`` of 3 tokens is 2.
        """
        if self.rate is not None:
            return min(original_tokens, round_tokens(float(self.rate) * original_tokens))
        return min(original_tokens, self.target_tokens or 0)  # set: __post_init__ checked


def round_tokens(tokens: float) -> int:
    """A token count from a fractional one: half up, the one rounding rule of every budget.

    Example:
        >>> round_tokens(1.5), round_tokens(2.5), round_tokens(2.49)
        (2, 3, 2)
    """
    return math.floor(tokens + 0.5)


class UnitLabel(NamedTuple):
    """One unit an extractive compressor weighed: where it is, its score, and whether it stayed."""

    start: int
    end: int
    score: float
    kept: bool


@dataclass(frozen=True)
class SegmentResult:
    """What stayed of one segment.

    Attributes:
        segment: The input segment, unchanged.
        text: The compressed text (the original when nothing was removed).
        spans: Kept ``(start, end)`` character ranges into ``segment.text``, in order.
            For extractive compressors ``text`` is these spans joined by
            :func:`contextzip.text.join_spans`.
        tokens_before: Tokens of ``segment.text`` in the target tokenizer.
        tokens_after: Tokens of ``text``.
        dropped: True when nothing of the segment was kept.
        score: The compressor's score for the segment, when it has one.
        labels: Every unit weighed, with its score and keep label, when the compressor
            was asked for them (``return_word_label=True``); empty otherwise.
        note: What happened to this segment when it is worth saying (a duplicate replaced
            by a pointer, a reducer that failed and left it whole), ``None`` otherwise.

    Example:
        >>> import contextzip
        >>> r = contextzip.compress("alpha beta gamma delta", target_tokens=2, method="truncate")
        >>> seg = r.segments[0]
        >>> seg.text, seg.spans, seg.tokens_before, seg.tokens_after
        ('alpha beta', ((0, 10),), 4, 2)
    """

    segment: Segment
    text: str
    spans: tuple[Span, ...]
    tokens_before: int
    tokens_after: int
    dropped: bool = False
    score: float | None = None
    labels: tuple[UnitLabel, ...] = ()
    note: str | None = None

    def word_labels(self) -> list[tuple[str, int]]:
        """``(unit text, 1 if kept else 0)`` for each labelled unit, LLMLingua-2's word labels."""
        return [(self.segment.text[u.start : u.end], int(u.kept)) for u in self.labels]


@dataclass(frozen=True)
class CompressionResult:
    """The outcome of one ``compress`` call.

    Attributes:
        segments: One :class:`SegmentResult` per input segment, in input order.
        compressor: The name of the compressor that produced it.
        target_tokens: The budget resolved to tokens.
        elapsed_s: Wall time of the call in seconds.
        reason: Why the original came back unchanged (or why the budget could not be
            met), ``None`` when compression went as asked.

    Example:
        >>> import contextzip
        >>> r = contextzip.compress(["one two three four", "five six"], target_tokens=3, method="truncate")
        >>> r.text, r.tokens_before, r.tokens_after, r.ratio, r.rate, r.reason
        ('one two three', 6, 3, 2.0, 0.5, None)
    """

    segments: tuple[SegmentResult, ...]
    compressor: str
    target_tokens: int
    elapsed_s: float = 0.0
    reason: str | None = None

    @classmethod
    def unchanged(
        cls,
        segments: Sequence[Segment],
        counts: Sequence[int],
        compressor: str,
        target_tokens: int,
        reason: str,
        started: float,
    ) -> CompressionResult:
        """The result that hands ``segments`` back untouched (``ratio == 1.0``), saying why.

        ``counts`` are the segments' tokens; ``started`` is the :func:`time.perf_counter`
        reading at the start of the call.
        """
        results = tuple(
            SegmentResult(s, s.text, ((0, len(s.text)),) if s.text else (), c, c)
            for s, c in zip(segments, counts, strict=True)
        )
        elapsed = time.perf_counter() - started
        return cls(results, compressor, target_tokens, elapsed, reason)

    @property
    def text(self) -> str:
        """The non-empty kept segments' texts joined by :data:`SEGMENT_SEPARATOR`.

        Token counts (:attr:`tokens_after`) are per segment: the separators between
        segments, about one token each, are not counted.
        """
        return SEGMENT_SEPARATOR.join(r.text for r in self.segments if not r.dropped and r.text)

    @property
    def tokens_before(self) -> int:
        return sum(r.tokens_before for r in self.segments)

    @property
    def tokens_after(self) -> int:
        return sum(r.tokens_after for r in self.segments if not r.dropped)

    @property
    def ratio(self) -> float:
        """Original over compressed tokens (``4.0`` means 4x smaller); ``1.0`` when unchanged."""
        if self.tokens_after == 0:
            return math.inf if self.tokens_before else 1.0
        return self.tokens_before / self.tokens_after

    @property
    def rate(self) -> float:
        """Compressed over original tokens, the inverse of :attr:`ratio`."""
        return self.tokens_after / self.tokens_before if self.tokens_before else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Numbers and texts as plain JSON-ready values (for the CLI and reports)."""
        return {
            "compressor": self.compressor,
            "text": self.text,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "target_tokens": self.target_tokens,
            "ratio": self.ratio if math.isfinite(self.ratio) else None,
            "rate": self.rate,
            "elapsed_s": self.elapsed_s,
            "reason": self.reason,
            "segments": [
                {
                    "id": r.segment.id,
                    "kind": r.segment.kind,
                    "text": r.text,
                    "spans": [list(s) for s in r.spans],
                    "tokens_before": r.tokens_before,
                    "tokens_after": r.tokens_after,
                    "dropped": r.dropped,
                    "score": r.score,
                    "note": r.note,
                }
                for r in self.segments
            ],
        }
