"""A 2-label token classifier made from a pre-trained encoder, saved as a model folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from contextzip.errors import missing_extra
from contextzip.resources import minilm_dir

__all__ = ["init_token_classifier", "is_keep_classifier"]


def init_token_classifier(
    out_dir: str | os.PathLike[str],
    *,
    base: str | os.PathLike[str] | None = None,
    seed: int = 0,
    query_aware: bool = False,
) -> Path:
    """Save ``base`` with a new keep/drop head (label 1 = keep) to ``out_dir`` and return it.

    The head is drawn from a generator seeded with ``seed``, so the same call writes the
    same weights. An untrained head ranks words by an arbitrary projection of the encoder's
    features: good for testing the machinery and timing it, not for compressing. A ``base``
    that already is a keep/drop classifier (a trained contextzip model folder) keeps its
    head: training from it continues where it stopped.

    Args:
        out_dir: The folder to write (created).
        base: An encoder folder or hub name; ``None`` for the packaged all-MiniLM-L6-v2.
        seed: Seed of the head's initialization.
        query_aware: Record in the config that the model reads (question, text) pairs.
    """
    try:
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer
    except ImportError as exc:
        raise missing_extra(exc.name or "torch", "ml") from None
    source = os.fspath(base) if base is not None else str(minilm_dir())
    model = AutoModelForTokenClassification.from_pretrained(
        source, num_labels=2, id2label={0: "drop", 1: "keep"}, label2id={"drop": 0, "keep": 1}
    )
    if not is_keep_classifier(source):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            std = getattr(model.config, "initializer_range", 0.02)
            head = model.classifier
            head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * std)
            head.bias.zero_()
    model.config.contextzip_query_aware = query_aware
    out = Path(out_dir)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    return out


def is_keep_classifier(model: str | os.PathLike[str]) -> bool:
    """Whether the model folder ``model`` holds a keep/drop token classifier (label 1 = keep)."""
    config = Path(model) / "config.json"
    if not config.is_file():
        return False
    record = json.loads(config.read_text(encoding="utf-8"))
    token_classifier = any(a.endswith("ForTokenClassification") for a in record.get("architectures") or ())
    return token_classifier and record.get("label2id") == {"drop": 0, "keep": 1}
