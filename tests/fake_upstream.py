"""An OpenAI- and Anthropic-compatible fake API, run as its own process by the proxy tests.

``python -m uvicorn tests.fake_upstream:app --port P``. It records every request it gets
(``GET /_seen``: method, path, headers, body) and answers like the real APIs, streaming
server-sent events slowly enough that a test can tell relaying from buffering. Models
steer it: ``error-429`` answers a rate-limit error, ``slow`` waits 30 s, ``forever``
streams until the client goes away and records that it did.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SEEN: list[dict[str, Any]] = []
EVENTS: list[str] = []
CHUNK_DELAY_S = float(os.environ.get("FAKE_UPSTREAM_DELAY_S", "0.2"))
#: Time before each answer's first byte, as a model takes to start (``bench.proxy``); a request's
#: ``x-fake-latency-s`` header sets its own.
LATENCY_S = float(os.environ.get("FAKE_UPSTREAM_LATENCY_S", "0"))
#: ``0``: requests are not kept for ``/_seen`` (a benchmark's thousands).
RECORDING = os.environ.get("FAKE_UPSTREAM_RECORD", "1") != "0"
HEADERS = {"x-request-id": "req_fake_123", "x-ratelimit-remaining-requests": "4999"}
USAGE = {
    "prompt_tokens": 100,
    "completion_tokens": 2,
    "total_tokens": 102,
    "prompt_tokens_details": {"cached_tokens": 64},
}


async def record(request: Request) -> dict[str, Any]:
    raw = await request.body()
    entry = {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": dict(request.headers),
        "body_b64": base64.b64encode(raw).decode(),
    }
    if RECORDING:
        SEEN.append(entry)
    latency = float(request.headers.get("x-fake-latency-s", LATENCY_S))
    if latency:
        await asyncio.sleep(latency)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def sse(events: list[Any], *, delay: float = CHUNK_DELAY_S, named: bool = False) -> AsyncIterator[bytes]:
    async def stream() -> AsyncIterator[bytes]:
        for event in events:
            if named:
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            else:
                yield f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n".encode()
            await asyncio.sleep(delay)

    return stream()


async def special(body: dict[str, Any], anthropic: bool = False) -> Response | None:
    model = body.get("model")
    if model == "error-429":
        error = (
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
            if anthropic
            else {
                "error": {"message": "slow down", "type": "rate_limit_exceeded", "param": None, "code": None}
            }
        )
        return JSONResponse(error, status_code=429, headers={**HEADERS, "retry-after": "7"})
    if model == "slow":
        await asyncio.sleep(30)
    if model == "forever":

        async def forever() -> AsyncIterator[bytes]:
            try:
                n = 0
                while True:
                    yield f"data: {json.dumps({'n': n})}\n\n".encode()
                    n += 1
                    await asyncio.sleep(0.05)
            finally:
                EVENTS.append("client went away")

        return StreamingResponse(forever(), media_type="text/event-stream")
    return None


def retrieval(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Like a model offered ``contextzip_retrieve``: ask once for the first ``cz:`` marker's original,
    then answer with the start of what came back. Returns (marker id to ask for, original received)."""
    names = [(t.get("function") or t).get("name") for t in body.get("tools") or []]
    if "contextzip_retrieve" not in names:
        return None, None
    for message in body.get("messages") or []:
        content = message.get("content")
        if message.get("role") == "tool" and message.get("tool_call_id") == "call_cz":
            return None, content
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("tool_use_id") == "toolu_cz":
                    return None, str(block.get("content"))
    marker = re.search(r"cz:[0-9a-f]+", json.dumps(body.get("messages")))
    return (marker.group(0) if marker else None), None


async def chat_completions(request: Request) -> Response:
    body = await record(request)
    early = await special(body)
    if early is not None:
        return early
    words = ["Hello", " from", " upstream"]
    ask, original = retrieval(body)
    if original is not None:
        words.append(f"; retrieved: {original[:30]}")
    if ask is not None:
        function = {"name": "contextzip_retrieve", "arguments": json.dumps({"id": ask})}
        call = {"id": "call_cz", "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}
        return JSONResponse(
            {"id": "chatcmpl-0", "object": "chat.completion", "created": 1, "model": body.get("model"),
             "choices": [choice], "usage": USAGE},
            headers=HEADERS,
        )  # fmt: skip
    if body.get("stream"):
        base = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": body.get("model"),
        }
        events: list[Any] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        ]
        events += [
            {**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in words
        ]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": USAGE})
        events.append("[DONE]")
        return StreamingResponse(sse(events), media_type="text/event-stream", headers=HEADERS)
    message = {"role": "assistant", "content": "".join(words), "refusal": None}
    return JSONResponse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": USAGE,
        },
        headers=HEADERS,
    )


async def messages(request: Request) -> Response:
    body = await record(request)
    early = await special(body, anthropic=True)
    if early is not None:
        return early
    usage = {
        "input_tokens": 100,
        "output_tokens": 2,
        "cache_read_input_tokens": 80,
        "cache_creation_input_tokens": 0,
    }
    ask, original = retrieval(body)
    text = "Hello from upstream" + (f"; retrieved: {original[:30]}" if original is not None else "")
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if ask is not None:
        content = [
            {"type": "tool_use", "id": "toolu_cz", "name": "contextzip_retrieve", "input": {"id": ask}}
        ]
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if ask is not None else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not body.get("stream"):
        return JSONResponse(message, headers={**HEADERS, "request-id": "req_fake_123"})
    events = [
        {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *[
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
            for w in ["Hello", " from", " upstream"]
        ],
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    return StreamingResponse(sse(events, named=True), media_type="text/event-stream", headers=HEADERS)


async def responses(request: Request) -> Response:
    body = await record(request)
    output = [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello from upstream", "annotations": []}],
        }
    ]
    usage = {
        "input_tokens": 100,
        "output_tokens": 2,
        "total_tokens": 102,
        "input_tokens_details": {"cached_tokens": 32},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    return JSONResponse(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "status": "completed",
            "model": body.get("model"),
            "output": output,
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        },
        headers=HEADERS,
    )


async def models(request: Request) -> Response:
    await record(request)
    return JSONResponse(
        {
            "object": "list",
            "data": [{"id": "fake-model", "object": "model", "created": 1, "owned_by": "fake"}],
        },
        headers=HEADERS,
    )


async def echo(request: Request) -> Response:
    """Answers with the exact bytes it got, to check pass-through byte for byte."""
    await record(request)
    raw = base64.b64decode(SEEN[-1]["body_b64"])
    return Response(
        raw,
        media_type=request.headers.get("content-type", "application/octet-stream"),
        headers={"x-echo-length": str(len(raw))},
    )


async def seen(request: Request) -> Response:
    return JSONResponse({"requests": SEEN, "events": EVENTS})


async def reset(request: Request) -> Response:
    SEEN.clear()
    EVENTS.clear()
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/echo", echo, methods=["POST", "PUT"]),
        Route("/_seen", seen, methods=["GET"]),
        Route("/_reset", reset, methods=["POST"]),
    ]
)
