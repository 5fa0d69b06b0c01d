"""contextzip in LangChain: a compressing retriever, a chain step and agent middleware.

Runs offline after `make install`:

    .venv/bin/python examples/langchain_quickstart.py

The chat models here are LangChain's fake ones, so the example needs no key; put your
own model (e.g. `ChatOpenAI(model="gpt-4o-mini")`) in their place.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

from langchain.agents import create_agent
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel, ParrotFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool

from contextzip import count_tokens
from contextzip.integrations.langchain import (
    ContextZipDocumentCompressor,
    ContextZipMiddleware,
    compress_messages,
)

REPORT = Path(__file__).with_name("incident_report.md").read_text(encoding="utf-8")
QUESTION = "Which library version caused the slowdown, and who was on call?"


class SectionRetriever(BaseRetriever):
    """Stands in for a vector store: every section of the incident report is a hit."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        sections = re.split(r"\n(?=## )", REPORT)
        return [Document(text, metadata={"section": n}) for n, text in enumerate(sections)]


def retriever_demo() -> None:
    print("== 1. ContextualCompressionRetriever with ContextZipDocumentCompressor (MIG)")
    retriever = ContextualCompressionRetriever(
        base_compressor=ContextZipDocumentCompressor(rate=0.3),  # MIG: relevant, not redundant
        base_retriever=SectionRetriever(),
    )
    documents = retriever.invoke(QUESTION)
    for document in documents:
        print(f"section {document.metadata['section']}: {document.page_content[:100]!r}...")
    print(f"{count_tokens(REPORT)} -> {sum(count_tokens(d.page_content) for d in documents)} tokens\n")


def chain_demo() -> None:
    print("== 2. LCEL: prompt | compress_messages(rate=0.3) | model")
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context."), ("human", "Context:\n\n{context}\n\nQuestion: {question}")]
    )
    model = ParrotFakeChatModel()  # answers with the last message it was sent: shows what the model sees
    chain = prompt | compress_messages(rate=0.3) | model
    sent = chain.invoke({"context": REPORT, "question": QUESTION}).content
    print(f"the model received {count_tokens(sent)} tokens instead of {count_tokens(REPORT)}; its end:")
    print("..." + sent[-300:])
    print(f"facts still there: { {fact: fact in sent for fact in ('4.18.2', 'Priya Natarajan')} }\n")


@tool
def read_module(name: str) -> str:
    """The source of a Python standard-library module."""
    return (Path(sysconfig.get_paths()["stdlib"]) / f"{name.replace('.', '/')}.py").read_text()


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that calls tools as scripted (a real one decides for itself)."""

    def bind_tools(self, tools: object, **kwargs: object) -> ScriptedModel:
        return self


class Seen(BaseCallbackHandler):
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def on_chat_model_start(self, serialized: object, messages: list[list], **kwargs: object) -> None:
        self.sizes.append(sum(count_tokens(str(m.content)) for m in messages[0]))


def agent_demo() -> None:
    print("== 3. A LangChain v1 agent with ContextZipMiddleware")
    calls = [
        AIMessage(
            "", tool_calls=[{"name": "read_module", "args": {"name": m}, "id": f"c{n}", "type": "tool_call"}]
        )
        for n, m in enumerate(["json.encoder", "json.decoder", "textwrap"])
    ]
    model = ScriptedModel(
        messages=iter([*calls, AIMessage("Floats are encoded by floatstr in json/encoder.py.")])
    )
    middleware = ContextZipMiddleware(rate=0.2, keep_last_turns=1)
    agent = create_agent(model, [read_module], system_prompt="You read code.", middleware=[middleware])
    seen = Seen()
    result = agent.invoke(
        {"messages": [HumanMessage("Where does json encode floats?")]}, config={"callbacks": [seen]}
    )
    originals = sum(count_tokens(m.content) for m in result["messages"] if isinstance(m, ToolMessage))
    print(f"tokens the model saw per call: {seen.sizes}")
    print(f"the agent's state still holds the originals ({originals} tokens of tool results)")
    print(f"answer: {result['messages'][-1].content}")


if __name__ == "__main__":
    retriever_demo()
    chain_demo()
    agent_demo()
