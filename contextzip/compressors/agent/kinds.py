"""What a tool output is (JSON, HTML, an accessibility tree, a numbered listing, code, a log, prose)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from contextzip.compressors.reducers import LINE_NUMBER
from contextzip.compressors.units import fenced_blocks

__all__ = ["CODE_PATH", "sniff_kind"]

CODE_PATH = re.compile(r"[\w./-]+\.(?:py|pyi|js|jsx|mjs|ts|tsx|java|go|rs|c|h|cc|cpp|hpp|cs|rb|php)\b")

_GREP_LINE = re.compile(r"^(?:[^\s:]+:)?\d+[:-]")

_AXTREE_ROLES = (
    "RootWebArea|WebArea|link|button|textbox|heading|StaticText|combobox|checkbox|menuitem|list|listitem|"
    "img|generic|navigation|main|region"
)

_AXTREE_LINE = re.compile(rf"^\s*(?:\[\d+\]\s+)?(?:{_AXTREE_ROLES})\b")

_HTML = re.compile(r"<(?:!doctype\s+html|html|body|div|p|table|ul|section|article)\b", re.I)

_MD_HEADING = re.compile(r"^#{1,6} \S", re.M)

_MD_MARKUP = re.compile(r"\]\(|\*\*\S|^[ \t]*[-*] \S", re.M)


def sniff_kind(text: str, call_arguments: str = "") -> str:
    """What a tool output is: ``json``, ``html``, ``axtree``, ``listing`` (numbered source lines),
    ``code``, ``log`` (lines) or ``text``.

    Markdown (a README with code fences) is ``text``, not ``log``.

    Example:
        >>> sniff_kind('{"ok": true}'), sniff_kind("def f():\\n    return 1\\n", '{"path": "f.py"}')
        ('json', 'code')
    """
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            json.loads(stripped)
            return "json"
        except json.JSONDecodeError:
            pass
    lines = [line for line in stripped.splitlines() if line.strip()]
    if _markdown(stripped):  # a README with some HTML in it is still Markdown
        return "text"
    if _HTML.search(stripped[:2000]) and stripped.count("<") >= 5:
        return "html"
    if lines and sum(bool(_AXTREE_LINE.match(line)) for line in lines) >= 0.5 * len(lines):
        return "axtree"
    if len(lines) >= 8 and sum(bool(LINE_NUMBER.match(line)) for line in lines) >= 0.5 * len(lines):
        return "listing"  # numbered source (an editor view, cat -n): a tree of def/class and statements
    grep_like = sum(bool(_GREP_LINE.match(line)) for line in lines) >= 0.5 * len(lines) if lines else False
    if CODE_PATH.search(call_arguments) and not grep_like:
        return "code"
    if _wrapped_prose(stripped, lines):
        return "text"
    if len(lines) >= 8 and sum(len(line) < 200 for line in lines) >= 0.8 * len(lines):
        return "log"
    return "text"


def _markdown(text: str) -> bool:
    """A Markdown document (a README, docs): a closed code fence, or headings with links, bold or lists.

    Its short lines are not a log's: it goes to the prose reducer, whose units keep each
    small fenced block whole (a log reducer would keep the fences and drop the commands).
    """
    if any(text[end - 3 : end] in ("```", "~~~") for _, end in fenced_blocks(text)):
        return True
    return len(_MD_HEADING.findall(text)) >= 2 and _MD_MARKUP.search(text) is not None


def _wrapped_prose(text: str, lines: Sequence[str]) -> bool:
    """Hard-wrapped prose (Markdown, READMEs): long lines of words, few symbols or digits."""
    words_per_line = sum(len(line.split()) for line in lines) / max(len(lines), 1)
    letters = sum(c.isalpha() or c == " " for c in text) / max(len(text), 1)
    return words_per_line >= 9 and letters >= 0.85
