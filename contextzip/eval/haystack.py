"""Haystacks for the synthetic tasks: real English paragraphs, offline.

The default haystack is prose from the docstrings of standard-library modules; callers
may pass their own paragraphs (SQuAD contexts, say), which are cleaned the same way.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Sequence

from contextzip.errors import ConfigurationError

__all__ = ["default_haystack", "haystack_paragraphs"]

# Modules whose docstrings make the default haystack: plain prose, present in Python 3.10+.
_HAYSTACK_MODULES: tuple[str, ...] = (
    "argparse", "ast", "cmd", "codeop", "colorsys", "configparser", "copy", "csv", "dbm", "difflib",
    "doctest", "fileinput", "gc", "getopt", "hashlib", "heapq", "inspect", "io", "json", "marshal",
    "mimetypes", "pdb", "pyclbr", "random", "re", "rlcompleter", "sched", "shelve", "socketserver", "ssl",
    "statistics", "subprocess", "sys", "tempfile", "time", "timeit", "tokenize", "typing", "unittest",
    "zipimport",
)  # fmt: skip
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?[.,;:!?)]?")


def _is_prose(paragraph: str) -> bool:
    words = paragraph.split()
    plain = sum(1 for w in words if _PLAIN_WORD.fullmatch(w))
    return len(words) >= 8 and ">>>" not in paragraph and plain >= 0.7 * len(words)


@functools.cache
def default_haystack() -> tuple[str, ...]:
    """Real English paragraphs from the docstrings of 40 standard-library modules, offline.

    Paragraphs (split at blank lines, whitespace collapsed) of at least 8 words, with no
    ``>>>`` and mostly plain words, in a fixed module order; about 14,000 tokens, which
    :func:`make_sample` cycles through for longer contexts. The same on every run of a
    given Python version; a module that cannot be imported is skipped.

    Example:
        >>> paragraphs = default_haystack()
        >>> len(paragraphs) > 100 and all(len(p.split()) >= 8 for p in paragraphs)
        True
    """
    paragraphs: list[str] = []
    for name in _HAYSTACK_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # e.g. ssl on a build without OpenSSL
            continue
        for block in (inspect.getdoc(module) or "").split("\n\n"):
            paragraph = " ".join(block.split())
            if _is_prose(paragraph):
                paragraphs.append(paragraph)
    return tuple(paragraphs)


def haystack_paragraphs(haystack: Sequence[str] | None) -> tuple[str, ...]:
    """The cleaned, de-duplicated paragraphs of ``haystack`` (the default one for ``None``).

    Example:
        >>> haystack_paragraphs(["One  two   three.", "One two three."])
        ('One two three.',)
    """
    if haystack is None:
        return default_haystack()
    if isinstance(haystack, str):
        raise ConfigurationError("haystack must be a sequence of paragraphs, not one string; split it first")
    paragraphs = tuple(dict.fromkeys(" ".join(p.split()) for p in haystack if p and not p.isspace()))
    if not paragraphs:
        raise ConfigurationError(
            "haystack has no non-empty paragraph; pass real text, or None for the default"
        )
    return paragraphs
