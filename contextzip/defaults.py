"""What every entry point compresses with when it is not told: one table.

Each entry point has the default that suits what it is handed: a text, from
:func:`contextzip.compress` (the caller sets the budget) or the command line, goes through the
shipped token classifier (unigram self-information where the ``ml`` extra is missing);
retrieved documents go through MIG; conversations, in the library, in LangChain and in the
proxy, through the agent compressor.

Example:
    >>> DEFAULTS["documents"]
    Default(method='mig', rate=0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec

__all__ = ["DEFAULTS", "FALLBACK_METHOD", "GATEWAY_STATIC_ABOVE", "Default", "text_method"]


@dataclass(frozen=True)
class Default:
    """A registered method and the share of tokens it keeps (``None``: the caller must say)."""

    method: str
    rate: float | None


DEFAULTS: Mapping[str, Default] = {
    # contextzip.compress(text, rate=...): the caller sets the budget
    "compress": Default("token-classifier", None),
    # contextzip compress FILE
    "cli": Default("token-classifier", 0.5),
    # the LangChain document compressor: retrieved documents for a query
    "documents": Default("mig", 0.3),
    # compress_conversation, AgentCompressor.compress_messages, the LangChain step and middleware
    "conversation": Default("agent", 0.25),
    # contextzip serve: each compressed text of a request's live zone
    "proxy": Default("agent", 0.3),
}

#: In a gateway's request path (the proxy, the LiteLLM guardrail), tool-result items scored
#: together past this many characters (about 1k tokens) are embedded with static token vectors
#: instead of the transformer, so a new 5k-token JSON result takes milliseconds to score.
GATEWAY_STATIC_ABOVE = 4000

#: What a text is compressed with where the shipped token classifier cannot run (no ``ml`` extra).
FALLBACK_METHOD = "selfinfo"


def text_method(entry: str) -> tuple[str, str | None]:
    """The method ``DEFAULTS[entry]`` compresses text with on this install, and a note if it fell back.

    The token classifier needs torch and transformers (the ``ml`` extra); without them the
    model-free :data:`FALLBACK_METHOD` stands in, and the note says what to install.

    Example:
        >>> text_method("documents")
        ('mig', None)
    """
    method = DEFAULTS[entry].method
    if method != "token-classifier" or all(find_spec(module) for module in ("torch", "transformers")):
        return method, None
    return FALLBACK_METHOD, (
        f"using {FALLBACK_METHOD}; the default token classifier needs pip install 'contextzip[ml]'"
    )
