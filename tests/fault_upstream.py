"""An upstream that fails on purpose, as a raw TCP server: what no well-behaved HTTP app can do.

Runs in a thread of the test process on 127.0.0.1. The request's ``model`` picks the fault:

* ``reset-before-headers``: the connection is closed (RST) once the request is read;
* ``reset-mid-stream``: a 200 event stream, two events, then RST;
* ``stall``: headers never come;
* ``stall-mid-stream``: two events, then nothing;
* ``error-500`` / ``error-503``: an error status with an OpenAI-shaped body;
* ``invalid-json``: 200 ``application/json`` whose body is not JSON;
* ``truncated-sse``: two events and a clean close, no ``[DONE]``;
* anything else: a normal chat completion.

Every request and its fault are counted in :attr:`FaultUpstream.served`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator

FAULTS = (
    "reset-before-headers", "reset-mid-stream", "stall", "stall-mid-stream", "error-500", "error-503",
    "invalid-json", "truncated-sse",
)  # fmt: skip

_EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": "part"}}]}\n\n'
_OK = {"id": "chatcmpl-f", "object": "chat.completion", "choices": [{"index": 0, "message": {
    "role": "assistant", "content": "fine"}, "finish_reason": "stop"}]}  # fmt: skip


def _head(status: str, content_type: str, length: int | None = None) -> bytes:
    size = f"content-length: {length}\r\n" if length is not None else "transfer-encoding: chunked\r\n"
    return f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{size}\r\n".encode()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: linger on, zero seconds."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultUpstream:
    """The server; ``url`` once started (a context manager)."""

    def __init__(self) -> None:
        self.served: Counter[str] = Counter()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")), 0,
            )  # fmt: skip
            body = await reader.readexactly(length) if length else b""
            try:
                model = str(json.loads(body).get("model", ""))
            except (ValueError, AttributeError):
                model = ""
            fault = model if model in FAULTS else "ok"
            self.served[fault] += 1
            await self._answer(fault, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    async def _answer(self, fault: str, writer: asyncio.StreamWriter) -> None:
        if fault == "reset-before-headers":
            return _reset(writer)
        if fault in ("stall", "stall-mid-stream", "reset-mid-stream", "truncated-sse"):
            if fault == "stall":
                await asyncio.sleep(3600)
            writer.write(_head("200 OK", "text/event-stream") + _chunk(_EVENT) + _chunk(_EVENT))
            await writer.drain()
            if fault == "reset-mid-stream":
                await asyncio.sleep(0.05)
                return _reset(writer)
            if fault == "stall-mid-stream":
                await asyncio.sleep(3600)
            writer.write(b"0\r\n\r\n")  # truncated-sse: the stream ends cleanly, without [DONE]
        elif fault.startswith("error-"):
            status = {"500": "500 Internal Server Error", "503": "503 Service Unavailable"}[fault[6:]]
            error = json.dumps({"error": {"message": "upstream broke", "type": "server_error"}}).encode()
            writer.write(_head(status, "application/json", len(error)) + error)
        elif fault == "invalid-json":
            garbage = b'{"id": "chatcmpl-x", "choices": [ not json'
            writer.write(_head("200 OK", "application/json", len(garbage)) + garbage)
        else:
            ok = json.dumps(_OK).encode()
            writer.write(_head("200 OK", "application/json", len(ok)) + ok)
        await writer.drain()
        writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self._loop.run_forever()
        server.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[FaultUpstream]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)
