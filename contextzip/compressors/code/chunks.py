"""Source files as chunks a code compressor can rank: functions, methods, classes, module blocks.

Every line of a file belongs to exactly one chunk:

* ``function`` — a top-level function (with its decorators and the comments right above it);
* ``method`` — a function inside a class, impl, interface, trait, namespace or module body
  (``parent`` is the container's chunk);
* ``class`` — a container's own lines: its header, its fields, its closing brace;
* ``module`` — a run of top-level lines between definitions (imports, constants, globals).

Parsing uses tree-sitter with the grammar package of each language (``tree-sitter-python``,
``-javascript``, ``-typescript``, ``-java``, ``-go``, ``-rust``, ``-c``, ``-cpp``); the
language comes from the file's extension or is given. Other languages, and files the
grammar is not installed for, are cut by a regex fallback: a line that starts at the
file's outermost indentation with a definition keyword (``def``, ``function``, ``fn``,
``func``, ``class``, ...) opens a chunk that runs to the next such line.

Each chunk also records the identifiers it defines and the names it calls, which is
what dependency closure needs (:func:`call_graph`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contextzip.compressors.code.languages import LANGUAGES, LanguageSpec, language_for, tree_parser

__all__ = ["Chunk", "CodeFile", "call_graph", "parse_code"]

#: Arrow functions and function expressions bound to a name count as functions.
_BOUND_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function"})

_BODY_TYPES = frozenset(
    {"class_body", "declaration_list", "interface_body", "enum_body", "block", "field_declaration_list"}
)

_IDENTIFIERS = frozenset({"identifier", "field_identifier", "property_identifier", "type_identifier"})

_REGEX_DEFINITION = re.compile(
    r"^(?:(?:export|public|private|protected|static|async|pub|abstract|final|def|override)\s+)*"
    r"(?:def|class|function|fn|func|fun|sub|proc|module|interface|struct|impl|trait|procedure)\b\s*([\w$.]*)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Chunk:
    """One rankable piece of a file.

    Attributes:
        kind: ``"function"``, ``"method"``, ``"class"`` or ``"module"``.
        name: The defined name (``None`` for module blocks).
        lines: The file's line indices this chunk owns, ascending.
        header_lines: Lines of the signature (up to where the body starts), for functions.
        body_start: First line of a function's body (``None`` when the body starts on the
            header's line or there is none).
        parent: Index of the enclosing container's chunk, or ``None``.
        calls: Names this chunk calls (the last part of a dotted call).
        identifiers: Every identifier it mentions.
        statements: For functions, the line ranges ``[start, end)`` of the body's
            top-level statements: where blocks may begin and end without breaking syntax.
        definition_line: For functions, the first line of the definition itself
            (decorators included, comments above it not).
    """

    kind: str
    name: str | None
    lines: tuple[int, ...]
    header_lines: tuple[int, ...] = ()
    body_start: int | None = None
    parent: int | None = None
    calls: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()
    statements: tuple[tuple[int, int], ...] = ()
    definition_line: int | None = None

    @property
    def is_function(self) -> bool:
        return self.kind in ("function", "method")


@dataclass(frozen=True)
class CodeFile:
    """A parsed file: its text as lines (line ends kept), its language and its chunks."""

    text: str
    language: str
    lines: tuple[str, ...]
    chunks: tuple[Chunk, ...]
    parsed: bool = True  # False: the regex fallback cut it
    line_starts: tuple[int, ...] = field(default=(), repr=False)

    def chunk_text(self, index: int) -> str:
        return "".join(self.lines[i] for i in self.chunks[index].lines)

    def definitions(self) -> dict[str, list[int]]:
        """Chunk indices by the name they define."""
        found: dict[str, list[int]] = {}
        for index, chunk in enumerate(self.chunks):
            if chunk.name:
                found.setdefault(chunk.name, []).append(index)
        return found


def parse_code(text: str, *, path: str | None = None, language: str | None = None) -> CodeFile:
    """Cut ``text`` into chunks (tree-sitter when the language's grammar is installed)."""
    name = language_for(path, language)
    lines = tuple(text.splitlines(keepends=True))
    parser = tree_parser(name) if name else None
    if name is None or parser is None:
        return CodeFile(text, name or "text", lines, _regex_chunks(text, lines), parsed=False)
    source = text.encode("utf-8")
    tree = parser.parse(source)
    builder = _ChunkBuilder(LANGUAGES[name], source, len(lines))
    builder.visit_top(tree.root_node)
    return CodeFile(text, name, lines, builder.finish())


def call_graph(code: CodeFile) -> dict[int, set[int]]:
    """For each chunk, the chunks defining a name it calls (calls to itself left out)."""
    definitions = code.definitions()
    graph: dict[int, set[int]] = {}
    for index, chunk in enumerate(code.chunks):
        graph[index] = {d for name in chunk.calls for d in definitions.get(name, ()) if d != index}
    return graph


class _ChunkBuilder:
    """Assigns each line to a chunk while walking the tree from the top."""

    def __init__(self, spec: LanguageSpec, source: bytes, line_count: int) -> None:
        self.spec = spec
        self.source = source
        self.owner: list[int | None] = [None] * line_count
        self.chunks: list[dict[str, Any]] = []

    def visit_top(self, root: Any) -> None:
        self._members(root.named_children, parent=None)

    def _members(self, nodes: Sequence[Any], parent: int | None) -> None:
        pending_comments: list[Any] = []
        for node in nodes:
            if node.type in self.spec.comment_types:
                pending_comments.append(node)
                continue
            definition, inner = self._definition(node)
            if definition is None:
                pending_comments = []
                continue
            first = self._leading_start(node, pending_comments)
            pending_comments = []
            if definition == "container":
                self._container(node, inner, first, parent)
            else:
                self._function(node, inner, first, parent)

    def _definition(self, node: Any) -> tuple[str | None, Any]:
        """``("function" | "container" | None, the definition node inside wrappers)``."""
        inner = node
        while inner.type in self.spec.wrappers:
            named = [c for c in inner.named_children if c.type not in self.spec.comment_types]
            candidates = [c for c in named if self._definition(c)[0] is not None]
            if not candidates:
                return None, node
            inner = candidates[-1]
        if inner.type in self.spec.functions:
            return "function", inner
        if inner.type in self.spec.containers:
            return "container", inner
        if inner.type in ("lexical_declaration", "variable_declaration"):
            declarators = [c for c in inner.named_children if c.type == "variable_declarator"]
            value = declarators[0].child_by_field_name("value") if len(declarators) == 1 else None
            if value is not None and value.type in _BOUND_FUNCTIONS:
                return "function", inner
        return None, node

    def _leading_start(self, node: Any, comments: list[Any]) -> int:
        """The first line of ``node``, moved up over comments directly above it."""
        first = node.start_point[0]
        for comment in reversed(comments):
            if comment.end_point[0] >= first - 1:
                first = comment.start_point[0]
            else:
                break
        return first

    def _claim(self, start: int, end: int, chunk: int) -> None:
        """Give lines ``start..end`` to ``chunk``; a member takes its lines from its container."""
        for line in range(start, min(end + 1, len(self.owner))):
            owner = self.owner[line]
            if owner is None or self.chunks[owner]["kind"] == "class":
                self.owner[line] = chunk

    def _function(self, node: Any, inner: Any, first: int, parent: int | None) -> None:
        index = len(self.chunks)
        body = self._body(inner)
        children = body.named_children if body is not None else []
        statements = tuple((c.start_point[0], c.end_point[0] + 1) for c in children)
        # the body starts on its own line when its first statement is below the signature
        body_start = statements[0][0] if statements and statements[0][0] > inner.start_point[0] else None
        header_end = body_start - 1 if body_start is not None else inner.start_point[0]
        self.chunks.append({
            "kind": "method" if parent is not None else "function", "name": self._name(inner),
            "header": tuple(range(first, header_end + 1)), "body_start": body_start,
            "parent": parent, "node": node, "statements": statements,
            "definition_line": node.start_point[0],
        })  # fmt: skip
        self._claim(first, node.end_point[0], index)

    def _container(self, node: Any, inner: Any, first: int, parent: int | None) -> None:
        index = len(self.chunks)
        self.chunks.append({"kind": "class", "name": self._name(inner), "parent": parent, "node": node,
                            "header": (), "body_start": None, "statements": (),
                            "definition_line": None})  # fmt: skip
        self._claim(first, node.end_point[0], index)
        body = self._body(inner)
        if body is not None:
            self._members(body.named_children, parent=index)

    def _body(self, node: Any) -> Any | None:
        body = node.child_by_field_name("body")
        if body is None and node.type in ("lexical_declaration", "variable_declaration"):
            declarator = next(c for c in node.named_children if c.type == "variable_declarator")
            value = declarator.child_by_field_name("value")
            body = value.child_by_field_name("body") if value is not None else None
        if body is None:
            body = next((c for c in node.named_children if c.type in _BODY_TYPES), None)
        return body

    def _name(self, node: Any) -> str | None:
        target = node
        if node.type in ("lexical_declaration", "variable_declaration"):
            target = next(c for c in node.named_children if c.type == "variable_declarator")
        name = target.child_by_field_name("name")
        if name is None:
            declarator = target.child_by_field_name("declarator")
            while declarator is not None and declarator.child_by_field_name("declarator") is not None:
                declarator = declarator.child_by_field_name("declarator")
            name = declarator
        if name is None:
            return None
        text = self._text(name)
        return text.rsplit("::", 1)[-1].rsplit(".", 1)[-1] or None

    def _text(self, node: Any) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def _references(self, node: Any, skip: Sequence[Any]) -> tuple[frozenset[str], frozenset[str]]:
        """(called names, identifiers) inside ``node``, not descending into ``skip`` nodes."""
        skipped = {(n.start_byte, n.end_byte) for n in skip}
        calls: set[str] = set()
        identifiers: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if current is not node and (current.start_byte, current.end_byte) in skipped:
                continue
            if current.type in _IDENTIFIERS:
                identifiers.add(self._text(current))
            elif current.type in self.spec.calls:
                called = current.child_by_field_name("function") or current.child_by_field_name("name")
                if called is None and current.type == "macro_invocation":
                    called = current.child_by_field_name("macro")
                if called is None and current.type == "object_creation_expression":
                    called = current.child_by_field_name("type")
                if called is not None:
                    calls.add(re.split(r"::|\.|->", self._text(called))[-1].strip())
            stack.extend(current.children)
        return frozenset(c for c in calls if c), frozenset(identifiers)

    def finish(self) -> tuple[Chunk, ...]:
        # lines no definition claimed become module blocks: one per consecutive run
        module_runs: list[list[int]] = []
        for line, owner in enumerate(self.owner):
            if owner is None:
                if module_runs and module_runs[-1][-1] == line - 1:
                    module_runs[-1].append(line)
                else:
                    module_runs.append([line])
        lines_of: dict[int, list[int]] = {}
        for line, owner in enumerate(self.owner):
            if owner is not None:
                lines_of.setdefault(owner, []).append(line)
        members: dict[int, list[Any]] = {}
        for record in self.chunks:
            if record["parent"] is not None:
                members.setdefault(record["parent"], []).append(record["node"])
        built: list[tuple[int, int | None, Chunk]] = []  # (first line, record index, chunk)
        for index, record in enumerate(self.chunks):
            owned = tuple(lines_of.get(index, ()))
            if not owned:
                continue
            calls, identifiers = self._references(record["node"], members.get(index, []))
            header = tuple(line for line in record["header"] if line in set(owned))
            chunk = Chunk(
                kind=record["kind"], name=record["name"], lines=owned, header_lines=header,
                body_start=record["body_start"], parent=record["parent"], calls=calls,
                identifiers=identifiers, statements=record["statements"],
                definition_line=record["definition_line"],
            )  # fmt: skip
            built.append((owned[0], index, chunk))
        text_lines = self.source.decode("utf-8", "replace").splitlines(keepends=True)
        for run in module_runs:
            identifiers = frozenset(re.findall(r"[A-Za-z_]\w*", "".join(text_lines[i] for i in run)))
            built.append(
                (run[0], None, Chunk(kind="module", name=None, lines=tuple(run), identifiers=identifiers))
            )
        built.sort(key=lambda item: item[0])
        # parents were record indices: point them at the chunks' positions in file order
        position = {record: at for at, (_, record, _) in enumerate(built) if record is not None}
        return tuple(
            _replace(chunk, parent=position.get(chunk.parent)) if chunk.parent is not None else chunk
            for _, _, chunk in built
        )


def _replace(chunk: Chunk, **changes: Any) -> Chunk:
    import dataclasses

    return dataclasses.replace(chunk, **changes)


def _regex_chunks(text: str, lines: tuple[str, ...]) -> tuple[Chunk, ...]:
    """Chunks of a file no grammar parses: a definition line at the outermost indentation opens one."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    outer = min(indents) if indents else 0
    starts: list[tuple[int, str | None]] = []
    for number, line in enumerate(lines):
        if line.strip() and len(line) - len(line.lstrip()) == outer:
            match = _REGEX_DEFINITION.match(line.lstrip())
            if match:
                starts.append((number, match.group(1).rsplit(".", 1)[-1] or None))
    chunks: list[Chunk] = []
    boundaries = [0] + [s for s, _ in starts] + [len(lines)]
    names = {s: n for s, n in starts}
    for lo, hi in zip(boundaries, boundaries[1:], strict=False):
        if hi <= lo:
            continue
        body = "".join(lines[lo:hi])
        identifiers = frozenset(re.findall(r"[A-Za-z_]\w*", body))
        calls = frozenset(re.findall(r"([A-Za-z_]\w*)\s*\(", body))
        if lo in names:
            chunks.append(Chunk("function", names[lo], tuple(range(lo, hi)), header_lines=(lo,),
                                calls=calls, identifiers=identifiers, definition_line=lo))  # fmt: skip
        else:
            chunks.append(Chunk("module", None, tuple(range(lo, hi)), identifiers=identifiers))
    return tuple(chunks)
