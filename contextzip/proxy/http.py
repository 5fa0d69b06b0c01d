"""HTTP details the proxy's routes share: error bodies in each API's shape, header handling."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from contextzip.proxy.bodies import Api
from contextzip.proxy.policy import Outcome

__all__ = ["HOP_BY_HOP", "error_response", "first_error", "merge_headers", "outcome_headers"]

#: Headers that belong to one connection, not to the request or response they travel with.
HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"]
)  # fmt: skip


def error_response(api: Api | None, status: int, message: str, kind: str) -> JSONResponse:
    """An error in the shape the client's SDK parses: Anthropic's or OpenAI's."""
    if api == "anthropic":
        return JSONResponse(
            {"type": "error", "error": {"type": kind, "message": message}}, status_code=status
        )
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status
    )


def first_error(exc: ValidationError) -> str:
    """A pydantic validation error as one line naming the field."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(step) for step in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def merge_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Repeated headers joined by commas (set-cookie excepted), as a dict of headers needs."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        low = name.lower()
        if low in merged and low != "set-cookie":
            merged[low] = (merged[low][0], f"{merged[low][1]}, {value}")
        else:
            merged[low] = (name, value)
    return list(merged.values())


def outcome_headers(outcome: Outcome) -> list[tuple[str, str]]:
    return [
        ("x-contextzip-tokens-before", str(outcome.tokens_before)),
        ("x-contextzip-tokens-after", str(outcome.tokens_after)),
        ("x-contextzip-tokens-saved", str(outcome.tokens_before - outcome.tokens_after)),
        ("x-contextzip-ratio", f"{outcome.ratio:.3f}"),
        ("x-contextzip-method", outcome.method),
    ]
