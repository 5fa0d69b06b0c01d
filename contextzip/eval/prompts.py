"""The chat both answering readers send, and how a reply becomes an answer."""

from __future__ import annotations

__all__ = ["SYSTEM_PROMPT", "TRUNCATION_MARK", "USER_PROMPT", "first_line", "messages"]

#: The system message both answering readers send.
SYSTEM_PROMPT = (
    "You answer questions about a context. Reply with only the answer: the few words from the "
    "context that answer the question. Do not write a full sentence."
)
#: The user message; ``{context}`` and ``{question}`` are filled in.
USER_PROMPT = "Context:\n{context}\n\nQuestion: {question}\nAnswer:"
#: What stands where the middle of a context too long for the local model was cut.
TRUNCATION_MARK = "\n[...]\n"


def messages(question: str, context: str) -> list[dict[str, str]]:
    user = USER_PROMPT.format(context=context, question=question)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def first_line(text: str) -> str:
    """The first non-empty line of a reply, stripped; a code fence line does not count.

    Example:
        >>> first_line("```bash\\npip install httpx\\n```")
        'pip install httpx'
    """
    lines = [line.strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith(("```", "~~~"))]
    return lines[0] if lines else ""
