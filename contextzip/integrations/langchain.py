"""contextzip for LangChain: a document compressor, a chain step and agent middleware.

Three ways in, each a one-line change:

* :class:`ContextZipDocumentCompressor` — a ``BaseDocumentCompressor`` for
  ``ContextualCompressionRetriever`` and document pipelines; any contextzip compressor
  (MIG by default) cuts the retrieved documents to a budget, steered by the query;
* :func:`compress_messages` — like ``trim_messages``: called with messages it returns the
  compressed messages, called without it returns a Runnable for an LCEL chain
  (``prompt | compress_messages(rate=0.3) | model``);
* :class:`ContextZipMiddleware` — middleware for LangChain v1 agents
  (``create_agent(..., middleware=[ContextZipMiddleware()])``, needs the ``langchain``
  package) that compresses what each model call sees, never the agent's state.

Messages go through :func:`contextzip.conversation.compress_conversation` with the agent-state
compressor (:class:`~contextzip.compressors.agent.AgentCompressor`): system messages,
tool calls (ids, names, arguments) and the message order are never changed, only texts
are, so every tool message still follows the AI message that called it.

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> prompt = [SystemMessage("Answer from the context."),
    ...           HumanMessage("Context:\\n\\n" + "\\n".join(f"log line {i}: ok" for i in range(300))
    ...                        + "\\n\\nQuestion: did anything fail?")]
    >>> out = compress_messages(prompt, rate=0.1, relevance="lexical")
    >>> out[0] == prompt[0], out[1].content.endswith("Question: did anything fail?")
    (True, True)
    >>> len(out[1].content) < len(prompt[1].content)
    True
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict, Field, PrivateAttr

from contextzip.conversation import ConversationPolicy, ConversationResult, compress_conversation
from contextzip.defaults import DEFAULTS
from contextzip.errors import ConfigurationError, missing_extra
from contextzip.protocol import Compressor, get_compressor
from contextzip.types import Budget, Segment

if TYPE_CHECKING:
    from langchain.agents.middleware import ModelRequest, ModelResponse

__all__ = ["ContextZipDocumentCompressor", "ContextZipMiddleware", "compress_messages"]

logger = logging.getLogger(__name__)

MessagesInput = Sequence[Any] | PromptValue


# -- documents ----------------------------------------------------------------------------------


class ContextZipDocumentCompressor(BaseDocumentCompressor):
    """Cut retrieved documents to a budget with a contextzip compressor.

    Each returned document is a compressed copy of one input document, in the input's
    order, with that document's own ``metadata`` and ``id``; documents the compressor drops
    entirely are left out. The query steers query-aware methods (MIG, BM25, the
    query-aware token classifier).

    Args:
        method: A registered compressor name (``contextzip.available_compressors()``).
        rate: Share of the documents' tokens to keep, in ``(0, 1]``.
        target_tokens: An absolute budget instead of ``rate``.
        options: Passed to the compressor's constructor.
        compressor: A compressor instance to use instead of ``method`` and ``options``.

    Example:
        >>> from langchain_core.documents import Document
        >>> docs = [Document("Paris is the capital of France.", metadata={"source": "a"}),
        ...         Document("Bananas are rich in potassium.", metadata={"source": "b"})]
        >>> dc = ContextZipDocumentCompressor(method="bm25-docs", rate=0.5)
        >>> [(d.page_content, d.metadata) for d in dc.compress_documents(docs, "capital of France")]
        [('Paris is the capital of France.', {'source': 'a'})]
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    method: str = DEFAULTS["documents"].method
    rate: float | None = DEFAULTS["documents"].rate
    target_tokens: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    compressor: Any = None
    _resolved: Compressor | None = PrivateAttr(default=None)
    _budget: Budget = PrivateAttr(default_factory=lambda: Budget(rate=DEFAULTS["documents"].rate))

    def model_post_init(self, context: Any, /) -> None:
        if self.target_tokens is not None:
            self.rate = None
        self._budget = Budget(rate=self.rate, target_tokens=self.target_tokens)  # checks the values
        if self.compressor is not None and self.options:
            raise ConfigurationError(
                "options apply only to method; configure the compressor instance instead"
            )

    def _get_compressor(self) -> Compressor:
        if self._resolved is None:
            self._resolved = self.compressor or get_compressor(self.method, **self.options)
        return self._resolved

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The documents, compressed together to the budget; dropped ones left out."""
        documents = list(documents)
        if not documents:
            return []
        segments = [Segment(d.page_content, id=str(n)) for n, d in enumerate(documents)]
        result = self._get_compressor().compress(segments, query=query or None, budget=self._budget)
        kept = []
        for document, segment in zip(documents, result.segments, strict=True):
            if segment.dropped or not segment.text.strip():
                continue
            kept.append(Document(segment.text, metadata=dict(document.metadata), id=document.id))
        return kept

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """:meth:`compress_documents` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.compress_documents, documents, query, callbacks)


# -- messages -----------------------------------------------------------------------------------


def compress_messages(
    messages: MessagesInput | None = None,
    *,
    compressor: Compressor | None = None,
    policy: ConversationPolicy | None = None,
    plan: Sequence[str] | None = None,
    **options: Any,
) -> list[BaseMessage] | Runnable[MessagesInput, list[BaseMessage]]:
    """Compress a list of messages, or make a Runnable that does (with ``messages=None``).

    Long tool results of earlier turns and long documents in user messages are cut to
    ``rate`` of their tokens by the agent-state compressor; system messages, tool calls and
    the message order never change, so a valid list stays valid. As a chain step the
    latest human message is compressed too (``keep_latest_user=False``): its first and last
    paragraphs (the instruction and the question) stay verbatim and steer what the middle
    keeps.

    Args:
        messages: Messages, message-like values (``("user", "hi")``, dicts) or a prompt
            value; ``None`` returns a Runnable that takes them.
        compressor: A compressor to use instead of building the agent compressor from options.
        policy: What may change (default: the agent compressor's ``policy``).
        plan: The agent's remaining steps, when it does not write them in its messages.
        **options: :class:`~contextzip.compressors.agent.AgentCompressor` options: ``rate``
            (default 0.25), ``min_tokens``, ``keep_last_turns``, ``keep_latest_user``
            (default ``False`` here), ``next_steps``, ``horizon``, ``threshold_tokens``,
            ``relevance``, ``model``, ``prose``, ``encoding``.

    Returns:
        The compressed messages, or a Runnable returning them.

    Example:
        >>> from langchain_core.language_models.fake_chat_models import ParrotFakeChatModel
        >>> chain = compress_messages(rate=0.2, relevance="lexical") | ParrotFakeChatModel()
        >>> chain.invoke([("user", "hello")]).content
        'hello'
    """
    step = _ConversationStep.build(compressor, policy, {"keep_latest_user": False, **options}, bool(options))
    if messages is None:
        return RunnableLambda(lambda m: step.compress(m, plan).messages, name="compress_messages")
    return step.compress(messages, plan).messages


@dataclass(frozen=True)
class _ConversationStep:
    """A compressor, the policy of what it may change and the budget, for one integration."""

    compressor: Compressor
    policy: ConversationPolicy
    budget: Budget

    @classmethod
    def build(
        cls,
        compressor: Compressor | None,
        policy: ConversationPolicy | None,
        options: dict[str, Any],
        given: bool,
    ) -> _ConversationStep:
        if compressor is not None and given:
            raise ConfigurationError("options apply only without compressor; configure the instance instead")
        compressor = compressor or get_compressor(DEFAULTS["conversation"].method, **options)
        # the agent compressor carries its conversation options: its policy and rate
        policy = policy or getattr(compressor, "policy", None) or ConversationPolicy()
        return cls(
            compressor, policy, Budget(rate=getattr(compressor, "rate", DEFAULTS["conversation"].rate))
        )

    def compress(self, messages: MessagesInput, plan: Sequence[str] | None) -> ConversationResult:
        as_list = (
            messages.to_messages() if isinstance(messages, PromptValue) else convert_to_messages(messages)
        )
        query = "\n".join(plan) if plan is not None else None
        return compress_conversation(
            as_list, self.compressor, self.policy, budget=self.budget, query=query, shape="langchain"
        )


# -- agent middleware -------------------------------------------------------------------------------


def _middleware_base() -> type:
    try:
        from langchain.agents.middleware import AgentMiddleware
    except ImportError:  # langchain-core alone: the class exists, using it says what to install
        return object
    return AgentMiddleware


class ContextZipMiddleware(_middleware_base()):  # type: ignore[misc]
    """Compress what each model call of a LangChain v1 agent sees.

    The agent's state keeps the original messages; each model call gets a compressed copy
    (old tool results cut to ``rate``, the last turns, the task, system prompt and every
    tool call unchanged). With the default ``horizon="next"`` a result compresses to the
    same bytes on every later call, so a provider's prompt cache keeps hitting. The plan
    comes from the agent's ``todos`` (``TodoListMiddleware``) when there are any, else from
    its messages. A compression that fails is logged and the call goes on uncompressed.

    Args:
        compressor: A compressor to use instead of building the agent compressor from options.
        policy: What may change (default: the agent compressor's ``policy``).
        **options: :class:`~contextzip.compressors.agent.AgentCompressor` options (``rate``,
            ``keep_last_turns``, ...).

    Example:
        >>> from langchain.agents import create_agent  # doctest: +SKIP
        >>> agent = create_agent(model, tools, middleware=[ContextZipMiddleware(rate=0.2)])  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        compressor: Compressor | None = None,
        policy: ConversationPolicy | None = None,
        **options: Any,
    ) -> None:
        if _middleware_base() is object:
            raise missing_extra("langchain", "langchain")
        super().__init__()
        self.step = _ConversationStep.build(compressor, policy, options, bool(options))
        self.last_result: ConversationResult | None = None

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Call the model with the compressed messages."""
        return handler(self._compressed_request(request))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        """Call the model with the compressed messages, compressing in a worker thread."""
        return await handler(await asyncio.to_thread(self._compressed_request, request))

    def _compressed_request(self, request: ModelRequest) -> ModelRequest:
        if not request.messages:
            return request
        try:
            result = self.step.compress(request.messages, _todo_plan(request.state))
        except Exception as exc:  # fail open: the agent goes on with what it had
            logger.warning("contextzip left the model call uncompressed: %s: %s", type(exc).__name__, exc)
            return request
        self.last_result = result
        if not result.compressed:
            return request
        return request.override(messages=result.messages)


def _todo_plan(state: Any) -> list[str] | None:
    """The pending steps of ``TodoListMiddleware``'s todo list, in order (``None``: no list)."""
    todos: Iterable[Any] = (state.get("todos") or []) if isinstance(state, dict) else []
    steps = [
        str(todo.get("content", ""))
        for todo in todos
        if isinstance(todo, dict) and todo.get("status") in ("pending", "in_progress")
    ]
    return steps or None
