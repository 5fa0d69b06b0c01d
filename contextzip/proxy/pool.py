"""The proxy's compression threads: a deadline per request, and a bounded queue in front of them.

Compression is CPU work, so a worker runs it in a few threads (its share of the cores). A
compression past its deadline is not waited for (the request goes on uncompressed), but its
thread stays busy until it ends: threads cannot be stopped. So the pool counts the work still
running or waiting, and once ``threads + queue`` pieces are pending it refuses more at once
(:class:`Busy`) instead of letting each new request wait out the deadline behind them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Busy", "CompressionPool"]

T = TypeVar("T")


class Busy(Exception):
    """Every thread is taken and the queue is full: forward the request as it is, now."""


class CompressionPool:
    """``threads`` threads, at most ``queue`` pieces of work waiting, ``timeout_s`` per piece."""

    def __init__(self, threads: int, queue: int, timeout_s: float) -> None:
        self.threads, self.queue, self.timeout_s = threads, queue, timeout_s
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="contextzip")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Pieces of work running or waiting (a timed-out one counts until its thread is free)."""
        return self._pending

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a thread; :class:`Busy` when full, ``TimeoutError`` after the deadline."""
        with self._lock:
            if self._pending >= self.threads + self.queue:
                raise Busy(f"{self._pending} compressions running or waiting")
            self._pending += 1
        future: Future[T] = self._executor.submit(work, *args)
        future.add_done_callback(self._finished)  # when the thread is free, not when we stop waiting
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)

    def _finished(self, _: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
