"""``contextzip train --recipe default``: the steps that make the shipped default models."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from contextzip.errors import ConfigurationError
from contextzip.onnx_export import onnx_model_path
from contextzip.train.corpus import Passage, qa_corpus, read_corpus, spread_subset
from contextzip.train.data import focus_on_questions, label_passages
from contextzip.train.export import export_delta
from contextzip.train.finetune import FinetuneConfig, finetune
from contextzip.train.model_card import (
    COMBINED,
    GRADED,
    QUERY_EXAMPLES,
    describe_corpus,
    describe_teacher,
    model_card,
)
from contextzip.train.teachers import CombinedTeacher, LLMTeacher, QATeacher, SurprisalTeacher, Teacher

__all__ = [
    "DefaultRecipe",
    "describe_corpus",
    "evaluate_default",
    "make_teacher",
    "model_card",
    "ship_default",
    "train_custom",
    "train_default",
]

logger = logging.getLogger(__name__)

#: What :func:`train_default` writes in its work folder to say which passages it labelled.
CORPUS_FILE = "corpus.md"


@dataclass(frozen=True)
class DefaultRecipe:
    """What the default models are trained from, and how.

    Attributes:
        keep: Share of words the teacher labels keep.
        teacher_precision: Precision of the SmolLM2 surprisal teacher.
        questions_per_passage: Query-aware examples per passage.
        distractor_keep: Share of a query-aware example's distractor words labelled keep
            (by surprisal alone): below ``keep``, so text the question is not about costs less.
        finetune: Fine-tuning hyper-parameters of the task-agnostic model.
        other_keep: Query-aware soft target of the words labelled keep that are not the asked
            question's answer (which learns 1.0; see :func:`focus_on_questions`). ``None``:
            hard labels, and the query-aware model starts from the base encoder (the v1
            recipe, with ``query_finetune=FinetuneConfig()``).
        questions_alone: With ``other_keep``: questions per passage also asked of the passage
            alone (``None``: all), see :func:`focus_on_questions`.
        query_finetune: Fine-tuning hyper-parameters of the query-aware model; ``None``:
            ``finetune`` for one epoch at half the learning rate (with ``other_keep`` it
            continues from the task-agnostic model, so it needs fewer steps). See
            :meth:`query_config`.
        passages: Label this many passages of the built-in corpus, a subset spread over
            every source and article by a hash of their ids (:func:`spread_subset`): the corpus
            holds about 21,500, more than these CPUs label in a session. ``None``: all.
    """

    keep: float = 0.4
    teacher_precision: str = "bfloat16"
    questions_per_passage: int = 1
    distractor_keep: float = 0.2
    finetune: FinetuneConfig = FinetuneConfig()
    other_keep: float | None = 0.6
    query_finetune: FinetuneConfig | None = None
    questions_alone: int | None = 3
    passages: int | None = 4000

    def query_config(self) -> FinetuneConfig:
        """The query-aware model's fine-tuning hyper-parameters (see ``query_finetune``)."""
        if self.query_finetune is not None:
            return self.query_finetune
        return replace(self.finetune, epochs=1, learning_rate=self.finetune.learning_rate / 2)


def train_default(
    workdir: str | Path,
    *,
    recipe: DefaultRecipe | None = None,
    passages: list[Passage] | None = None,
    progress: bool | None = None,
) -> dict[str, Path]:
    """Label the corpus with the QA + SmolLM2-surprisal teacher and fine-tune both variants.

    Every step caches its result under ``workdir`` (labels as JSONL, training checkpoints),
    so an interrupted run resumes. Returns the ``agnostic`` and ``query-aware`` model folders.
    """
    recipe = recipe or DefaultRecipe()
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = spread_subset(passages if passages is not None else qa_corpus(), recipe.passages)
    # the model cards describe this corpus; ship_default reads it back instead of rebuilding it
    (work / CORPUS_FILE).write_text(describe_corpus(corpus), encoding="utf-8")
    surprisal = SurprisalTeacher(keep=recipe.keep, precision=recipe.teacher_precision)
    teacher = CombinedTeacher(surprisal, keep=recipe.keep)
    variants = {"agnostic": False, "query-aware": True}
    examples = {}
    for variant, query_aware in variants.items():  # both before training: the LM scores are reused
        logger.info("labelling %d passages for the %s model", len(corpus), variant)
        examples[variant] = label_passages(
            corpus,
            teacher,
            query_aware=query_aware,
            questions_per_passage=recipe.questions_per_passage,
            distractor_teacher=surprisal.with_keep(recipe.distractor_keep),
            cache=work / f"labels-{variant}.jsonl",
            progress=progress,
        )
    agnostic = finetune(examples["agnostic"], work / "agnostic", config=recipe.finetune, progress=progress)
    models = {"agnostic": agnostic}
    if recipe.other_keep is None:
        models["query-aware"] = finetune(
            examples["query-aware"], work / "query-aware", config=recipe.query_config(),
            query_aware=True, progress=progress,
        )  # fmt: skip
    else:  # graded targets, continuing from the task-agnostic model
        focused = focus_on_questions(
            examples["query-aware"],
            corpus,
            other_keep=recipe.other_keep,
            questions_alone=recipe.questions_alone,
        )
        models["query-aware"] = finetune(
            focused, work / "query-aware", base=models["agnostic"], config=recipe.query_config(),
            query_aware=True, progress=progress,
        )  # fmt: skip
    return models


def make_teacher(
    name: str,
    *,
    keep: float = 0.4,
    llm_model: str | None = None,
    llm_base_url: str | None = None,
    precision: str = "bfloat16",
) -> Teacher:
    """A teacher by its CLI name: ``qa+surprisal``, ``surprisal``, ``qa`` or ``llm``."""
    if name == "qa":
        return QATeacher()
    if name == "surprisal":
        return SurprisalTeacher(keep=keep, precision=precision)
    if name == "qa+surprisal":
        return CombinedTeacher(SurprisalTeacher(keep=keep, precision=precision), keep=keep)
    if name == "llm":
        if not llm_model:
            raise ConfigurationError("the llm teacher needs a model name (--llm-model / llm_model=)")
        return LLMTeacher(llm_model, base_url=llm_base_url or "https://api.openai.com/v1")
    raise ConfigurationError(f"unknown teacher {name!r}; choose qa+surprisal, surprisal, qa or llm")


def train_custom(
    corpus: Path,
    workdir: Path,
    *,
    teacher: str = "qa+surprisal",
    keep: float = 0.4,
    query_aware: bool = False,
    llm_model: str | None = None,
    llm_base_url: str | None = None,
    config: FinetuneConfig | None = None,
    limit: int | None = None,
    progress: bool | None = None,
) -> Path:
    """corpus -> teacher labels -> fine-tuned classifier -> exports, all under ``workdir``.

    Writes ``labels.jsonl``, ``run/`` (checkpoints, ``training.json``), ``model/`` (a
    transformers folder any contextzip backend loads), ``model.int8.onnx`` and
    ``MODEL_CARD.md``; returns ``workdir / "model"``.
    """
    passages = read_corpus(corpus)[:limit]
    chosen = make_teacher(teacher, keep=keep, llm_model=llm_model, llm_base_url=llm_base_url)
    workdir.mkdir(parents=True, exist_ok=True)
    examples = label_passages(
        passages, chosen, query_aware=query_aware, cache=workdir / "labels.jsonl", progress=progress
    )
    trained = finetune(examples, workdir / "run", config=config, query_aware=query_aware, progress=progress)
    final = workdir / "model"
    if not final.exists():
        shutil.copytree(trained, final)
    shutil.copyfile(onnx_model_path(str(final), quantize=True), workdir / "model.int8.onnx")
    record = json.loads((workdir / "run" / "training.json").read_text(encoding="utf-8"))
    card = model_card(
        final.name,
        data=f"{len(passages)} passages of `{corpus.name}`",
        teacher=describe_teacher(chosen, keep),
        training=record,
        evaluation=None,
    )
    (workdir / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return final


def ship_default(
    models: dict[str, Path],
    workdir: str | Path,
    *,
    recipe: DefaultRecipe | None = None,
    models_dir: Path | None = None,
    evaluate: bool = True,
    eval_limit: int = 500,
    progress: bool | None = None,
) -> list[Path]:
    """Export the default models' deltas into ``models_dir``, evaluate them, write their cards."""
    from contextzip.resources import (
        DEFAULT_QUERY_TOKEN_CLASSIFIER,
        DEFAULT_TOKEN_CLASSIFIER,
    )
    from contextzip.resources import (
        models_dir as ship_to,
    )

    recipe = recipe or DefaultRecipe()
    work = Path(workdir)
    target = models_dir or ship_to()
    names = {"agnostic": DEFAULT_TOKEN_CLASSIFIER, "query-aware": DEFAULT_QUERY_TOKEN_CLASSIFIER}
    # evaluated before the export, so the models shipped until now are measured beside the new ones
    evaluation = (
        evaluate_default(models, work / "eval", limit=eval_limit, progress=progress) if evaluate else None
    )
    shipped = [export_delta(models[variant], target / names[variant]) for variant in names]
    for variant in names:  # the int8 ONNX export is cached by fingerprint; a copy goes beside the run
        shutil.copyfile(
            onnx_model_path(str(models[variant]), quantize=True), work / variant / "model.int8.onnx"
        )
    teacher = (
        f"QA supervision + SmolLM2-135M-Instruct surprisal ({recipe.teacher_precision}), keep share "
        f"{recipe.keep}: {COMBINED}"
    )
    if not (work / CORPUS_FILE).is_file():
        raise ConfigurationError(f"{work} holds no {CORPUS_FILE}; run train_default in that folder first")
    corpus_text = (work / CORPUS_FILE).read_text(encoding="utf-8")
    for variant, folder in zip(names, shipped, strict=True):
        record = json.loads((work / variant / "training.json").read_text(encoding="utf-8"))
        card = model_card(
            folder.name,
            data=corpus_text + (query_examples(recipe) if variant == "query-aware" else ""),
            teacher=teacher,
            training=record,
            evaluation=evaluation,
            size_mb=(folder / "weights.safetensors").stat().st_size / 1e6,
        )
        (folder / "MODEL_CARD.md").write_text(card, encoding="utf-8")
        if evaluation is not None:
            for plot in sorted((work / "eval").glob("*/plot.png")):
                shutil.copyfile(plot, folder / f"eval-{plot.parent.name}.png")
    return shipped


#: What the default evaluation runs: held-out (dev-split) articles only.
EVAL_DATASETS = (("squad", 0), ("squad-multidoc", 8000), ("nq-multidoc", 2000))
#: The new models (``token-classifier``, ``token-classifier-query``) beside the models shipped
#: now (``shipped``, ``shipped-query``) and the baselines, on the same samples.
EVAL_METHODS = (
    "token-classifier",
    "token-classifier-query",
    "shipped=token-classifier",
    "shipped-query=token-classifier-query",
    "random",
    "selfinfo",
    "selfinfo-lm",
)
EVAL_RATES = (0.5, 0.33, 0.2)


def evaluate_default(
    models: dict[str, Path], out: Path, *, limit: int = 500, progress: bool | None = None
) -> str:
    """Presence of the answer after compression, new models against the baselines; a Markdown report."""
    from contextzip.eval.datasets import load_dataset
    from contextzip.eval.readers import PresenceReader
    from contextzip.eval.report import markdown_table, summarize, write_report
    from contextzip.eval.runner import run_eval

    options = {
        "token-classifier": {"model": str(models["agnostic"])},
        "token-classifier-query": {"model": str(models["query-aware"])},
        "selfinfo-lm": {"precision": "bfloat16"},
    }
    sections = []
    for dataset, length in EVAL_DATASETS:
        folder = out / (f"{dataset}-{length // 1000}k" if length else dataset)
        samples = load_dataset(dataset, limit=limit, length=length or 8000, split="dev", sample="random")
        results = run_eval(
            samples,
            methods=EVAL_METHODS,
            rates=EVAL_RATES,
            reader=PresenceReader(),
            out_dir=folder,
            method_options=options,
            progress=progress,
        )
        write_report(results, folder)
        title = f"{dataset} {length // 1000}k tokens" if length else f"{dataset} (single paragraphs)"
        sections.append(
            f"### {title}, dev split, {len(samples)} random samples\n\n"
            + markdown_table(summarize(results))
            + f"\n![{title}](eval-{folder.name}.png)\n"
        )
    return "\n".join(sections)


def query_examples(recipe: DefaultRecipe) -> str:
    text = QUERY_EXAMPLES.format(keep=recipe.keep, distractor_keep=recipe.distractor_keep)
    if recipe.other_keep is None:
        return text
    alone = "all" if recipe.questions_alone is None else str(recipe.questions_alone)
    return text + GRADED.format(other_keep=recipe.other_keep, questions_alone=alone)
