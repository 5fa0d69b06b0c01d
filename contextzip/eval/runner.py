"""Run compressors over QA samples at several rates, read the results, and record them.

For every sample, method and rate the runner compresses the sample's documents (one
segment each, the question as the query), checks whether a gold answer (or all the
sample's evidence) survived (``presence``), asks the reader, scores its answer (EM,
F1, ROUGE-L, and ``accuracy``: does the reply contain a gold answer), counts the
identifiers that survived (:mod:`contextzip.eval.identifiers`) and appends one
:class:`~contextzip.eval.types.SampleResult` line to ``samples.jsonl``. The
uncompressed context is run too, as method ``original`` at rate 1.0.

Runs are resumable: results already in ``samples.jsonl`` (same dataset, sample,
method, rate and reader) are not computed again. Recorded replies of the samples being
run that predate ``accuracy`` are scored from the reply on resume, in place. One
``--out`` folder takes one running process at a time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError
from contextzip.eval.files import write_text_atomic
from contextzip.eval.identifiers import identifier_retention
from contextzip.eval.metrics import answer_in_reply, answer_presence, exact_match, f1, rouge_l
from contextzip.eval.types import BASELINE_METHOD, QASample, Reader, SampleResult
from contextzip.protocol import Compressor, get_compressor
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, Segment

__all__ = ["load_results", "parse_method", "run_eval", "sample_segments"]

logger = logging.getLogger(__name__)

RESULTS_FILE = "samples.jsonl"


def run_eval(
    samples: Sequence[QASample],
    *,
    methods: Sequence[str],
    rates: Sequence[float],
    reader: Reader,
    out_dir: Path,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    baseline: bool = True,
    progress: bool | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> list[SampleResult]:
    """Evaluate ``methods`` at ``rates`` on ``samples``; return every result in ``out_dir``.

    Args:
        samples: The questions and their documents.
        methods: Registered compressor names, or ``LABEL=NAME`` to record a compressor under
            a label of its own (see :func:`parse_method`).
        rates: Requested rates, each in ``(0, 1]``.
        reader: Reads the compressed context (see :mod:`contextzip.eval.readers`).
        out_dir: Where ``samples.jsonl`` is written (and resumed from).
        method_options: Constructor options per method name (or label).
        baseline: Also run the uncompressed context (method ``original``, rate 1.0).
        progress: Show a progress bar; ``None`` shows it on a terminal.
        encoding: The tiktoken encoding budgets and counts use.

    Returns:
        All results in ``samples.jsonl`` for these samples, methods, rates and reader,
        including those from earlier runs.

    Example:
        >>> import tempfile
        >>> from contextzip.eval.datasets import load_dataset
        >>> from contextzip.eval.readers import PresenceReader
        >>> out = Path(tempfile.mkdtemp())
        >>> results = run_eval(load_dataset("fixture", limit=2, length=1000), methods=["truncate"],
        ...                    rates=[0.5], reader=PresenceReader(), out_dir=out, progress=False)
        >>> sorted({(r.method, r.rate) for r in results})
        [('original', 1.0), ('truncate', 0.5)]
    """
    for rate in rates:
        Budget(rate=rate)  # validates
    if not methods and not baseline:
        raise ConfigurationError("nothing to run: give at least one method, or baseline=True")
    options = dict(method_options or {})
    compressors: dict[str, Compressor] = {}
    for spec in methods:
        label, name = parse_method(spec)
        if label in compressors:
            raise ConfigurationError(f"method {label!r} is given twice; label one of them: LABEL={name}")
        compressors[label] = get_compressor(name, **dict(options.get(label, {})))
    methods = list(compressors)
    counter = TokenCounter(encoding)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    _complete_recorded_scores(path, samples)
    done = {result.key: result for result in load_results(path)}
    plan = [(BASELINE_METHOD, 1.0)] if baseline else []
    plan += [(method, float(rate)) for method in methods for rate in rates]
    wanted: list[tuple[str, str, str, float, str]] = []
    todo: list[tuple[QASample, str, float]] = []
    for sample in samples:
        for method, rate in plan:
            key = (sample.dataset, sample.id, method, rate, reader.name)
            wanted.append(key)
            if key not in done:
                todo.append((sample, method, rate))
    if len(todo) < len(wanted):
        logger.info("resuming: %d of %d results are done already", len(wanted) - len(todo), len(wanted))
    with open(path, "a", encoding="utf-8") as sink:
        if sink.tell() and not path.read_bytes().endswith(b"\n"):
            sink.write("\n")  # an interrupted run left half a line; start on a fresh one
        for sample, method, rate in _progress(todo, progress):
            result = _evaluate(sample, method, rate, compressors.get(method), reader, counter)
            sink.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            sink.flush()
            done[result.key] = result
    results = [done[key] for key in wanted]
    _warn_failures(results)
    return results


def parse_method(spec: str) -> tuple[str, str]:
    """Split ``"LABEL=COMPRESSOR"`` (or a bare ``"COMPRESSOR"``) into its label and compressor name.

    A label names one setting of a compressor in the results, so two settings of the same
    compressor can sit side by side in one folder (their options are given per label).

    Example:
        >>> parse_method("mig-docs=mig")
        ('mig-docs', 'mig')
        >>> parse_method("bm25-docs")
        ('bm25-docs', 'bm25-docs')
    """
    label, sep, name = (part.strip() for part in spec.partition("="))
    if not sep:
        name = label
    if not label or not name or any(c in label for c in ":, "):  # no '=': partition split at the first
        raise ConfigurationError(
            f"method {spec!r} is not COMPRESSOR or LABEL=COMPRESSOR (a label has no ':', ',' or spaces)"
        )
    if label == BASELINE_METHOD:
        raise ConfigurationError(f"{BASELINE_METHOD!r} names the uncompressed baseline; choose another label")
    return label, name


def _complete_recorded_scores(path: Path, samples: Sequence[QASample]) -> None:
    """Score ``accuracy`` on recorded replies of ``samples`` that predate it, in place.

    Only those lines change; every other line (other samples, unreadable lines, fields
    this version does not know) is kept as it was.
    """
    if not path.is_file():
        return
    by_id = {(sample.dataset, sample.id): sample for sample in samples}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    completed = 0
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict) or row.get("accuracy") is not None or row.get("prediction") is None:
            continue
        sample = by_id.get((str(row.get("dataset")), str(row.get("sample_id"))))
        if sample is not None:
            row["accuracy"] = answer_in_reply(row["prediction"], sample.answers)
            lines[i] = json.dumps(row, ensure_ascii=False) + "\n"
            completed += 1
    if not completed:
        return
    logger.info("scoring accuracy on %d recorded replies that predate it", completed)
    write_text_atomic(path, "".join(lines))  # an interruption leaves the old file


def _warn_failures(results: Sequence[SampleResult]) -> None:
    """Say when a compressor failed open: its rows measure the uncompressed input, not the method."""
    failed: dict[str, list[SampleResult]] = {}
    for result in results:
        if result.reason and result.reason.startswith("compression failed"):
            failed.setdefault(result.method, []).append(result)
    for method, rows in failed.items():
        logger.warning(
            "%s: %d of its results left the input unchanged because compression failed (first: %s); "
            "their quality is the uncompressed input's",
            method, len(rows), rows[0].reason,
        )  # fmt: skip


def load_results(path: Path) -> list[SampleResult]:
    """Results recorded in a ``samples.jsonl`` file (empty when it does not exist).

    A last line cut short by an interrupted run is ignored.
    """
    if not path.is_file():
        return []
    results = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                results.append(SampleResult.from_json(json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                logger.warning("skipping an unreadable line in %s", path)
    return results


def _evaluate(
    sample: QASample,
    method: str,
    rate: float,
    compressor: Compressor | None,
    reader: Reader,
    counter: TokenCounter,
) -> SampleResult:
    if compressor is None:  # the uncompressed baseline
        context = sample.context
        tokens_before = tokens_after = sum(counter.count(d) for d in sample.documents)
        seconds, reason = 0.0, None
    else:
        compressed = compressor.compress(
            sample_segments(sample), query=sample.question, budget=Budget(rate=rate)
        )
        context = compressed.text
        tokens_before, tokens_after = compressed.tokens_before, compressed.tokens_after
        seconds, reason = compressed.elapsed_s, compressed.reason
    output = reader.read(sample.question, context)
    prediction = output.prediction
    return SampleResult(
        dataset=sample.dataset,
        sample_id=sample.id,
        method=method,
        rate=rate,
        reader=reader.name,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        achieved_rate=tokens_after / tokens_before if tokens_before else 1.0,
        ratio=tokens_before / max(tokens_after, 1),  # all dropped counts as one token
        compress_seconds=seconds,
        presence=_presence(context, sample),
        prediction=prediction,
        exact_match=None if prediction is None else exact_match(prediction, sample.answers),
        f1=None if prediction is None else f1(prediction, sample.answers),
        rouge_l=None if prediction is None else rouge_l(prediction, sample.answers),
        accuracy=None if prediction is None else answer_in_reply(prediction, sample.answers),
        reason=reason,
        identifiers={
            kind: list(pair) for kind, pair in identifier_retention(sample.context, context).items()
        },
    )


def sample_segments(sample: QASample) -> list[Segment]:
    """The segments a compressor gets for ``sample``: one per document, with its kind and path."""
    path = sample.meta.get("path")
    return [
        Segment(document, kind=sample.kind, id=str(i), meta={"path": path} if path else {})
        for i, document in enumerate(sample.documents)
    ]


def _presence(context: str, sample: QASample) -> float:
    """1.0 when the answer (or, if the sample names it, all its evidence) survived."""
    if sample.evidence:
        found = [answer_presence(context, [piece]) for piece in sample.evidence]
        return sum(found) / len(found) if sample.evidence_share else float(all(found))
    return answer_presence(context, sample.answers)


def _progress(items: list[Any], show: bool | None) -> Any:
    from tqdm.auto import tqdm

    return tqdm(items, desc="eval", unit="run", disable=None if show is None else not show)
