"""Real servers for the proxy tests and benchmark: the fake upstream (own process) and the proxy."""

from __future__ import annotations

import contextlib
import os
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
def fake_upstream(app: str = "tests.fake_upstream:app") -> Iterator[str]:
    """The fake API in its own process; yields its base URL."""
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
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/_seen")
        yield url
    finally:
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
