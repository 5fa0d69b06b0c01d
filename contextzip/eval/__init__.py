"""Offline QA-benchmark evaluation: what each compressor keeps at each ratio, and how fast.

The pieces, each its own module:

* :mod:`~contextzip.eval.datasets` — datasets by name (SQuAD dev, SQuAD-shifts
  ``new_wiki``, CoQA, ``squad-multidoc`` and its near-duplicate variant, ``synthetic``,
  the committed ``fixture``) and users' JSONL files; :mod:`~contextzip.eval.sources`
  fetches the QA files once;
* :mod:`~contextzip.eval.readers` — ``presence`` (no LLM), ``local`` (a small causal
  LM) and ``openai`` (any OpenAI-compatible endpoint);
* :mod:`~contextzip.eval.metrics` — SQuAD EM/F1, ROUGE-L, answer presence in a context,
  accuracy (an answer in the reply), latency;
* :mod:`~contextzip.eval.runner` — compress, read, score, one JSON line per result,
  resumable;
* :mod:`~contextzip.eval.report` and :mod:`~contextzip.eval.plot` — summary JSON, a
  Markdown table and quality-vs-ratio plots.

``contextzip eval`` on the command line ties them together.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextzip.eval.datasets import DATASETS, load_dataset
    from contextzip.eval.readers import get_reader
    from contextzip.eval.report import summarize, write_report
    from contextzip.eval.runner import run_eval
    from contextzip.eval.types import QASample, ReaderOutput, SampleResult

__all__ = [
    "DATASETS",
    "QASample",
    "ReaderOutput",
    "SampleResult",
    "get_reader",
    "load_dataset",
    "run_eval",
    "summarize",
    "write_report",
]

# imported on first use, so reading the dataset table (the CLI's help) loads no reader or runner
_HOMES = {
    "DATASETS": "datasets", "load_dataset": "datasets", "get_reader": "readers", "summarize": "report",
    "write_report": "report", "run_eval": "runner", "QASample": "types", "ReaderOutput": "types",
    "SampleResult": "types",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
