"""What the proxy compresses in a request, cache-safe by default.

Rules, in order:

1. Never touched: system and developer messages (and Anthropic's top-level ``system``),
   tool definitions, tool calls, assistant messages, thinking blocks and their signatures,
   any block or message marked ``cache_control``, and requests with ``n > 1``.
2. The live zone is compressed: the texts after the last assistant message (the latest
   user message's long texts and the tool results since the last assistant turn), each
   above ``min_tokens``, by the agent-state compressor (structure-aware: JSON, logs, HTML,
   source code through the code compressor, prose through MIG). A long user prompt keeps
   its first and last paragraphs, where instructions and questions sit.
3. Every text compressed once is cached by the hash of its original; when the client sends
   the same original again (its history, every turn), the cached bytes replace it, so the
   upstream sees an identical prefix turn after turn and its prompt cache keeps hitting.

The per-request header ``x-contextzip`` adjusts one request: ``off``, ``rate=0.3``,
``method=lexical``, or several joined by commas or semicolons.

Example:
    >>> parse_control("rate=0.2; method=lexical")
    Control(enabled=None, rate=0.2, method='lexical')
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contextzip.compressors.agent import AgentCompressor
from contextzip.errors import ConfigurationError
from contextzip.messages import Path, conversation_parts, message_roles
from contextzip.proxy.bodies import Api, ConversationView, conversation_view
from contextzip.proxy.cache import MemoryCache, TextCache, cache_key
from contextzip.proxy.settings import METHODS, Policy, ProxySettings
from contextzip.tokens import TokenCounter

__all__ = ["CompressionPolicy", "Control", "Outcome", "parse_control"]

_PROTECTED_ROLES = ("system", "developer")


@dataclass(frozen=True)
class Control:
    """A request's ``x-contextzip`` header: ``None`` fields keep the configured policy."""

    enabled: bool | None = None
    rate: float | None = None
    method: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What compression did to one request.

    Attributes:
        body: The body to forward; ``None`` when the original bytes go as they came.
        tokens_before: Tokens of the conversation's texts as the client sent them.
        tokens_after: Tokens of those texts as forwarded.
        method: The method used (``"off"`` when compression was off).
        compressed: Texts compressed for this request.
        reused: Texts replaced by their cached compression (re-sent history).
        reason: Why nothing changed, when nothing did.
    """

    body: dict[str, Any] | None
    tokens_before: int
    tokens_after: int
    method: str
    compressed: int = 0
    reused: int = 0
    reason: str | None = None

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
        elif name == "method":
            if value not in METHODS:
                raise ConfigurationError(
                    f"x-contextzip: method must be one of {', '.join(METHODS)}, got {value!r}"
                )
            values["method"] = value
        else:
            raise ConfigurationError(f"x-contextzip: expected off, on, rate=R or method=M, got {item!r}")
    return Control(**values)


class CompressionPolicy:
    """Applies the rules in the module docs to request bodies; thread-safe."""

    def __init__(self, settings: ProxySettings, cache: TextCache) -> None:
        self.settings = settings
        self.cache = cache
        self.counter = TokenCounter()
        # a conversation re-sends its history every turn: hashing a text is ~40x cheaper than counting it
        self._counts = MemoryCache(8192)
        self._compressors: dict[tuple[str, float, int], AgentCompressor] = {}
        self._lock = threading.Lock()

    def policy(self, api: Api, body: Mapping[str, Any], control: Control) -> Policy:
        """The policy for this route and body's model with the request's control applied."""
        model = body.get("model")
        policy = self.settings.policy_for(model if isinstance(model, str) else None, api)
        changes = {k: v for k, v in vars(control).items() if v is not None}
        return policy.model_copy(update=changes) if changes else policy

    def compress(self, api: Api, body: Mapping[str, Any], control: Control = Control()) -> Outcome:
        """Compress the live zone of ``body`` and reuse cached compressions of its history."""
        policy = self.policy(api, body, control)
        view = conversation_view(api, body)
        parts = view.parts()
        counts = {p.key: self._count(p.text) for p in parts}
        before = sum(counts.values())
        if not policy.enabled:
            return Outcome(None, before, before, "off", reason="compression is off for this request")
        if isinstance(body.get("n"), int) and body["n"] > 1:
            return Outcome(
                None, before, before, policy.method, reason="n > 1: every choice must see the same input"
            )
        config = json.dumps([policy.method, policy.rate])
        eligible = [p for p in parts if p.role not in _PROTECTED_ROLES and not _marked(view, p.key)]
        texts: dict[Path, str] = {}
        for part in eligible:
            cached = self.cache.get(cache_key(config, part.text))
            if cached is not None:
                texts[part.key] = cached
        reused = len(texts)
        live = self._live(view, eligible, texts, counts, policy)
        compressed = 0
        if live:
            result = self._compressor(policy).compress_messages(view.messages, shape=view.shape, only=live)
            written = {p.key: p.text for p in conversation_parts(result.messages, view.shape)}
            originals = {p.key: p.text for p in parts}
            for key in live:
                if written[key] != originals[key]:
                    texts[key] = written[key]
                    self.cache.set(cache_key(config, originals[key]), written[key])
                    compressed += 1
        if not texts:
            return Outcome(
                None, before, before, policy.method, reason="nothing live and long enough to compress"
            )
        after = before - sum(counts[k] for k in texts) + sum(self._count(t) for t in texts.values())
        return Outcome(view.rewrite(texts), before, after, policy.method, compressed, reused)

    def _count(self, text: str) -> int:
        key = cache_key("count", text)
        known = self._counts.get(key)
        if known is not None:
            return int(known)
        count = self.counter.count(text)
        self._counts.set(key, str(count))
        return count

    def _live(
        self,
        view: ConversationView,
        eligible: list[Any],
        done: Mapping[Path, str],
        counts: Mapping[Path, int],
        policy: Policy,
    ) -> set[Path]:
        roles = message_roles(view.messages, view.shape)
        last_assistant = max((n for n, role in enumerate(roles) if role == "assistant"), default=-1)
        return {
            p.key
            for p in eligible
            if p.message > last_assistant
            and p.key not in done
            and counts[p.key] >= policy.min_tokens
            and (p.kind == "tool_result" or p.role == "user")
        }

    def _compressor(self, policy: Policy) -> AgentCompressor:
        key = (policy.method, policy.rate, policy.min_tokens)
        with self._lock:
            if key not in self._compressors:
                self._compressors[key] = AgentCompressor(
                    rate=policy.rate,
                    min_tokens=policy.min_tokens,
                    keep_last_turns=0,
                    keep_latest_user=False,
                    **METHODS[policy.method],
                )
            return self._compressors[key]


def _marked(view: ConversationView, key: Path) -> bool:
    """Whether the text at ``key``, or a block or message holding it, is marked ``cache_control``."""
    node: Any = view.messages
    for step in key:
        node = node[step]
        if isinstance(node, Mapping) and "cache_control" in node:
            return True
    return False
