"""contextzip: make the context an LLM reads shorter without losing what it needs.

Example:
    >>> import contextzip
    >>> text = ("The quarterly report, which was finally published on Monday after a long delay, "
    ...         "shows revenue of $4.2M, up from $3.1M a year earlier, driven mostly by the new "
    ...         "subscription plans that were launched in the spring.")
    >>> result = contextzip.compress(text, rate=0.5)  # the shipped token classifier
    >>> result.compressor, result.tokens_after < result.tokens_before
    ('token-classifier', True)

Importing this package is light: no model, no torch; compressors load what they
need on first use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from contextzip.conversation import ConversationPolicy, ConversationResult, compress_conversation
from contextzip.defaults import text_method
from contextzip.errors import (
    ConfigurationError,
    ContextZipError,
    MissingDependencyError,
    ResourceNotFoundError,
    UnknownCompressorError,
)
from contextzip.pipeline import Pipeline
from contextzip.protocol import (
    Compressor,
    CompressorInfo,
    available_compressors,
    get_compressor,
    register_compressor,
)
from contextzip.tokens import TokenCounter, count_tokens
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "CompressionResult",
    "Compressor",
    "CompressorInfo",
    "ConversationPolicy",
    "ConversationResult",
    "ConfigurationError",
    "ContextZipError",
    "MissingDependencyError",
    "Pipeline",
    "ResourceNotFoundError",
    "Segment",
    "SegmentResult",
    "TokenCounter",
    "UnknownCompressorError",
    "__version__",
    "available_compressors",
    "compress",
    "compress_conversation",
    "count_tokens",
    "get_compressor",
    "register_compressor",
]


def compress(
    context: str | Segment | Sequence[str | Segment],
    *,
    rate: float | None = None,
    target_tokens: int | None = None,
    query: str | None = None,
    method: str | Compressor | None = None,
    **options: Any,
) -> CompressionResult:
    """Compress a text, a segment, or a list of them to a budget.

    Args:
        context: A string, a :class:`Segment`, or a sequence of either (documents).
        rate: Kept over original tokens, in ``(0, 1]``. Give this or ``target_tokens``.
        target_tokens: Tokens to keep, counted in the target LLM's tokenizer.
        query: The question or task; query-aware compressors keep what it needs.
        method: A registered compressor name (see :func:`available_compressors`) or a
            compressor instance. Default: the shipped token classifier, or ``selfinfo``
            (with a warning) where the ``ml`` extra is not installed.
        **options: Passed to the compressor's constructor when ``method`` is a name.

    Returns:
        The :class:`CompressionResult`; ``.text`` is the compressed context.

    Raises:
        ConfigurationError: A bad budget, method, option or input.

    Example:
        >>> r = compress(["First document about cats.", "Second about dogs."],
        ...              target_tokens=6, method="truncate")
        >>> [s.text for s in r.segments]
        ['First document about cats.', 'Second']
    """
    budget = Budget(rate=rate, target_tokens=target_tokens)
    if method is None:
        method, note = text_method("compress")
        if note:
            warnings.warn(f"contextzip.compress: {note}", stacklevel=2)
    if isinstance(method, str):
        try:
            compressor = get_compressor(method, **options)
        except UnknownCompressorError:
            raise
        except ConfigurationError as exc:
            if "takes no option" not in str(exc):
                raise
            raise ConfigurationError(
                f"{exc}; compress() itself takes rate, target_tokens, query and method"
            ) from None
    elif options:
        raise ConfigurationError("options apply only when method is a name; configure the instance instead")
    else:
        compressor = method
    return compressor.compress(_as_segments(context), query=query, budget=budget)


def _as_segments(context: str | Segment | Sequence[str | Segment]) -> list[Segment]:
    if isinstance(context, bytes | bytearray):
        raise ConfigurationError("context is bytes; decode it first, e.g. data.decode('utf-8')")
    if isinstance(context, str | Segment):
        context = [context]
    if not isinstance(context, Sequence):
        raise ConfigurationError(
            f"context must be a str, a Segment or a list of them, got {type(context).__name__}"
        )
    segments = []
    for position, item in enumerate(context):
        if isinstance(item, Segment):
            segments.append(item)
        elif isinstance(item, str):
            segments.append(Segment(item))
        else:
            raise ConfigurationError(
                f"context[{position}] is a {type(item).__name__}; pass str or contextzip.Segment"
            )
    return segments
