"""What every entry point compresses with when it is not told: one table.

Each entry point has the default that suits what it is handed: a caller of
:func:`contextzip.compress` sets the budget and gets the model-free method; the command line
uses the shipped token classifier; retrieved documents go through MIG; conversations, in the
library, in LangChain and in the proxy, through the agent compressor.

Example:
    >>> DEFAULTS["documents"]
    Default(method='mig', rate=0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULTS", "Default"]


@dataclass(frozen=True)
class Default:
    """A registered method and the share of tokens it keeps (``None``: the caller must say)."""

    method: str
    rate: float | None


DEFAULTS: Mapping[str, Default] = {
    # contextzip.compress(text, rate=...): no model to load
    "compress": Default("selfinfo", None),
    # contextzip compress FILE (selfinfo on a core-only install)
    "cli": Default("token-classifier", 0.5),
    # the LangChain document compressor: retrieved documents for a query
    "documents": Default("mig", 0.3),
    # compress_conversation, AgentCompressor.compress_messages, the LangChain step and middleware
    "conversation": Default("agent", 0.25),
    # contextzip serve: each compressed text of a request's live zone
    "proxy": Default("agent", 0.3),
}
