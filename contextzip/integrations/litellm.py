"""A LiteLLM guardrail that compresses each request before LiteLLM sends it on, fail-open.

LiteLLM calls a ``pre_call`` guardrail with the request body; this one compresses its
``messages`` with the proxy's cache-safe policy (the live zone: the texts after the last
assistant message, each of ``min_tokens`` or more) and hands the body back. Two ways to run:

* in process (the default): the compressor runs inside LiteLLM's own Python, which then needs
  contextzip installed (``method: agent`` with ``options: {relevance: lexical}`` needs the core
  only; the default sentence-embedding relevance needs the ``ml`` extra);
* through a running ``contextzip serve`` (``contextzip_url``): LiteLLM posts the messages to
  its ``POST /v1/compress`` and needs nothing of contextzip but this module.

Anything that goes wrong (a timeout, an error, an unreachable contextzip) leaves the request
as it came: LiteLLM sends the original. In LiteLLM's ``config.yaml``::

    guardrails:
      - guardrail_name: contextzip
        litellm_params:
          guardrail: contextzip.integrations.litellm.ContextzipGuardrail
          mode: pre_call
          default_on: true
          rate: 0.3                       # optional; also method, options, min_tokens, timeout_s
          # contextzip_url: http://127.0.0.1:8787   # compress through a running contextzip serve
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from litellm.integrations.custom_guardrail import CustomGuardrail

from contextzip.conversation import ConversationPolicy, compress_conversation
from contextzip.defaults import DEFAULTS, GATEWAY_STATIC_ABOVE
from contextzip.protocol import Compressor, fill_options, get_compressor
from contextzip.types import Budget

__all__ = ["ContextzipGuardrail"]

logger = logging.getLogger("contextzip.litellm")


class ContextzipGuardrail(CustomGuardrail):
    """LiteLLM ``pre_call`` guardrail: the request's messages compressed, or left as they are.

    Args:
        rate: Share of its tokens each compressed text keeps (default: the proxy's, 0.3).
        method: A registered compressor (default ``agent``).
        options: Its constructor options, e.g. ``{"relevance": "lexical"}`` (in process; a running
            contextzip uses its own configuration's).
        min_tokens: Texts shorter than this pass untouched (500, as in the proxy).
        timeout_s: After this, the original goes on (5 s).
        contextzip_url: Compress through this running ``contextzip serve`` instead of in process.
        contextzip_key: Its access key, if it requires one.
        **kwargs: LiteLLM's own guardrail settings (``guardrail_name``, ``event_hook``, ...).
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        method: str | None = None,
        options: Mapping[str, Any] | None = None,
        min_tokens: int = 500,
        timeout_s: float = 5.0,
        contextzip_url: str | None = None,
        contextzip_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        # given settings go to a running contextzip as they are; its own defaults fill the rest
        self.given = {k: v for k, v in (("rate", rate), ("method", method)) if v is not None}
        self.budget = Budget(rate=rate if rate is not None else DEFAULTS["proxy"].rate)  # checked at start
        self.method = method or DEFAULTS["proxy"].method
        self.options = dict(options or {})
        self.policy = ConversationPolicy.live_zone(min_tokens)
        self.timeout_s = timeout_s
        self.url = contextzip_url.rstrip("/") if contextzip_url else None
        self.key = contextzip_key
        self._compressor: Compressor | None = None
        self._lock = asyncio.Lock()
        super().__init__(**kwargs)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any]:
        """Return ``data`` with its ``messages`` compressed (LiteLLM sends what this returns)."""
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            return data
        try:
            compressed = await asyncio.wait_for(self._compress(messages, data.get("model")), self.timeout_s)
        except Exception as exc:  # fail-open: the request goes on as it came
            reason = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            logger.warning("contextzip guardrail left the request unchanged (%s)", str(reason)[:300])
            return data
        if compressed is not None:
            data["messages"] = compressed
        return data

    async def _compress(self, messages: list[Any], model: Any) -> list[Any] | None:
        if self.url is not None:
            return await self._compress_remotely(messages, model)
        compressor = await self._ready_compressor()
        result = await asyncio.to_thread(
            compress_conversation, messages, compressor, self.policy, budget=self.budget
        )
        return result.messages if result.texts else None

    async def _ready_compressor(self) -> Compressor:
        async with self._lock:  # one model load, however many requests arrive at once
            if self._compressor is None:
                self._compressor = await asyncio.to_thread(get_compressor, self.method, **self._options())
            return self._compressor

    def _options(self) -> dict[str, Any]:
        shared = {"min_tokens": self.policy.min_tokens, "static_above": GATEWAY_STATIC_ABOVE}
        return fill_options(self.method, self.options, **shared)

    async def _compress_remotely(self, messages: list[Any], model: Any) -> list[Any] | None:
        import httpx

        from contextzip.messages import detect_shape

        body: dict[str, Any] = {"messages": messages, **self.given}
        if detect_shape(messages) == "anthropic":
            body["api"] = "anthropic"
        if isinstance(model, str):
            body["model"] = model
        headers = {"x-contextzip-key": self.key} if self.key else {}
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            response = await client.post(f"{self.url}/v1/compress", json=body, headers=headers)
        response.raise_for_status()
        answer = response.json()
        return list(answer["messages"]) if answer.get("compressed") or answer.get("reused") else None
