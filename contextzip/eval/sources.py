"""The QA data sets, read in their own public formats from the data directory.

No package on the index ships QA passages with questions any more (the ``bigbench`` 1.0.0
sdist that held SQuAD dev, SQuAD-shifts and CoQA was withdrawn), so every file is read from
:func:`contextzip.resources.data_dir` (``$CONTEXTZIP_DATA_DIR``, else the cache's ``data``
folder) and nothing is downloaded. A missing file raises
:class:`~contextzip.errors.ResourceNotFoundError` naming the file, where to put it and where
the public original is. Files may be gzipped or not.

================  ==============================================  ======================================
data set          file (under the data directory)                 public original
================  ==============================================  ======================================
SQuAD v1.1 dev    ``squad/dev-v1.1.json``                         the SQuAD explorer
SQuAD train       ``squad/train-v1.0.json`` (or ``-v1.1``)        the SQuAD explorer
SQuAD-shifts      ``squad/squadshifts-new_wiki-v1.0.json``        ``modestyachts/squadshifts-website``
NQ-open + gold    ``nq-open/nq-open-oracle.shared.jsonl``         ``nelson-liu/lost-in-the-middle``
                  (or the full ``nq-open-oracle.jsonl``)          ``qa_data/nq-open-oracle.jsonl.gz``
CoQA dev          ``coqa/coqa-dev-v1.0.json``                     the CoQA site (not provided here)
================  ==============================================  ======================================

SQuAD and SQuAD-shifts are CC BY-SA 4.0 / CC BY 4.0, Natural Questions' passages are
Wikipedia text (CC BY-SA); see ``contextzip/eval/fixtures/ATTRIBUTION.md``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from contextzip.errors import ConfigurationError, ResourceNotFoundError
from contextzip.eval.types import QASample, answers_tuple
from contextzip.resources import data_file

__all__ = [
    "SQUAD_FILES",
    "Article",
    "NQRecord",
    "coqa_samples",
    "fixture_articles",
    "nq_open_records",
    "squad_articles",
    "squad_samples",
]

_FIXTURES = Path(__file__).with_name("fixtures")
_SQUAD_EXPLORER = "https://rajpurkar.github.io/SQuAD-explorer/"

#: The SQuAD-format files by name: accepted paths (preferred first) and the public original.
SQUAD_FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "dev": (("squad/dev-v1.1.json.gz",), _SQUAD_EXPLORER + "dataset/dev-v1.1.json"),
    "train": (
        ("squad/train-v1.0.json.gz", "squad/train-v1.1.json.gz"),
        _SQUAD_EXPLORER + "dataset/train-v1.1.json",
    ),
    "new-wiki": (
        ("squad/squadshifts-new_wiki-v1.0.json.gz", "squad/new_wiki_v1.0.json.gz"),
        "https://github.com/modestyachts/squadshifts-website (datasets/new_wiki_v1.0.json)",
    ),
}
_NQ_OPEN = (
    ("nq-open/nq-open-oracle.shared.jsonl.gz", "nq-open/nq-open-oracle.jsonl.gz"),
    "https://github.com/nelson-liu/lost-in-the-middle (qa_data/nq-open-oracle.jsonl.gz)",
)
_COQA = (("coqa/coqa-dev-v1.0.json",), "https://stanfordnlp.github.io/coqa/ (coqa-dev-v1.0.json)")


@dataclass(frozen=True)
class Article:
    """A SQuAD-format article: a title and paragraphs, each with its questions.

    Attributes:
        title: The article title (the unit train/dev splits are made by).
        paragraphs: ``(context, [(question id, question, answers), ...])`` pairs.
    """

    title: str
    paragraphs: tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]], ...]


@dataclass(frozen=True)
class NQRecord:
    """A Natural Questions (open) question with its gold Wikipedia passage.

    Attributes:
        question: The search query, as users typed it (lower case, no question mark).
        answers: The short answers; any of them counts.
        title: The gold passage's Wikipedia article.
        text: The gold passage (about 100 words).
    """

    question: str
    answers: tuple[str, ...]
    title: str
    text: str


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _read_json(path: Path) -> Any:
    with _open_text(path) as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as exc:
            raise ResourceNotFoundError(
                f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); replace it with the original"
            ) from None


def squad_articles(name: str = "dev") -> list[Article]:
    """Articles of a SQuAD-format file in the data directory.

    Args:
        name: ``"dev"`` (SQuAD v1.1 dev), ``"train"`` (SQuAD train, for training only) or
            ``"new-wiki"`` (SQuAD-shifts New Wikipedia).

    Raises:
        ConfigurationError: An unknown name.
        ResourceNotFoundError: The file is not in the data directory.
    """
    if name not in SQUAD_FILES:
        raise ConfigurationError(f"unknown SQuAD file {name!r}; choose one of {', '.join(SQUAD_FILES)}")
    names, origin = SQUAD_FILES[name]
    return parse_squad(_read_json(data_file(*names, origin=origin)))


def fixture_articles() -> list[Article]:
    """The small committed SQuAD v1.1 dev subset (no data directory needed), for tests and demos.

    Example:
        >>> articles = fixture_articles()
        >>> len(articles) >= 3 and all(a.paragraphs for a in articles)
        True
    """
    return parse_squad(json.loads((_FIXTURES / "squad_dev_subset.json").read_text(encoding="utf-8")))


def parse_squad(data: dict[str, Any]) -> list[Article]:
    """Articles of a parsed SQuAD-format JSON document; questions without an answer are left out.

    Example:
        >>> doc = {"data": [{"title": "T", "paragraphs": [{"context": "Ann sang.", "qas": [
        ...     {"id": "1", "question": "Who sang? ", "answers": [{"text": "Ann"}]}]}]}]}
        >>> parse_squad(doc)[0].paragraphs[0][1]
        (('1', 'Who sang?', ('Ann',)),)
    """
    articles = []
    for article in data["data"]:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            questions = tuple(
                (qa["id"], qa["question"].strip(), answers_tuple([a["text"] for a in qa["answers"]]))
                for qa in paragraph["qas"]
                if qa.get("answers")
            )
            paragraphs.append((paragraph["context"], questions))
        articles.append(Article(article["title"], tuple(paragraphs)))
    return articles


def squad_samples(articles: Sequence[Article], dataset: str) -> Iterator[QASample]:
    """One sample per question: the question over its own paragraph."""
    for article in articles:
        for index, (context, questions) in enumerate(article.paragraphs):
            for qid, question, answers in questions:
                yield QASample(
                    id=qid,
                    question=question,
                    answers=answers,
                    documents=(context,),
                    dataset=dataset,
                    meta={"article": article.title, "paragraph": index},
                )


def nq_open_records() -> list[NQRecord]:
    """The NQ-open questions with their gold passage (Lost-in-the-Middle's oracle file), in file order.

    Raises:
        ResourceNotFoundError: The file is not in the data directory, or a line is malformed.
    """
    path = data_file(*_NQ_OPEN[0], origin=_NQ_OPEN[1])
    records = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                gold = next(c for c in row["ctxs"] if c.get("isgold", True))
                question, answers = row["question"].strip(), answers_tuple(row["answers"])
                records.append(NQRecord(question, answers, gold["title"], gold["text"]))
            except (json.JSONDecodeError, KeyError, StopIteration, TypeError) as exc:
                raise ResourceNotFoundError(
                    f"{path}:{number}: not a Lost-in-the-Middle oracle line ({type(exc).__name__}: {exc}); "
                    f"replace the file with the original from {_NQ_OPEN[1]}"
                ) from None
    return records


def coqa_samples(*, history_turns: int = 2) -> Iterator[QASample]:
    """One sample per CoQA turn, from a CoQA dev file the user provides; the question carries
    the previous ``history_turns`` turns.

    CoQA is not in the data contextzip's machines are given (its stories come under several
    licences, some non-commercial), so it is read only where a user has put the official
    ``coqa-dev-v1.0.json`` in the data directory. Gold answers are the free-form answer and
    the rationale span it was taken from.
    """
    data = _read_json(data_file(*_COQA[0], origin=_COQA[1]))
    for story in data["data"]:
        questions, answers = story["questions"], story["answers"]
        for turn, (question, answer) in enumerate(zip(questions, answers, strict=False)):
            history = [
                f"Q: {q['input_text']}\nA: {a['input_text']}"
                for q, a in zip(questions[max(0, turn - history_turns) : turn],
                                answers[max(0, turn - history_turns) : turn], strict=False)
            ]  # fmt: skip
            prompt = "\n".join([*history, f"Q: {question['input_text']}"])
            yield QASample(
                id=f"{story['id']}-{question['turn_id']}",
                question=prompt,
                answers=answers_tuple([answer.get("input_text", ""), answer.get("span_text", "")]),
                documents=(story["story"],),
                dataset="coqa",
                meta={"article": story["id"], "turn": question["turn_id"]},
            )
