"""The proxy's edges: a body read within its limit, the access key checked, the upstream's URL and headers."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import Response

from contextzip.proxy.bodies import Api
from contextzip.proxy.http import HOP_BY_HOP, error_response
from contextzip.proxy.metrics import ProxyMetrics
from contextzip.proxy.settings import ProxySettings
from contextzip.proxy.upstream import Upstream

__all__ = ["BodyTooLarge", "Edges"]

_OWN_HEADERS = ("x-contextzip", "x-contextzip-key")


class BodyTooLarge(Exception):
    pass


class Edges:
    """What every route checks on the way in and needs on the way out."""

    settings: ProxySettings
    metrics: ProxyMetrics
    client: Upstream

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def check_access(self, request: Request, api: Api | None, route: str | None = None) -> Response | None:
        keys = self.settings.access_keys
        if not keys:
            return None
        presented = request.headers.get("x-contextzip-key")
        if presented is None and self.settings.upstream_api_key is not None:
            # the client's own key header carries the proxy key, as it is replaced upstream anyway
            presented = request.headers.get("x-api-key") or request.headers.get(
                "authorization", ""
            ).removeprefix("Bearer ")
        if presented and any(hmac.compare_digest(presented, k.get_secret_value()) for k in keys):
            return None
        self.metrics.requests.labels(route or api or "passthrough", "unauthorized").inc()
        return error_response(api, 401, "missing or invalid contextzip access key", "authentication_error")

    # -- upstream ------------------------------------------------------------------------------

    def upstream_headers(self, request: Request, api: Api | None) -> dict[str, str]:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() not in _OWN_HEADERS
        }
        if api is None and "content-length" in request.headers:  # a streamed upload keeps its length
            headers["content-length"] = request.headers["content-length"]
        key = self.settings.upstream_api_key
        if key is not None:
            for name in [n for n in headers if n.lower() in ("authorization", "x-api-key")]:
                del headers[name]
            if api == "anthropic":
                headers["x-api-key"] = key.get_secret_value()
            else:
                headers["authorization"] = f"Bearer {key.get_secret_value()}"
        if api is not None:
            # read usage (cached tokens) from the response; the client still gets plain bytes
            headers = {n: v for n, v in headers.items() if n.lower() != "accept-encoding"}
            headers["accept-encoding"] = "identity"
        return headers

    def upstream_url(self, request: Request, api: Api | None) -> str:
        base = self.settings.upstream
        if api == "anthropic" and self.settings.anthropic_upstream:
            base = self.settings.anthropic_upstream
        query = request.url.query
        return f"{base}{request.url.path}" + (f"?{query}" if query else "")
