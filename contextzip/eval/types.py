"""The records the evaluation passes around: samples in, per-sample results out.

Every dataset yields :class:`QASample`; every reader turns a (compressed) context
and a question into a :class:`ReaderOutput`; the runner writes one
:class:`SampleResult` per (sample, method, rate) as a JSON line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["BASELINE_METHOD", "QASample", "Reader", "ReaderOutput", "SampleResult"]

#: The method name of the uncompressed run (requested rate ``1.0``).
BASELINE_METHOD = "original"


@dataclass(frozen=True)
class QASample:
    """One question over one or more documents.

    Attributes:
        id: Unique within its dataset (stable across runs: results are keyed by it).
        question: The question (or task instruction).
        answers: Gold answers; any of them counts.
        documents: The context, as one or more documents in order.
        dataset: The dataset name.
        meta: Anything else (article title, split, task kind, ...).
        evidence: Strings that must all survive compression for the question to stay
            answerable (a variable chain's statements, every mention to count); when
            empty, a gold answer surviving is enough. ``presence`` uses it.
        evidence_share: Score ``presence`` as the share of ``evidence`` that survives
            (dependency recall), not all-or-nothing.
        kind: The segment kind of the documents (``"code"`` for source files, whose
            paths are ``meta["path"]``).

    Example:
        >>> s = QASample("q1", "Who?", ("Ann",), ("Ann wrote it.",), "toy")
        >>> s.context
        'Ann wrote it.'
    """

    id: str
    question: str
    answers: tuple[str, ...]
    documents: tuple[str, ...]
    dataset: str
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    evidence: tuple[str, ...] = ()
    evidence_share: bool = False
    kind: str = "text"

    @property
    def context(self) -> str:
        """The documents joined by blank lines."""
        return "\n\n".join(self.documents)


@dataclass(frozen=True)
class ReaderOutput:
    """What a reader says about a compressed context.

    Attributes:
        prediction: The reader's answer, or ``None`` for readers that do not answer
            (the ``presence`` reader only checks the context).
        seconds: Time the reader took.
        cached: True when the answer came from the reader's on-disk cache.
    """

    prediction: str | None
    seconds: float = 0.0
    cached: bool = False


@runtime_checkable
class Reader(Protocol):
    """Answers a question from a context (or declines to, like ``presence``)."""

    name: str

    def read(self, question: str, context: str) -> ReaderOutput: ...


@dataclass(frozen=True)
class SampleResult:
    """One line of ``samples.jsonl``: a sample compressed by one method at one rate, then read.

    ``rate`` is the requested rate (``1.0`` for the uncompressed baseline);
    ``achieved_rate`` is compressed over original tokens. Answer metrics are ``None``
    when the reader gave no prediction. ``accuracy`` is 1.0 when a gold answer appears
    in the reply (the multi-document QA accuracy of Liu et al. 2023, "Lost in the
    Middle", which LongLLMLingua reports): it credits a right answer given in a sentence,
    which exact match and F1 penalize. ``identifiers`` maps each identifier kind (see
    :mod:`contextzip.eval.identifiers`) to ``[kept, total]``: the original context's distinct
    numbers, names, paths, URLs and code identifiers, and how many the compressed one holds.
    """

    dataset: str
    sample_id: str
    method: str
    rate: float
    reader: str
    tokens_before: int
    tokens_after: int
    achieved_rate: float
    ratio: float
    compress_seconds: float
    presence: float
    prediction: str | None = None
    exact_match: float | None = None
    f1: float | None = None
    rouge_l: float | None = None
    accuracy: float | None = None
    reason: str | None = None
    identifiers: dict[str, list[int]] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SampleResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def key(self) -> tuple[str, str, str, float, str]:
        """What identifies a result for resuming: dataset, sample, method, rate, reader."""
        return (self.dataset, self.sample_id, self.method, self.rate, self.reader)


def answers_tuple(answers: Sequence[str]) -> tuple[str, ...]:
    """Gold answers, stripped, empty ones dropped, duplicates removed in order."""
    return tuple(dict.fromkeys(a.strip() for a in answers if a and a.strip()))
