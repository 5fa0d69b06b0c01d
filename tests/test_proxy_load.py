"""The proxy under load, as users run it (``contextzip serve``, its own process), to a fake upstream
that streams slowly: every stream arrives byte-identical to the direct one, memory and file
descriptors stay flat, client disconnects stop the upstream requests, and no key shows up in a
log line or ``/metrics``.

Fast by default (50 concurrent streams for a few seconds); the ``slow`` run is 200 concurrent
streams for 60 s, then 100 disconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.invariants import leaks
from tests.proxy_servers import fake_upstream, served_proxy

ACCESS_KEY = "cz-access-7f3a9c1e5b2d4680a1b2c3d4"
UPSTREAM_KEY = "sk-upstream-0d9e8f7a6b5c4d3e2f1a0b9c"
CLIENT_KEY = "sk-client-a1b2c3d4e5f6a7b8c9d0e1f2"  # what a client sends beside the proxy key
STREAM = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Say hello."}]}


@dataclass
class Served:
    proxy: str
    upstream: str
    process: psutil.Process
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("load") / "proxy.log"
    env = {"CONTEXTZIP_ACCESS_KEYS": json.dumps([ACCESS_KEY]), "CONTEXTZIP_UPSTREAM_API_KEY": UPSTREAM_KEY}
    with fake_upstream(delay_s=0.05) as upstream:
        arguments = ["--upstream", upstream, "--log-level", "debug", "--min-tokens", "200"]
        with served_proxy(arguments, env, log) as (url, process):
            yield Served(url, upstream, psutil.Process(process.pid), log)


async def load(url: str, clients: int, seconds: float, expected: bytes) -> tuple[int, int]:
    """``clients`` clients streaming for ``seconds``; returns (streams completed, streams that differed)."""
    completed = differed = 0
    deadline = time.monotonic() + seconds
    headers = {"x-contextzip-key": ACCESS_KEY, "authorization": f"Bearer {CLIENT_KEY}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def one() -> None:
            nonlocal completed, differed
            while time.monotonic() < deadline:
                async with client.stream("POST", f"{url}/v1/chat/completions", json=STREAM) as response:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                completed += 1
                differed += body != expected

        await asyncio.gather(*(one() for _ in range(clients)))
    return completed, differed


def direct_stream(upstream: str) -> bytes:
    with httpx.stream("POST", f"{upstream}/v1/chat/completions", json=STREAM, timeout=30) as response:
        return response.read()


def run_load(served: Served, clients: int, seconds: float) -> None:
    expected = direct_stream(served.upstream)
    fds = served.process.num_fds()  # what stays open between loads, whatever the pools hold at a moment
    asyncio.run(load(served.proxy, clients, 1.0, expected))  # warm: connections, pools, caches
    rss = served.process.memory_info().rss
    completed, differed = asyncio.run(load(served.proxy, clients, seconds, expected))
    time.sleep(1.0)
    grown_mb = (served.process.memory_info().rss - rss) / 2**20
    after_load, settled = served.process.num_fds(), settled_fds(served.process, fds + 16)
    print(f"\nload: {clients} clients, {seconds:.0f} s: {completed} streams, {differed} differed, "
          f"RSS {grown_mb:+.1f} MB, fds {fds} -> {after_load} -> {settled}")  # fmt: skip
    assert completed >= clients and differed == 0
    assert grown_mb < 64  # flat: a leak per stream would be thousands of streams' worth
    # idle upstream connections stay pooled for upstream_keepalive_s (up to one per client, more or
    # fewer with the timing), then close; a leaked one never does, and there would be one per stream
    assert settled <= fds + 16 < fds + completed


def settled_fds(process: psutil.Process, target: int, timeout_s: float = 20.0) -> int:
    """The process's open file descriptors once they fall to ``target`` (or when ``timeout_s`` ends)."""
    deadline = time.monotonic() + timeout_s
    while (count := process.num_fds()) > target and time.monotonic() < deadline:
        time.sleep(0.5)
    return count


def test_concurrent_streams_arrive_byte_identical(served: Served) -> None:
    run_load(served, clients=50, seconds=4.0)


@pytest.mark.slow
def test_two_hundred_streams_for_a_minute(served: Served) -> None:
    run_load(served, clients=200, seconds=60.0)


async def disconnect(url: str, clients: int) -> None:
    """``clients`` endless streams, each dropped after its first events."""
    headers = {"x-contextzip-key": ACCESS_KEY}
    body = {**STREAM, "model": "forever"}
    async with httpx.AsyncClient(
        timeout=30, headers=headers, limits=httpx.Limits(max_connections=clients)
    ) as c:

        async def one() -> None:
            async with c.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                async for _ in response.aiter_raw():
                    break  # the client goes away mid-stream

        await asyncio.gather(*(one() for _ in range(clients)))


@pytest.mark.parametrize("clients", [20, pytest.param(100, marks=pytest.mark.slow)])
def test_client_disconnects_stop_upstream_requests(served: Served, clients: int) -> None:
    httpx.post(f"{served.upstream}/_reset")
    asyncio.run(disconnect(served.proxy, clients))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        gone = httpx.get(f"{served.upstream}/_seen").json()["events"].count("client went away")
        if gone == clients:
            break
        time.sleep(0.2)
    assert gone == clients  # every upstream stream was cancelled, none left open


def test_no_key_in_any_log_line_or_metric(served: Served) -> None:
    headers = {"x-contextzip-key": ACCESS_KEY, "authorization": f"Bearer {CLIENT_KEY}"}
    httpx.post(f"{served.proxy}/v1/chat/completions", json={**STREAM, "stream": False}, headers=headers)
    httpx.post(f"{served.proxy}/v1/chat/completions", json=STREAM, headers={"authorization": "Bearer wrong"})
    seen = httpx.get(f"{served.upstream}/_seen").json()["requests"]
    assert seen[-1]["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"  # the key was in use
    secrets = [ACCESS_KEY, UPSTREAM_KEY, CLIENT_KEY]
    assert leaks(served.log.read_text(), secrets) == []
    assert leaks(httpx.get(f"{served.proxy}/metrics").text, secrets) == []
    assert served.log.read_text().count('"event": "request"') > 0  # the log was written


def test_the_leak_check_finds_a_logged_key() -> None:
    assert leaks(f'{{"event": "request", "auth": "Bearer {UPSTREAM_KEY}"}}', [UPSTREAM_KEY]) == [UPSTREAM_KEY]
    assert leaks(f"...{ACCESS_KEY[-12:]}", [ACCESS_KEY]) == [ACCESS_KEY]
