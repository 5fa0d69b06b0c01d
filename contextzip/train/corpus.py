"""Training passages: texts of the user's domain, with the questions asked of them when known.

The built-in corpus (:func:`qa_corpus`) never holds evaluation data: SQuAD *train* paragraphs
(SQuAD dev is what models are evaluated on), SQuAD-shifts ``new_wiki`` paragraphs, and the gold
passages of the NQ-open questions in the *train* split (:func:`contextzip.eval.nq.nq_split`;
``nq-multidoc`` evaluates on the dev split). All three are read from the data directory
(:func:`contextzip.resources.data_dir`). Users bring their own as JSONL (:func:`read_corpus`):
one ``{"text": ...}`` per line, optionally with ``"id"`` and
``"questions": [{"question": ..., "answers": [...]}, ...]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError

if TYPE_CHECKING:
    from contextzip.eval.sources import NQRecord

__all__ = ["CORPUS_SOURCES", "Passage", "qa_corpus", "read_corpus", "spread_subset", "write_corpus"]


@dataclass(frozen=True)
class Passage:
    """One training text.

    Attributes:
        id: Unique within the corpus.
        text: The text to label.
        questions: ``(question, answers)`` pairs asked of this text (may be empty).
        group: Passages of one group (an article) are each other's distractors in
            query-aware examples; never split across train and evaluation.
    """

    id: str
    text: str
    questions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    group: str = field(default="", compare=False)


#: The built-in corpus's sources, in the order their passages come.
CORPUS_SOURCES = ("squad-train", "new-wiki", "nq-train")


def qa_corpus(*, sources: Sequence[str] = CORPUS_SOURCES) -> list[Passage]:
    """The built-in training passages, in a fixed order.

    Args:
        sources: Any of :data:`CORPUS_SOURCES`: ``squad-train`` (SQuAD train paragraphs),
            ``new-wiki`` (SQuAD-shifts New Wikipedia) and ``nq-train`` (the gold passages of
            NQ-open's train-split questions).

    Raises:
        ConfigurationError: An unknown source.
        ResourceNotFoundError: A source's file is not in the data directory.
    """
    from contextzip.eval import sources as data

    unknown = set(sources) - set(CORPUS_SOURCES)
    if unknown:
        raise ConfigurationError(
            f"unknown corpus source(s) {sorted(unknown)}; use {', '.join(CORPUS_SOURCES)}"
        )
    passages: list[Passage] = []
    for name, file in (("squad-train", "train"), ("new-wiki", "new-wiki")):
        if name not in sources:
            continue
        for article in data.squad_articles(file):
            for index, (context, questions) in enumerate(article.paragraphs):
                passages.append(
                    Passage(
                        id=f"{name}/{article.title}/{index}",
                        text=context,
                        questions=tuple((question, answers) for _, question, answers in questions),
                        group=f"{name}/{article.title}",
                    )
                )
    if "nq-train" in sources:
        passages += _nq_train_passages(data.nq_open_records())
    return passages


def _nq_train_passages(records: Sequence[NQRecord]) -> list[Passage]:
    from contextzip.eval.nq import nq_split

    # a few questions share a gold passage: one that a dev question is asked of stays out
    held_out = {record.text for record in records if nq_split(record.question) == "dev"}
    asked: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for record in records:
        if nq_split(record.question) == "train" and record.text not in held_out:
            asked.setdefault((record.title, record.text), []).append((record.question, record.answers))
    return [
        Passage(f"nq-train/{number}", text, tuple(questions), group=f"nq-train/{title}")
        for number, ((title, text), questions) in enumerate(asked.items())
    ]


def spread_subset(passages: Sequence[Passage], size: int | None) -> list[Passage]:
    """``size`` passages chosen by a hash of their ids (so every source and article has its
    share), in their original order; ``None`` or a larger ``size``: all of them.

    Example:
        >>> ps = [Passage(f"p{i}", "text") for i in range(10)]
        >>> [p.id for p in spread_subset(ps, 3)] == [p.id for p in spread_subset(ps, 3)]
        True
        >>> len(spread_subset(ps, 3)), len(spread_subset(ps, None))
        (3, 10)
    """
    if size is None or size >= len(passages):
        return list(passages)
    if size < 1:
        raise ConfigurationError(f"the subset size must be >= 1, got {size}")
    rank = sorted(range(len(passages)), key=lambda i: hashlib.sha1(passages[i].id.encode()).digest())
    chosen = set(rank[:size])
    return [p for i, p in enumerate(passages) if i in chosen]


def read_corpus(path: str | Path) -> list[Passage]:
    """Passages from a JSONL file of ``{"text", "id"?, "questions"?, "group"?}`` objects."""
    passages = []
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ConfigurationError(f"cannot read the corpus {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ConfigurationError(
                    f"{path}:{number}: each line must be a JSON object with a 'text' field"
                ) from None
            if not isinstance(text, str):
                raise ConfigurationError(f"{path}:{number}: 'text' must be a string")
            questions = tuple(
                (str(q["question"]), tuple(str(a) for a in q.get("answers", ())))
                for q in record.get("questions", ())
            )
            ident = str(record.get("id", number))
            passages.append(Passage(ident, text, questions, group=str(record.get("group", ident))))
    if not passages:
        raise ConfigurationError(f"{path} holds no passages")
    return passages


def write_corpus(passages: Iterable[Passage], path: str | Path) -> None:
    """Write passages as the JSONL :func:`read_corpus` reads."""
    with open(path, "w", encoding="utf-8") as handle:
        for p in passages:
            record = {
                "id": p.id,
                "text": p.text,
                "group": p.group,
                "questions": [{"question": q, "answers": list(a)} for q, a in p.questions],
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
