"""A bounded, thread-safe least-recently-used map: the one memo every cache in contextzip uses.

Compressors are shared: the proxy runs requests on several threads against one compressor, and
a model's scores are memoized so that one text compressed at several rates is scored once. A
plain ``OrderedDict`` is not enough there: "is it in, then move it to the end" is two steps, and
another thread's eviction between them raises ``KeyError``. Every step here holds one lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from contextzip.errors import ConfigurationError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` entries; the least recently read or written one goes first.

    ``size=0`` keeps nothing (every :meth:`get` misses).

    Example:
        >>> memo: LRU[str, int] = LRU(2)
        >>> for key, value in [("a", 1), ("b", 2)]:
        ...     memo.set(key, value)
        >>> memo.get("a")  # "a" is now the most recent, so "b" goes first
        1
        >>> memo.set("c", 3)
        >>> memo.get("b") is None, memo.get("a"), len(memo)
        (True, 1, 2)
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ConfigurationError(f"an LRU's size must be >= 0, got {size}")
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recent entry), or ``None`` when absent."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def set(self, key: K, value: V) -> None:
        """Store ``value`` as the most recent entry, evicting the oldest beyond ``size``."""
        if self.size == 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
