"""``proxy-traffic`` questions about Python modules: their source, their pydoc page, a run's log.

Each finder yields :class:`~contextzip.eval.traffic_found.Found` records in a fixed order (see
:mod:`contextzip.eval.traffic`):

* :func:`sources`: a module of the standard library or an installed package; the default of
  a named function's (or class's) parameter, a number or a string, read with :mod:`ast`;
* :func:`pages`: the page :mod:`pydoc` writes for a standard-library module; a numeric
  constant's value or a numeric default as every signature on the page shows it;
* :func:`logs`: ``python -X importtime`` of a few standard-library packages, then a failing
  standard-library call's traceback; its message, the function that raised, or the module
  imported just before a named one.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple

from contextzip.eval.traffic_found import PYTHON, Found, blank_line_cuts

__all__ = ["Default", "defaults", "logs", "pages", "sources"]


# modules whose defaults the source shape asks about (standard library and installed packages,
# in turn), and those the html shape documents; one missing where the evaluation runs is skipped
_SOURCE_MODULES = (
    "textwrap", "uvicorn.config", "difflib", "httpx._config", "ftplib", "starlette.staticfiles",
    "fractions", "tqdm.std", "email.utils", "rich.progress", "http.server", "fastapi.applications",
    "imaplib", "click.termui", "tempfile", "jinja2.environment", "argparse", "logging.handlers",
    "socketserver",
)  # fmt: skip
_PAGE_MODULES = (
    "zipfile", "calendar", "lzma", "bz2", "configparser", "cmd", "zlib", "xmlrpc.client", "locale",
    "difflib", "stat", "tarfile", "tempfile", "dbm", "decimal", "ssl", "sqlite3", "gzip",
)  # fmt: skip


def _version(module: str) -> tuple[str, str]:
    """``(source, version)``: the distribution and version a module comes from, or the Python version."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return f"{module} (Python {PYTHON})", PYTHON
    try:  # most distributions are named as their package; looking up all of them is slow
        name = importlib.metadata.metadata(top)["Name"]
    except importlib.metadata.PackageNotFoundError:
        name = (importlib.metadata.packages_distributions().get(top) or [top])[0]
    version = importlib.metadata.version(name)
    return f"{name} {version}", version


def _module_text(module: str) -> str | None:
    try:
        spec = importlib.util.find_spec(module)
    except ImportError:
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def _literal(node: ast.expr) -> int | float | str | None:
    """A default worth asking about: a number but -1, 0, 1 or 2, or a short string holding a word."""
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return None
    value = node.value
    if isinstance(value, int) and value not in (-1, 0, 1, 2):
        return value
    if isinstance(value, float) and value not in (0.0, 1.0):
        return value
    if isinstance(value, str) and len(value) <= 40 and value.isprintable() and re.search(r"[^\W_]{2}", value):
        return value if "'" not in value else None
    return None


class Default(NamedTuple):
    """A parameter's literal default: ``name`` is the function's, or the class's for ``__init__``."""

    name: str
    parameter: str
    value: int | float | str
    written: str  # a number as the source spells it, a string without its quotes
    first: int  # the line (0-based) of the ``def`` or ``class`` the question names
    last: int  # the line of the default


def _named(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef, int]]:
    """Public functions and methods by name, and classes' ``__init__`` by the class name, with their line."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            counts[node.name] = counts.get(node.name, 0) + 1
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and counts[node.name] == 1:
            yield node.name, node, min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and counts[node.name] == 1:
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name == "__init__":
                    yield node.name, method, min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1


def defaults(text: str) -> list[Default]:
    """The literal defaults worth asking about in a module's source, in line order.

    Only for names defined once in ``text`` (the question names the function or class).
    """
    found = []
    lines = text.splitlines()
    for name, function, first in _named(ast.parse(text)):
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        pairs = [
            *zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True),
            *(
                (a, d)
                for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
                if d is not None
            ),
        ]
        for argument, default in pairs:
            value = _literal(default)
            if value is None:
                continue
            last = (default.end_lineno or default.lineno) - 1
            # a number as written (0o777, 1e6); ast's offsets count UTF-8 bytes
            spelled = lines[last].encode()[default.col_offset : default.end_col_offset].decode()
            written = (
                value if isinstance(value, str) else spelled if last == default.lineno - 1 else repr(value)
            )
            found.append(Default(name, argument.arg, value, written, first, last))
    return sorted(found, key=lambda d: (d.first, d.last))


def sources() -> Iterator[Found]:
    """Per module, its defaults from the rarest in the file (one sample per module)."""
    for module in _SOURCE_MODULES:
        text = _module_text(module)
        if text is None:
            continue
        source, version = _version(module)
        for default in sorted(defaults(text), key=lambda d: text.count(d.written)):
            yield Found(
                f"What is the default value of the `{default.parameter}` parameter of `{default.name}`?",
                (default.written,), text, source, (default.first, default.last), blank_line_cuts,
                {"module": module, "version": version, "function": default.name,
                 "parameter": default.parameter},
                group=module,
            )  # fmt: skip


_PAGE_SCRIPT = (
    "import importlib, pydoc, sys; m = importlib.import_module(sys.argv[1]); "
    "sys.stdout.write(pydoc.html.page(pydoc.describe(m), pydoc.html.document(m, sys.argv[1])))"
)


def _page(module: str) -> str | None:
    """The page pydoc writes for ``module`` in a fresh interpreter, or ``None`` where it cannot.

    A fresh one: a page shows module state (``tempfile.tempdir`` is set once anything asked for
    the temporary directory), so one rendered in a busy process differs from one rendered alone.
    """
    return _fresh_run(_PAGE_SCRIPT, module, stream="stdout", suffix=".html")


def _constant_question(module: str, page: str) -> tuple[str, str, int] | None:
    """A numeric constant of the page's Data section, named once and its value rare on the page."""
    shown = [
        m for m in re.finditer(r"<strong>(\w+)</strong> = (-?\d[\d.]+)<br>", page)
        if page.count(f">{m.group(1)}<") == 1 and page.count(m.group(2)) <= 3
    ]  # fmt: skip
    if not shown:
        return None
    m = shown[len(shown) // 2]
    return f"What is the value of `{m.group(1)}` in `{module}`?", m.group(2), m.start()


def _default_question(module: str, page: str) -> tuple[str, str, int] | None:
    """A numeric default that every signature of its function (or class) on the page shows."""
    numeric = [d for d in defaults(_module_text(module) or "") if not isinstance(d.value, str)]
    for default in sorted(numeric, key=lambda d: page.count(repr(d.value))):  # the rarest value first
        name = re.escape(default.name)
        signatures = list(
            re.finditer(
                rf"(?:<strong>{name}</strong>(?:</a>)?|<a href=\"#{name}\">{name}</a>)\(([^)\n]*)\)", page
            )
        )
        shown = rf"\b{default.parameter}={re.escape(repr(default.value))}(?!\w)"
        if signatures and all(re.search(shown, s.group(1)) for s in signatures):
            asked = f"the `{default.parameter}` parameter of `{default.name}` in `{module}`"
            return f"What is the default value of {asked}?", repr(default.value), signatures[0].start()
    return None


def pages() -> Iterator[Found]:
    """pydoc pages; a constant's value and a parameter's default, every other module leading with each."""
    for index, module in enumerate(_PAGE_MODULES):
        page = _page(module) if _module_text(module) is not None else None
        if page is None:
            continue
        finders = (_constant_question, _default_question)
        for finder in finders if index % 2 == 0 else finders[::-1]:
            found = finder(module, page)
            if found is not None:
                question, answer, offset = found
                line = page.count("\n", 0, offset)
                yield Found(
                    question, (answer,), page, f"pydoc {module} (Python {PYTHON})", (line, line), None,
                    {"module": module, "version": PYTHON}, group=module,
                )  # fmt: skip


_FAILURES = (
    ("json", "import json; json.loads('{\"a\": 1,}')"),
    ("tomllib", "import tomllib; tomllib.loads('a = ')"),
    ("ast", "import ast; ast.literal_eval('foo(')"),
    ("datetime", "import datetime; datetime.datetime.strptime('2026-13-01', '%Y-%m-%d')"),
    ("ipaddress", "import ipaddress; ipaddress.ip_address('300.1.2.3')"),
    ("fractions", "import fractions; fractions.Fraction('1/0')"),
    ("base64", "import base64; base64.b64decode('abc', validate=True)"),
    ("uuid", "import uuid; uuid.UUID('not-a-uuid')"),
    ("decimal", "import decimal; decimal.Decimal('1.2.3')"),
    ("shlex", "import shlex; shlex.split('echo \"unterminated')"),
    ("zoneinfo", "import zoneinfo; zoneinfo.ZoneInfo('Mars/Olympus_Mons')"),
    ("email", "import email.utils; email.utils.parsedate_to_datetime('not a date')"),
)
# what each run imports first (in turn), so the import logs differ
_IMPORTS = (
    "import http.server, email.mime.multipart, logging.handlers, xml.etree.ElementTree, csv, sqlite3",
    "import asyncio, unittest, argparse, pathlib",
    "import urllib.request, json, decimal, statistics, zipfile, tarfile",
)


def _run_log(script: str) -> str:
    """The stderr of ``python -X importtime`` running ``script`` (import times differ run to run)."""
    return _fresh_run(script, stream="stderr", options=("-X", "importtime"), suffix=".log") or ""


def _fresh_run(
    script: str,
    *args: str,
    stream: Literal["stdout", "stderr"],
    options: tuple[str, ...] = (),
    suffix: str,
) -> str | None:
    """What a fresh ``python -c script args`` writes to ``stream``, made once per Python, then cached.

    A kept output keeps the samples (and a reader's cached answers to them) the same across
    processes and evaluations in one environment; the run itself is as repeatable as it can
    be (hash seed 0, no user site-packages, an empty working directory). ``None`` when the run
    fails, times out, or (for stdout) exits with an error.
    """
    from contextzip.eval.files import write_text_once
    from contextzip.resources import cache_dir

    recipe = json.dumps([sys.executable, PYTHON, list(options), script, list(args)])
    path = cache_dir() / "traffic" / f"run-{hashlib.sha1(recipe.encode()).hexdigest()[:16]}{suffix}"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as empty:  # -c puts the working directory on sys.path
            done = subprocess.run(
                [sys.executable, "-s", *options, "-c", script, *args],
                capture_output=True, text=True, encoding="utf-8", timeout=60, cwd=empty,
                env={"PYTHONHASHSEED": "0", "PATH": "", "PYTHONIOENCODING": "utf-8"},
            )  # fmt: skip
    except (subprocess.TimeoutExpired, OSError):
        return None
    if stream == "stdout" and done.returncode != 0:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_once(path, done.stdout if stream == "stdout" else done.stderr)


def _log_question(log: str, kind: int, depth: float) -> tuple[str, str, tuple[int, int]] | None:
    """Kind 0: the exception message; 1: the function that raised; 2: the module imported before one.

    The module asked of kind 2 is the first fit from ``depth`` (a share of the import log) on.
    """
    lines = log.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call")), None)
    if start is None or ": " not in lines[-1]:
        return None
    exception, message = lines[-1].split(": ", 1)
    raised = re.findall(r'^\s+File ".*", line \d+, in (\w+)$', log, re.M)
    if kind == 0 and log.count(message) == 1:
        return "What error message ended this run?", message, (start, len(lines) - 1)
    if kind == 1 and raised and not raised[-1].startswith("__") and log.count(raised[-1]) == 1:
        return f"In which function was the {exception} raised?", raised[-1], (start, len(lines) - 1)
    modules = [
        (i, m.group(1)) for i, line in enumerate(lines[:start]) if (m := re.search(r"\|\s+(\S+)\s*$", line))
    ]
    names = [name for _, name in modules]
    if kind != 2 or len(modules) < 20:
        return None
    for at in range(max(1, int(len(modules) * depth)), len(modules)):
        (before_at, before), (target_at, target) = modules[at - 1], modules[at]
        if (
            names.count(target) == names.count(before) == 1
            and "." in target + before
            and log.count(before) == 1
        ):
            return (
                f"Which module finished importing just before `{target}` in this import log?",
                before,
                (before_at, target_at),
            )
    return None


def logs() -> Iterator[Found]:
    """One log per failing call, asking the three kinds of question in turn."""
    for index, (module, code) in enumerate(_FAILURES):
        script = f"{_IMPORTS[index % len(_IMPORTS)]}\n{code}"
        log = _run_log(script)
        depth = 0.3 + 0.6 * index / len(_FAILURES)
        found = _log_question(log, index % 3, depth) or _log_question(log, 0, depth)
        if found is not None:
            question, answer, keep = found
            yield Found(
                question, (answer,), log, f"{module} (Python {PYTHON})", keep, None,
                {"module": module, "version": PYTHON,
                 "command": ["python", "-X", "importtime", "-c", script]},
            )  # fmt: skip
