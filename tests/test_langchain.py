"""The LangChain integration with real langchain-core (and langchain v1 agent) objects."""

from __future__ import annotations

import asyncio
import json
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel, ParrotFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool

from contextzip.compressors.agent import AgentCompressor
from contextzip.errors import ConfigurationError
from contextzip.eval.datasets import load_dataset
from contextzip.eval.types import QASample
from contextzip.integrations.langchain import (
    ContextZipDocumentCompressor,
    ContextZipMiddleware,
    compress_messages,
)
from contextzip.messages import check_conversation


def sample() -> QASample:
    """A SQuAD question with its gold paragraph among distractors (the committed fixture)."""
    return load_dataset("fixture", limit=1, length=3000)[0]


class ListRetriever(BaseRetriever):
    """Returns its documents for every query, as a vector store's top-k would."""

    documents: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return list(self.documents)


class SeenMessages(BaseCallbackHandler):
    """Records what each chat model call received."""

    def __init__(self) -> None:
        self.calls: list[list[BaseMessage]] = []

    def on_chat_model_start(self, serialized: Any, messages: list[list[BaseMessage]], **kwargs: Any) -> None:
        self.calls.extend(messages)


def retriever_documents(qa: QASample) -> list[Document]:
    return [
        Document(text, metadata={"source": f"doc-{n}", "rank": n}, id=f"id-{n}")
        for n, text in enumerate(qa.documents)
    ]


# -- document compressor --------------------------------------------------------------------------


def test_document_compressor_keeps_each_documents_metadata_and_drops_the_rest() -> None:
    qa = sample()
    documents = retriever_documents(qa)
    compressor = ContextZipDocumentCompressor(method="bm25-docs", rate=0.3)
    out = compressor.compress_documents(documents, qa.question)
    assert 0 < len(out) < len(documents)
    by_id = {d.id: d for d in documents}
    for document in out:
        original = by_id[document.id]
        assert document.metadata == original.metadata
        assert document.page_content in original.page_content  # whole documents, never rewritten
    ranks = [d.metadata["rank"] for d in out]
    assert ranks == sorted(ranks)  # input order
    assert any(answer in "".join(d.page_content for d in out) for answer in qa.answers)
    assert compressor.compress_documents([], qa.question) == []


def test_document_compressor_rejects_a_bad_budget_or_method() -> None:
    with pytest.raises(ValueError, match="rate must be in"):  # pydantic's ValidationError, as LangChain's own
        ContextZipDocumentCompressor(rate=1.5)
    with pytest.raises(ConfigurationError, match="no-such"):
        ContextZipDocumentCompressor(method="no-such").compress_documents([Document("x")], "q")


@pytest.mark.slow
def test_mig_in_a_contextual_compression_retriever_sync_and_async() -> None:
    from langchain_classic.retrievers import ContextualCompressionRetriever

    qa = sample()
    documents = retriever_documents(qa)
    retriever = ContextualCompressionRetriever(
        base_compressor=ContextZipDocumentCompressor(rate=0.25),
        base_retriever=ListRetriever(documents=documents),
    )
    found = retriever.invoke(qa.question)
    assert found and sum(len(d.page_content) for d in found) < 0.5 * sum(
        len(d.page_content) for d in documents
    )
    assert any(answer in d.page_content for d in found for answer in qa.answers)
    gold = qa.meta["gold"]
    assert any(d.page_content in gold or gold in d.page_content for d in found)
    originals = {d.id: d for d in documents}
    assert all(d.metadata == originals[d.id].metadata for d in found)
    assert asyncio.run(retriever.ainvoke(qa.question)) == found  # async path, same result


# -- compress_messages ------------------------------------------------------------------------------


def rag_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [
            ("system", "Answer the question from the context. Say 'unknown' when it is not there."),
            ("human", "Use the context below.\n\n{context}\n\nQuestion: {question}"),
        ]
    )


def test_lcel_chain_sends_the_compressed_prompt_to_the_model() -> None:
    qa = sample()
    seen = SeenMessages()
    chain = rag_prompt() | compress_messages(rate=0.3, relevance="lexical") | ParrotFakeChatModel()
    inputs = {"context": "\n\n".join(qa.documents), "question": qa.question}
    reply = chain.invoke(inputs, config={"callbacks": [seen]})
    original = rag_prompt().invoke(inputs).to_messages()
    (received,) = seen.calls
    assert received[0] == original[0]  # the system message, unchanged
    human = received[1].content
    assert reply.content == human  # the parrot answers with what it was sent
    assert len(human) < 0.5 * len(original[1].content)
    assert human.startswith("Use the context below.\n\n")
    assert human.endswith(f"\n\nQuestion: {qa.question}")
    assert "[contextzip:" in human
    assert asyncio.run(chain.ainvoke(inputs)).content == human  # async, same bytes


def test_compress_messages_takes_message_likes_and_returns_messages() -> None:
    out = compress_messages([("system", "Be brief."), ("user", "hi")], relevance="lexical")
    assert out == [SystemMessage("Be brief."), HumanMessage("hi")]
    assert compress_messages([]) == []
    with pytest.raises(ConfigurationError, match="rate"):
        compress_messages(rate=3)


def tool_conversation() -> list[BaseMessage]:
    """A task, three `ls`-like calls over the real stdlib, the answer and a follow-up."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    messages: list[BaseMessage] = [
        SystemMessage("You are a code assistant. Use the tools."),
        HumanMessage("Find the module that implements the JSON encoder."),
    ]
    for n, pattern in enumerate(["encodings/*.py", "idlelib/*.py", "*/*.py"]):
        listing = "\n".join(sorted(str(p.relative_to(stdlib)) for p in stdlib.glob(pattern)))
        call = {"name": "ls", "args": {"pattern": pattern}, "id": f"call_{n}", "type": "tool_call"}
        messages += [AIMessage("", tool_calls=[call]), ToolMessage(listing, tool_call_id=f"call_{n}")]
    messages.append(AIMessage("json/encoder.py implements it."))
    messages.append(HumanMessage("Thanks. Which file holds the decoder?"))
    return messages


def test_tool_calls_system_and_order_survive_and_the_list_stays_valid() -> None:
    messages = tool_conversation()
    out = compress_messages(messages, rate=0.2, relevance="lexical", keep_last_turns=1)
    assert len(out) == len(messages)
    check_conversation(out, "langchain")
    changed = 0
    for old, new in zip(messages, out, strict=True):
        assert type(new) is type(old)
        if isinstance(old, AIMessage):
            assert new == old  # tool calls, ids and arguments untouched
        elif isinstance(old, ToolMessage):
            assert new.tool_call_id == old.tool_call_id
            changed += new.content != old.content
        else:
            assert new == old
    assert changed == 3
    # the whole-stdlib listing keeps the file the answer after it quotes
    assert "json/encoder.py" in out[7].content and len(out[7].content) < 0.3 * len(messages[7].content)


# -- agent middleware -------------------------------------------------------------------------------


class ToolCallingFakeModel(GenericFakeChatModel):
    """A scripted chat model that accepts tools, as ``create_agent`` binds them."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFakeModel:
        return self


@tool
def read_module(name: str) -> str:
    """The source of a standard-library module."""
    return (Path(sysconfig.get_paths()["stdlib"]) / f"{name.replace('.', '/')}.py").read_text()


def scripted_agent_model() -> ToolCallingFakeModel:
    calls = [
        AIMessage(
            "", tool_calls=[{"name": "read_module", "args": {"name": m}, "id": f"c{n}", "type": "tool_call"}]
        )
        for n, m in enumerate(["json.encoder", "json.decoder", "textwrap"])
    ]
    return ToolCallingFakeModel(
        messages=iter([*calls, AIMessage("JSONEncoder.encode is in json/encoder.py.")])
    )


def run_agent(
    middleware: ContextZipMiddleware, asynchronous: bool = False
) -> tuple[dict[str, Any], SeenMessages]:
    from langchain.agents import create_agent

    agent = create_agent(
        scripted_agent_model(), [read_module], system_prompt="You read code.", middleware=[middleware]
    )
    seen = SeenMessages()
    inputs = {
        "messages": [HumanMessage("Where does json encode floats? Plan:\n1. read json.encoder\n2. answer")]
    }
    config = {"callbacks": [seen]}
    result = (
        asyncio.run(agent.ainvoke(inputs, config=config))
        if asynchronous
        else agent.invoke(inputs, config=config)
    )
    return result, seen


@pytest.mark.slow
@pytest.mark.parametrize("asynchronous", [False, True])
def test_middleware_compresses_what_the_model_sees_and_leaves_the_state(asynchronous: bool) -> None:
    middleware = ContextZipMiddleware(rate=0.2, keep_last_turns=1)
    result, seen = run_agent(middleware, asynchronous)
    state = result["messages"]
    sources = [m.content for m in state if isinstance(m, ToolMessage)]
    assert len(sources) == 3 and all("[contextzip:" not in s for s in sources)  # the state is original
    last_call = seen.calls[-1]
    assert last_call[0] == SystemMessage("You read code.")
    results = [m for m in last_call if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in results] == ["c0", "c1", "c2"]
    assert "[contextzip:" in results[0].content and "[contextzip:" in results[1].content
    assert results[2].content == sources[2]  # the latest turn is kept
    assert len(results[0].content) < 0.5 * len(sources[0])
    assert "def floatstr(" in results[0].content  # where json encodes floats: what the task asks
    calls = [m.tool_calls for m in last_call if isinstance(m, AIMessage)]
    assert [c[0]["args"] for c in calls] == [
        {"name": "json.encoder"},
        {"name": "json.decoder"},
        {"name": "textwrap"},
    ]
    check_conversation(last_call, "langchain")
    assert middleware.last_result is not None and middleware.last_result.compressed == 2


def test_middleware_fails_open_when_compression_raises() -> None:
    class Broken(AgentCompressor):
        def compress(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("model file missing")

    result, seen = run_agent(ContextZipMiddleware(compressor=Broken(relevance="lexical")))
    sources = [m.content for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.content for m in seen.calls[-1] if isinstance(m, ToolMessage)] == sources
    assert result["messages"][-1].content.startswith("JSONEncoder")


def test_middleware_reads_the_plan_from_todos() -> None:
    from contextzip.integrations.langchain import _todo_plan

    todos = [
        {"content": "read json.encoder", "status": "completed"},
        {"content": "find float repr", "status": "in_progress"},
        {"content": "answer", "status": "pending"},
    ]
    assert _todo_plan({"todos": todos, "messages": []}) == ["find float repr", "answer"]
    assert _todo_plan({"messages": []}) is None


def test_options_or_an_instance_not_both() -> None:
    with pytest.raises(ConfigurationError, match="instance"):
        ContextZipMiddleware(compressor=AgentCompressor(), rate=0.2)
    with pytest.raises(ConfigurationError, match="instance"):
        compress_messages(compressor=AgentCompressor(), rate=0.2)
    assert json.loads(json.dumps(ContextZipDocumentCompressor(method="truncate").options)) == {}


@pytest.mark.slow
def test_the_example_runs_offline() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    example = ROOT / "examples" / "langchain_quickstart.py"
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "facts still there: {'4.18.2': True, 'Priya Natarajan': True}" in result.stdout
    assert "answer: Floats are encoded by floatstr" in result.stdout


def test_the_runnable_equals_the_direct_call_and_leaves_its_input_alone() -> None:
    messages = tool_conversation()
    before = [m.model_copy(deep=True) for m in messages]
    options = {"rate": 0.2, "relevance": "lexical", "keep_last_turns": 1}
    direct = compress_messages(messages, **options)
    assert compress_messages(**options).invoke(messages) == direct
    assert asyncio.run(compress_messages(**options).ainvoke(messages)) == direct
    assert messages == before
