"""``POST /v1/compress``: compression without forwarding, for gateways and scripts.

A request holds exactly one of:

* ``messages``, a Chat Completions or Messages conversation (``api`` says which; default
  ``openai``), or ``input``, a Responses input: compressed as the proxy compresses a request
  on its way upstream, the same policy (live zone, ``min_tokens``, protected roles,
  ``cache_control``) and the same cache;
* ``texts``, a list of texts (documents, tool outputs): each one changeable when it has
  ``min_tokens`` tokens, all of them under one budget, with the same cache.

``rate`` or ``target_tokens``, ``method`` and ``model`` (for the per-model policy) are optional;
``query`` steers query-aware methods. The answer carries the compressed messages, input or
texts, the token counts, and one entry per part: its method, its tokens, and why a part was
left unchanged.

Example:
    >>> CompressRequest.model_validate({"texts": ["a", "b"], "rate": 0.5}).kind
    'texts'
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contextzip.conversation import Conversation
from contextzip.proxy.bodies import Api, conversation_view
from contextzip.proxy.policy import CompressionPolicy, Control, Outcome
from contextzip.types import Budget

__all__ = ["CompressRequest", "CompressResponse", "CompressedPart", "compress_request", "unchanged_answer"]

_TEXT_KINDS = ("text", "tool_output")


class CompressRequest(BaseModel):
    """What ``POST /v1/compress`` takes (exactly one of ``messages``, ``input``, ``texts``)."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Any] | None = Field(default=None, description="Chat Completions or Messages messages")
    input: str | list[Any] | None = Field(default=None, description="a Responses API input")
    texts: list[str] | None = Field(default=None, description="texts compressed under one budget")
    api: Literal["openai", "anthropic"] = Field(default="openai", description="the shape of messages")
    query: str | None = Field(default=None, description="the question or task the texts serve")
    rate: float | None = Field(
        default=None, gt=0, le=1, description="share of tokens a compressed text keeps"
    )
    target_tokens: int | None = Field(default=None, ge=0, description="tokens to keep, instead of rate")
    method: str | None = Field(default=None, description="a registered compressor or a shorthand")
    model: str | None = Field(default=None, description="the LLM the context is for: its per-model policy")

    @model_validator(mode="after")
    def _one_payload(self) -> CompressRequest:
        given = [name for name in ("messages", "input", "texts") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of messages, input or texts (got {', '.join(given) or 'none'})"
            )
        if self.rate is not None and self.target_tokens is not None:
            raise ValueError("give rate or target_tokens, not both")
        return self

    @property
    def kind(self) -> Literal["messages", "input", "texts"]:
        return "messages" if self.messages is not None else "input" if self.input is not None else "texts"


class CompressedPart(BaseModel):
    """One text of the request: what happened to it."""

    index: int = Field(description="its message (or text) index")
    kind: str = Field(description="text, tool_output, tool_call or empty")
    method: str | None = Field(description="the compressor that changed it (None: unchanged)")
    tokens_before: int
    tokens_after: int
    reused: bool = Field(default=False, description="the cached compression of the same original")
    reason: str | None = Field(default=None, description="why it is unchanged, when it is")


class CompressResponse(BaseModel):
    """What ``POST /v1/compress`` answers: the request's payload compressed, and the counts."""

    messages: list[Any] | None = None
    input: str | list[Any] | None = None
    texts: list[str] | None = None
    tokens_before: int
    tokens_after: int
    tokens_saved: int
    method: str
    compressed: int = Field(description="texts compressed in this call")
    reused: int = Field(description="texts replaced by their cached compression")
    reason: str | None = Field(default=None, description="why nothing changed, when nothing did")
    parts: list[CompressedPart]


def compress_request(policy: CompressionPolicy, request: CompressRequest) -> CompressResponse:
    """Compress what ``request`` holds with the proxy's ``policy`` (and its cache)."""
    api, body = _as_body(request)
    budget = Budget(target_tokens=request.target_tokens) if request.target_tokens is not None else None
    control = Control(rate=request.rate, method=request.method)
    outcome = policy.compress(api, body, control, query=request.query, budget=budget)
    return _answer(request, outcome.body or body, outcome, _parts(outcome))


def unchanged_answer(policy: CompressionPolicy, request: CompressRequest, reason: str) -> CompressResponse:
    """The answer that hands the payload back untouched (compression failed: fail-open)."""
    api, body = _as_body(request)
    view = conversation_view(api, body)
    tokens = Conversation.read(view.messages, view.shape, policy.counter).tokens
    method = request.method or policy.settings.method
    return _answer(request, body, Outcome(None, tokens, tokens, method, reason=reason), [])


def _as_body(request: CompressRequest) -> tuple[Api, dict[str, Any]]:
    """The request's payload as the body of a proxied request, and the API it speaks."""
    if request.kind == "texts":
        # each text a tool result after the last assistant turn: in the live zone, compressed by kind
        texts = request.texts or []
        body: dict[str, Any] = {
            "messages": [
                {"role": "tool", "tool_call_id": f"text-{n}", "content": t} for n, t in enumerate(texts)
            ]
        }
    else:
        body = {request.kind: getattr(request, request.kind)}
    if request.model is not None:
        body["model"] = request.model
    return ("responses" if request.kind == "input" else request.api), body


def _answer(
    request: CompressRequest, body: dict[str, Any], outcome: Outcome, parts: list[CompressedPart]
) -> CompressResponse:
    if request.kind == "texts":
        payload: dict[str, Any] = {"texts": [m["content"] for m in body["messages"]]}
    else:
        payload = {request.kind: body[request.kind]}
    return CompressResponse(
        **payload,
        tokens_before=outcome.tokens_before,
        tokens_after=outcome.tokens_after,
        tokens_saved=outcome.tokens_before - outcome.tokens_after,
        method=outcome.method,
        compressed=outcome.compressed,
        reused=outcome.reused,
        reason=outcome.reason,
        parts=parts,
    )


def _parts(outcome: Outcome) -> list[CompressedPart]:
    result, live = outcome.result, outcome.live
    if result is None or live is None:  # compression did not run (off, or n > 1)
        return []
    conversation = result.conversation
    changeable = conversation.changeable(live)
    allowed = conversation.changeable(dataclasses.replace(live, min_tokens=0))  # whatever their length
    parts = []
    for n, (segment, done) in enumerate(zip(conversation.segments, result.result.segments, strict=True)):
        changed, count = n in result.texts, conversation.counts[n]
        reason = None
        if changed:
            pass
        elif segment.kind not in _TEXT_KINDS:
            reason = f"a {segment.kind.replace('_', ' ')}: never changed"
        elif changeable[n]:
            reason = done.note or "the compressor kept it whole"
        elif allowed[n]:
            reason = f"{count} tokens, under min_tokens={live.min_tokens}"
        else:
            reason = "kept by the policy (its role, cache_control, or outside the live zone)"
        parts.append(
            CompressedPart(
                index=int(segment.meta.get("message", n)),
                kind=segment.kind,
                method=result.result.compressor if changed else None,
                tokens_before=count,
                tokens_after=done.tokens_after,
                reused=done.note == "remembered",
                reason=reason,
            )
        )
    return parts
