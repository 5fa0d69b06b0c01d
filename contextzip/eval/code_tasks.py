"""``code-deps``: write a function from its module, with the module compressed.

From real Python source on the machine (the standard library by default), each sample
takes a *target* function that calls at least one other function defined in its module.
The instruction is the target's signature and docstring; the context is the rest of the
module (the target removed), as one ``code`` segment with its path. What a coding model
needs most from that context is the definitions the target calls, so the metric is
**dependency recall**: the share of those callees whose ``def`` survives compression (the
sample's ``evidence``, scored by ``presence`` as a share).

Modules of ``min_tokens`` to ``max_tokens`` tokens are used, at most ``per_module`` targets
each, in an order fixed by ``seed``; the same Python version gives the same samples.
Modules are split like SQuAD articles (:func:`~contextzip.eval.multidoc.article_split`, by a
hash of the path): tune on ``train``, report on ``dev``.
"""

from __future__ import annotations

import hashlib
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from contextzip.code_chunks import Chunk, CodeFile, call_graph, parse_code
from contextzip.errors import ConfigurationError
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["code_dependency_samples", "python_sources"]


def python_sources(root: Path | None = None) -> list[Path]:
    """The ``.py`` files of ``root`` (the standard library by default), tests and vendored code left out."""
    base = root or Path(sysconfig.get_paths()["stdlib"])
    skipped = {
        "test",
        "tests",
        "idlelib",
        "lib2to3",
        "site-packages",
        "__pycache__",
        "turtledemo",
        "ensurepip",
    }
    return sorted(
        path
        for path in base.rglob("*.py")
        if not skipped.intersection(path.relative_to(base).parts) and not path.name.startswith("test_")
    )


def code_dependency_samples(
    *,
    root: Path | None = None,
    min_tokens: int = 1500,
    max_tokens: int = 24000,
    per_module: int = 4,
    split: str = "dev",
    seed: int = 0,
    counter: TokenCounter | None = None,
) -> Iterator[QASample]:
    """Yield code-completion samples whose metric is dependency recall (see the module docs)."""
    from contextzip.eval.multidoc import SPLITS, article_split

    if split not in SPLITS:
        raise ConfigurationError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    counter = counter or TokenCounter()
    base = root or Path(sysconfig.get_paths()["stdlib"])
    files = sorted(python_sources(base), key=lambda p: _hash(f"{seed}:{p.relative_to(base)}"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not min_tokens <= counter.count(text) <= max_tokens:
            continue
        relative = path.relative_to(base).as_posix()
        if split != "all" and article_split(relative) != split:
            continue
        code = parse_code(text, path=relative)
        graph = call_graph(code)
        candidates = []
        for index, chunk in enumerate(code.chunks):
            names = (code.chunks[c].name for c in graph[index] if code.chunks[c].is_function)
            callees = sorted({name for name in names if name})
            body = len(chunk.lines) - len(chunk.header_lines)
            if chunk.is_function and chunk.name and callees and body >= 3 and chunk.body_start is not None:
                candidates.append((index, callees))
        candidates.sort(key=lambda item: _hash(f"{seed}:{relative}:{item[0]}"))
        for index, callees in candidates[:per_module]:
            yield _sample(code, relative, index, callees)


def _sample(code: CodeFile, relative: str, index: int, callees: list[str]) -> QASample:
    chunk = code.chunks[index]
    header = "".join(code.lines[i] for i in chunk.header_lines)
    docstring = _docstring(code, chunk)
    removed = set(chunk.lines)
    context = "".join(line for number, line in enumerate(code.lines) if number not in removed)
    parent = code.chunks[chunk.parent].name if chunk.parent is not None else None
    qualified = f"{parent}.{chunk.name}" if parent else chunk.name
    return QASample(
        id=f"{relative}:{qualified}",
        question=(header + docstring).rstrip("\n"),
        answers=tuple(callees),
        documents=(context,),
        dataset="code-deps",
        meta={"path": relative, "target": qualified, "callees": callees},
        evidence=tuple(f"def {name}" for name in callees),
        evidence_share=True,
        kind="code",
    )


def _docstring(code: CodeFile, chunk: Chunk) -> str:
    """The target's docstring lines (its first body statement when that is a string)."""
    if not chunk.statements:
        return ""
    start, end = chunk.statements[0]
    first = "".join(code.lines[start:end])
    return first if first.lstrip().startswith(('"""', "'''", '"', "'", 'r"""', "r'''")) else ""


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
