"""Datasets by name, and loaders for users' own JSONL files.

=================  ===================================================================
name               samples
=================  ===================================================================
``squad``          SQuAD v1.1 dev: a question over its own paragraph, ``split``
                   articles (dev by default, as ``squad-multidoc``)
``new-wiki``       SQuAD-shifts ``new_wiki``: the same over newer Wikipedia articles
``coqa``           CoQA: conversational questions (with the previous turns) over a story,
                   from a CoQA dev file the user puts in the data directory
``nq-open``        Natural Questions (open): a real search query over its gold passage,
                   ``split`` questions (dev by default)
``nq-multidoc``    NQ-open in the Lost-in-the-Middle shape: the gold passage among
                   distractors, ``length`` tokens or ``documents`` passages, the gold one
                   at ``gold_position``
``nq-multidoc-dups``  ``nq-multidoc`` with near copies of three look-alike distractors
``squad-multidoc`` SQuAD dev questions over their paragraph plus distractors, ``length``
                   tokens (2000 / 8000 / 16000), dev articles by default
``squad-multidoc-dups``  ``squad-multidoc`` with near copies of three same-article
                   distractors injected (two each): what redundancy-aware selection is for
``code-deps``      a Python function to write from its module (standard library), the
                   module compressed; presence = dependency recall (callees kept);
                   ``split`` by module (dev by default)
``code-deps-packages``  the same from installed pure-Python packages (httpx, rich, ...)
``code-deps-humaneval`` the same from HumanEval's problems read as one module
``synthetic``      RULER-style needle, multi-key, variable-tracking and aggregation tasks
                   over a real-text haystack, ``length`` tokens, tasks in equal shares
``proxy-traffic``  whole user messages (a question, then a README, source file, log,
                   JSON response or HTML page) built from the standard library and the
                   installed packages; for the proxy's end-task evaluation
``fixture``        ``squad-multidoc`` built from the small committed SQuAD subset
                   (no data directory needed; for tests and demos)
``jsonl:PATH``     a file of ``{"context", "question", "answers"}`` lines
``longbench:PATH`` a LongBench-format file of ``{"context", "input", "answers"}`` lines
=================  ===================================================================

Agent conversations (``agent-trajectories``, replayed from the benchmark's tasks, and
``swe-agent-trajectories``, real SWE-agent runs from the data directory) are
:data:`CONVERSATION_DATASETS`: their questions are asked of whole histories.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError
from contextzip.eval.types import QASample, answers_tuple

__all__ = ["CONVERSATION_DATASETS", "DATASETS", "SAMPLINGS", "load_dataset", "read_jsonl_samples"]

DATASETS = (
    "squad",
    "new-wiki",
    "coqa",
    "nq-open",
    "squad-multidoc",
    "squad-multidoc-dups",
    "nq-multidoc",
    "nq-multidoc-dups",
    "synthetic",
    "code-deps",
    "code-deps-packages",
    "code-deps-humaneval",
    "proxy-traffic",
    "fixture",
    "jsonl:PATH",
    "longbench:PATH",
)


#: Conversations with questions about their history, evaluated by :mod:`contextzip.eval.agent_qa`
#: (and :mod:`contextzip.eval.agent_bench`), not loaded as QA samples.
CONVERSATION_DATASETS = ("agent-trajectories", "swe-agent-trajectories")

#: How ``limit`` picks samples: the first ones in file order, or a seeded random sample.
SAMPLINGS = ("first", "random")

#: Same-article distractors that get near copies in ``squad-multidoc-dups``.
NEAR_DUPLICATES = 3


def load_dataset(
    name: str,
    *,
    limit: int | None = None,
    length: int = 8000,
    split: str = "dev",
    seed: int = 0,
    sample: str = "random",
    documents: int | None = None,
    gold_position: str | None = None,
) -> list[QASample]:
    """Load up to ``limit`` samples of dataset ``name``, in a fixed order.

    Samples without a gold answer are skipped.

    Args:
        name: One of :data:`DATASETS`.
        limit: Keep this many samples (``None``: all).
        length: Context size in tokens for ``squad-multidoc``, ``nq-multidoc``, ``synthetic``
            and ``fixture``.
        split: Split for ``squad``, ``squad-multidoc`` (by article), ``nq-open`` and
            ``nq-multidoc`` (by question): ``"dev"``, ``"train"`` or ``"all"``.
        seed: Seed of the generated datasets and of ``sample="random"``.
        sample: Which ``limit`` samples: ``"random"`` (the default), a sample drawn with
            ``seed`` from all of them and kept in file order, or ``"first"`` in file order.
            SQuAD-based datasets come article by article, so the first 100 questions of
            ``squad-multidoc`` are all about one article.
        documents: ``nq-multidoc`` sized by a number of passages instead of ``length``.
        gold_position: Where ``nq-multidoc`` puts the gold passage: ``first``, ``middle``,
            ``last`` or ``random`` (``None``: random).

    Example:
        >>> samples = load_dataset("fixture", limit=3, length=1000)
        >>> len(samples), samples[0].dataset
        (3, 'squad-multidoc')
    """
    if limit is not None and limit < 1:
        raise ConfigurationError(f"limit must be >= 1, got {limit}")
    if sample not in SAMPLINGS:
        raise ConfigurationError(f"sample must be one of {', '.join(SAMPLINGS)}, got {sample!r}")
    if (documents is not None or gold_position is not None) and not name.startswith("nq-multidoc"):
        raise ConfigurationError(
            f"documents and gold_position apply to nq-multidoc and nq-multidoc-dups, not {name!r}"
        )
    samples = _iterate(
        name,
        length=length,
        split=split,
        seed=seed,
        limit=limit,
        documents=documents,
        gold_position=gold_position,
    )
    answerable = (s for s in samples if s.answers)
    if sample == "first" or limit is None:
        return list(itertools.islice(answerable, limit))
    everything = list(answerable)
    if limit >= len(everything):
        return everything
    # a string seed hashes the same in every process (unlike hash() of a str)
    picked = random.Random(f"sample:{seed}").sample(range(len(everything)), limit)
    return [everything[i] for i in sorted(picked)]


def _iterate(  # noqa: C901  (one branch per dataset family)
    name: str,
    *,
    length: int,
    split: str,
    seed: int,
    limit: int | None,
    documents: int | None = None,
    gold_position: str | None = None,
) -> Iterator[QASample]:
    from contextzip.eval import sources
    from contextzip.eval.multidoc import multidoc_samples

    if name == "squad":
        from contextzip.eval.multidoc import SPLITS, article_split

        if split not in SPLITS:
            raise ConfigurationError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        articles = [a for a in sources.squad_articles("dev") if split in ("all", article_split(a.title))]
        return sources.squad_samples(articles, "squad")
    if name == "new-wiki":
        return sources.squad_samples(sources.squad_articles("new-wiki"), "new-wiki")
    if name == "coqa":
        return sources.coqa_samples()
    if name in ("nq-open", "nq-multidoc", "nq-multidoc-dups"):
        return _nq(
            name, length=length, split=split, seed=seed, documents=documents, gold_position=gold_position
        )
    if name in ("squad-multidoc", "squad-multidoc-dups"):
        duplicates = NEAR_DUPLICATES if name.endswith("-dups") else 0
        articles = sources.squad_articles("dev")
        return multidoc_samples(
            articles, target_tokens=length, split=split, seed=seed, near_duplicates=duplicates
        )
    if name in ("code-deps", "code-deps-packages", "code-deps-humaneval"):
        from contextzip.eval.code_tasks import code_dependency_samples

        source = name.removeprefix("code-deps-") if name != "code-deps" else "stdlib"
        return code_dependency_samples(source=source, split=split, seed=seed)
    if name == "proxy-traffic":
        from contextzip.eval.traffic import traffic_samples

        return iter(traffic_samples())
    if name == "fixture":
        return multidoc_samples(sources.fixture_articles(), target_tokens=length, split="all", seed=seed)
    if name == "synthetic":
        from contextzip.eval.synthetic import ALL_TASKS, generate

        # every task gets an equal share of the samples asked for (10 each by default)
        per_task = -(-limit // len(ALL_TASKS)) if limit else 10
        return iter(generate(lengths=(length,), seed=seed, samples_per_task=per_task))
    for prefix, fields in (("jsonl:", ("context", "question")), ("longbench:", ("context", "input"))):
        if name.startswith(prefix):
            return read_jsonl_samples(
                Path(name[len(prefix) :]), context_key=fields[0], question_key=fields[1]
            )
    raise ConfigurationError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _nq(
    name: str, *, length: int, split: str, seed: int, documents: int | None, gold_position: str | None
) -> Iterator[QASample]:
    from contextzip.eval.nq import nq_multidoc_samples, nq_open_samples
    from contextzip.eval.sources import nq_open_records

    records = nq_open_records()
    if name == "nq-open":
        return nq_open_samples(records, split=split)
    return nq_multidoc_samples(
        records,
        target_tokens=length,
        documents=documents,
        gold_position=gold_position or "random",
        split=split,
        seed=seed,
        near_duplicates=NEAR_DUPLICATES if name.endswith("-dups") else 0,
    )


def read_jsonl_samples(
    path: Path, *, context_key: str = "context", question_key: str = "question"
) -> Iterator[QASample]:
    """Samples from a JSONL file with a context, a question and a list of answers per line.

    ``context`` may also be a list of documents. An ``_id`` or ``id`` field names the
    sample; otherwise its line number does.

    Raises:
        ConfigurationError: The file is missing, a line is not JSON, or a field is absent
            (the message names the file, line and field).
    """
    if not path.is_file():
        raise ConfigurationError(f"dataset file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{path}:{number}: not JSON ({exc.msg})") from None
            for key in (context_key, question_key, "answers"):
                if key not in row:
                    raise ConfigurationError(f"{path}:{number}: missing field {key!r}")
            context = row[context_key]
            documents = tuple(context) if isinstance(context, list) else (str(context),)
            answers = row["answers"] if isinstance(row["answers"], list) else [row["answers"]]
            yield QASample(
                id=str(row.get("_id", row.get("id", number))),
                question=str(row[question_key]),
                answers=answers_tuple([str(a) for a in answers]),
                documents=documents,
                dataset=path.stem,
                meta={"line": number},
            )
