"""What the proxy adds to a request: latency, throughput and time to first byte, against the API direct.

Three processes, all on 127.0.0.1: the fake OpenAI-compatible API (``tests/fake_upstream.py``,
answering at once), ``contextzip serve`` in front of it (the real command, uvicorn), and this
client. Each round sends the same request every way in turn, so noise hits all of them alike:

* ``direct``: to the API itself, the peer every other row is compared with;
* ``pass-through``: through the proxy, nothing to compress (a short chat request);
* ``pass-through (other path)``: ``GET /v1/models``, forwarded byte for byte;
* ``compressing (cache hit)``: a 5k-token tool result in the live zone, already compressed once
  (the re-sent history case: the cached bytes are reused);
* ``compressing (new text)``: a tool result never seen before, compressed by the agent
  compressor (a fresh JSON document per request, fewer rounds).

Then throughput (16 concurrent clients for a few seconds, requests per second) and streaming
time to first byte. Targets of the issue: pass-through p50 overhead <= 3 ms and streaming
TTFB overhead <= 5 ms here.

Run from the repository root::

    python -m bench.proxy            # 300 rounds
    python -m bench.proxy --quick    # 60 rounds
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
PASS_THROUGH_TARGET_MS = 3.0
TTFB_TARGET_MS = 5.0


def _wait(url: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
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
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _tool_body(salt: str = "") -> dict[str, Any]:
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


def _timed(send: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return elapsed


def _ttfb(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    elapsed = 0.0
    with client.stream("POST", f"{url}/v1/chat/completions", json=STREAM) as response:
        for _ in response.iter_raw():  # the whole stream is read; only its first chunk is timed
            elapsed = elapsed or time.perf_counter() - started
    return elapsed


async def _throughput(url: str, body: dict[str, Any], seconds: float, concurrency: int = 16) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.post(f"{url}/v1/chat/completions", json=body)
                response.raise_for_status()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="60 rounds, shorter throughput runs")
    parser.add_argument("--rounds", type=int, help="latency rounds (default 300)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (60 if args.quick else 300)
    new_text_rounds = max(5, rounds // 15)
    seconds = 2.0 if args.quick else 5.0

    up_port, proxy_port = free_port(), free_port()
    direct, proxy = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{proxy_port}"
    upstream = [sys.executable, "-m", "uvicorn", "tests.fake_upstream:app", "--port", str(up_port),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
    serve = [sys.executable, "-m", "contextzip", "serve", "--upstream", direct, "--port", str(proxy_port),
             "--log-level", "warning", "--min-tokens", "500"]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "FAKE_UPSTREAM_DELAY_S": "0"}
    with _process(upstream, f"{direct}/_seen", env), _process(serve, f"{proxy}/readyz", env):
        client = httpx.Client(timeout=60)
        cached_body = _tool_body()
        client.post(f"{proxy}/v1/chat/completions", json=cached_body).raise_for_status()  # compress it once
        modes: dict[str, Callable[[], httpx.Response]] = {
            "direct": lambda: client.post(f"{direct}/v1/chat/completions", json=SHORT),
            "pass-through": lambda: client.post(f"{proxy}/v1/chat/completions", json=SHORT),
            "direct (other path)": lambda: client.get(f"{direct}/v1/models"),
            "pass-through (other path)": lambda: client.get(f"{proxy}/v1/models"),
            "direct (5k-token body)": lambda: client.post(f"{direct}/v1/chat/completions", json=cached_body),
            "compressing (cache hit)": lambda: client.post(f"{proxy}/v1/chat/completions", json=cached_body),
        }
        for send in modes.values():  # warm every connection and path
            _timed(send)
        times: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(rounds):
            for name, send in modes.items():
                times[name].append(_timed(send))
        times["compressing (new text)"] = [
            _timed(lambda n=n: client.post(f"{proxy}/v1/chat/completions", json=_tool_body(f"_{n}")))
            for n in range(new_text_rounds)
        ]
        ttfb: dict[str, list[float]] = {"direct": [], "proxy": []}
        for _ in range(rounds):
            ttfb["direct"].append(_ttfb(client, direct))
            ttfb["proxy"].append(_ttfb(client, proxy))
        throughput = {
            "direct": asyncio.run(_throughput(direct, SHORT, seconds)),
            "pass-through": asyncio.run(_throughput(proxy, SHORT, seconds)),
            "compressing (cache hit)": asyncio.run(_throughput(proxy, cached_body, seconds)),
        }
        saved = client.post(f"{proxy}/v1/chat/completions", json=cached_body).headers

    peers = {"pass-through": "direct", "pass-through (other path)": "direct (other path)",
             "compressing (cache hit)": "direct (5k-token body)",
             "compressing (new text)": "direct (5k-token body)"}  # fmt: skip
    rows = []
    for name, values in times.items():
        peer = peers.get(name)
        p50 = statistics.median(values) * 1000
        overhead = f"{p50 - statistics.median(times[peer]) * 1000:+.2f}" if peer else "–"
        ratio = f"{statistics.median(values) / statistics.median(times[peer]):.2f}x" if peer else "–"
        rows.append(
            [name, len(values), f"{p50:.2f}", f"{_percentile(values, 0.99) * 1000:.2f}", overhead, ratio]
        )
    print(environment_line())
    print()
    print(markdown_table(["request", "n", "p50 ms", "p99 ms", "p50 overhead ms", "vs peer"], rows))
    print()
    ttfb_over = (statistics.median(ttfb["proxy"]) - statistics.median(ttfb["direct"])) * 1000
    ttfb_rows = [[k, len(v), f"{statistics.median(v) * 1000:.2f}", f"{_percentile(v, 0.99) * 1000:.2f}"]
                 for k, v in ttfb.items()]  # fmt: skip
    print(markdown_table(["streaming", "n", "TTFB p50 ms", "TTFB p99 ms"], ttfb_rows))
    print()
    print(markdown_table(
        ["throughput (16 clients)", "requests/s", "vs direct"],
        [[k, f"{v:.0f}", f"{v / throughput['direct']:.2f}x"] for k, v in throughput.items()],
    ))  # fmt: skip
    print()
    pass_over = (statistics.median(times["pass-through"]) - statistics.median(times["direct"])) * 1000
    verdict = "PASS" if pass_over <= PASS_THROUGH_TARGET_MS else "FAIL"
    print(
        f"- pass-through p50 overhead: {pass_over:.2f} ms (target <= {PASS_THROUGH_TARGET_MS} ms): {verdict}"
    )
    verdict = "PASS" if ttfb_over <= TTFB_TARGET_MS else "FAIL"
    print(f"- streaming TTFB p50 overhead: {ttfb_over:.2f} ms (target <= {TTFB_TARGET_MS} ms): {verdict}")
    before, after = saved["x-contextzip-tokens-before"], saved["x-contextzip-tokens-after"]
    method, ratio = saved["x-contextzip-method"], saved["x-contextzip-ratio"]
    print(f"- the tool-result request: {before} -> {after} conversation tokens ({method}, ratio {ratio})")
    print("- latency: sequential requests on one keep-alive connection, modes interleaved per round;")
    print("  the proxy is `contextzip serve` (one uvicorn worker); upstream answers at once.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
