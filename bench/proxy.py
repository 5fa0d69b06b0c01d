"""What the proxy adds to a request, against the API direct: latency, throughput and time to first byte.

Processes on 127.0.0.1: the fake OpenAI-compatible API (``tests/fake_upstream.py``, started with
uvicorn), ``contextzip serve`` in front of it (the real command, with ``--workers N``) and this
client. Under load the upstream waits ``--upstream-latency-ms`` before answering, as a model does
before its first token (default 200 ms; ``0`` makes the run CPU-bound, where the proxy's own work on
the same two cores shows fully); with one client it answers at once, so the overhead measured is the
proxy's own time. Three kinds of request:

* ``pass-through``: a short chat request, nothing to compress; its peer is the same request direct;
* ``cache hit``: a 5k-token JSON tool result in the live zone, compressed once before (a history
  re-sent), peer: the same body direct;
* ``new compression``: a tool result never seen before (a fresh JSON document per request),
  compressed by the agent compressor on the way; peer: such a body direct.

Each kind runs at 1, 16, 64 and 200 concurrent clients for a few seconds, direct and through the
proxy alternately, for each worker count; the table gives p50/p99 latency, the p50 overhead and
requests per second beside direct. Then streaming time to first byte. Targets of the issue:
pass-through p50 overhead <= 1 ms, throughput >= 0.9x direct at 64 clients, a new 5k-token JSON
compression <= 300 ms p50.

Run from the repository root::

    python -m bench.proxy                   # 1 and 2 workers, 3 s per measurement
    python -m bench.proxy --quick           # 1 worker, 1 s per measurement
    python -m bench.proxy --workers 1,2,4 --upstream-latency-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import environment_line, markdown_table
from contextzip.eval.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PASS_THROUGH_TARGET_MS = 1.0
THROUGHPUT_TARGET = 0.9
NEW_COMPRESSION_TARGET_MS = 300.0
CLIENTS = (1, 16, 64, 200)

Body = Callable[[int], dict[str, Any]]


def _wait(url: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


@contextlib.contextmanager
def _process(command: list[str], ready_url: str, env: dict[str, str]) -> Iterator[None]:
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        _wait(ready_url)
        yield
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def tool_body(salt: str = "") -> dict[str, Any]:
    """A chat request whose last message is a ~5k-token JSON tool result (this Python's build config)."""
    config = {
        f"{k}{salt}": v for k, v in sorted(sysconfig.get_config_vars().items()) if isinstance(v, str | int)
    }
    call = {"id": "call_1", "type": "function", "function": {"name": "build_config", "arguments": "{}"}}
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You answer questions about this Python build."},
            {"role": "user", "content": "Which compiler flags was this Python built with?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": json.dumps(dict(list(config.items())[:400])),
            },
        ],
    }


SHORT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
STREAM = {**SHORT, "stream": True}


async def _measure(
    url: str, body: Body, clients: int, seconds: float, start: int, latency_s: float
) -> tuple[list[float], float, int]:
    """``clients`` clients posting ``body(n)`` for ``seconds`` to an upstream that waits ``latency_s``:
    each latency, requests per second, and the requests that failed (an error status or a broken
    connection: counted, not raised, so one reset does not end the run).

    The clients are aiohttp's: httpx's pool costs so much CPU per request that, on two cores, the
    load generator itself capped the direct requests at a third of what the upstream can answer
    (64 clients, 200 ms: 73-104 of 320 req/s), and a ratio to that measured the client, not the proxy.
    """
    import aiohttp

    latencies: list[float] = []
    failed = 0
    counter = iter(range(start, start + 10**9))
    headers = {"content-type": "application/json", "x-fake-latency-s": str(latency_s)}
    endpoint = f"{url}/v1/chat/completions"
    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send() -> bool:
            payload = json.dumps(body(next(counter))).encode()
            try:
                async with session.post(endpoint, data=payload, headers=headers) as response:
                    await response.read()
                    return response.status == 200
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                return False

        # every client's connection open first: a burst of connects is not what is measured
        await asyncio.gather(*(send() for _ in range(clients)))
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                if await send():
                    latencies.append(time.perf_counter() - sent)
                else:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, len(latencies) / (time.perf_counter() - started), failed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ttfb(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    elapsed = 0.0
    with client.stream("POST", f"{url}/v1/chat/completions", json=STREAM) as response:
        for _ in response.iter_raw():  # the whole stream is read; only its first chunk is timed
            elapsed = elapsed or time.perf_counter() - started
    return elapsed


def run_workers(
    workers: int, direct: str, seconds: float, rounds: int, latency_s: float
) -> tuple[list[list[Any]], dict[str, float]]:
    """Every kind at every client count through a proxy with ``workers`` workers; table rows and targets."""
    port = free_port()
    proxy = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "contextzip", "serve", "--upstream", direct, "--port", str(port),
             "--log-level", "warning", "--min-tokens", "500", "--workers", str(workers)]  # fmt: skip
    rows: list[list[Any]] = []
    found: dict[str, float] = {}
    cached = tool_body()
    kinds: dict[str, tuple[Body, Body]] = {  # (direct body, proxied body)
        "pass-through": (lambda n: SHORT, lambda n: SHORT),
        "cache hit": (lambda n: cached, lambda n: cached),
        "new compression": (lambda n: cached, lambda n: tool_body(f"_{workers}_{n}")),
    }
    with _process(serve, f"{proxy}/readyz", {"PYTHONPATH": str(ROOT)}):
        for _ in range(3 * workers):  # every worker ready and the cached body compressed in each
            httpx.post(f"{proxy}/v1/chat/completions", json=cached, timeout=120).raise_for_status()
        start = 0
        for kind, (direct_body, proxied_body) in kinds.items():
            for clients in CLIENTS:
                wait = 0.0 if clients == 1 else latency_s  # one client: the proxy's own time, no jitter
                latencies: dict[str, list[float]] = {"direct": [], "proxy": []}
                rates, failed = {"direct": 0.0, "proxy": 0.0}, {"direct": 0, "proxy": 0}
                for _ in range(rounds):  # alternate, so noise hits both alike
                    for name, url, body in (("direct", direct, direct_body), ("proxy", proxy, proxied_body)):
                        got, rate, errors = asyncio.run(_measure(url, body, clients, seconds, start, wait))
                        start += 10**6
                        latencies[name] += got
                        rates[name] += rate / rounds
                        failed[name] += errors
                (d_lat, d_rate), (p_lat, p_rate) = (
                    (latencies["direct"], rates["direct"]),
                    (latencies["proxy"], rates["proxy"]),
                )
                d50, p50 = statistics.median(d_lat) * 1000, statistics.median(p_lat) * 1000
                rows.append([
                    workers, clients, f"{wait * 1000:.0f}", kind,
                    f"{d50:.2f}", f"{_percentile(d_lat, 0.99) * 1000:.2f}",
                    f"{p50:.2f}", f"{_percentile(p_lat, 0.99) * 1000:.2f}", f"{p50 - d50:+.2f}",
                    f"{d_rate:.0f}", f"{p_rate:.0f}", f"{p_rate / d_rate:.2f}x",
                    f"{failed['direct']} / {failed['proxy']}",
                ])  # fmt: skip
                print(f"  {workers} worker(s), {clients} clients, {kind}: {rows[-1][4:]}", file=sys.stderr)
                found[f"{kind}@{clients}:overhead"] = p50 - d50
                found[f"{kind}@{clients}:ratio"] = p_rate / d_rate
        client = httpx.Client(timeout=60)
        ttfb = {
            "direct": [_ttfb(client, direct) for _ in range(30)],
            "proxy": [_ttfb(client, proxy) for _ in range(30)],
        }
        found["ttfb"] = (statistics.median(ttfb["proxy"]) - statistics.median(ttfb["direct"])) * 1000
        saved = client.post(f"{proxy}/v1/chat/completions", json=cached).headers
        before, after = saved["x-contextzip-tokens-before"], saved["x-contextzip-tokens-after"]
        print(f"  {workers} worker(s): the tool result {before} -> {after} tokens", file=sys.stderr)
    return rows, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 worker, 1 s per measurement")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement (default 3)")
    parser.add_argument(
        "--upstream-latency-ms", type=float, default=200.0, help="upstream wait before answering"
    )
    args = parser.parse_args(argv)
    workers = [int(w) for w in (args.workers or ("1" if args.quick else "1,2")).split(",")]
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    rounds = 1 if args.quick else 2
    latency = args.upstream_latency_ms / 1000

    up_port = free_port()
    direct = f"http://127.0.0.1:{up_port}"
    upstream = [sys.executable, "-m", "uvicorn", "tests.fake_upstream:app", "--port", str(up_port),
                "--log-level", "warning", "--no-access-log", "--backlog", "4096"]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "FAKE_UPSTREAM_DELAY_S": "0", "FAKE_UPSTREAM_RECORD": "0"}
    rows: list[list[Any]] = []
    found: dict[int, dict[str, float]] = {}
    with _process(upstream, f"{direct}/v1/models", env):
        for count in workers:
            worker_rows, found[count] = run_workers(count, direct, seconds, rounds, latency)
            rows += worker_rows
    print(environment_line())
    print()
    print(markdown_table(
        ["workers", "clients", "upstream ms", "request", "direct p50 ms", "direct p99 ms", "proxy p50 ms",
         "proxy p99 ms", "p50 overhead ms", "direct req/s", "proxy req/s", "vs direct", "failed d / p"], rows,
    ))  # fmt: skip
    print()
    ttfb_rows = [[w, f"{f['ttfb']:+.2f}"] for w, f in found.items()]
    print(markdown_table(["workers", "streaming TTFB p50 overhead ms"], ttfb_rows))
    print()
    overhead = {
        k: min(f[f"{k}@1:overhead"] for f in found.values()) for k in ("pass-through", "new compression")
    }
    ratio = max(f["pass-through@64:ratio"] for f in found.values())
    checks = [
        ("pass-through p50 overhead, 1 client", f"{overhead['pass-through']:.2f} ms",
         overhead["pass-through"] <= PASS_THROUGH_TARGET_MS, f"<= {PASS_THROUGH_TARGET_MS} ms"),
        ("pass-through throughput, 64 clients", f"{ratio:.2f}x direct", ratio >= THROUGHPUT_TARGET,
         f">= {THROUGHPUT_TARGET}x"),
        ("new 5k-token JSON compression p50, 1 client", f"{overhead['new compression']:.0f} ms",
         overhead["new compression"] <= NEW_COMPRESSION_TARGET_MS, f"<= {NEW_COMPRESSION_TARGET_MS:.0f} ms"),
    ]  # fmt: skip
    for label, value, ok, target in checks:
        print(f"- {label}: {value} (target {target}): {'PASS' if ok else 'FAIL'}")
    print(
        f"- upstream latency {args.upstream_latency_ms:.0f} ms under load, 0 with one client (the proxy's own"
        f" time); {seconds:.0f} s x {rounds} per cell, direct"
    )
    print("  and proxy alternating; where several worker counts ran, the best one is quoted.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
