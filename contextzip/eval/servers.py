"""Servers the evaluation starts as child processes on loopback: the LLM reader, the proxy.

:class:`LoopbackServer` runs one command on ``127.0.0.1`` and a free port, sends its
output to a log file, waits until a URL answers 200, and stops it on :meth:`stop`, when
garbage-collected, at exit, or (on Linux) when the process that started it dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from contextzip.errors import ContextZipError

__all__ = ["LoopbackServer", "ServerStartError", "free_port", "serve_in_thread"]

logger = logging.getLogger(__name__)


class ServerStartError(ContextZipError):
    """A child server exited or did not get ready; the message quotes the end of its log."""


class LoopbackServer:
    """One child process serving HTTP on ``127.0.0.1``.

    Args:
        name: What the server is, for logs and errors (``"llama.cpp server"``).
        command: Builds the command line from the port to listen on.
        ready_path: Polled (GET) until it answers 200, e.g. ``"/v1/models"``.
        startup_timeout_s: How long to wait for that.
        env: Extra environment variables for the child.
    """

    def __init__(
        self,
        name: str,
        command: Callable[[int], Sequence[str]],
        *,
        ready_path: str,
        startup_timeout_s: float,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.ready_path = ready_path
        self.startup_timeout_s = startup_timeout_s
        self.env = env
        self.url: str | None = None
        self.log_path: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._finalizer: Any = None

    def start(self) -> str:
        """Start the process and wait until it is ready; return ``http://127.0.0.1:PORT``.

        Raises:
            ServerStartError: it exited or was not ready within ``startup_timeout_s``.
        """
        import httpx

        port = free_port()
        fd, log_name = tempfile.mkstemp(prefix=f"contextzip-{self.name.replace(' ', '-')}-", suffix=".log")
        self.log_path = Path(log_name)
        logger.info("starting the %s on port %d (log: %s)", self.name, port, self.log_path)
        with os.fdopen(fd, "wb") as log:
            self.process = subprocess.Popen(
                list(self.command(port)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env} if self.env else None,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self._finalizer = weakref.finalize(self, _terminate, self.process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise ServerStartError(
                    f"the {self.name} exited with code {code} while starting:\n{self.log_tail()}"
                )
            try:
                if httpx.get(url + self.ready_path, timeout=2.0).status_code == 200:
                    self.url = url
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerStartError(
            f"the {self.name} was not ready within {self.startup_timeout_s:.0f}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the process (terminate, then kill after 10 s); stopping twice is harmless."""
        if self._finalizer is not None:
            self._finalizer()
        self.url = None

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the process's log."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the child, before exec: Linux kills it when the thread that started it ends.

    A killed evaluation (no ``stop()``, no exit handlers) must not leave a server holding
    the cores and a GB of memory. SIGKILL, not SIGTERM: a server shutting down gracefully
    waits for its open connections, which may never close. Start servers from a thread
    that lives as long as they should (the main thread), not from a pool's worker.
    """
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_in_thread(app: Any, *, startup_timeout_s: float = 20.0) -> Iterator[str]:
    """Run an ASGI ``app`` under uvicorn on 127.0.0.1 in a daemon thread; yield its base URL.

    Raises:
        ServerStartError: uvicorn did not start within ``startup_timeout_s``.
    """
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ServerStartError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
