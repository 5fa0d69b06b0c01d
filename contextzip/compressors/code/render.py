"""Writing kept code back out: elision markers in the file's comment syntax, and a parse check."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from contextzip.compressors.code.chunks import CodeFile
from contextzip.compressors.code.languages import LANGUAGES, syntax_errors

if TYPE_CHECKING:
    import numpy as np

__all__ = ["check_valid", "render"]

# -- rendering -------------------------------------------------------------------------------


def render(code: CodeFile, kept: np.ndarray) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The kept lines of ``code`` with one marker line per dropped run, and the kept spans.

    A dropped run that is a whole chunk becomes a comment naming it; inside a function, in
    Python, the marker is an ``...`` statement so the body stays valid.
    """
    comment = LANGUAGES[code.language].comment if code.language in LANGUAGES else "#"
    owner = {line: index for index, chunk in enumerate(code.chunks) for line in chunk.lines}
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    offsets = [0]
    for source_line in code.lines:
        offsets.append(offsets[-1] + len(source_line))
    line = 0
    count = len(code.lines)
    while line < count:
        if kept[line]:
            start = line
            while line < count and kept[line]:
                line += 1
            out.extend(code.lines[start:line])
            spans.append((offsets[start], offsets[line]))
            continue
        start = line
        while line < count and not kept[line]:
            line += 1
        # the rest of a function's body and the whole chunks after it get markers of their own
        first_lines = {c.lines[0] for c in code.chunks}
        cut = next((n for n in range(start + 1, line) if n in first_lines), line)
        out.append(_marker(code, start, cut, owner, comment))
        if cut < line:
            out.append(_marker(code, cut, line, owner, comment))
    text = "".join(part for part in out if part)
    if code.language == "python" and not parses(text):
        text = _python_fill_empty_bodies(text)
    return text, tuple(spans)


def _marker(code: CodeFile, start: int, end: int, owner: dict[int, int], comment: str) -> str:
    dropped = [code.lines[i] for i in range(start, end)]
    if not any(line.strip() for line in dropped):
        return "".join(dropped[:1]) if len(dropped) and start > 0 else ""
    first = next(line for line in dropped if line.strip())
    indent = first[: len(first) - len(first.lstrip())]
    chunk = code.chunks[owner[start]] if start in owner else None
    lines = sum(1 for line in dropped if line.strip())
    inside_body = chunk is not None and chunk.is_function and start >= (chunk.body_start or start + 1)
    names = sorted({code.chunks[owner[i]].name or "" for i in range(start, end) if i in owner} - {""})
    what = f": {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" if names and not inside_body else ""
    note = f"{comment} {lines} line{'s' if lines != 1 else ''} elided{what}"
    if inside_body and code.language == "python":
        return f"{indent}...  {note}\n"
    return f"{indent}{note}\n"


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _python_fill_empty_bodies(text: str) -> str:
    """Add ``...`` after a block header (``class K:``) whose whole body was elided."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(line)
        stripped = line.rstrip()
        if not stripped.endswith(":") or stripped.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        following = [n for n in lines[number + 1 :] if n.strip() and not n.lstrip().startswith("#")]
        if not following or len(following[0]) - len(following[0].lstrip()) <= indent:
            out.append(" " * (indent + 4) + "...\n")
    return "".join(out)


def check_valid(code: CodeFile, text: str) -> bool:
    """The compressed ``text`` is as valid as the original: Python parses; others have no new error nodes."""
    if code.language == "python":
        return parses(text) or not parses(code.text)
    if code.language in LANGUAGES:
        return syntax_errors(text, code.language) <= syntax_errors(code.text, code.language)
    return True
