"""The one protocol every compressor implements, and the registry that finds them by name.

Built-in compressors are registered by import path, so looking one up imports
only its own module (and a model only loads on first use). Each entry belongs to a group:
``product`` (what to use, with a "use for" line), ``peer`` (other projects' methods, kept
for comparison) or ``baseline``. Other packages add entries through the
``contextzip.compressors`` entry-point group: each entry point names a function that
registers them, called the first time the registry is listed or asked for a name it
lacks (the evaluation's peers come this way, from :mod:`contextzip.eval.peers`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from contextzip.errors import ConfigurationError, UnknownCompressorError
from contextzip.types import Budget, CompressionResult, Segment

__all__ = [
    "GROUPS",
    "Compressor",
    "CompressorInfo",
    "available_compressors",
    "check_options",
    "compressor_info",
    "fill_options",
    "get_compressor",
    "register_compressor",
    "takes_option",
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

#: The registry's groups, in the order ``contextzip methods`` lists them.
GROUPS = ("product", "peer", "baseline")

#: The entry-point group other packages register compressors through.
ENTRY_POINTS = "contextzip.compressors"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompressorInfo:
    """A registry entry.

    Attributes:
        name: The name ``get_compressor`` takes.
        description: One line for ``contextzip methods``.
        factory: A callable returning a compressor, or ``"module:attribute"``.
        defaults: Keyword arguments passed to the factory before the caller's own.
        group: ``"product"``, ``"peer"`` or ``"baseline"``.
        use_for: For a product, what it is the right choice for.

    Example:
        >>> info = next(i for i in available_compressors() if i.name == "selfinfo-lm")
        >>> info.defaults, info.group
        ({'backend': 'causal-lm'}, 'product')
    """

    name: str
    description: str
    factory: Factory | str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    group: str = "product"
    use_for: str = ""

    def resolve(self) -> Factory:
        """Import (if needed) and return the factory."""
        if callable(self.factory):
            return self.factory
        module, _, attribute = self.factory.partition(":")
        factory: Factory = getattr(importlib.import_module(module), attribute)
        return factory


_REGISTRY: dict[str, CompressorInfo] = {}
_plugins_loaded = False
_plugins_lock = threading.RLock()


def register_compressor(
    name: str,
    factory: Factory | str,
    *,
    description: str,
    defaults: Mapping[str, Any] | None = None,
    group: str = "product",
    use_for: str = "",
    replace: bool = False,
) -> None:
    """Make a compressor available by name.

    Args:
        name: The name :func:`get_compressor` and the CLI's ``--method`` take.
        factory: A callable that returns a compressor, or ``"module:attribute"`` to import
            on first use (keeps ``import contextzip`` light).
        description: One line shown by ``contextzip methods``.
        defaults: Keyword arguments passed to the factory before the caller's own.
        group: ``"product"`` (the default), ``"peer"`` or ``"baseline"``.
        use_for: For a product, one line on what it is the right choice for.
        replace: Allow replacing an existing entry.

    Raises:
        ConfigurationError: ``name`` is taken and ``replace`` is false, or an unknown group.

    Example:
        >>> from contextzip.compressors.baselines import TruncateCompressor
        >>> register_compressor("head-sentences", TruncateCompressor,
        ...     description="first sentences", defaults={"unit": "sentence"})
        >>> get_compressor("head-sentences").unit
        'sentence'
    """
    if group not in GROUPS:
        raise ConfigurationError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    if not replace and name in _REGISTRY:
        raise ConfigurationError(f"a compressor named {name!r} is registered already; pass replace=True")
    _REGISTRY[name] = CompressorInfo(name, description, factory, dict(defaults or {}), group, use_for)


def available_compressors() -> list[CompressorInfo]:
    """Registered compressors (plug-ins' too), sorted by name.

    Example:
        >>> names = [info.name for info in available_compressors()]
        >>> names == sorted(names), "selfinfo" in names
        (True, True)
    """
    _load_plugins()
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
    info = compressor_info(name)
    factory = info.resolve()
    check_options(f"compressor {name!r}", factory, {**info.defaults, **options})
    return factory(**{**info.defaults, **options})


def compressor_info(name: str) -> CompressorInfo:
    """The registry entry for ``name`` (plug-ins' included), without building anything.

    Raises:
        UnknownCompressorError: ``name`` is not registered (the message lists the names).

    Example:
        >>> compressor_info("truncate").group
        'baseline'
    """
    if name not in _REGISTRY:
        _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCompressorError(
            f"unknown compressor {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None


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


def takes_option(info: CompressorInfo, option: str) -> bool:
    """Whether the compressor registered as ``info`` names the keyword option ``option``.

    A factory that passes ``**options`` on is not taken to accept any name.

    Example:
        >>> takes_option(compressor_info("agent"), "min_tokens")
        True
        >>> takes_option(compressor_info("truncate"), "min_tokens")
        False
    """
    try:
        parameters = inspect.signature(info.resolve()).parameters
    except (TypeError, ValueError):
        return False
    return option in parameters and parameters[option].kind is not inspect.Parameter.VAR_KEYWORD


def _load_plugins() -> None:
    """Call each ``contextzip.compressors`` entry point's registering function, once per process."""
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
            try:
                entry.load()()
            except Exception as exc:  # a broken plug-in must not take the built-in compressors down
                logger.warning(
                    "compressor plug-in %s not loaded: %s: %s", entry.value, type(exc).__name__, exc
                )


def _register_builtins() -> None:
    products: list[tuple[str, str, dict[str, Any], str, str]] = [
        ("selfinfo", "contextzip.compressors.selfinfo:SelfInfoCompressor", {},
         "word self-information from word frequencies (Selective-Context style), no model",
         "prose on a light install, where speed matters more than what a reader keeps"),
        ("selfinfo-lm", "contextzip.compressors.selfinfo:SelfInfoCompressor", {"backend": "causal-lm"},
         "token surprisal from a small causal LM (LLMLingua-1 style), SmolLM2-135M by default",
         "prose scored by a causal LM's surprisal (LLMLingua-1's route), when its time is worth it"),
        ("token-classifier", "contextzip.compressors.token_classifier:TokenClassifierCompressor", {},
         "LLMLingua-2 style: an encoder labels each word keep or drop (the shipped MiniLM model)",
         "mild compression (rate 0.5 and up) of prose without a question"),
        ("token-classifier-query", "contextzip.compressors.token_classifier:TokenClassifierCompressor",
         {"query_aware": True},
         "the token classifier reading (question, text) pairs (the shipped query-aware model)",
         "mild compression of prose for a question; not QA contexts at 4x (readers lose answers)"),
        ("mig", "contextzip.compressors.mig:MIGCompressor", {},
         "marginal information gain (COMI-style): relevance minus redundancy, coarse to fine; "
         "kept sentences keep their document's title",
         "retrieved documents for a question (RAG), 4x: the reader answers as from the original"),
        ("mig-tokens", "contextzip.compressors.mig:mig_pipeline", {},
         "MIG over sentences, then the query-aware token classifier inside what it kept",
         "documents for a question where whole sentences keep too much (readers lose some answers)"),
        ("agent", "contextzip.compressors.agent:AgentCompressor", {},
         "agent state (PAACE-style): tool outputs reduced by kind (JSON, logs, HTML, trees, code, prose)",
         "conversations and tool outputs: compress_conversation, the proxy, LangChain"),
        ("code", "contextzip.compressors.code:CodeCompressor", {},
         "source files: functions ranked by how much they help an LM predict the instruction, then trimmed",
         "source files for a coding instruction, when a small LM's time is worth it"),
        ("code-fast", "contextzip.compressors.code:CodeCompressor", {"mode": "fast"},
         "the code compressor ranking by BM25 over identifiers plus embeddings (no LM)",
         "source files for a coding instruction in the request path (no LM)"),
    ]  # fmt: skip
    baselines: list[tuple[str, str, dict[str, Any], str]] = [
        ("truncate", "contextzip.compressors.baselines:TruncateCompressor", {},
         "baseline: keep the beginning"),
        ("truncate-tail", "contextzip.compressors.baselines:TruncateCompressor", {"side": "tail"},
         "baseline: keep the end"),
        ("truncate-middle", "contextzip.compressors.baselines:TruncateCompressor", {"side": "middle"},
         "baseline: keep both ends, cut the middle out"),
        ("random", "contextzip.compressors.baselines:RandomCompressor", {},
         "baseline: keep seeded random words"),
    ]  # fmt: skip
    for name, factory, defaults, description, use_for in products:
        register_compressor(name, factory, description=description, defaults=defaults, use_for=use_for)
    for name, factory, defaults, description in baselines:
        register_compressor(name, factory, description=description, defaults=defaults, group="baseline")


_register_builtins()


def fill_options(name: str, options: Mapping[str, Any], **shared: Any) -> dict[str, Any]:
    """``options`` for the compressor registered as ``name``, plus each of ``shared`` it takes
    that ``options`` does not set (a gateway's ``min_tokens``, say, where the method has one).

    Example:
        >>> fill_options("agent", {"rate": 0.5}, min_tokens=300)
        {'rate': 0.5, 'min_tokens': 300}
        >>> fill_options("truncate", {}, min_tokens=300)
        {}
    """
    info = compressor_info(name)
    filled = dict(options)
    for option, value in shared.items():
        if takes_option(info, option):
            filled.setdefault(option, value)
    return filled
