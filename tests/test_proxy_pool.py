"""The compression pool: a deadline per piece of work, and a bounded queue that refuses at once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from contextzip.proxy.pool import Busy, CompressionPool


def test_late_work_is_not_waited_for_and_a_full_pool_refuses_at_once() -> None:
    release = threading.Event()
    pool = CompressionPool(threads=1, queue=1, timeout_s=0.2)

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await pool.run(release.wait, 10)  # holds the one thread past its deadline
        assert pool.pending == 1  # its thread is still taken
        waiting = asyncio.ensure_future(pool.run(lambda: "done"))  # queued behind it
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        with pytest.raises(Busy):
            await pool.run(lambda: "refused")
        assert time.perf_counter() - started < 0.1  # refused now, not after the deadline
        release.set()
        assert await waiting == "done"

    try:
        asyncio.run(scenario())
        deadline = time.monotonic() + 5
        while pool.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.pending == 0
    finally:
        release.set()
        pool.shutdown()
