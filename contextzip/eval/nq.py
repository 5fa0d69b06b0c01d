"""``nq-open`` and ``nq-multidoc``: Natural Questions (open) over their gold Wikipedia passages.

``nq-open`` asks each question of its gold passage alone. ``nq-multidoc`` is multi-document
QA in the shape of Liu et al. 2023, "Lost in the Middle": the gold passage among distractor
passages, each written ``(Title: T) text``. Distractors are other questions' gold passages that
hold none of this question's answers, alternately the ones sharing the most words with the
question (they look relevant, as retrieved passages do) and random ones. The context is sized
by ``documents`` (a count, as in the paper: 10, 20, 30) or by ``target_tokens`` (filled until
the next passage would pass it). The gold passage goes ``first``, in the ``middle``, ``last``
or at a ``random`` place; everything is drawn from a generator seeded by the question and
``seed``, so a sample is the same in every run.

With ``near_duplicates=k`` (``nq-multidoc-dups``), the first ``k`` look-alike distractors
each come with two near copies (:func:`contextzip.eval.multidoc.near_copy`), as the same
passage does when several pages quote it.

Splits: a question is ``dev`` when the first byte of the SHA-1 of its UTF-8 text is even
(about half: 991 of the 1,991 shared questions), else ``train``. The question text is the
key, so the split of a question never changes, whichever copy of the file it comes from.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator, Sequence

from contextzip.errors import ConfigurationError
from contextzip.eval.metrics import answer_presence
from contextzip.eval.multidoc import SPLITS, fill_documents, hash_split
from contextzip.eval.sources import NQRecord
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["GOLD_POSITIONS", "nq_multidoc_samples", "nq_open_samples", "nq_split"]

#: Where ``nq-multidoc`` puts the gold passage among the distractors.
GOLD_POSITIONS = ("first", "middle", "last", "random")

_WORD = re.compile(r"\w+")
# words too common to make a passage look relevant to a question
_STOP = frozenset(
    "the a an of in on at to for from by with and or is are was were be been who what when where which "
    "how why whom whose did does do has have had that this these those it its as into than then there "
    "their they he she his her him i you we our your not no yes name called first last".split()
)


def nq_split(question: str) -> str:
    """``"dev"`` when the first byte of the question's SHA-1 is even, else ``"train"``.

    Example:
        >>> nq_split("who wrote the declaration of independence") in ("dev", "train")
        True
    """
    return hash_split(question, one_in=2)


def _sample_id(question: str) -> str:
    return "nq-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def _passage(record: NQRecord) -> str:
    return f"(Title: {record.title}) {record.text}"


def _selected(records: Sequence[NQRecord], split: str) -> Iterator[NQRecord]:
    if split not in SPLITS:
        raise ConfigurationError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return (r for r in records if split == "all" or nq_split(r.question) == split)


def nq_open_samples(records: Sequence[NQRecord], *, split: str = "dev") -> Iterator[QASample]:
    """One sample per question of ``split``: the question over its gold passage alone."""
    for record in _selected(records, split):
        yield QASample(
            id=_sample_id(record.question),
            question=record.question,
            answers=record.answers,
            documents=(_passage(record),),
            dataset="nq-open",
            meta={"title": record.title, "split": nq_split(record.question)},
        )


def nq_multidoc_samples(
    records: Sequence[NQRecord],
    *,
    target_tokens: int | None = 8000,
    documents: int | None = None,
    gold_position: str = "random",
    split: str = "dev",
    seed: int = 0,
    near_duplicates: int = 0,
    counter: TokenCounter | None = None,
) -> Iterator[QASample]:
    """Yield Lost-in-the-Middle style samples: the gold passage among distractors.

    Args:
        records: NQ-open records (all of them: distractors come from every split).
        target_tokens: Context size in target-LLM tokens; ignored when ``documents`` is set.
        documents: Number of passages, the gold one included (``None``: size by tokens).
        gold_position: One of :data:`GOLD_POSITIONS`.
        split: Which questions: ``"dev"``, ``"train"`` or ``"all"`` (see :func:`nq_split`).
        seed: Changes the distractors, their order and a random gold position.
        near_duplicates: Look-alike distractors that get two near copies each.
        counter: Token counter (o200k_base by default).

    Example:
        >>> from contextzip.eval.sources import NQRecord
        >>> pool = [NQRecord(f"q{i} river", (f"A{i}",), f"T{i}", f"River {i} ends at A{i}.")
        ...         for i in range(6)]
        >>> s = next(nq_multidoc_samples(pool, documents=4, gold_position="last", split="all"))
        >>> len(s.documents), s.meta["gold_index"], "A0" in s.documents[-1]
        (4, 3, True)
    """
    if gold_position not in GOLD_POSITIONS:
        raise ConfigurationError(
            f"unknown gold position {gold_position!r}; choose one of {', '.join(GOLD_POSITIONS)}"
        )
    if documents is not None and documents < 1:
        raise ConfigurationError(f"documents must be >= 1, got {documents}")
    if documents is None and (target_tokens is None or target_tokens < 200):
        raise ConfigurationError(f"target_tokens must be >= 200 (or set documents), got {target_tokens}")
    counter = counter or TokenCounter()
    unique = {_passage(r): r for r in records}  # a few questions share a gold passage
    pool = [(text, counter.count(text), _words(f"{r.title} {r.text}")) for text, r in unique.items()]
    name = "nq-multidoc-dups" if near_duplicates else "nq-multidoc"
    for record in _selected(records, split):
        rng = random.Random(f"{seed}:{record.question}")
        gold = _passage(record)
        ordered = _distractors(record, gold, pool, rng)
        chosen = fill_documents(
            gold,
            ordered,
            target_tokens=None if documents is not None else target_tokens,
            max_documents=documents,
            counter=counter,
            rng=rng,
            near_duplicates=near_duplicates,
        )
        distractors = chosen[1:]
        rng.shuffle(distractors)
        place = {
            "first": 0,
            "middle": len(distractors) // 2,
            "last": len(distractors),
            "random": rng.randrange(len(distractors) + 1),
        }[gold_position]
        distractors.insert(place, gold)
        yield QASample(
            id=_sample_id(record.question),
            question=record.question,
            answers=record.answers,
            documents=tuple(distractors),
            dataset=name,
            meta={
                "title": record.title,
                "gold": gold,
                "gold_index": place,
                "gold_position": gold_position,
                "target_tokens": target_tokens if documents is None else None,
                "documents": len(distractors),
            },
        )


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def _distractors(
    record: NQRecord,
    gold: str,
    pool: Sequence[tuple[str, int, frozenset[str]]],
    rng: random.Random,
) -> Iterator[tuple[str, int, bool]]:
    """Answer-free passages, alternately the most look-alike and random ones; look-alikes may be copied.

    A generator: the context fills up long before the pool runs out, and checking a passage
    for the answers is the costly part.
    """
    candidates = [p for p in pool if p[0] != gold]
    rng.shuffle(candidates)  # ties in overlap fall in a seeded order
    asked = _words(record.question)
    alike = [p for p in sorted(candidates, key=lambda p: -len(asked & p[2])) if asked & p[2]]
    interleaved = [
        *((p, looks_alike) for pair in zip(alike, candidates, strict=False)
          for p, looks_alike in zip(pair, (True, False), strict=True)),
        *((p, False) for p in candidates[len(alike) :]),
    ]  # fmt: skip
    seen: set[str] = set()
    for (text, tokens, _), looks_alike in interleaved:
        # a distractor that holds an answer would make a second gold passage
        if text in seen or answer_presence(text, record.answers):
            continue
        seen.add(text)
        yield text, tokens, looks_alike
