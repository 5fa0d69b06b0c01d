"""One JSONL record compressed: the function every engine runs, so every engine writes the same bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contextzip.errors import ConfigurationError
from contextzip.protocol import Compressor, get_compressor
from contextzip.types import Budget, Segment

__all__ = ["BatchJob", "compress_line"]


@dataclass(frozen=True)
class BatchJob:
    """What to do to each record: which field to compress, with what, to what budget.

    Attributes:
        method: A registered compressor name.
        rate: Share of tokens kept (or give ``target_tokens``).
        target_tokens: Tokens kept per record.
        text_field: The field holding the text.
        query_field: The field holding each record's question, if any.
        output_field: Where the compressed text goes (the original stays in ``text_field``).
        options: The compressor's constructor options.

    Example:
        >>> job = BatchJob(method="truncate", rate=0.5)
        >>> compress_line('{"id": 1, "text": "one two three four"}', job.compressor(), job)[40:]
        '"compressed": "one two", "tokens_before": 4, "tokens_after": 2}'
    """

    method: str
    rate: float | None = None
    target_tokens: int | None = None
    text_field: str = "text"
    query_field: str | None = None
    output_field: str = "compressed"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Budget(rate=self.rate, target_tokens=self.target_tokens)  # one of them, in range
        if self.output_field == self.text_field:
            raise ConfigurationError("the output field must differ from the text field: the original stays")

    @property
    def budget(self) -> Budget:
        return Budget(rate=self.rate, target_tokens=self.target_tokens)

    def compressor(self) -> Compressor:
        """A compressor for this job (each engine worker builds one and keeps it)."""
        return get_compressor(self.method, **self.options)


def compress_line(line: str, compressor: Compressor, job: BatchJob) -> str:
    """One JSONL line in, one out (no newline): the record with its compressed text and counts.

    Raises:
        ConfigurationError: The line is not a JSON object, or its text field is missing or not a string.
    """
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ConfigurationError(f"not a JSON line: {exc}: {line[:80]!r}") from None
    if not isinstance(record, dict):
        raise ConfigurationError(f"each line must be a JSON object, got {type(record).__name__}")
    text = record.get(job.text_field)
    if not isinstance(text, str):
        keys = ", ".join(sorted(record)) or "none"
        raise ConfigurationError(f"no string field {job.text_field!r} in a record (its fields: {keys}); "
                                 "name the text's field with --text-field")  # fmt: skip
    query = record.get(job.query_field) if job.query_field else None
    if query is not None and not isinstance(query, str):
        raise ConfigurationError(f"field {job.query_field!r} must be a string, got {type(query).__name__}")
    result = compressor.compress([Segment(text)], query=query, budget=job.budget)
    record[job.output_field] = result.text
    record["tokens_before"], record["tokens_after"] = result.tokens_before, result.tokens_after
    return json.dumps(record, ensure_ascii=False)
