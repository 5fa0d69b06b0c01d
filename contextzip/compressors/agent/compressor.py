"""The agent compressor (see :mod:`contextzip.compressors.agent`)."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contextzip.compressors.agent.history import content_hash, kept_line_spans
from contextzip.compressors.agent.kinds import CODE_PATH, sniff_kind
from contextzip.compressors.agent.plan import extract_plan, referenced_facts
from contextzip.compressors.reducers import REDUCERS, Relevance, lexical_relevance, reduce_log, reducer_for
from contextzip.compressors.relevance import mixed_relevance
from contextzip.conversation import (
    MESSAGE_TEXTS,
    ConversationPolicy,
    ConversationResult,
    Turns,
    compress_conversation,
    is_conversation,
)
from contextzip.errors import ConfigurationError
from contextzip.memo import LRU
from contextzip.messages import Shape
from contextzip.sizing import Sized, size_input
from contextzip.tokens import DEFAULT_ENCODING, TokenCounter
from contextzip.types import Budget, CompressionResult, Segment, SegmentResult, round_tokens

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
        static_above: Items of a tool result (JSON members, log lines) scored together whose
            characters add up to more than this are embedded with static token vectors, not
            the transformer (milliseconds instead of a second for a 5k-token JSON result; the
            proxy's setting); ``None``: always the transformer.
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
        static_above: int | None = None,
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
                             ("next_steps", next_steps), ("threshold_tokens", threshold_tokens),
                             ("static_above", static_above or 0)):  # fmt: skip
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
        self.static_above = static_above
        self.prose = prose
        self.counter = TokenCounter(encoding)
        # shared by the proxy's worker threads, hence locked memos
        self._originals: LRU[str, str] = LRU(MEMO_SIZE)
        self._memo: LRU[str, str] = LRU(MEMO_SIZE)

    # -- conversations ------------------------------------------------------------------------

    @property
    def policy(self) -> ConversationPolicy:
        """What :meth:`compress_messages` may change, from this compressor's options."""
        return ConversationPolicy(
            keep_latest_user=self.keep_latest_user,
            keep_last_turns=self.keep_last_turns,
            min_tokens=self.min_tokens,
            threshold_tokens=self.threshold_tokens,
        )

    def compress_messages(
        self, messages: Sequence[Any], *, plan: Sequence[str] | None = None, shape: Shape | None = None
    ) -> ConversationResult:
        """Compress a conversation in OpenAI, Anthropic or LangChain shape.

        :func:`contextzip.compress_conversation` with this compressor, its :attr:`policy`
        and its ``rate``.

        Args:
            messages: The conversation; it is not changed.
            plan: The remaining steps, first next; ``None`` reads the plan from the conversation.
            shape: The conversation's shape, when it should not be detected.
        """
        query = "\n".join(plan) if plan is not None else None
        return compress_conversation(
            messages, self, self.policy, budget=Budget(rate=self.rate), query=query, shape=shape
        )

    def retrieve(self, digest: str) -> str | None:
        """The original text behind a ``cz:`` marker this compressor wrote (``None`` if forgotten)."""
        return self._originals.get(digest.removeprefix("cz:"))

    # -- the protocol ---------------------------------------------------------------------------

    def compress(
        self, segments: Sequence[Segment], *, query: str | None = None, budget: Budget
    ) -> CompressionResult:
        """Reduce each unprotected segment to the budget's share by the reducer for its kind.

        Segments of a conversation (:meth:`contextzip.conversation.Conversation.read`) are
        read as one: each unprotected text keeps ``budget.rate`` of its tokens, steered by
        its tool call, the plan and the task (see the module docs), and ``query``, when
        given, is the plan's remaining steps, one per line.
        """
        sized = size_input(segments, budget, self.counter)
        if sized.keeps_everything:
            return sized.unchanged(self.name, "the budget keeps the whole input")
        if is_conversation(sized.segments):
            rate = budget.rate if budget.rate is not None else _share(sized)
            return self._compress_turns(sized, query, rate)
        share = _share(sized)
        results = []
        for segment, count in zip(sized.segments, sized.counts, strict=True):
            if segment.protected or count == 0:
                results.append(SegmentResult(segment, segment.text, ((0, len(segment.text)),), count, count))
                continue
            path = str(segment.meta.get("path", "")) if segment.meta else ""
            text = self._reduce(
                segment.text, count, [query or ""], [], path, share, kind=segment.kind, marker=False
            )
            results.append(self._segment_result(segment, count, text))
        return CompressionResult(tuple(results), self.name, sized.target, time.perf_counter() - sized.started)

    def _compress_turns(self, sized: Sized, query: str | None, rate: float) -> CompressionResult:
        turns = Turns.of(sized.segments)
        plan = query.splitlines() if query is not None else None
        results: list[SegmentResult] = []
        first_seen: dict[str, Segment] = {}
        failed = 0
        for segment, count in zip(sized.segments, sized.counts, strict=True):
            whole = ((0, len(segment.text)),) if segment.text else ()
            unchanged = SegmentResult(segment, segment.text, whole, count, count)
            digest = content_hash(segment.text)
            earlier = first_seen.get(digest) if segment.kind == "tool_output" else None
            if segment.kind == "tool_output":
                first_seen.setdefault(digest, segment)
            if segment.protected or segment.kind not in MESSAGE_TEXTS:
                results.append(unchanged)
            elif earlier is not None:
                self._originals.set(digest, segment.text)
                call = earlier.meta.get("call_id")
                who = f"tool call {call}" if call else f"message {earlier.meta['message']}"
                pointer = f"[contextzip: same output as {who} above; original: cz:{digest}]"
                results.append(SegmentResult(segment, pointer, (), count, self.counter.count(pointer),
                                             note=f"same output as {who}"))  # fmt: skip
            else:
                try:
                    text = self._reduce_turn(segment, count, turns, plan, rate)
                except ConfigurationError:
                    raise
                except Exception as exc:  # fail open: this text stays as it was, the rest goes on
                    message = segment.meta["message"]
                    logger.warning("left message %d unchanged: %s: %s", message, type(exc).__name__, exc)
                    failed += 1
                    results.append(dataclasses.replace(unchanged, note=f"left unchanged: {exc!r}"))
                    continue
                result = self._segment_result(segment, count, text)
                if result.text != segment.text:
                    self._originals.set(digest, segment.text)
                results.append(result)
        reason = None
        if not any(r.text != r.segment.text for r in results):
            reason = "every reducer failed" if failed else "nothing old and long enough to compress"
        elapsed = time.perf_counter() - sized.started
        return CompressionResult(tuple(results), self.name, sized.target, elapsed, reason)

    def _reduce_turn(
        self, segment: Segment, count: int, turns: Turns, plan: Sequence[str] | None, rate: float
    ) -> str:
        message = int(segment.meta["message"])
        end = turns.horizon_end(message) if self.horizon == "next" else len(turns.texts)
        steps = self._steps(turns.texts, message, end, plan)
        keep = [fact for fact in referenced_facts(turns.later(message, end)) if fact in segment.text]
        arguments = str(segment.meta.get("arguments", ""))
        call = f"{segment.meta['tool']} {arguments}" if "call_id" in segment.meta else ""
        if message == turns.latest_user and segment.kind == "text":
            own_task = message == turns.first_user  # the prompt is the task: its edges steer
            return self._reduce_between_edges(
                segment.text, [*steps, "" if own_task else turns.task], keep, rate
            )
        return self._reduce(segment.text, count, [call, *steps, turns.task], keep, arguments, rate)

    def _segment_result(self, segment: Segment, count: int, text: str) -> SegmentResult:
        """The result for ``text`` in place of ``segment``, or the original where it is no shorter."""
        after = self.counter.count(text)
        if after >= count:
            return SegmentResult(segment, segment.text, ((0, len(segment.text)),), count, count)
        return SegmentResult(segment, text, kept_line_spans(segment.text, text), count, after)

    # -- inside -----------------------------------------------------------------------------------

    def _steps(self, texts: list[list[str]], message: int, end: int, plan: Sequence[str] | None) -> list[str]:
        if plan is not None:
            return list(plan)[: self.next_steps]
        # "next": the plan when the call was made, so the step the call serves is still ahead
        written = [t for m in range(message if self.horizon == "next" else end) for t in texts[m]]
        return [s.text for s in extract_plan(written) if not s.done][: self.next_steps]

    def _reduce(
        self, text: str, count: int, query: list[str], keep: list[str], arguments: str, rate: float,
        *, kind: str | None = None, marker: bool = True,
    ) -> str:  # fmt: skip
        """``text`` cut to ``rate`` of its ``count`` tokens, ending in a marker unless told not to."""
        budget = max(round_tokens(count * rate), 16)
        config = [self.relevance, self.model, self.prose, self.static_above]
        key = content_hash(json.dumps([text, query, keep, arguments, kind, budget, marker, config]))
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
        note = f"[contextzip: {count:,} → {self.counter.count(reduced):,} tokens; original: cz:{digest}]"
        result = f"{reduced}\n{note}" if marker else reduced
        self._memo.set(key, result)
        return result

    def _reduce_between_edges(self, text: str, query: list[str], keep: list[str], rate: float) -> str:
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
        reduced = self._reduce(middle, count, [*steering, *query], keep, "", rate)
        # the middle's own leading and trailing whitespace keeps the paragraphs apart
        lead = middle[: len(middle) - len(middle.lstrip())]
        trail = middle[len(middle.rstrip()) :]
        return f"{text[:start]}{lead}{reduced}{trail}{text[end:]}"

    def _relevance(self, query: list[str]) -> Relevance:
        if self.relevance == "lexical" or not query:
            return lexical_relevance(" ".join(query))
        return mixed_relevance(query, model=self.model, static_above=self.static_above)

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


def _share(sized: Sized) -> float:
    """The share of its tokens each unprotected segment keeps so that the whole meets the target."""
    fixed = sum(c for s, c in zip(sized.segments, sized.counts, strict=True) if s.protected)
    movable = sized.total - fixed
    return max(sized.target - fixed, 0) / movable if movable else 1.0
