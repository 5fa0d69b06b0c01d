"""Baselines for evaluation: truncation and seeded random selection.

They answer "is the clever compressor better than doing the obvious?" and share
the extractive driver, so they meet budgets and keep invariants the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from contextzip.compressors.extractive import ExtractiveCompressor
from contextzip.compressors.units import UnitTable
from contextzip.errors import ConfigurationError
from contextzip.tokens import DEFAULT_ENCODING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RandomCompressor", "TruncateCompressor"]

_SIDES = ("head", "tail", "middle")


class TruncateCompressor(ExtractiveCompressor):
    """Keep a contiguous part of the context and cut the rest.

    Args:
        side: ``"head"`` keeps the beginning, ``"tail"`` the end, ``"middle"`` keeps
            both ends and cuts the middle out (middle-out).
        unit: The unit cut at (``"word"`` by default, so words stay whole).
        force_tokens: Strings whose every occurrence is kept, wherever they are.
        encoding: The tiktoken encoding budgets are counted in.

    Example:
        >>> from contextzip import Budget, Segment
        >>> r = TruncateCompressor().compress([Segment("one two three four")], budget=Budget(target_tokens=2))
        >>> r.text
        'one two'
    """

    in_order = True  # stop at the first unit that does not fit: the kept part stays contiguous

    def __init__(
        self,
        *,
        side: Literal["head", "tail", "middle"] = "head",
        unit: str = "word",
        force_tokens: Sequence[str] = (),
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if side not in _SIDES:
            raise ConfigurationError(f"unknown side {side!r}; choose one of {', '.join(_SIDES)}")
        super().__init__(unit=unit, force_tokens=force_tokens, encoding=encoding)
        self.side = side
        self.name = "truncate" if side == "head" else f"truncate-{side}"

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        import numpy as np

        position = np.arange(len(table), dtype=np.float64)
        if self.side == "head":
            return -position
        if self.side == "tail":
            return position
        # Farthest from the centre first; ties go to the earlier unit, so ends alternate.
        return np.abs(position - (len(table) - 1) / 2)

    def __repr__(self) -> str:
        return f"TruncateCompressor(side={self.side!r}, unit={self.unit!r})"


class RandomCompressor(ExtractiveCompressor):
    """Keep randomly chosen units; the same seed gives the same selection.

    Args:
        seed: Seed of the selection's own generator (global RNGs are never touched).
        unit: The unit kept or dropped whole.
        force_tokens: Strings whose every occurrence is kept.
        encoding: The tiktoken encoding budgets are counted in.

    Example:
        >>> from contextzip import Budget, Segment
        >>> c = RandomCompressor(seed=1)
        >>> a = c.compress([Segment("a b c d e f g h")], budget=Budget(rate=0.5)).text
        >>> a == c.compress([Segment("a b c d e f g h")], budget=Budget(rate=0.5)).text
        True
    """

    name = "random"

    def __init__(
        self,
        *,
        seed: int = 0,
        unit: str = "word",
        force_tokens: Sequence[str] = (),
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigurationError(f"seed must be an int, got {seed!r}")
        super().__init__(unit=unit, force_tokens=force_tokens, encoding=encoding)
        self.seed = seed

    def priority(self, table: UnitTable, query: str | None) -> np.ndarray:
        import numpy as np

        return np.random.default_rng(self.seed).random(len(table))

    def __repr__(self) -> str:
        return f"RandomCompressor(seed={self.seed}, unit={self.unit!r})"
