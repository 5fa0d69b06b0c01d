"""The compression proxy: an ASGI app in front of an OpenAI-compatible or Anthropic API.

Routes:

* ``POST /v1/chat/completions``, ``POST /v1/messages``, ``POST /v1/responses``: the body is
  compressed by :class:`~contextzip.proxy.policy.CompressionPolicy`, then forwarded; the
  response (streamed or not) is relayed chunk by chunk as it arrives, with the upstream's
  status and headers and ``x-contextzip-*`` headers added;
* ``POST /v1/compress``: compression alone, answered here (:mod:`contextzip.proxy.compress_api`;
  its OpenAPI schema at ``/contextzip/openapi.json``);
* every other path and method: forwarded byte for byte, request and response streamed;
* ``/healthz``, ``/readyz`` (ready once the models are loaded), ``/metrics`` (Prometheus).

Failures answer in the API's own error shape: a malformed body 400, a body over
``max_body_bytes`` 413, a missing or wrong proxy access key 401, an unreachable upstream
502, an upstream timeout 504. Compression that raises or overruns
``compression_timeout_s`` is logged and counted, and the original request goes upstream
(fail-open). Keys never reach logs or metrics.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from contextzip.conversation import TextMemo
from contextzip.errors import ConfigurationError
from contextzip.proxy.bodies import Api, body_problem
from contextzip.proxy.cache import MemoryCache, RedisCache
from contextzip.proxy.compress_api import (
    CompressRequest,
    CompressResponse,
    compress_request,
    unchanged_answer,
)
from contextzip.proxy.edges import BodyTooLarge, Edges
from contextzip.proxy.http import HOP_BY_HOP, error_response, first_error, merge_headers, outcome_headers
from contextzip.proxy.metrics import ProxyMetrics
from contextzip.proxy.policy import CompressionPolicy, Outcome, parse_control
from contextzip.proxy.pool import Busy, CompressionPool
from contextzip.proxy.retrieve import answer_with_originals, original_key
from contextzip.proxy.runtime import limit_torch_threads, thread_counts
from contextzip.proxy.settings import ProxySettings
from contextzip.proxy.tracing import end_span, start_span
from contextzip.proxy.upstream import Upstream, UpstreamError, UpstreamResponse
from contextzip.proxy.usage import upstream_usage

if TYPE_CHECKING:
    import aiohttp

__all__ = ["create_app"]

logger = logging.getLogger("contextzip.proxy")

_ROUTES: dict[str, Api] = {
    "/v1/chat/completions": "openai",
    "/v1/messages": "anthropic",
    "/v1/responses": "responses",
}
#: Responses are read for usage (cached tokens) up to this size; larger ones are relayed unread.
_USAGE_SCAN_BYTES = 4 * 1024 * 1024


class Proxy(Edges):
    """The app's state: settings, the upstream client, the policy, metrics."""

    def __init__(self, settings: ProxySettings, connector: aiohttp.BaseConnector | None = None) -> None:
        self.settings = settings
        cache: TextMemo = (
            RedisCache(settings.redis_url, ttl_s=settings.cache_ttl_s)
            if settings.redis_url
            else MemoryCache(settings.cache_size)
        )
        self.policy = CompressionPolicy(settings, cache)
        self.metrics = ProxyMetrics()
        self.client = Upstream(
            timeout_s=settings.upstream_timeout_s, connect_timeout_s=settings.connect_timeout_s,
            keepalive_s=settings.upstream_keepalive_s, connector=connector,
        )  # fmt: skip
        # compression is CPU work: a pool the size of this worker's cores, so a burst queues
        # instead of thrashing; torch gets the same share
        threads, self.torch_threads = thread_counts(settings)
        self.pool = CompressionPool(threads, settings.compression_queue, settings.compression_timeout_s)
        # a token is at least a byte: a body shorter than every min_tokens holds nothing to compress
        self.smallest_text = settings.smallest_min_tokens()
        self.ready = threading.Event()

    def warm_up(self) -> None:
        """Load the models a first request would, so /readyz answers only when they are in memory."""
        try:
            limit_torch_threads(self.torch_threads)
            prose = " ".join(f"Sentence {i} of a warm-up document about caches." for i in range(80))
            records = json.dumps([{"id": i, "name": f"cache {i}", "hits": i * 7} for i in range(200)])
            if self.settings.enabled:  # prose, and JSON with a question (relevance: static vectors)
                for text in (f"Warm up.\n\n{prose}\n\nWhat is this?", f"Which cache hits most?\n\n{records}"):
                    self.policy.compress("openai", {"messages": [{"role": "user", "content": text}]})
        except Exception as exc:  # not ready is better than not serving: requests fail open
            logger.warning("warm-up failed: %s: %s", type(exc).__name__, exc)
        finally:
            # the models' millions of objects leave the collector's view: a full collection
            # walked them all, stalling every request in flight for a few hundred ms
            gc.collect()
            gc.freeze()
            self.ready.set()

    # -- requests ------------------------------------------------------------------------------

    async def handle(self, request: Request, api: Api | None) -> Response:
        refused = self.check_access(request, api)
        if refused is not None:
            return refused
        if api is None:
            has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
            return await self._forward(request, None, request.stream() if has_body else b"", None)
        try:
            raw = await self.read_body(request)
        except BodyTooLarge:
            return error_response(
                api, 413, f"request body over {self.settings.max_body_bytes} bytes", "request_too_large"
            )
        try:
            control = parse_control(request.headers.get("x-contextzip"))
        except ConfigurationError as exc:
            return error_response(api, 400, str(exc), "invalid_request_error")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return error_response(api, 400, f"request body is not valid JSON: {exc}", "invalid_request_error")
        problem = (
            "request body must be a JSON object" if not isinstance(body, dict) else body_problem(api, body)
        )
        if problem is not None:
            return error_response(api, 400, problem, "invalid_request_error")
        span = start_span(api, body.get("model"))
        outcome = await self._compress(api, body, control, span, small=len(raw) < self.smallest_text)
        if outcome is not None and outcome.retrieve and outcome.body is not None:
            return await self._forward_with_originals(request, api, outcome, span)
        content = raw if outcome is None or outcome.body is None else json.dumps(outcome.body).encode()
        return await self._forward(request, api, content, outcome, span)

    async def compress_only(self, request: Request) -> Response:
        """``POST /v1/compress``: the same policy, cache, keys, limits and metrics; nothing forwarded."""
        refused = self.check_access(request, None, route="compress")
        if refused is not None:
            return refused
        try:
            wanted = CompressRequest.model_validate_json(await self.read_body(request))
        except BodyTooLarge:
            limit = self.settings.max_body_bytes
            return error_response(None, 413, f"request body over {limit} bytes", "request_too_large")
        except ValidationError as exc:
            return error_response(None, 400, first_error(exc), "invalid_request_error")
        started = time.perf_counter()
        try:
            answer = await self.pool.run(compress_request, self.policy, wanted)
        except (ConfigurationError, ValueError) as exc:  # a method or option the request named
            return error_response(None, 400, str(exc), "invalid_request_error")
        except Exception as exc:
            reason, detail = self._fail_open("compress", exc)
            answer = unchanged_answer(self.policy, wanted, f"compression failed: {reason} ({detail})")
        finally:
            self.metrics.compression_seconds.labels("compress").observe(time.perf_counter() - started)
        self.metrics.count_tokens("compress", answer.tokens_before, answer.tokens_after)
        self.metrics.requests.labels("compress", "compressed" if answer.compressed else "unchanged").inc()
        logger.info(json.dumps({
            "event": "compress", "status": 200, "kind": wanted.kind, "tokens_before": answer.tokens_before,
            "tokens_after": answer.tokens_after, "compressed": answer.compressed, "reused": answer.reused,
            "reason": answer.reason, "ms": round((time.perf_counter() - started) * 1000, 1),
        }))  # fmt: skip
        absent = {name for name in ("messages", "input", "texts") if getattr(answer, name) is None}
        return JSONResponse(answer.model_dump(exclude=absent))

    async def _compress(
        self, api: Api, body: dict[str, Any], control: Any, span: Any, *, small: bool = False
    ) -> Outcome | None:
        """The policy's outcome, or ``None`` to forward the original (fail-open).

        A ``small`` body (fewer bytes than any policy's ``min_tokens``: no text in it can be
        compressed) is read here, without the hop to the compression pool."""
        route = api
        started = time.perf_counter()
        try:
            if small:
                outcome = self.policy.compress(api, body, control)
            else:
                outcome = await self.pool.run(self.policy.compress, api, body, control)
        except Exception as exc:
            span.set_attribute("contextzip.fail_open", self._fail_open(route, exc)[0])
            return None
        finally:
            self.metrics.compression_seconds.labels(route).observe(time.perf_counter() - started)
        self.metrics.count_outcome(route, outcome, span)
        return outcome

    async def _forward_with_originals(
        self, request: Request, api: Api, outcome: Outcome, span: Any
    ) -> Response:
        """A non-streaming request with the retrieve tool: the model's calls answered here (see retrieve)."""
        url, headers = self.upstream_url(request, api), self.upstream_headers(request, api)
        started = time.perf_counter()

        async def send(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None, Any]:
            response, content = await self.client.post(url, headers, json.dumps(body).encode())
            try:
                data = json.loads(content) if response.status == 200 else None
            except ValueError:
                data = None
            return response.status, data if isinstance(data, dict) else None, (response, content)

        def lookup(digest: str) -> str | None:
            return self.policy.cache.get(original_key(digest))

        try:
            (response, raw), data, given = await answer_with_originals(
                api, dict(outcome.body or {}), send, lookup,
                rounds=self.settings.retrieve_rounds, max_chars=self.settings.retrieve_max_chars,
            )  # fmt: skip
        except UpstreamError as exc:
            return self._upstream_failed(api, api, exc, span)
        content = raw if data is None else json.dumps(data).encode()
        skip = HOP_BY_HOP | {"content-encoding"}
        out = [(n, v) for n, v in response.headers if n.lower() not in skip]
        out += [*outcome_headers(outcome), ("x-contextzip-originals", str(given))]
        self.metrics.requests.labels(api, "compressed").inc()
        self._log(request, api, response.status, outcome, started)
        usage = upstream_usage(raw)
        if usage is not None:
            self.metrics.count_usage(api, usage, outcome, span)
        end_span(span, response.status)
        return Response(content, status_code=response.status, headers=dict(merge_headers(out)))

    async def _forward(
        self, request: Request, api: Api | None, content: Any, outcome: Outcome | None, span: Any = None
    ) -> Response:
        route = api or "passthrough"
        url, headers = self.upstream_url(request, api), self.upstream_headers(request, api)
        started = time.perf_counter()
        try:
            response = await self.client.send(request.method, url, headers, content)
        except UpstreamError as exc:
            return self._upstream_failed(api, route, exc, span)
        self.metrics.upstream_seconds.labels(route).observe(time.perf_counter() - started)
        self.metrics.upstream_status.labels(route, f"{response.status // 100}xx").inc()
        out = [(n, v) for n, v in response.headers if n.lower() not in HOP_BY_HOP]
        length = response.header("content-length")
        if length and response.header("content-encoding") is None:
            out.append(("content-length", length))
        if outcome is not None:
            out += outcome_headers(outcome)
        self.metrics.requests.labels(
            route, "forwarded" if outcome is None or outcome.body is None else "compressed"
        ).inc()
        self._log(request, route, response.status, outcome, started)
        relay = self._relay(response, route, outcome, span)
        return StreamingResponse(relay, status_code=response.status, headers=dict(merge_headers(out)))

    async def _relay(
        self, response: UpstreamResponse, route: str, outcome: Outcome | None, span: Any
    ) -> AsyncIterator[bytes]:
        seen = bytearray()
        scan = span is not None  # a compressing route: read the upstream's usage on the way
        try:
            async for chunk in response.chunks():
                if scan and len(seen) < _USAGE_SCAN_BYTES:
                    seen += chunk
                yield chunk
        except UpstreamError as exc:  # the upstream broke off: so does the client's response
            self.metrics.requests.labels(route, "upstream_broken").inc()
            logger.warning(json.dumps({"event": "upstream_broken", "route": route, "error": exc.kind}))
            raise
        finally:
            response.close()  # also when the client went away: the upstream request stops
            usage = upstream_usage(bytes(seen)) if scan else None
            if usage is not None:
                self.metrics.count_usage(route, usage, outcome, span)
            end_span(span, response.status)

    def _fail_open(self, route: str, exc: Exception) -> tuple[str, str]:
        """Why compression gave up (``busy``, ``timeout`` or ``error``) and the detail; counted and logged."""
        if isinstance(exc, Busy | TimeoutError):
            reason = "busy" if isinstance(exc, Busy) else "timeout"
            detail = str(exc) if reason == "busy" else f"over {self.settings.compression_timeout_s}s"
        else:
            reason, detail = "error", f"{type(exc).__name__}: {exc}"
        self.metrics.fail_open(route, reason, detail)
        return reason, detail

    def _upstream_failed(self, api: Api | None, route: str, exc: UpstreamError, span: Any) -> Response:
        """No response from the upstream: 504 after a timeout, else 502, in the API's error shape."""
        end_span(span, 504 if exc.timeout else 502)
        outcome = "upstream_timeout" if exc.timeout else "upstream_unreachable"
        self.metrics.requests.labels(route, outcome).inc()
        if exc.timeout:
            return error_response(api, 504, f"upstream timed out ({exc.kind})", "timeout_error")
        return error_response(api, 502, f"upstream unreachable ({exc.kind})", "api_connection_error")

    def _log(
        self, request: Request, route: str, status: int, outcome: Outcome | None, started: float
    ) -> None:
        record: dict[str, Any] = {
            "event": "request", "route": route, "method": request.method, "path": request.url.path,
            "status": status, "upstream_ms": round((time.perf_counter() - started) * 1000, 1),
        }  # fmt: skip
        if outcome is not None:
            record.update(
                tokens_before=outcome.tokens_before, tokens_after=outcome.tokens_after,
                compressed=outcome.compressed, reused=outcome.reused, reason=outcome.reason,
            )  # fmt: skip
        logger.info(json.dumps(record))


def _endpoint(proxy: Proxy, api: Api) -> Any:
    async def compressing(request: Request) -> Response:
        return await proxy.handle(request, api)

    return compressing


def create_app(
    settings: ProxySettings | None = None, *, connector: aiohttp.BaseConnector | None = None
) -> FastAPI:
    """The proxy as an ASGI app (``uvicorn.run(create_app(...))``).

    Args:
        settings: The settings; ``None`` reads them from the environment and config file.
        connector: An aiohttp connector for the upstream (custom TLS, a Unix socket).
    """
    proxy = Proxy(settings or ProxySettings(), connector)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=proxy.warm_up, name="contextzip-warm-up", daemon=True).start()
        yield
        await proxy.client.aclose()
        proxy.pool.shutdown()

    app = FastAPI(
        title="contextzip proxy",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/contextzip/openapi.json",  # not /openapi.json: that path may be the upstream's
    )
    app.state.proxy = proxy

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        if proxy.ready.is_set():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "loading models"}, status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(proxy.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/v1/compress",
        response_model=CompressResponse,
        summary="Compress messages or texts and answer them, without forwarding",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": CompressRequest.model_json_schema()}},
            }
        },
        responses={400: {"description": "a malformed request, in OpenAI's error shape"}},
    )
    async def compress(request: Request) -> Response:
        return await proxy.compress_only(request)

    for path, api in _ROUTES.items():
        app.add_api_route(path, _endpoint(proxy, api), methods=["POST"], include_in_schema=False)

    @app.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def passthrough(request: Request, path: str) -> Response:
        return await proxy.handle(request, None)

    return app
