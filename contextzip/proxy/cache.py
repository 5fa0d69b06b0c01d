"""Compressed texts by the content hash of their original, so a re-sent history gets the same bytes.

The proxy compresses a text once, while it is live; whenever the same original comes back
(the client re-sends its history every turn), the cache answers with the same compressed
bytes, and the provider's prompt cache keeps hitting. :class:`MemoryCache` is a per-process
LRU; :class:`RedisCache` shares the texts between replicas so they agree. Both are the
:class:`~contextzip.conversation.TextMemo` that :func:`~contextzip.conversation.compress_conversation`
reads and fills, keyed by :func:`~contextzip.conversation.memo_key`.

Example:
    >>> cache = MemoryCache(2)
    >>> cache.set("a", "A"); cache.set("b", "B"); cache.get("a"); cache.set("c", "C")
    'A'
    >>> cache.get("b") is None, cache.get("a"), cache.get("c")
    (True, 'A', 'C')
"""

from __future__ import annotations

import logging

from contextzip.errors import missing_extra
from contextzip.memo import LRU

__all__ = ["MemoryCache", "RedisCache"]

logger = logging.getLogger(__name__)


class MemoryCache(LRU[str, str]):
    """A thread-safe LRU of at most ``size`` texts (``0`` keeps nothing)."""


class RedisCache:
    """Texts in Redis under ``contextzip:`` keys with a TTL, in front of a small local LRU.

    A Redis that cannot be reached is logged and treated as a miss: the request goes on.
    """

    def __init__(self, url: str, *, ttl_s: int, local_size: int = 1024) -> None:
        try:
            import redis
        except ImportError as exc:
            raise missing_extra("redis", "proxy") from exc
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._local = MemoryCache(local_size)
        self.ttl_s = ttl_s

    def get(self, key: str) -> str | None:
        text = self._local.get(key)
        if text is not None:
            return text
        try:
            raw = self._redis.get(f"contextzip:{key}")
        except Exception as exc:  # an unreachable cache is a miss, never a failed request
            logger.warning("redis get failed: %s", type(exc).__name__)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._local.set(key, text)
        return text

    def set(self, key: str, text: str) -> None:
        self._local.set(key, text)
        try:
            # the first writer wins, so replicas that compressed the same text agree on its bytes
            self._redis.set(f"contextzip:{key}", text.encode(), ex=self.ttl_s, nx=True)
        except Exception as exc:
            logger.warning("redis set failed: %s", type(exc).__name__)
