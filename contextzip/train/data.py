"""Labelled training texts: a teacher's word labels, cached, then cut into model windows.

Task-agnostic examples are passages with the teacher's labels given all the passage's
questions. Query-aware examples pair one question with its passage and up to two distractor
passages — one of the same group (same topic, shared names) and one of another group — in
a seeded order, the way a retrieved context mixes the relevant document with others. The
passage carries its task-agnostic labels (so a query-aware model keeps at least what an
agnostic one would there); the distractors are labelled with no questions, by the
``distractor_teacher`` (in the default recipe: surprisal at half the keep share). The model
learns to spend the budget on the text the question is about.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextzip.selection import unit_of_position
from contextzip.train.corpus import Passage
from contextzip.train.teachers import Teacher, answer_words
from contextzip.words import word_punctuation_boundaries

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LabelledText", "encode_examples", "focus_on_questions", "label_passages"]

logger = logging.getLogger(__name__)

#: Passages are joined to their distractor by a blank line (whitespace: no word spans it).
SEPARATOR = "\n\n"
IGNORE = -100


@dataclass(frozen=True)
class LabelledText:
    """A text with a keep label per word (:func:`word_punctuation_boundaries`), and its query.

    ``target``, when set, replaces ``keep`` as what the model learns: a keep probability per
    word (soft targets; see :func:`focus_on_questions`). It is derived, never cached.
    """

    id: str
    text: str
    keep: np.ndarray
    query: str | None = None
    target: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "query": self.query,
                "keep": "".join("1" if k else "0" for k in self.keep.tolist())}  # fmt: skip

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> LabelledText:
        import numpy as np

        keep = np.frombuffer(record["keep"].encode("ascii"), dtype=np.uint8) == ord("1")
        return cls(record["id"], record["text"], keep, record.get("query"))


def label_passages(
    passages: Sequence[Passage],
    teacher: Teacher,
    *,
    query_aware: bool = False,
    questions_per_passage: int = 1,
    distractor_teacher: Teacher | None = None,
    cache: Path | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> list[LabelledText]:
    """Label ``passages`` with ``teacher``; resumable through the JSONL file ``cache``.

    Args:
        passages: The corpus.
        teacher: Who labels the words.
        query_aware: Build (question, passage + distractor) examples instead of passages.
        questions_per_passage: Query-aware: questions used per passage (the first ones).
        distractor_teacher: Query-aware: labels the distractor passages; ``None``: ``teacher``.
        cache: A JSONL file of finished examples; those already there are not relabelled.
        seed: Seeds the passage/distractor order.
        progress: Show a progress bar; ``None`` shows it on a terminal.
    """
    plan = (
        _query_plan(passages, questions_per_passage, seed)
        if query_aware
        else [(p, None, ()) for p in passages]
    )
    done: dict[str, LabelledText] = {}
    if cache is not None and cache.is_file():
        with open(cache, encoding="utf-8") as handle:
            for line in handle:
                try:
                    example = LabelledText.from_json(json.loads(line))
                except (json.JSONDecodeError, KeyError):
                    continue  # a line cut short by an interrupted run
                done[example.id] = example
    from tqdm.auto import tqdm

    todo = [item for item in plan if _example_id(*item) not in done]
    sink = open(cache, "a", encoding="utf-8") if cache is not None else None  # noqa: SIM115
    try:
        bar = tqdm(todo, desc=f"labelling ({teacher.name})", disable=progress is False)
        for passage, question, distractor in bar:
            example = _label_one(teacher, distractor_teacher or teacher, passage, question, distractor)
            done[example.id] = example
            if sink is not None:
                sink.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
                sink.flush()
    finally:
        if sink is not None:
            sink.close()
    return [done[_example_id(*item)] for item in plan]


_PlanItem = tuple[Passage, tuple[str, Sequence[str]] | None, tuple[Passage, ...]]


def _query_plan(passages: Sequence[Passage], per_passage: int, seed: int) -> list[_PlanItem]:
    groups: dict[str, list[Passage]] = {}
    for p in passages:
        groups.setdefault(p.group or p.id, []).append(p)
    keys = sorted(groups)
    plan: list[_PlanItem] = []
    for group_index, key in enumerate(keys):
        members = groups[key]
        for index, passage in enumerate(members):
            distractors = []
            if len(members) > 1:
                distractors.append(members[(index + 1) % len(members)])
            if len(keys) > 1:  # another group, picked by a seeded hash
                pick = int(_hash(f"{seed}:{passage.id}")[:8], 16)
                other = groups[keys[(group_index + 1 + pick % (len(keys) - 1)) % len(keys)]]
                distractors.append(other[pick % len(other)])
            for question in passage.questions[:per_passage]:
                plan.append((passage, question, tuple(distractors)))
    # same-seed runs give the same order
    return sorted(plan, key=lambda item: _hash(f"{seed}:{_example_id(*item)}"))


def _example_id(
    passage: Passage, question: tuple[str, Sequence[str]] | None, distractors: tuple[Passage, ...]
) -> str:
    if question is None:
        return passage.id
    return f"{passage.id}?{_hash(question[0])[:12]}+{'+'.join(d.id for d in distractors)}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _label_one(
    teacher: Teacher,
    distractor_teacher: Teacher,
    passage: Passage,
    question: tuple[str, Sequence[str]] | None,
    distractors: tuple[Passage, ...],
) -> LabelledText:
    import numpy as np

    ident = _example_id(passage, question, distractors)
    own = (passage.text, teacher.label(passage.text, passage.questions))
    if question is None:
        return LabelledText(ident, own[0], own[1])
    parts = [own, *((d.text, distractor_teacher.label(d.text, [])) for d in distractors)]
    # a seeded order: the passage is first, between or last
    order = sorted(range(len(parts)), key=lambda i: _hash(f"{ident}:{i}"))
    text = SEPARATOR.join(parts[i][0] for i in order)
    return LabelledText(ident, text, np.concatenate([parts[i][1] for i in order]), query=question[0])


def focus_on_questions(
    examples: Sequence[LabelledText],
    passages: Sequence[Passage],
    *,
    other_keep: float,
    questions_alone: int | None = None,
) -> list[LabelledText]:
    """Soft targets that rank each asked question's answer above what else was labelled keep.

    ``examples`` are query-aware examples of :func:`label_passages` over ``passages``. Their
    words labelled keep learn ``other_keep``; the words of the asked question's answers in
    its passage learn 1.0; the rest 0. A model trained on hard labels for all of a
    passage's questions cannot tell the asked answer from the others; hard labels for the
    asked one alone lose the "answer-like words" prior both variants rely on. Graded targets
    keep the prior and add the ranking.

    Returns the graded examples, then single-passage examples: up to ``questions_alone``
    questions of each passage (``None``: all) over the passage alone, with the passage's
    labels graded for that question. They cost no teacher call, and a passage's several
    questions are what teaches the model to tell one answer from another. A question whose
    answer is not found in the passage, or is made of function words alone ("yes"), teaches
    nothing there and is skipped.
    """
    import numpy as np

    if not 0 <= other_keep <= 1:
        raise ValueError(f"other_keep must be in [0, 1], got {other_keep}")
    # a query-aware example's id starts with the id of its question over its passage alone
    by_prefix = {_example_id(p, question, ()): p for p in passages for question in p.questions}
    graded, labels = [], {}
    for example in examples:
        prefix = re.match(r".*?\?[0-9a-f]{12}\+", example.id)
        passage = by_prefix.get(prefix.group(0)) if prefix else None
        if passage is None or example.query is None:
            raise ValueError(f"example {example.id!r} is not a query-aware example of these passages")
        offset = _passage_offset(example.text, passage.text)
        starts, _ = word_punctuation_boundaries(example.text)
        inside = (starts >= offset) & (starts < offset + len(passage.text))
        answers = next(a for q, a in passage.questions if q == example.query)
        asked = np.zeros(len(starts), dtype=bool)
        asked[inside] = answer_words(passage.text, answers, content_only=True)
        graded.append(replace(example, target=_graded(example.keep, asked, other_keep)))
        labels[passage.id] = example.keep[inside]
    alone = []
    for passage in passages:
        if passage.id not in labels:
            continue
        for question in passage.questions[:questions_alone]:
            asked = answer_words(passage.text, question[1], content_only=True)
            if asked.any():
                target = _graded(labels[passage.id], asked, other_keep)
                ident = _example_id(passage, question, ())
                alone.append(LabelledText(ident, passage.text, labels[passage.id], question[0], target))
    return graded + alone


def _graded(keep: np.ndarray, asked: np.ndarray, other_keep: float) -> np.ndarray:
    import numpy as np

    return np.where(asked, 1.0, np.where(keep, other_keep, 0.0)).astype(np.float32)


def _passage_offset(text: str, passage: str) -> int:
    # a part is framed by separators or the text's ends: pad both ends to match it whole
    offset = f"{SEPARATOR}{text}{SEPARATOR}".find(f"{SEPARATOR}{passage}{SEPARATOR}")
    if offset == -1:
        raise ValueError("the passage is not one of the example's parts")
    return offset


def encode_examples(
    examples: Sequence[LabelledText], tokenizer: Any, *, max_length: int = 512
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each example's model windows as ``(input_ids, token_type_ids, labels)``.

    A token takes its word's label (1 keep, 0 drop; or the word's soft ``target``, a
    float); special and query tokens get ``-100`` so the loss ignores them. Windows are
    the ones the compressor reads (:func:`contextzip.token_windows.plan_windows`).
    """
    import numpy as np

    from contextzip.token_windows import plan_windows

    windows = []
    for example in examples:
        starts, ends = word_punctuation_boundaries(example.text)
        if len(starts) != len(example.keep):
            raise ValueError(f"example {example.id!r}: {len(example.keep)} labels for {len(starts)} words")
        if len(starts) == 0:
            continue
        plan = plan_windows(tokenizer, example.text, example.query, max_length=max_length)
        token_starts = plan.offsets[:, 0]
        word = unit_of_position(ends, token_starts)
        inside = (token_starts >= starts[word]) & (token_starts < ends[word])
        wanted = example.keep if example.target is None else example.target
        token_labels = np.where(inside, wanted[word], IGNORE).astype(np.float32)
        for lo, hi in plan.windows:
            ids, types = plan.sequence(lo, hi)
            labels = np.full(len(ids), IGNORE, dtype=np.float32)
            labels[len(plan.head) : len(plan.head) + hi - lo] = token_labels[lo:hi]
            windows.append((ids, types, labels))
    return windows
