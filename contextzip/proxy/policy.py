"""What the proxy compresses in a request, cache-safe by default.

Rules, in order:

1. Never touched: system and developer messages (and Anthropic's top-level ``system``),
   tool definitions, tool calls, assistant messages, thinking blocks and their signatures,
   any block or message marked ``cache_control``, and requests with ``n > 1``.
2. The live zone is compressed: the texts after the last assistant message (the latest
   user message's long texts and the tool results since the last assistant turn), each
   above ``min_tokens``, by the policy's method: a registered compressor, by default the
   agent-state compressor (structure-aware: JSON, logs, HTML, source code through the code
   compressor, prose through MIG; a long user prompt keeps its first and last paragraphs,
   where instructions and questions sit).
3. Every text compressed once is cached by the hash of its original; when the client sends
   the same original again (its history, every turn), the cached bytes replace it, so the
   upstream sees an identical prefix turn after turn and its prompt cache keeps hitting.

The per-request header ``x-contextzip`` adjusts one request: ``off``, ``rate=0.3``,
``method=NAME`` (a registered compressor, or a shorthand such as ``lexical``), ``retrieve``
(``retrieve=off``: the retrieve tool of :mod:`.retrieve`), or several joined by commas or
semicolons.

Example:
    >>> parse_control("rate=0.2; method=lexical")
    Control(enabled=None, rate=0.2, method='lexical', retrieve=None)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contextzip.conversation import (
    Conversation,
    ConversationPolicy,
    ConversationResult,
    TextMemo,
    compress_conversation,
)
from contextzip.errors import ConfigurationError
from contextzip.memo import LRU
from contextzip.protocol import Compressor, get_compressor
from contextzip.proxy.bodies import Api, conversation_view
from contextzip.proxy.retrieve import can_offer, markers, original_key
from contextzip.proxy.settings import Policy, ProxySettings, check_method
from contextzip.tokens import TokenCounter
from contextzip.types import Budget

__all__ = ["CompressionPolicy", "Control", "Outcome", "parse_control"]


@dataclass(frozen=True)
class Control:
    """A request's ``x-contextzip`` header: ``None`` fields keep the configured policy."""

    enabled: bool | None = None
    rate: float | None = None
    method: str | None = None
    retrieve: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """What compression did to one request.

    Attributes:
        body: The body to forward; ``None`` when the original bytes go as they came.
        tokens_before: Tokens of the conversation (its texts and tool calls) as the client sent it.
        tokens_after: Tokens of the conversation as forwarded.
        method: The method used (``"off"`` when compression was off).
        compressed: Texts compressed for this request.
        reused: Texts replaced by their cached compression (re-sent history).
        reason: Why nothing changed, when nothing did.
        result: What compression did to each text, when it ran.
        live: The conversation policy it ran under.
        retrieve: Offer the model the retrieve tool: the forwarded texts carry markers whose
            originals are kept, and the request may have the tool (see :mod:`.retrieve`).
    """

    body: dict[str, Any] | None
    tokens_before: int
    tokens_after: int
    method: str
    compressed: int = 0
    reused: int = 0
    reason: str | None = None
    result: ConversationResult | None = field(default=None, repr=False)
    live: ConversationPolicy | None = field(default=None, repr=False)
    retrieve: bool = False

    @property
    def ratio(self) -> float:
        """Tokens before over tokens after."""
        return self.tokens_before / self.tokens_after if self.tokens_after else 1.0


def parse_control(header: str | None) -> Control:
    """Read an ``x-contextzip`` header; a :class:`ConfigurationError` says what is wrong."""
    if header is None or not header.strip():
        return Control()
    values: dict[str, Any] = {}
    for item in filter(None, (piece.strip() for piece in re.split(r"[;,]", header))):
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if name in ("off", "on") and not value:
            values["enabled"] = name == "on"
        elif name == "rate":
            try:
                rate = float(value)
            except ValueError:
                rate = -1.0
            if not 0 < rate < 1:
                raise ConfigurationError(f"x-contextzip: rate must be a number in (0, 1), got {value!r}")
            values["rate"] = rate
        elif name == "retrieve" and value in ("", "on", "off"):
            values["retrieve"] = value != "off"
        elif name == "method":
            try:
                values["method"] = check_method(value)
            except ValueError as exc:
                raise ConfigurationError(f"x-contextzip: {exc}") from None
        else:
            raise ConfigurationError(
                f"x-contextzip: expected off, on, rate=R, method=M or retrieve[=on|off], got {item!r}"
            )
    return Control(**values)


class CompressionPolicy:
    """Applies the rules in the module docs to request bodies; thread-safe."""

    def __init__(self, settings: ProxySettings, cache: TextMemo) -> None:
        self.settings = settings
        self.cache = cache
        self.counter = TokenCounter()
        self._compressors: dict[str, Compressor] = {}
        self._lock = threading.Lock()
        # a model's policy is built (and its options checked) once, not on each request
        self._policies: LRU[tuple[str | None, str], Policy] = LRU(1024)

    def policy(self, api: Api, body: Mapping[str, Any], control: Control) -> Policy:
        """The policy for this route and body's model with the request's control applied."""
        model = body.get("model")
        key = (model if isinstance(model, str) else None, api)
        policy = self._policies.get(key)
        if policy is None:
            policy = self.settings.policy_for(*key)
            self._policies.set(key, policy)
        changes = {k: v for k, v in vars(control).items() if v is not None}
        if changes.get("method", policy.method) != policy.method:
            changes["options"] = {}  # configured options belong to the configured method
        return policy.model_copy(update=changes) if changes else policy

    def compress(
        self,
        api: Api,
        body: Mapping[str, Any],
        control: Control = Control(),
        *,
        query: str | None = None,
        budget: Budget | None = None,
    ) -> Outcome:
        """Compress the live zone of ``body`` and reuse cached compressions of its history.

        ``query`` steers query-aware methods; ``budget`` replaces the policy's rate.
        """
        policy = self.policy(api, body, control)
        view = conversation_view(api, body)
        conversation = Conversation.read(view.messages, view.shape, self.counter)
        before = conversation.tokens
        if not policy.enabled:
            return Outcome(None, before, before, "off", reason="compression is off for this request")
        if isinstance(body.get("n"), int) and body["n"] > 1:
            return Outcome(
                None, before, before, policy.method, reason="n > 1: every choice must see the same input"
            )
        live = ConversationPolicy.live_zone(policy.min_tokens)
        compressor = self._compressor(policy)
        result = compress_conversation(
            conversation,
            compressor,
            live,
            budget=budget or Budget(rate=policy.rate),
            query=query,
            memo=self.cache,
            memo_namespace=_namespace(policy, budget, query),
        )
        if not result.texts:
            reason = "nothing live and long enough to compress"
            return Outcome(None, before, before, policy.method, reason=reason, result=result, live=live)
        forwarded = view.rewrite(result.changes)
        offer = policy.retrieve and can_offer(api, forwarded) and self._keep_originals(result, compressor)
        return Outcome(
            forwarded, before, result.tokens_after, policy.method, result.compressed, result.reused,
            result=result, live=live, retrieve=offer,
        )  # fmt: skip

    def _keep_originals(self, result: ConversationResult, compressor: Compressor) -> bool:
        """Keep the original behind each marker in the new texts; whether any is kept (new or earlier)."""
        kept = False
        for digest in markers(list(result.texts.values())):
            key = original_key(digest)
            original = compressor.retrieve(digest) if hasattr(compressor, "retrieve") else None
            if original is not None:
                self.cache.set(key, original)
            kept = kept or original is not None or self.cache.get(key) is not None
        return kept

    def _compressor(self, policy: Policy) -> Compressor:
        # what Policy.compressor() reads, so that it (and its look at signatures) runs once per kind
        wanted = [policy.method, policy.options, policy.min_tokens, policy.static_above]
        key = json.dumps(wanted, sort_keys=True, default=str)
        with self._lock:
            if key not in self._compressors:
                name, options = policy.compressor()  # the rate comes with each request's budget
                self._compressors[key] = get_compressor(name, **options)
            return self._compressors[key]


def _namespace(policy: Policy, budget: Budget | None, query: str | None) -> str:
    """Cache keys' prefix: what the same original compresses to differently under.

    A proxied request has neither ``budget`` nor ``query`` (its texts are reused whatever the
    conversation asks next, so the upstream sees the same bytes every turn).
    """
    parts: list[Any] = [policy.method, policy.rate if budget is None else vars(budget)]
    if policy.options:
        parts.append(policy.options)
    if query is not None:
        parts.append({"query": query})
    return json.dumps(parts, sort_keys=True, default=str)
