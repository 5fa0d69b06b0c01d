"""Real servers for the proxy tests and benchmark: the fake upstream (own process) and the proxy."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from contextzip.eval.servers import free_port
from contextzip.proxy.app import create_app
from contextzip.proxy.settings import ProxySettings

ROOT = Path(__file__).resolve().parents[1]


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up in {timeout}s")


@contextlib.contextmanager
def fake_upstream(app: str = "tests.fake_upstream:app", *, delay_s: float | None = None) -> Iterator[str]:
    """The fake API in its own process (``delay_s`` between streamed events); yields its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if delay_s is not None:
        env["FAKE_UPSTREAM_DELAY_S"] = str(delay_s)
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/_seen")
        yield url
    finally:
        _stop(process)


@contextlib.contextmanager
def served_proxy(
    arguments: list[str], env: dict[str, str], log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``contextzip serve`` as users run it, logging to ``log``; yields its URL (ready) and process."""
    port = free_port()
    command = [sys.executable, "-m", "contextzip", "serve", "--port", str(port), *arguments]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=sink, stderr=sink
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and process.poll() is None:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                        break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"contextzip serve did not get ready: {log.read_text()[-2000:]}")
            yield url, process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:  # a connection held open keeps uvicorn's graceful shutdown waiting
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def running_proxy(settings: ProxySettings, *, ready: bool = True) -> Iterator[tuple[str, object]]:
    """The proxy on a real uvicorn server in a thread; yields its base URL and the app."""
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz")
        if ready:
            deadline = time.monotonic() + 300
            while httpx.get(f"{url}/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
        yield url, app
    finally:
        server.should_exit = True
        thread.join(30)


def metric_total(url: str, name: str, **labels: str) -> float:
    """The sum of a counter's series in the proxy's ``/metrics`` that carry ``labels`` (0 when none)."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        match = re.match(rf"{name}_total\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total
