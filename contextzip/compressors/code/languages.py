"""The languages code is parsed in: tree-sitter grammars, file extensions, syntax checks."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from contextzip.errors import ConfigurationError

__all__ = ["LANGUAGES", "LanguageSpec", "language_for", "syntax_errors", "tree_parser", "walk"]


@dataclass(frozen=True)
class LanguageSpec:
    """How one language's syntax tree is cut into chunks.

    Attributes:
        name: The language name a caller passes.
        extensions: File extensions that select it.
        grammar: ``"module:function"`` returning the tree-sitter language pointer.
        functions: Node types of function definitions.
        containers: Node types whose body holds member definitions (classes, impls, ...).
        wrappers: Node types that wrap one definition (decorators, ``export``, templates).
        calls: Node types of calls.
        comment: The line-comment prefix for elision markers.
        comment_types: Node types of comments.
    """

    name: str
    extensions: tuple[str, ...]
    grammar: str
    functions: frozenset[str]
    containers: frozenset[str]
    wrappers: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset({"call_expression"})
    comment: str = "//"
    comment_types: frozenset[str] = frozenset({"comment"})


def _spec(
    name: str,
    extensions: str,
    grammar: str,
    functions: str,
    containers: str,
    *,
    wrappers: str = "",
    calls: str = "call_expression",
    comment: str = "//",
    comment_types: str = "comment",
) -> LanguageSpec:
    words = str.split
    return LanguageSpec(
        name, tuple(words(extensions)), grammar, frozenset(words(functions)), frozenset(words(containers)),
        frozenset(words(wrappers)), frozenset(words(calls)), comment, frozenset(words(comment_types)),
    )  # fmt: skip


_JS_FUNCTIONS = "function_declaration generator_function_declaration method_definition"

LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "python",
            ".py .pyi",
            "tree_sitter_python:language",
            "function_definition",
            "class_definition",
            wrappers="decorated_definition",
            calls="call",
            comment="#",
        ),
        _spec(
            "javascript",
            ".js .mjs .cjs .jsx",
            "tree_sitter_javascript:language",
            _JS_FUNCTIONS,
            "class_declaration class",
            wrappers="export_statement",
        ),
        _spec(
            "typescript",
            ".ts .mts .cts",
            "tree_sitter_typescript:language_typescript",
            _JS_FUNCTIONS + " function_signature abstract_method_signature",
            "class_declaration abstract_class_declaration interface_declaration",
            wrappers="export_statement",
        ),
        _spec(
            "tsx",
            ".tsx",
            "tree_sitter_typescript:language_tsx",
            _JS_FUNCTIONS,
            "class_declaration abstract_class_declaration interface_declaration",
            wrappers="export_statement",
        ),
        _spec(
            "java",
            ".java",
            "tree_sitter_java:language",
            "method_declaration constructor_declaration",
            "class_declaration interface_declaration enum_declaration record_declaration",
            calls="method_invocation object_creation_expression",
            comment_types="line_comment block_comment",
        ),
        _spec("go", ".go", "tree_sitter_go:language", "function_declaration method_declaration", ""),
        _spec(
            "rust",
            ".rs",
            "tree_sitter_rust:language",
            "function_item function_signature_item",
            "impl_item trait_item mod_item",
            calls="call_expression macro_invocation",
            comment_types="line_comment block_comment",
        ),
        _spec("c", ".c .h", "tree_sitter_c:language", "function_definition", ""),
        _spec(
            "cpp",
            ".cc .cpp .cxx .hpp .hh .hxx",
            "tree_sitter_cpp:language",
            "function_definition",
            "class_specifier struct_specifier namespace_definition",
            wrappers="template_declaration",
        ),
    )  # fmt: skip
}


def language_for(path: str | None, language: str | None = None) -> str | None:
    """The language of ``path`` by extension, or ``language`` when given (checked).

    Example:
        >>> language_for("src/app.tsx"), language_for("lib.rs"), language_for("notes.txt")
        ('tsx', 'rust', None)
    """
    if language is not None:
        if language not in LANGUAGES and language != "text":
            raise ConfigurationError(
                f"unknown language {language!r}; choose one of {', '.join(sorted(LANGUAGES))} "
                "(other languages are chunked by a regex fallback when language is not given)"
            )
        return language if language in LANGUAGES else None
    if not path:
        return None
    suffix = PurePath(path).suffix.lower()
    return next((name for name, spec in LANGUAGES.items() if suffix in spec.extensions), None)


@functools.cache
def tree_parser(language: str) -> Any | None:
    """A tree-sitter parser for ``language``, or None when its grammar package is missing."""
    try:
        import tree_sitter
    except ImportError:
        return None
    module, _, attribute = LANGUAGES[language].grammar.partition(":")
    try:
        pointer = getattr(importlib.import_module(module), attribute)()
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(pointer))


def syntax_errors(text: str, language: str) -> int:
    """How many error or missing nodes tree-sitter finds in ``text`` (0 for valid code)."""
    parser = tree_parser(language) if language in LANGUAGES else None
    if parser is None:
        return 0
    root = parser.parse(text.encode("utf-8")).root_node
    if not root.has_error:
        return 0
    return sum(1 for node in walk(root) if node.is_error or node.is_missing)


def walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
