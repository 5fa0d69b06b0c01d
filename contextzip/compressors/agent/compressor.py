"""The agent compressor (see :mod:`contextzip.compressors.agent`)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from contextzip.compressors.agent.history import (
    AgentResult,
    arguments_between,
    content_hash,
    first_user_part,
    horizon_end,
    kept_line_spans,
    latest_user_part,
    message_texts,
)
from contextzip.compressors.agent.kinds import CODE_PATH, sniff_kind
from contextzip.compressors.agent.plan import extract_plan, referenced_facts
from contextzip.compressors.reducers import REDUCERS, Relevance, lexical_relevance, reduce_log, reducer_for
from contextzip.compressors.relevance import mixed_relevance
from contextzip.errors import ConfigurationError
from contextzip.memo import LRU
from contextzip.messages import (
    Part,
    Path,
    Shape,
    conversation_parts,
    detect_shape,
    message_roles,
    replace_parts,
    tool_calls,
)
from contextzip.sizing import size_input
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult

if TYPE_CHECKING:
    from contextzip.protocol import Compressor

__all__ = ["MEMO_SIZE", "AgentCompressor"]

logger = logging.getLogger(__name__)

HORIZONS = ("next", "all")

PROSE = ("mig", "mig-tokens")

RELEVANCE = ("embedding", "lexical")

_QUESTION = re.compile(r"\?(?:[\s\"'`)*_]|$)")  # a question mark that ends a sentence, not a URL's

_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+")  # a run of non-blank lines

#: A prompt's first or last paragraph up to this many tokens is an instruction or a question.
EDGE_TOKENS = 120

#: Tool results and documents shorter than this are left alone.
DEFAULT_MIN_TOKENS = 200

#: How many compressed results, and originals behind markers, a compressor remembers.
MEMO_SIZE = 4096


class AgentCompressor:
    """Compress an agent's conversation by what its next plan steps need (see the module docs).

    Args:
        rate: Share of its tokens each compressed text keeps.
        min_tokens: Texts shorter than this are left alone.
        keep_last_turns: Turns (an assistant message and what follows it) kept verbatim.
        keep_latest_user: When false, the latest user message is compressed too (a prompt
            that carries its own documents): its first and last paragraphs, where
            instructions and questions sit, stay verbatim and steer what the middle keeps.
        next_steps: Steps of the plan ahead that relevance looks at.
        horizon: ``"next"``: a result is read against what the conversation held when the
            assistant answered it (cache-stable); ``"all"``: against the current plan and
            every later message.
        threshold_tokens: Compress only conversations longer than this (``0``: always).
        relevance: ``"embedding"`` (sentence embeddings plus query words) or ``"lexical"``
            (query words only, no model).
        model: The sentence-embedding model for ``relevance="embedding"`` and prose.
        prose: How prose (long user documents, text tool output) is reduced: ``"mig"``
            (whole sentences) or ``"mig-tokens"`` (MIG, then the query-aware token
            classifier inside the kept sentences).
        encoding: The tiktoken encoding tokens are counted in.

    Example:
        >>> messages = [{"role": "user", "content": "Find why the build fails."},
        ...             {"role": "assistant", "content": None, "tool_calls": [{"id": "c1",
        ...              "type": "function", "function": {"name": "sh", "arguments": '{"cmd": "make"}'}}]},
        ...             {"role": "tool", "tool_call_id": "c1", "content": "\\n".join(
        ...                 [f"cc -c file{i}.c" for i in range(300)] + ["error: x.c:9 bad"])},
        ...             {"role": "assistant", "content": "x.c:9 has the error."},
        ...             {"role": "user", "content": "Fix it."}]
        >>> out = AgentCompressor(relevance="lexical", keep_last_turns=1).compress_messages(messages)
        >>> print(out.messages[2]["content"])  # doctest: +ELLIPSIS
        cc -c file0.c
        … 298 similar lines
        cc -c file299.c
        error: x.c:9 bad
        [contextzip: 2,107 → 27 tokens; original: cz:...]
    """

    name = "agent"

    def __init__(
        self,
        *,
        rate: float = 0.25,
        min_tokens: int = DEFAULT_MIN_TOKENS,
        keep_last_turns: int = 2,
        keep_latest_user: bool = True,
        next_steps: int = 3,
        horizon: str = "next",
        threshold_tokens: int = 0,
        relevance: str = "embedding",
        model: str | None = None,
        prose: str = "mig",
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        if prose not in PROSE:
            raise ConfigurationError(f"prose must be one of {', '.join(PROSE)}, got {prose!r}")
        if not 0 < rate < 1:
            raise ConfigurationError(f"rate must be in (0, 1), got {rate}")
        if horizon not in HORIZONS:
            raise ConfigurationError(f"horizon must be one of {', '.join(HORIZONS)}, got {horizon!r}")
        if relevance not in RELEVANCE:
            raise ConfigurationError(f"relevance must be one of {', '.join(RELEVANCE)}, got {relevance!r}")
        for label, value in (("min_tokens", min_tokens), ("keep_last_turns", keep_last_turns),
                             ("next_steps", next_steps), ("threshold_tokens", threshold_tokens)):  # fmt: skip
            if value < 0:
                raise ConfigurationError(f"{label} must be >= 0, got {value}")
        self.rate = rate
        self.min_tokens = min_tokens
        self.keep_last_turns = keep_last_turns
        self.keep_latest_user = keep_latest_user
        self.next_steps = next_steps
        self.horizon = horizon
        self.threshold_tokens = threshold_tokens
        self.relevance = relevance
        self.model = model
        self.prose = prose
        self.counter = TokenCounter(encoding)
        # shared by the proxy's worker threads, hence locked memos
        self._originals: LRU[str, str] = LRU(MEMO_SIZE)
        self._memo: LRU[str, str] = LRU(MEMO_SIZE)

    # -- conversations ------------------------------------------------------------------------

    def compress_messages(
        self,
        messages: Sequence[Any],
        *,
        plan: Sequence[str] | None = None,
        shape: Shape | None = None,
        only: Collection[Path] | None = None,
    ) -> AgentResult:
        """Compress a conversation in OpenAI, Anthropic or LangChain shape.

        Args:
            messages: The conversation; it is not changed.
            plan: The remaining steps, first next; ``None`` reads the plan from the conversation.
            shape: The conversation's shape, when it should not be detected.
            only: Keys of the parts (:func:`~contextzip.messages.conversation_parts`) that may
                be compressed; the others are read, never changed (``None``: every part the
                rules above allow).
        """
        shape = shape or detect_shape(messages)
        parts = conversation_parts(messages, shape)
        counts = [self.counter.count(p.text) for p in parts]
        before = sum(counts)
        if self.threshold_tokens and before <= self.threshold_tokens:
            why = f"{before} tokens, not above threshold_tokens={self.threshold_tokens}"
            return AgentResult(list(messages), before, before, reason=why)
        texts_by_message = message_texts(parts, len(messages))
        assistants = [n for n, role in enumerate(message_roles(messages, shape)) if role == "assistant"]
        calls = list(tool_calls(messages, shape).values())
        protected = self._protected_messages(parts, assistants, len(messages))
        replacements: dict[Any, str] = {}
        details: list[dict[str, Any]] = []
        first_seen: dict[str, Part] = {}
        first_user = first_user_part(parts)
        latest_user = latest_user_part(parts)
        deduplicated = 0
        latest_plan: tuple[str, ...] = ()
        for part, count in zip(parts, counts, strict=True):
            digest = content_hash(part.text)
            is_result = part.kind == "tool_result"
            earlier = first_seen.get(digest) if is_result else None
            if is_result:
                first_seen.setdefault(digest, part)
            if (
                part.message in protected
                or count < self.min_tokens
                or (only is not None and part.key not in only)
            ):
                continue
            if part.kind == "text" and part.role != "user":
                continue
            if earlier is not None:
                self._originals.set(digest, part.text)
                who = f"tool call {earlier.call.id}" if earlier.call else f"message {earlier.message}"
                replacements[part.key] = f"[contextzip: same output as {who} above; original: cz:{digest}]"
                deduplicated += 1
                continue
            end = (
                horizon_end(assistants, part.message, len(messages))
                if self.horizon == "next"
                else len(messages)
            )
            steps = self._steps(texts_by_message, part, end, plan)
            latest_plan = tuple(steps)
            later = [t for m in range(part.message + 1, end) for t in texts_by_message[m]]
            later += arguments_between(calls, part.message + 1, end)
            keep = [fact for fact in referenced_facts(later) if fact in part.text]
            task = texts_by_message[first_user][0] if first_user is not None else ""
            call = f"{part.call.name} {part.call.arguments}" if part.call else ""
            try:
                if part.message == latest_user and part.kind == "text":
                    own_task = part.message == first_user  # the prompt is the task: its edges steer
                    new = self._reduce_between_edges(part.text, [*steps, "" if own_task else task], keep)
                else:
                    new = self._reduce(
                        part.text, count, [call, *steps, task], keep, part.call.arguments if part.call else ""
                    )
            except ConfigurationError:
                raise
            except Exception as exc:  # fail open: this text stays as it was, the rest goes on
                logger.warning("left message %d unchanged: %s: %s", part.message, type(exc).__name__, exc)
                details.append({"key": part.key, "before": count, "after": count, "error": repr(exc)})
                continue
            after = self.counter.count(new)
            if after >= count:
                continue
            self._originals.set(digest, part.text)
            replacements[part.key] = new
            details.append({"key": part.key, "before": count, "after": after, "kept_facts": len(keep)})
        if not replacements:
            why = "every reducer failed" if details else "nothing old and long enough to compress"
            return AgentResult(
                list(messages), before, before, plan=latest_plan, reason=why, details=tuple(details)
            )
        out = replace_parts(messages, replacements, shape)
        after_total = before - sum(counts[n] for n, p in enumerate(parts) if p.key in replacements)
        after_total += sum(self.counter.count(t) for t in replacements.values())
        return AgentResult(
            out, before, after_total, len(replacements), deduplicated, latest_plan, None, tuple(details)
        )

    def retrieve(self, digest: str) -> str | None:
        """The original text behind a ``cz:`` marker this compressor wrote (``None`` if forgotten)."""
        return self._originals.get(digest.removeprefix("cz:"))

    # -- the protocol ---------------------------------------------------------------------------

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Reduce each unprotected segment to the budget's share by the reducer for its kind."""
        sized = size_input(segments, budget, self.counter)
        segments, counts, total, target = sized.segments, sized.counts, sized.total, sized.target
        if sized.keeps_everything:
            return sized.unchanged(self.name, "the budget keeps the whole input")
        fixed = sum(c for s, c in zip(segments, counts, strict=True) if s.protected)
        movable = total - fixed
        share = max(target - fixed, 0) / movable if movable else 1.0
        results = []
        for segment, count in zip(segments, counts, strict=True):
            if segment.protected or count == 0:
                results.append(SegmentResult(segment, segment.text, ((0, len(segment.text)),), count, count))
                continue
            path = str(segment.meta.get("path", "")) if segment.meta else ""
            text = self._reduce(segment.text, count, [query or ""], [], path, kind=segment.kind, share=share)
            text = text if self.counter.count(text) < count else segment.text
            spans = kept_line_spans(segment.text, text)
            results.append(SegmentResult(segment, text, spans, count, self.counter.count(text)))
        return CompressionResult(tuple(results), self.name, target, time.perf_counter() - sized.started)

    # -- inside -----------------------------------------------------------------------------------

    def _protected_messages(self, parts: Sequence[Part], assistants: Sequence[int], length: int) -> set[int]:
        protected = {p.message for p in parts if p.role in ("system", "developer")}
        user_texts = [p.message for p in parts if p.role == "user" and p.kind == "text"]
        if user_texts:
            protected.update((user_texts[0], user_texts[-1]))
        if self.keep_last_turns and assistants:
            cut = assistants[-min(self.keep_last_turns, len(assistants))]
            protected.update(range(cut, length))
        if user_texts and not self.keep_latest_user:
            protected.discard(user_texts[-1])
        return protected

    def _steps(self, texts: list[list[str]], part: Part, end: int, plan: Sequence[str] | None) -> list[str]:
        if plan is not None:
            return list(plan)[: self.next_steps]
        # "next": the plan when the call was made, so the step the call serves is still ahead
        written = [t for m in range(part.message if self.horizon == "next" else end) for t in texts[m]]
        return [s.text for s in extract_plan(written) if not s.done][: self.next_steps]

    def _reduce(
        self, text: str, count: int, query: list[str], keep: list[str], arguments: str,
        *, kind: str | None = None, share: float | None = None,
    ) -> str:  # fmt: skip
        rate = self.rate if share is None else share
        budget = max(int(count * rate), 16)
        config = [self.relevance, self.model, self.prose]
        key = content_hash(json.dumps([text, query, keep, arguments, kind, budget, config]))
        remembered = self._memo.get(key)
        if remembered is not None:
            return remembered
        kind = kind if kind in (*REDUCERS, "code") else sniff_kind(text, arguments)
        relevance = self._relevance([q for q in query if q.strip()])
        # without a model, prose is pruned line by line like a log
        reducer = reducer_for(kind) or (reduce_log if self.relevance == "lexical" else None)
        if kind == "code":
            reduced = self._reduce_code(text, budget, " ".join(query), arguments)
        elif reducer is not None:
            reduced = reducer(text, budget=budget, relevance=relevance, keep=keep, counter=self.counter)
        else:
            reduced = self._reduce_prose(text, budget, " ".join(query), keep)
        digest = content_hash(text)
        marker = f"[contextzip: {count:,} → {self.counter.count(reduced):,} tokens; original: cz:{digest}]"
        result = f"{reduced}\n{marker}" if share is None else reduced
        self._memo.set(key, result)
        return result

    def _reduce_between_edges(self, text: str, query: list[str], keep: list[str]) -> str:
        """Compress a prompt's middle; its short first and last paragraphs stay and steer.

        Where one of the two asks a question, only the question steers (with the task and plan).
        """
        paragraphs = [m.span() for m in _PARAGRAPH.finditer(text)]
        start, end = 0, len(text)
        edges = []
        if len(paragraphs) >= 2:
            for span in (paragraphs[0], paragraphs[-1]):
                edge = text[span[0] : span[1]]
                if self.counter.count(edge) <= EDGE_TOKENS:
                    edges.append(edge)
                    start, end = (span[1], end) if span == paragraphs[0] else (start, span[0])
        middle = text[start:end]
        count = self.counter.count(middle)
        if count < self.min_tokens:
            return text
        # a question steers; the other edge is then the document's own first or last paragraph
        steering = [edge for edge in edges if _QUESTION.search(edge)] or edges
        reduced = self._reduce(middle, count, [*steering, *query], keep, "")
        # the middle's own leading and trailing whitespace keeps the paragraphs apart
        lead = middle[: len(middle) - len(middle.lstrip())]
        trail = middle[len(middle.rstrip()) :]
        return f"{text[:start]}{lead}{reduced}{trail}{text[end:]}"

    def _relevance(self, query: list[str]) -> Relevance:
        if self.relevance == "lexical" or not query:
            return lexical_relevance(" ".join(query))
        return mixed_relevance(query, model=self.model)

    def _reduce_code(self, text: str, budget: int, query: str, arguments: str) -> str:
        from contextzip.compressors.code import CodeCompressor

        match = CODE_PATH.search(arguments)
        segment = Segment(text, kind="code", meta={"path": match.group(0)} if match else {})
        result = CodeCompressor(mode="fast", stubs=True).compress(
            [segment], query=query, budget=Budget(target_tokens=budget)
        )
        return result.segments[0].text

    def _reduce_prose(self, text: str, budget: int, query: str, keep: list[str]) -> str:
        from contextzip.compressors.mig import MIGCompressor, mig_pipeline

        compressor: Compressor
        if self.prose == "mig":
            compressor = MIGCompressor(model=self.model, force_tokens=tuple(keep))
        else:
            compressor = mig_pipeline(model=self.model, force_tokens=tuple(keep))
        result = compressor.compress(
            [Segment(text)], query=query or None, budget=Budget(target_tokens=budget)
        )
        return result.segments[0].text
