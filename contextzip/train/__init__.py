"""Training token classifiers for the token-classification compressor.

The pipeline is corpus -> teacher labels -> fine-tuning -> export:

* :mod:`~contextzip.train.corpus` — training passages (:func:`qa_corpus`, :func:`read_corpus`);
* :mod:`~contextzip.train.teachers` — who labels each word keep or drop;
* :mod:`~contextzip.train.data` — labelled examples (cached, resumable), the query-aware soft
  targets (:func:`focus_on_questions`) and their model windows;
* :mod:`~contextzip.train.finetune` — CPU fine-tuning with checkpoints;
* :mod:`~contextzip.train.export` — the shipped delta (rebuilt offline by :mod:`contextzip.shipped`);
* :mod:`~contextzip.train.recipe` — ``contextzip train``, the default recipe, model cards.

:func:`init_token_classifier` starts a classifier from a pre-trained encoder with a fresh
2-label head, or from a trained keep/drop classifier with its own head.
"""

from contextzip.train.corpus import Passage, qa_corpus, read_corpus, write_corpus
from contextzip.train.data import LabelledText, encode_examples, focus_on_questions, label_passages
from contextzip.train.export import export_delta, materialize
from contextzip.train.finetune import FinetuneConfig, finetune
from contextzip.train.model import init_token_classifier
from contextzip.train.teachers import (
    CombinedTeacher,
    LLMTeacher,
    QATeacher,
    SurprisalTeacher,
    Teacher,
    align_kept_words,
)

__all__ = [
    "CombinedTeacher",
    "FinetuneConfig",
    "LLMTeacher",
    "LabelledText",
    "Passage",
    "QATeacher",
    "SurprisalTeacher",
    "Teacher",
    "align_kept_words",
    "encode_examples",
    "export_delta",
    "finetune",
    "focus_on_questions",
    "init_token_classifier",
    "label_passages",
    "materialize",
    "qa_corpus",
    "read_corpus",
    "write_corpus",
]
