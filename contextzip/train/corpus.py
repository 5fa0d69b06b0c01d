"""Training passages: texts of the user's domain, with the questions asked of them when known.

The built-in corpus (:func:`qa_corpus`) is the development data of the evaluation issue:
SQuAD v1.1 dev paragraphs of the *train* article split (the dev split is what models are
evaluated on, see :func:`contextzip.eval.multidoc.article_split`), SQuAD-shifts
``new_wiki`` paragraphs, and CoQA stories. Users bring their own as JSONL
(:func:`read_corpus`): one ``{"text": ...}`` per line, optionally with ``"id"`` and
``"questions": [{"question": ..., "answers": [...]}, ...]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contextzip.errors import ConfigurationError

__all__ = ["Passage", "qa_corpus", "read_corpus", "write_corpus"]


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


def qa_corpus(*, sources: Sequence[str] = ("squad-train", "new-wiki", "coqa")) -> list[Passage]:
    """The built-in training passages, in a fixed order.

    ``squad-train`` holds only SQuAD dev articles whose :func:`article_split` is
    ``"train"``, so evaluation on the dev split never sees a training article.
    """
    from contextzip.eval import sources as data
    from contextzip.eval.multidoc import article_split

    unknown = set(sources) - {"squad-train", "new-wiki", "coqa"}
    if unknown:
        raise ConfigurationError(
            f"unknown corpus source(s) {sorted(unknown)}; use squad-train, new-wiki, coqa"
        )
    passages: list[Passage] = []
    for name, file, keep in (
        ("squad-train", "squaddev_v1.1.json", lambda title: article_split(title) == "train"),
        ("new-wiki", "new_wiki_v1.0.json", lambda title: True),
    ):
        if name not in sources:
            continue
        for article in data.squad_articles(file):
            if not keep(article.title):
                continue
            for index, (context, questions) in enumerate(article.paragraphs):
                passages.append(
                    Passage(
                        id=f"{name}/{article.title}/{index}",
                        text=context,
                        questions=tuple((question, answers) for _, question, answers in questions),
                        group=f"{name}/{article.title}",
                    )
                )
    if "coqa" in sources:
        stories: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        texts: dict[str, str] = {}
        for sample in data.coqa_samples(history_turns=0):
            story = str(sample.meta["article"])
            texts[story] = sample.documents[0]
            question = sample.question.removeprefix("Q: ")
            stories.setdefault(story, []).append((question, sample.answers))
        for story, text in texts.items():
            passages.append(Passage(f"coqa/{story}", text, tuple(stories[story]), group=f"coqa/{story}"))
    return passages


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
