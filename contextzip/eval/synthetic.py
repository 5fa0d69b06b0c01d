"""RULER-style synthetic long-context tasks, generated from a seed over real text.

Each sample hides short *needle* sentences in a haystack of real paragraphs and asks
a question only they answer. The tasks (:data:`ALL_TASKS`):

- ``single-needle``: one "The special magic number for <key> is <7 digits>." sentence;
  the question asks for that key's number.
- ``multi-needle``: four such sentences with distinct keys; one key is asked, the
  other three are distractors.
- ``multi-key``: four such sentences whose keys look alike (``<prefix>-<noun>``, the
  nouns sharing their first letter); one key is asked.
- ``variable-tracking``: a chain ``VAR A = 41235.``, ``VAR B = VAR A.``, ... spread
  through the text in order, plus a decoy chain holding another value; the question
  asks which variables hold the value, answered by the chain's names in assignment
  order joined by ``", "``.
- ``aggregation``: "Project <Name> shipped <n> units in week <w>." sentences for three
  projects, one mentioned strictly more often than the others; the question asks
  which project is mentioned most often.

Layout: the haystack is a run of consecutive paragraphs (cycling when short) from a
seeded starting point; the last one is cut at a word boundary so the whole context
(``sample.context``, the documents joined by blank lines) is within
:data:`TOLERANCE` of ``length_tokens`` target-LLM tokens, never above it. Every needle
is a paragraph of its own, inserted between haystack paragraphs at a random depth, so
it never splits a word. ``sample.documents`` is that list of paragraphs, needles
included. All randomness comes from a local ``random.Random`` seeded with the task
and seed, so the same call always builds the same sample (the default haystack
depends on the Python version's docstrings).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from contextzip.errors import ConfigurationError
from contextzip.eval.haystack import default_haystack, haystack_paragraphs
from contextzip.eval.synthetic_tasks import BUILDERS, Task
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = [
    "ALL_TASKS",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "TOLERANCE",
    "default_haystack",
    "generate",
    "make_sample",
]

ALL_TASKS: tuple[str, ...] = (
    "single-needle",
    "multi-needle",
    "multi-key",
    "variable-tracking",
    "aggregation",
)
MIN_LENGTH = 200
MAX_LENGTH = 200_000
TOLERANCE = 0.02
"""Largest relative distance of a sample's context length from ``length_tokens``."""

_SEP = "\n\n"


def _check_task(task: str) -> None:
    if task not in BUILDERS:
        raise ConfigurationError(f"unknown synthetic task {task!r}; choose one of {', '.join(ALL_TASKS)}")


def _check_length(length_tokens: int) -> None:
    if isinstance(length_tokens, bool) or not isinstance(length_tokens, int):
        raise ConfigurationError(f"length_tokens must be an int, got {type(length_tokens).__name__}")
    if not MIN_LENGTH <= length_tokens <= MAX_LENGTH:
        raise ConfigurationError(
            f"length_tokens={length_tokens} is out of range; pass a value from {MIN_LENGTH} to {MAX_LENGTH}"
        )


def _trim(text: str, room: int, counter: TokenCounter) -> str:
    """The longest word-boundary prefix of ``text`` that, with a separator, fits ``room`` tokens."""
    words = text.split(" ")
    low, high = 0, len(words)  # words[:low] fits; words[:high + 1] does not
    while low < high:
        middle = (low + high + 1) // 2
        if counter.count(" ".join(words[:middle]) + _SEP) <= room:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])


class _Builder:
    """Builds samples over one haystack, counting each haystack paragraph once.

    A paragraph costs the tokens of itself plus the blank line after it: the
    tokenizers' pre-split never joins a blank line to the text after it (it may join it
    to punctuation before it), so these costs add up exactly, less 0 or 1 token for the
    last paragraph, which has no blank line after it.
    """

    def __init__(self, paragraphs: tuple[str, ...], counter: TokenCounter) -> None:
        self.paragraphs = paragraphs
        self.counter = counter
        self._costs: dict[int, int] = {}

    def _cost(self, index: int) -> int:
        if index not in self._costs:
            self._costs[index] = self.counter.count(self.paragraphs[index] + _SEP)
        return self._costs[index]

    def fill(self, start: int, budget: int) -> tuple[list[str], list[int]]:
        """Consecutive paragraphs from ``start`` (cycling), the last one trimmed, within ``budget``."""
        texts: list[str] = []
        counts: list[int] = []
        used, index = 0, start
        while True:
            tokens = self._cost(index)
            if used + tokens > budget:
                trimmed = _trim(self.paragraphs[index], budget - used, self.counter)
                if trimmed:
                    texts.append(trimmed)
                    counts.append(self.counter.count(trimmed + _SEP))
                return texts, counts
            texts.append(self.paragraphs[index])
            counts.append(tokens)
            used += tokens
            index = (index + 1) % len(self.paragraphs)

    def build(self, task: str, length_tokens: int, seed: int) -> QASample:
        rng = random.Random(f"{task}:{seed}")
        start = rng.randrange(len(self.paragraphs))
        spec = BUILDERS[task](rng, length_tokens)
        needles = [
            (d, s)
            for group in spec.groups
            for d, s in zip(sorted(rng.random() for _ in group), group, strict=True)
        ]
        budget = length_tokens - sum(self.counter.count(s + _SEP) for _, s in needles)
        if budget < 0:
            raise ConfigurationError(f"length_tokens={length_tokens} is too small for {task!r}; pass more")
        for _ in range(3):  # the costs add up (see the class docstring); measure to be sure
            hay, counts = self.fill(start, budget)
            documents, depths = _insert(hay, counts, needles)
            tokens = self.counter.count(_SEP.join(documents))
            if (1 - TOLERANCE) * length_tokens <= tokens <= length_tokens:
                break
            budget -= tokens - length_tokens
        else:
            raise ConfigurationError(
                f"could not build {length_tokens} tokens from this haystack ({tokens} instead); "
                "pass paragraphs split at sentence or line breaks"
            )
        target = sum(len(g) for g in spec.groups[: spec.target])
        meta = {"task": task, "length_tokens": length_tokens, "tokens": tokens, "seed": seed}
        meta |= {"depth": depths[target], "depths": tuple(sorted(depths)), **spec.meta}
        return QASample(
            id=f"{task}-{length_tokens}-{seed}",
            question=spec.question,
            answers=spec.answers,
            documents=tuple(documents),
            dataset="synthetic",
            meta=meta,
            evidence=_evidence(task, spec),
        )


def _evidence(task: str, spec: Task) -> tuple[str, ...]:
    """What must survive for the answer to be derivable, beyond the answer itself."""
    if task == "variable-tracking":
        return spec.groups[0]  # every link of the asked chain
    if task == "aggregation":
        return tuple(sentence for group in spec.groups for sentence in group)  # every mention counted
    return ()


def _insert(
    hay: Sequence[str], counts: Sequence[int], needles: Sequence[tuple[float, str]]
) -> tuple[list[str], list[float]]:
    """Put each needle before haystack paragraph ``round(depth * len(hay))``.

    Returns the documents and each needle's realized depth (the share of haystack tokens
    before it), in the order of ``needles``.
    """
    before = [0]
    for count in counts:
        before.append(before[-1] + count)
    total = before[-1] or 1
    slots = [round(depth * len(hay)) for depth, _ in needles]
    order = sorted(range(len(needles)), key=lambda i: slots[i])  # stable: chains keep their order
    documents: list[str] = []
    position = 0
    for i in order:
        documents.extend(hay[position : slots[i]])
        position = slots[i]
        documents.append(needles[i][1])
    documents.extend(hay[position:])
    return documents, [round(before[slot] / total, 4) for slot in slots]


def make_sample(
    task: str,
    *,
    length_tokens: int,
    seed: int,
    haystack: Sequence[str] | None = None,
    counter: TokenCounter | None = None,
) -> QASample:
    """Build one synthetic sample of about ``length_tokens`` tokens.

    Args:
        task: One of :data:`ALL_TASKS`.
        length_tokens: Target length of ``sample.context`` in ``counter``'s tokens, from
            :data:`MIN_LENGTH` to :data:`MAX_LENGTH`; the result is within
            :data:`TOLERANCE` of it and never longer.
        seed: Chooses the haystack start, keys, values and depths; the same seed gives
            the same sample (and the same needles at every length, bar ``aggregation``).
        haystack: Real-text paragraphs (e.g. SQuAD contexts), whitespace collapsed and
            duplicates dropped, used consecutively and cycled; ``None`` for
            :func:`default_haystack`. Not modified.
        counter: Counts target-LLM tokens; ``TokenCounter()`` (o200k_base) by default.

    Returns:
        A :class:`QASample` with ``dataset="synthetic"``, ``id=f"{task}-{length_tokens}-{seed}"``,
        ``documents`` the haystack paragraphs with each needle as a paragraph of its own,
        and ``meta`` holding ``task``, ``length_tokens``, ``tokens`` (the context's
        length), ``seed``, ``depth`` (of the first needle holding the answer, as the
        share of haystack tokens before it), ``depths`` (of all needles) and the task's own
        keys (``key``, ``keys``, ``value``, ``chain``, ``decoy_chain``, ``counts``).

    Raises:
        ConfigurationError: An unknown task, a length out of range, or an empty haystack.

    Example:
        >>> sample = make_sample("single-needle", length_tokens=500, seed=3)
        >>> sample.id, sample.answers[0] in sample.context
        ('single-needle-500-3', True)
        >>> sample.meta["key"] in sample.question
        True
        >>> 490 <= TokenCounter().count(sample.context) <= 500
        True
    """
    _check_task(task)
    _check_length(length_tokens)
    return _Builder(haystack_paragraphs(haystack), counter or TokenCounter()).build(task, length_tokens, seed)


def generate(
    tasks: Sequence[str] = ALL_TASKS,
    *,
    lengths: Sequence[int] = (2000, 8000),
    samples_per_task: int = 10,
    seed: int = 0,
    haystack: Sequence[str] | None = None,
    counter: TokenCounter | None = None,
) -> list[QASample]:
    """Build ``samples_per_task`` samples for every task and length.

    Samples come task by task, then length by length, then with sample seeds
    ``seed * samples_per_task + i`` for ``i`` in ``range(samples_per_task)``, so their
    ids are unique and the same arguments always give the same list.

    Args:
        tasks: Task names from :data:`ALL_TASKS` (one name alone is accepted too).
        lengths: Target context lengths in tokens (see :func:`make_sample`).
        samples_per_task: Samples per (task, length), at least 1.
        seed: Base seed.
        haystack: Real-text paragraphs; ``None`` for :func:`default_haystack`.
        counter: Counts target-LLM tokens; ``TokenCounter()`` by default.

    Raises:
        ConfigurationError: An unknown task, a length out of range, an empty haystack
            or ``samples_per_task < 1``.

    Example:
        >>> samples = generate(["multi-key", "aggregation"], lengths=(300,), samples_per_task=2)
        >>> [s.id for s in samples]
        ['multi-key-300-0', 'multi-key-300-1', 'aggregation-300-0', 'aggregation-300-1']
    """
    task_names = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    for task in task_names:
        _check_task(task)
    for length in lengths:
        _check_length(length)
    if isinstance(samples_per_task, bool) or not isinstance(samples_per_task, int) or samples_per_task < 1:
        raise ConfigurationError(f"samples_per_task must be an int of at least 1, got {samples_per_task!r}")
    builder = _Builder(haystack_paragraphs(haystack), counter or TokenCounter())
    return [
        builder.build(task, length, seed * samples_per_task + i)
        for task in task_names
        for length in lengths
        for i in range(samples_per_task)
    ]
