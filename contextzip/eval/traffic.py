"""``proxy-traffic``: whole user messages of the shapes agents and chat users send, from real files.

Each sample is one user message (``documents[0]``): an instruction line that carries the
question, a blank line, then a document. The documents are real, read or produced where the
evaluation runs from what any ``make install`` checkout has: the standard library and the
packages in the environment (each sample's ``meta["source"]`` names the one it came from and
its version). The five shapes (:data:`SHAPES`):

* ``readme``: an installed package's README (its Markdown long description); the answer is a
  line *inside* a fenced code block: the first line of the block under a named heading, or the
  ``pip install`` command when no heading qualifies;
* ``source``: a Python module (standard library or installed package); the default value of a
  named function's parameter (a number or a string, found with :mod:`ast`);
* ``log``: ``python -X importtime`` of a few standard-library packages ending in a real
  traceback; the exception message, the function that raised it, or the module imported
  just before a named one;
* ``json``: an API-style listing of the installed distributions (name, version, summary,
  requires, license); one item's version, license or Python requirement;
* ``html``: the page :mod:`pydoc` writes for a standard-library module; a parameter's default
  or a constant's value.

The questions are found by :mod:`contextzip.eval.traffic_packages` (readme, json) and
:mod:`contextzip.eval.traffic_python` (source, html, log); this module makes messages of them.

A document longer than :data:`MAX_TOKENS` is cut at block (README, source) or line (log, HTML)
boundaries around the lines the question needs; documents shorter than :data:`MIN_TOKENS` are
not used. Every answer occurs verbatim in its document. Import times differ run to run, so
each log is made once per Python version and kept in the cache directory: the same
environment gives the same samples in every process.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator, Sequence

from contextzip.errors import ConfigurationError
from contextzip.eval.traffic_found import Found
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["ENCODING", "MAX_TOKENS", "MIN_TOKENS", "PER_SHAPE", "SHAPES", "shapes_of", "traffic_samples"]

SHAPES = ("readme", "source", "log", "json", "html")
#: The tokenizer document sizes are counted in.
ENCODING = "cl100k_base"
#: Document sizes, in :data:`ENCODING` tokens (the instruction line not included).
MIN_TOKENS, MAX_TOKENS = 700, 2500
#: Samples of each shape, at most.
PER_SHAPE = 10

_INSTRUCTIONS = {
    "readme": "Read this README and answer: {q}",
    "source": "Read this source file and answer: {q}",
    "log": "Read this log and answer: {q}",
    "json": "Read this API response and answer: {q}",
    "html": "Read this web page and answer: {q}",
}
_SAMPLINGS = ("first", "random")  # as contextzip.eval.datasets.SAMPLINGS
# a memory address (pydoc prints default objects' reprs): differs run to run
_VOLATILE = re.compile(r"at(?: |&nbsp;)0x[0-9a-f]{6,}")


def traffic_samples(*, limit: int | None = None, seed: int = 0, sample: str = "random") -> list[QASample]:
    """Build the ``proxy-traffic`` samples: shape by shape (:data:`SHAPES`), up to :data:`PER_SHAPE` each.

    Args:
        limit: Keep this many samples (``None``: all).
        seed: Seed of ``sample="random"`` (the samples themselves do not depend on it).
        sample: ``"random"``: ``limit`` samples drawn with ``seed``, kept in order;
            ``"first"``: the first ``limit``.

    Returns:
        Samples with ``dataset="proxy-traffic"``, ``kind="text"``, ``documents=(message,)``,
        ids ``traffic-<shape>-<hash of source and question>`` and ``meta`` holding ``shape``,
        ``source``, ``tokens`` (the document's size) and the shape's own keys.

    Raises:
        ConfigurationError: ``limit`` below 1 or an unknown ``sample``.

    Example:
        >>> samples = traffic_samples(limit=3, sample="first")
        >>> [s.meta["shape"] for s in samples]
        ['readme', 'readme', 'readme']
        >>> first_line, _, document = samples[0].documents[0].partition("\\n\\n")
        >>> samples[0].question in first_line, samples[0].answers[0] in document
        (True, True)
    """
    if limit is not None and limit < 1:
        raise ConfigurationError(f"limit must be >= 1, got {limit}")
    if sample not in _SAMPLINGS:
        raise ConfigurationError(f"sample must be one of {', '.join(_SAMPLINGS)}, got {sample!r}")
    from contextzip.eval.traffic_packages import listings, readmes
    from contextzip.eval.traffic_python import logs, pages, sources

    counter = TokenCounter(ENCODING)
    builders: dict[str, Callable[[], Iterator[Found]]] = {
        "readme": readmes, "source": sources, "log": logs, "json": listings, "html": pages,
    }  # fmt: skip
    everything = [s for shape in SHAPES for s in _shape_samples(shape, builders[shape](), counter)]
    if limit is None or limit >= len(everything):
        return everything
    if sample == "first":
        return everything[:limit]
    # the draw of contextzip.eval.datasets.load_dataset, so both pick the same samples
    picked = random.Random(f"sample:{seed}").sample(range(len(everything)), limit)
    return [everything[i] for i in sorted(picked)]


def _shape_samples(shape: str, found: Iterator[Found], counter: TokenCounter) -> Iterator[QASample]:
    made = 0
    used: set[str] = set()
    for item in found:
        if item.group and item.group in used:
            continue
        document = cut(item, counter)
        if document is None or _VOLATILE.search(document):
            continue
        if not all(answer in document for answer in item.answers):
            continue
        digest = hashlib.sha1(f"{item.source}\n{item.question}".encode()).hexdigest()[:10]
        yield QASample(
            id=f"traffic-{shape}-{digest}",
            question=item.question,
            answers=item.answers,
            documents=(_INSTRUCTIONS[shape].format(q=item.question) + "\n\n" + document,),
            dataset="proxy-traffic",
            meta={"shape": shape, "source": item.source, "tokens": counter.count(document), **item.meta},
            kind="text",
        )
        used.add(item.group)
        made += 1
        if made == PER_SHAPE:
            return


def cut(
    found: Found, counter: TokenCounter, *, min_tokens: int = MIN_TOKENS, max_tokens: int = MAX_TOKENS
) -> str | None:
    """The document of ``found``, cut to at most ``max_tokens`` around its kept lines.

    The cut grows from the kept lines, two tokens before them for one after (what leads to
    an answer matters more than what follows it), at the allowed cut points only.

    Returns:
        The document, or ``None`` when it (or the most that fits) is under ``min_tokens``,
        or the kept lines alone are over ``max_tokens``.

    Example:
        >>> from contextzip.eval.traffic_found import blank_line_cuts
        >>> text = "".join(f"Paragraph {i} says {i * 7}.\\n\\n" for i in range(40))
        >>> text.splitlines()[38]
        'Paragraph 19 says 133.'
        >>> found = Found("What does 19 say?", ("133",), text, "toy 1.0", (38, 38), blank_line_cuts)
        >>> document = cut(found, TokenCounter(ENCODING), min_tokens=20, max_tokens=60)
        >>> document.splitlines()[0], document.splitlines()[-1]
        ('Paragraph 15 says 105.', 'Paragraph 21 says 147.')
    """
    text = found.text.rstrip()
    total = counter.count(text)
    if total < min_tokens:
        return None
    if total <= max_tokens:
        return text
    lines = text.splitlines(keepends=True)
    points = sorted({0, len(lines), *(found.cuts(lines) if found.cuts else range(len(lines)))})
    first, last = found.keep
    start = max(p for p in points if p <= first)
    end = min(p for p in points if p > last)
    costs = [counter.count(line) for line in lines]
    budget = max_tokens
    for _ in range(4):  # line counts add up to about the whole; measure to be sure
        begin, stop = _grow(points, costs, start, end, (first, last), budget)
        document = "".join(lines[begin:stop]).rstrip()
        tokens = counter.count(document)
        if tokens <= max_tokens:
            return document if tokens >= min_tokens else None
        budget -= tokens - max_tokens
    return None


def _grow(
    points: Sequence[int], costs: Sequence[int], start: int, end: int, keep: tuple[int, int], budget: int
) -> tuple[int, int]:
    """Lines ``[start, end)`` widened, cut point by cut point, while they fit ``budget`` tokens."""
    size = sum(costs[start:end])
    at = {p: i for i, p in enumerate(points)}
    while True:
        before = points[at[start] - 1] if start > 0 else None
        after = points[at[end] + 1] if end < len(costs) else None
        grow_before = sum(costs[start : keep[0]]) <= 2 * sum(costs[keep[1] + 1 : end])
        options = [before, after] if grow_before else [after, before]
        for option in options:
            if option is None:
                continue
            extra = sum(costs[option:start]) if option < start else sum(costs[end:option])
            if size + extra <= budget:
                size += extra
                start, end = (option, end) if option < start else (start, option)
                break
        else:
            return start, end


def shapes_of(samples: Sequence[QASample]) -> dict[str, int]:
    """How many samples of each shape.

    Example:
        >>> shapes_of(traffic_samples(limit=2, sample="first"))
        {'readme': 2}
    """
    counts: dict[str, int] = {}
    for sample in samples:
        counts[sample.meta["shape"]] = counts.get(sample.meta["shape"], 0) + 1
    return counts
