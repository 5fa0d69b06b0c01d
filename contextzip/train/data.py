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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextzip.selection import unit_of_position
from contextzip.text import word_punctuation_boundaries
from contextzip.train.corpus import Passage
from contextzip.train.teachers import Teacher

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LabelledText", "encode_examples", "label_passages"]

logger = logging.getLogger(__name__)

#: Passages are joined to their distractor by a blank line (whitespace: no word spans it).
SEPARATOR = "\n\n"
IGNORE = -100


@dataclass(frozen=True)
class LabelledText:
    """A text with a keep label per word (:func:`word_punctuation_boundaries`), and its query."""

    id: str
    text: str
    keep: np.ndarray
    query: str | None = None

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


def encode_examples(
    examples: Sequence[LabelledText], tokenizer: Any, *, max_length: int = 512
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each example's model windows as ``(input_ids, token_type_ids, labels)``.

    A token takes its word's label (1 keep, 0 drop); special and query tokens get
    ``-100`` so the loss ignores them. Windows are the ones the compressor reads
    (:func:`contextzip.token_classification.plan_windows`).
    """
    import numpy as np

    from contextzip.token_classification import plan_windows

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
        token_labels = np.where(inside, example.keep[word], IGNORE).astype(np.int64)
        for lo, hi in plan.windows:
            ids, types = plan.sequence(lo, hi)
            labels = np.full(len(ids), IGNORE, dtype=np.int64)
            labels[len(plan.head) : len(plan.head) + hi - lo] = token_labels[lo:hi]
            windows.append((ids, types, labels))
    return windows
