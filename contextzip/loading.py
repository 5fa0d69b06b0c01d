"""Every model contextzip runs is loaded here, once per process, and kept in one cache.

Constructors record a model's name and options only; the first call that needs the model
loads it through :func:`load_once`, keyed by its kind and what it depends on, so compressors
built separately (MIG at two rates, a retrieval filter beside it, the proxy's workers) share
one copy in memory. The kinds: transformers (tokenizer, model) pairs for causal LMs and token
classifiers (:func:`load_pretrained`), sentence encoders and their runners
(:mod:`contextzip.embeddings`), ONNX Runtime sessions (:mod:`contextzip.onnx_export`) and
llmlingua's own token classifier for parity runs.

:func:`load_pretrained` gives the clear errors every transformers model needs: the ``ml``
extra missing, a device that does not exist, a model that cannot be found, a tokenizer that
cannot map tokens back to characters (no fast tokenizer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from contextzip.errors import ConfigurationError, ResourceNotFoundError, missing_extra

__all__ = ["check_device", "load_once", "load_pretrained", "loaded"]

T = TypeVar("T")

_loaded: dict[tuple[Hashable, ...], Any] = {}
# re-entrant: building one model may load another (an encoder's runner, a session's export)
_lock = threading.RLock()


def load_once(kind: str, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """The ``kind`` of model for ``key``, built by ``build`` on first use and kept for the process.

    Example:
        >>> load_once("doc-example", ("x",), lambda: ["built"]) is load_once("doc-example", ("x",), list)
        True
    """
    with _lock:
        if (kind, *key) not in _loaded:
            _loaded[(kind, *key)] = build()
        return _loaded[(kind, *key)]


def loaded(kind: str) -> dict[tuple[Hashable, ...], Any]:
    """What is loaded of ``kind``, by key (a snapshot)."""
    with _lock:
        return {full[1:]: value for full, value in _loaded.items() if full[0] == kind}


def load_pretrained(
    model: str, device: str, *, auto_class: str, what: str, not_found_hint: str
) -> tuple[Any, Any]:
    """The (fast tokenizer, model in eval mode on ``device``) pair, loaded once per process.

    Args:
        model: A local folder or hub name.
        device: A torch device string.
        auto_class: The transformers ``AutoModelFor...`` class name to load with.
        what: The kind of model, for error messages (``"causal LM"``).
        not_found_hint: What to pass instead, appended to the error when loading fails.
    """

    def build() -> tuple[Any, Any]:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise missing_extra(exc.name or "torch", "ml") from None
        check_device(torch, device)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(model)
            loaded_model: Any = getattr(transformers, auto_class).from_pretrained(model)
        except OSError as exc:
            raise ResourceNotFoundError(
                f"{what} {model!r} could not be loaded ({exc}); {not_found_hint}"
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigurationError(
                f"{model!r} has no fast tokenizer, so tokens cannot be mapped to characters; "
                "use a model with a tokenizer.json"
            )
        return tokenizer, loaded_model.to(device).eval()

    return load_once(auto_class, (model, device), build)


def check_device(torch: Any, device: str) -> None:
    """Raise :class:`ConfigurationError` unless ``device`` is a torch device this torch can use."""
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ConfigurationError(f"device {device!r} is not a torch device; use 'cpu' or 'cuda'") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(f"device {device!r} asked for, but this torch has no CUDA; use 'cpu'")
