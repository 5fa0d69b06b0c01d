"""Answer metrics (SQuAD v1.1 exact match and F1, ROUGE-L, answers in contexts and replies) and aggregates.

Every answer metric compares text after :func:`normalize_answer`, the SQuAD v1.1
normalization, and takes the best score over the gold answers, as the official
SQuAD v1.1 evaluation script does. Scores are floats in ``0.0 .. 1.0``.

:func:`answer_presence` needs no reader: it asks whether a (compressed) context still
contains a gold answer as a run of whole normalized tokens; :func:`answer_in_reply`
asks the same of a reader's reply, so an answer given in a sentence counts.

:func:`mean_with_count` and :func:`latency_summary` reduce per-sample numbers to
the typed summaries the reports print.
"""

from __future__ import annotations

import math
import re
import statistics
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contextzip.errors import ConfigurationError

__all__ = [
    "LatencySummary",
    "MetricSummary",
    "answer_in_reply",
    "answer_presence",
    "exact_match",
    "f1",
    "latency_summary",
    "mean_with_count",
    "normalize_answer",
    "rouge_l",
]

_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Normalize text the way the SQuAD v1.1 evaluation does.

    In order: lower-case; delete every character of :data:`string.punctuation`
    (deleted, not replaced by a space); replace the whole words ``a``, ``an`` and
    ``the`` by a space; collapse runs of whitespace to single spaces and strip.

    Args:
        text: Any text (an answer, a prediction or a whole context).

    Returns:
        The normalized text.

    Example:
        >>> normalize_answer("  The Denver-Broncos, a TEAM!  ")
        'denverbroncos team'
    """
    lowered = text.lower()
    no_punctuation = lowered.translate(_DELETE_PUNCTUATION)
    no_articles = _ARTICLES.sub(" ", no_punctuation)
    return " ".join(no_articles.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def _gold(answers: Sequence[str]) -> Sequence[str]:
    """Check the gold answers: a non-empty sequence of strings, not a bare string."""
    if isinstance(answers, str):
        raise ConfigurationError(
            f"answers must be a sequence of gold answers, not a single string ({answers!r}); "
            "wrap it in a list: [answer]"
        )
    if len(answers) == 0:
        raise ConfigurationError(
            "answers is empty; give at least one gold answer (skip samples that have none)"
        )
    return answers


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """Score 1.0 when the normalized prediction equals a normalized gold answer.

    Args:
        prediction: The reader's answer.
        answers: The gold answers; the best match counts.

    Returns:
        ``1.0`` or ``0.0``.

    Raises:
        ConfigurationError: If ``answers`` is empty or a bare string.

    Example:
        >>> exact_match("The Broncos!", ["Denver Broncos", "broncos"])
        1.0
    """
    predicted = normalize_answer(prediction)
    return max(float(predicted == normalize_answer(answer)) for answer in _gold(answers))


def _token_f1(predicted: list[str], gold: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(gold)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, answers: Sequence[str]) -> float:
    """Token-level F1 of the prediction against the best gold answer (SQuAD v1.1).

    Tokens are the whitespace-separated words of the normalized texts; the overlap
    counts repeated tokens at most as often as they occur in both. No common token
    (an empty prediction included) scores ``0.0``.

    Args:
        prediction: The reader's answer.
        answers: The gold answers; the best score counts.

    Returns:
        The F1 score in ``0.0 .. 1.0``.

    Raises:
        ConfigurationError: If ``answers`` is empty or a bare string.

    Example:
        >>> f1("the Denver Broncos team", ["Denver Broncos"])  # P = 2/3, R = 1
        0.8
    """
    predicted = _tokens(prediction)
    return max(_token_f1(predicted, _tokens(answer)) for answer in _gold(answers))


def _lcs_length(first: list[str], second: list[str]) -> int:
    """Length of the longest common subsequence, in O(len(first) * len(second)) time."""
    if len(second) > len(first):
        first, second = second, first
    previous = [0] * (len(second) + 1)
    for token in first:
        current = [0]
        for j, other in enumerate(second, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def _rouge_l_f(predicted: list[str], gold: list[str]) -> float:
    lcs = _lcs_length(predicted, gold)
    if lcs == 0:
        return 0.0
    precision = lcs / len(predicted)
    recall = lcs / len(gold)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, answers: Sequence[str]) -> float:
    """ROUGE-L F-measure (beta = 1) of the prediction against the best gold answer.

    The longest common subsequence (gaps allowed) of normalized tokens gives
    precision ``LCS / len(prediction)`` and recall ``LCS / len(answer)``; the score
    is their harmonic mean, ``0.0`` when nothing is shared.

    Args:
        prediction: The reader's answer.
        answers: The gold answers; the best score counts.

    Returns:
        The ROUGE-L F-measure in ``0.0 .. 1.0``.

    Raises:
        ConfigurationError: If ``answers`` is empty or a bare string.

    Example:
        >>> rouge_l("police killed the gunman", ["police kill the gunman"])  # LCS 2 of 3
        0.6666666666666666
    """
    predicted = _tokens(prediction)
    return max(_rouge_l_f(predicted, _tokens(answer)) for answer in _gold(answers))


# Dashes, curly quotes, ellipses, guillemets and CJK punctuation separate words ("1641–1679")
# but are not in string.punctuation, so the official normalization would glue them to words.
_UNICODE_PUNCTUATION = re.compile("[\u00ab\u00bb\u2010-\u2027\u2030-\u205e\u3000-\u303f\uff01-\uff0f]")


def answer_presence(context: str, answers: Sequence[str]) -> float:
    """Score 1.0 when the context contains a gold answer starting at a word.

    Context and answers are normalized with :func:`normalize_answer`; an answer is
    present when it occurs in the context starting at a token boundary (non-ASCII
    punctuation such as dashes counts as a boundary), so case and
    punctuation do not matter and a word started inside never counts ("cat" is not in
    "concatenate"). The answer may end inside a word, because SQuAD answer spans do
    ("gold" from "golden", "Rollo" from "Rollo's", normalized to "rollos"). An answer
    that normalizes to nothing is never present. The context is normalized once, so
    100k-character contexts are cheap.

    Args:
        context: The (compressed) context.
        answers: The gold answers; any of them counts.

    Returns:
        ``1.0`` or ``0.0``.

    Raises:
        ConfigurationError: If ``answers`` is empty or a bare string.

    Example:
        >>> answer_presence("Kickoff: the DENVER Broncos won.", ["Denver Broncos"])
        1.0
        >>> answer_presence("Words concatenate.", ["cat"])
        0.0
        >>> answer_presence("the golden anniversary", ["gold"])
        1.0
    """
    return _contains_answer(context, answers, suffix="")


def answer_in_reply(prediction: str, answers: Sequence[str]) -> float:
    """Score 1.0 when the reply contains a gold answer as whole words.

    The accuracy of multi-document QA in "Lost in the Middle" (Liu et al., 2023), as
    LongLLMLingua reports it, with whole-word matching: a right answer inside a sentence
    counts, which exact match and F1 penalize, but "no" is not found in "I do not know".
    Normalization, the ``1.0``/``0.0`` score and the errors for bad ``answers`` are
    :func:`answer_presence`'s; any gold answer counts.

    Example:
        >>> answer_in_reply("It was the Denver Broncos, in 2016.", ["Denver Broncos"])
        1.0
        >>> answer_in_reply("I do not know.", ["no"])
        0.0
    """
    return _contains_answer(prediction, answers, suffix=" ")


def _contains_answer(text: str, answers: Sequence[str], *, suffix: str) -> float:
    """1.0 when a normalized answer starts at a token of ``text`` (and ends at one, given ``" "``)."""
    gold = _gold(answers)
    haystack = f" {normalize_answer(_UNICODE_PUNCTUATION.sub(' ', text))} "
    for answer in gold:
        needle = normalize_answer(_UNICODE_PUNCTUATION.sub(" ", answer))
        if needle and f" {needle}{suffix}" in haystack:
            return 1.0
    return 0.0


@dataclass(frozen=True)
class MetricSummary:
    """The mean of the values that were given, and how many there were.

    Attributes:
        mean: The arithmetic mean, or ``None`` when no value was given.
        count: How many values went into the mean (``None`` values excluded).
    """

    mean: float | None
    count: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The summary as plain numbers.

        Example:
            >>> MetricSummary(0.5, 2).to_dict()
            {'mean': 0.5, 'count': 2}
        """
        return {"mean": self.mean, "count": self.count}


def mean_with_count(values: Iterable[float | None]) -> MetricSummary:
    """Average the values, skipping ``None`` (a metric that does not apply to a sample).

    Args:
        values: Per-sample scores; ``None`` entries are ignored.

    Returns:
        The mean (``None`` when every value is ``None`` or there are none) and the
        number of values averaged.

    Example:
        >>> mean_with_count([1.0, None, 0.0, 0.5])
        MetricSummary(mean=0.5, count=3)
    """
    present = [float(value) for value in values if value is not None]
    if not present:
        return MetricSummary(mean=None, count=0)
    return MetricSummary(mean=math.fsum(present) / len(present), count=len(present))


@dataclass(frozen=True)
class LatencySummary:
    """How long calls took and how fast they went.

    Attributes:
        median_s: Median seconds per call (``None`` when there were no calls).
        p95_s: 95th-percentile seconds per call, nearest-rank method (``None`` when
            there were no calls).
        tokens_per_s: Total tokens over total seconds (``None`` when no time passed).
        count: Number of calls.
    """

    median_s: float | None
    p95_s: float | None
    tokens_per_s: float | None
    count: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The summary as plain numbers.

        Example:
            >>> LatencySummary(1.0, 2.0, 10.0, 3).to_dict()
            {'median_s': 1.0, 'p95_s': 2.0, 'tokens_per_s': 10.0, 'count': 3}
        """
        return {
            "median_s": self.median_s,
            "p95_s": self.p95_s,
            "tokens_per_s": self.tokens_per_s,
            "count": self.count,
        }


def latency_summary(seconds: Sequence[float], tokens: Sequence[int]) -> LatencySummary:
    """Summarize per-call durations and the tokens each call handled.

    The 95th percentile uses the nearest-rank method: the value at 1-based rank
    ``ceil(0.95 * n)`` of the sorted durations. Throughput is
    ``sum(tokens) / sum(seconds)``.

    Args:
        seconds: Duration of each call, in seconds (non-negative).
        tokens: Tokens handled by each call, in the same order.

    Returns:
        The summary; every field but ``count`` is ``None`` when there were no calls.

    Raises:
        ConfigurationError: If the sequences differ in length or a duration is
            negative or not finite.

    Example:
        >>> latency_summary([0.5, 1.0, 2.0], [50, 100, 150])
        LatencySummary(median_s=1.0, p95_s=2.0, tokens_per_s=85.71428571428571, count=3)
    """
    if len(seconds) != len(tokens):
        raise ConfigurationError(
            f"seconds has {len(seconds)} values but tokens has {len(tokens)}; give one of each per call"
        )
    durations = sorted(float(value) for value in seconds)
    if any(not math.isfinite(value) or value < 0 for value in durations):
        raise ConfigurationError("seconds must be finite and non-negative; drop failed or unmeasured calls")
    count = len(durations)
    if count == 0:
        return LatencySummary(median_s=None, p95_s=None, tokens_per_s=None, count=0)
    rank = (95 * count + 99) // 100  # ceil(0.95 * count) without floating-point error
    total_seconds = math.fsum(durations)
    total_tokens = sum(int(value) for value in tokens)
    return LatencySummary(
        median_s=float(statistics.median(durations)),
        p95_s=durations[rank - 1],
        tokens_per_s=total_tokens / total_seconds if total_seconds > 0 else None,
        count=count,
    )
