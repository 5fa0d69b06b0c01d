"""The one protocol every compressor implements, and the registry that finds them by name.

Built-in compressors are registered by import path, so looking one up imports
only its own module (and a model only loads on first use).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from contextzip.errors import ConfigurationError, UnknownCompressorError
from contextzip.types import Budget, CompressionResult, Segment

__all__ = [
    "Compressor",
    "CompressorInfo",
    "available_compressors",
    "check_options",
    "get_compressor",
    "register_compressor",
]


@runtime_checkable
class Compressor(Protocol):
    """What every compressor is: a name and a pure ``compress``.

    ``compress`` returns, for the same segments, query, budget and configuration,
    the same text byte for byte; it never returns more tokens than it was given, and
    when it cannot help it returns the input with ``ratio == 1.0`` and a reason.

    Example:
        >>> from contextzip import Budget, Segment, get_compressor
        >>> compressor = get_compressor("truncate")
        >>> isinstance(compressor, Compressor)
        True
        >>> compressor.compress([Segment("keep this part only")], budget=Budget(target_tokens=2)).text
        'keep this'
    """

    name: str

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult: ...


Factory = Callable[..., Compressor]


@dataclass(frozen=True)
class CompressorInfo:
    """A registry entry.

    Attributes:
        name: The name ``get_compressor`` takes.
        description: One line for ``contextzip methods``.
        factory: A callable returning a compressor, or ``"module:attribute"``.
        defaults: Keyword arguments passed to the factory before the caller's own.

    Example:
        >>> info = next(i for i in available_compressors() if i.name == "selfinfo-lm")
        >>> info.defaults
        {'backend': 'causal-lm'}
    """

    name: str
    description: str
    factory: Factory | str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self) -> Factory:
        """Import (if needed) and return the factory."""
        if callable(self.factory):
            return self.factory
        module, _, attribute = self.factory.partition(":")
        factory: Factory = getattr(importlib.import_module(module), attribute)
        return factory


_REGISTRY: dict[str, CompressorInfo] = {}


def register_compressor(
    name: str,
    factory: Factory | str,
    *,
    description: str,
    defaults: Mapping[str, Any] | None = None,
    replace: bool = False,
) -> None:
    """Make a compressor available by name.

    Args:
        name: The name :func:`get_compressor` and the CLI's ``--method`` take.
        factory: A callable that returns a compressor, or ``"module:attribute"`` to import
            on first use (keeps ``import contextzip`` light).
        description: One line shown by ``contextzip methods``.
        defaults: Keyword arguments passed to the factory before the caller's own.
        replace: Allow replacing an existing entry.

    Raises:
        ConfigurationError: ``name`` is taken and ``replace`` is false.

    Example:
        >>> from contextzip.compressors.baselines import TruncateCompressor
        >>> register_compressor("head-sentences", TruncateCompressor,
        ...     description="first sentences", defaults={"unit": "sentence"})
        >>> get_compressor("head-sentences").unit
        'sentence'
    """
    if not replace and name in _REGISTRY:
        raise ConfigurationError(f"a compressor named {name!r} is registered already; pass replace=True")
    _REGISTRY[name] = CompressorInfo(name, description, factory, dict(defaults or {}))


def available_compressors() -> list[CompressorInfo]:
    """Registered compressors, sorted by name.

    Example:
        >>> names = [info.name for info in available_compressors()]
        >>> names == sorted(names), "selfinfo" in names
        (True, True)
    """
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_compressor(name: str, **options: Any) -> Compressor:
    """Build the compressor registered as ``name`` with ``options``.

    Args:
        name: A registered name (see :func:`available_compressors`).
        **options: Keyword arguments for its constructor, over the entry's defaults.

    Raises:
        UnknownCompressorError: ``name`` is not registered (the message lists the names).
        ConfigurationError: an option the compressor does not take (the message lists them).

    Example:
        >>> get_compressor("selfinfo", unit="sentence").name
        'selfinfo'
    """
    try:
        info = _REGISTRY[name]
    except KeyError:
        raise UnknownCompressorError(
            f"unknown compressor {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    factory = info.resolve()
    check_options(f"compressor {name!r}", factory, {**info.defaults, **options})
    return factory(**{**info.defaults, **options})


def check_options(owner: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Reject keyword options ``factory`` does not take, and required ones left out.

    Shared by the compressor and reader registries, so both say the same thing.

    Args:
        owner: Names the thing being built in the message, e.g. ``"compressor 'selfinfo'"``.
        factory: The callable the options are for.
        options: The keyword arguments about to be passed.

    Raises:
        ConfigurationError: An unknown option (the message lists the valid ones) or a
            missing required one.

    Example:
        >>> check_options("compressor 'x'", lambda *, unit="word": None, {"units": "word"})
        Traceback (most recent call last):
        ...
        contextzip.errors.ConfigurationError: compressor 'x' takes no option units; valid options: unit
    """
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    keywords = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    valid = [p.name for p in keywords]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigurationError(
            f"{owner} takes no option {', '.join(unknown)}; valid options: {', '.join(valid) or 'none'}"
        )
    missing = [p.name for p in keywords if p.default is inspect.Parameter.empty and p.name not in options]
    if missing:
        raise ConfigurationError(f"{owner} needs {', '.join(f'{m}=...' for m in missing)}")


def _register_builtins() -> None:
    builtins: list[tuple[str, str, dict[str, Any], str]] = [
        ("selfinfo", "contextzip.compressors.selfinfo:SelfInfoCompressor", {},
         "word self-information from word frequencies (Selective-Context style), no model"),
        ("selfinfo-lm", "contextzip.compressors.selfinfo:SelfInfoCompressor", {"backend": "causal-lm"},
         "token surprisal from a small causal LM (LLMLingua-1 style), SmolLM2-135M by default"),
        ("token-classifier", "contextzip.compressors.token_classifier:TokenClassifierCompressor", {},
         "LLMLingua-2 style: an encoder labels each word keep or drop (the shipped MiniLM model)"),
        ("token-classifier-query", "contextzip.compressors.token_classifier:TokenClassifierCompressor",
         {"query_aware": True},
         "the token classifier reading (question, text) pairs (the shipped query-aware model)"),
        ("mig", "contextzip.compressors.mig:MIGCompressor", {},
         "marginal information gain (COMI-style): relevance minus redundancy, coarse to fine; "
         "kept sentences keep their document's title"),
        ("mig-tokens", "contextzip.compressors.mig:mig_pipeline", {},
         "MIG over sentences, then the query-aware token classifier inside what it kept"),
        ("agent", "contextzip.compressors.agent:AgentCompressor", {},
         "agent state (PAACE-style): tool outputs reduced by kind (JSON, logs, HTML, trees, code, prose)"),
        ("lc-embeddings-filter", "contextzip.eval.peers:LangChainEmbeddingsFilter", {},
         "peer: LangChain EmbeddingsFilter + EmbeddingsRedundantFilter, whole documents to the budget"),
        ("bm25-docs", "contextzip.eval.peers:BM25Documents", {},
         "peer: BM25 top-k whole documents to the budget"),
        ("longllmlingua-docs", "contextzip.eval.peers:LongLLMLinguaDocuments", {},
         "peer: LongLLMLingua document ranking (question perplexity given each document, SmolLM2)"),
        ("code", "contextzip.compressors.code:CodeCompressor", {},
         "source files: functions ranked by how much they help an LM predict the instruction, then trimmed"),
        ("code-fast", "contextzip.compressors.code:CodeCompressor", {"mode": "fast"},
         "the code compressor ranking by BM25 over identifiers plus embeddings (no LM)"),
        ("code-bm25", "contextzip.eval.peers:CodeChunkRanker", {"ranking": "bm25"},
         "peer: code chunks by BM25 top-k"),
        ("code-embedding", "contextzip.eval.peers:CodeChunkRanker", {"ranking": "embedding"},
         "peer: code chunks by embedding similarity"),
        ("code-random", "contextzip.eval.peers:CodeChunkRanker", {"ranking": "random"},
         "baseline: seeded random code chunks"),
        ("code-position", "contextzip.eval.peers:CodeChunkRanker", {"ranking": "position"},
         "baseline: the first code chunks (truncation by chunks)"),
        ("truncate", "contextzip.compressors.baselines:TruncateCompressor", {},
         "baseline: keep the beginning"),
        ("truncate-tail", "contextzip.compressors.baselines:TruncateCompressor", {"side": "tail"},
         "baseline: keep the end"),
        ("truncate-middle", "contextzip.compressors.baselines:TruncateCompressor", {"side": "middle"},
         "baseline: keep both ends, cut the middle out"),
        ("random", "contextzip.compressors.baselines:RandomCompressor", {},
         "baseline: keep seeded random words"),
    ]  # fmt: skip
    for name, factory, defaults, description in builtins:
        register_compressor(name, factory, description=description, defaults=defaults)


_register_builtins()
