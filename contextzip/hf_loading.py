"""Loading transformers models once per process: the one place that imports them, checks the
device and the tokenizer, and caches the pair.

Both model-backed parts (the causal LM of :mod:`contextzip.causal_lm` and the token
classifier of :mod:`contextzip.token_classification`) need the same things: a clear error
when the ``ml`` extra is missing, when the device does not exist, when the model cannot be
found, or when the tokenizer cannot map tokens back to characters (no fast tokenizer).
"""

from __future__ import annotations

import threading
from typing import Any

from contextzip.errors import ConfigurationError, ResourceNotFoundError, missing_extra

__all__ = ["check_device", "load_pretrained"]

_loaded: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_lock = threading.Lock()


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
    key = (model, device, auto_class)
    with _lock:
        if key not in _loaded:
            try:
                import torch
                import transformers
            except ImportError as exc:
                raise missing_extra(exc.name or "torch", "ml") from None
            check_device(torch, device)
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model)
                loaded: Any = getattr(transformers, auto_class).from_pretrained(model)
            except OSError as exc:
                raise ResourceNotFoundError(
                    f"{what} {model!r} could not be loaded ({exc}); {not_found_hint}"
                ) from exc
            if not getattr(tokenizer, "is_fast", False):
                raise ConfigurationError(
                    f"{model!r} has no fast tokenizer, so tokens cannot be mapped to characters; "
                    "use a model with a tokenizer.json"
                )
            _loaded[key] = (tokenizer, loaded.to(device).eval())
        return _loaded[key]


def check_device(torch: Any, device: str) -> None:
    """Raise :class:`ConfigurationError` unless ``device`` is a torch device this torch can use."""
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ConfigurationError(f"device {device!r} is not a torch device; use 'cpu' or 'cuda'") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(f"device {device!r} asked for, but this torch has no CUDA; use 'cpu'")
