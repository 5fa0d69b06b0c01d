"""Logs: runs of one template collapsed, then the least relevant lines dropped; errors stay."""

from __future__ import annotations

import re
from collections.abc import Sequence

from contextzip.compressors.reducers.lines import gap_marker
from contextzip.compressors.reducers.scoring import weigh
from contextzip.compressors.relevance import Relevance
from contextzip.tokens import TokenCounter

__all__ = ["LOG_CONTEXT_MATCHES", "log_template", "reduce_log"]

_SEVERE = re.compile(
    r"(?i:\b(error|errors|fail(?:ed|ure)?|exception|traceback|fatal|panic|warn(?:ing)?|critical)\b)"
    # an exception line: json.decoder.JSONDecodeError: ..., decimal.InvalidOperation: ... (a
    # traceback's last line names the exception, not "error")
    r"|^[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Operation|Syntax)\b:?"
    r"|^[A-Za-z_][\w.]*\.[A-Z][a-z]\w*: ",
    re.M,
)
#: The most relevant log lines that keep their neighbours (one line each side).
LOG_CONTEXT_MATCHES = 3

_VARIABLE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # uuids
    r"|\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b"  # hex ids
    r"|\d+(?:[.:,/-]\d+)*",  # numbers, times, dates, versions
    re.I,
)


def log_template(line: str) -> str:
    """The line with its variable parts (numbers, ids, times) replaced by ``<*>``.

    Example:
        >>> log_template("2026-11-24 10:01:02 GET /item/42 took 13ms")
        '<*> <*> GET /item/<*> took <*>ms'
    """
    return _VARIABLE.sub("<*>", line)


def reduce_log(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
) -> str:
    """``text`` (log lines) collapsed by template and pruned by relevance to fit ``budget``.

    Runs of three or more consecutive lines with one template keep their first and last line
    with ``… N similar lines`` between them. If that is not enough, the least relevant lines
    go (ties: the older first), each dropped run leaving ``… N lines``; error, warning and
    traceback lines, and lines holding a string from ``keep``, stay. With a ``relevance``,
    the :data:`LOG_CONTEXT_MATCHES` best lines are taken first with a line each side.

    Example:
        >>> log = "\\n".join([f"GET /item/{i} 200" for i in range(50)] + ["ERROR disk full"])
        >>> print(reduce_log(log, budget=40))
        GET /item/0 200
        … 48 similar lines
        GET /item/49 200
        ERROR disk full
    """
    import numpy as np

    counter = counter or TokenCounter()
    lines = text.splitlines()
    if counter.count_remembered(text) <= budget or len(lines) < 2:
        return text
    entries = _collapse_runs(lines)
    collapsed = "\n".join(e for e, _ in entries)
    if counter.count(collapsed) <= budget:
        return collapsed
    sources = [n for _, n in entries if n >= 0]
    scores, held = weigh([lines[n] for n in sources], relevance, keep)
    severe = held | np.array([bool(_SEVERE.search(lines[n])) for n in sources], dtype=bool)
    costs = np.array([counter.count(lines[n]) + 1 for n in sources], dtype=np.float64)
    room = budget - float(costs[severe].sum())
    order = np.lexsort((-np.array(sources), -scores))  # best first; among equals the newest
    kept_lines = set(np.array(sources)[severe].tolist())
    # the best matches come with the lines around them first (grep -C1): what precedes or
    # follows a matching line is often what explains it
    best = [i for i in order.tolist() if not severe[i]][:LOG_CONTEXT_MATCHES] if relevance else []
    first = [n for i in best for n in (i, i - 1, i + 1) if 0 <= n < len(sources)]
    for index in [*first, *order.tolist()]:
        if sources[index] not in kept_lines and costs[index] + 2 <= room:  # a marker may be needed
            kept_lines.add(sources[index])
            room -= costs[index]
    return "\n".join(_with_gap_markers(entries, kept_lines))


def _collapse_runs(lines: list[str]) -> list[tuple[str, int]]:
    """``(text, source line)`` entries; a run of 3+ lines of one template keeps its ends and a count (-1)."""
    templates = [log_template(line) for line in lines]
    entries: list[tuple[str, int]] = []
    start = 0
    while start < len(lines):
        end = start
        while end + 1 < len(lines) and templates[end + 1] == templates[start]:
            end += 1
        if end - start >= 2:
            entries += [(lines[start], start), (f"… {end - start - 1} similar lines", -1), (lines[end], end)]
        else:
            entries += [(lines[n], n) for n in range(start, end + 1)]
        start = end + 1
    return entries


def _with_gap_markers(entries: list[tuple[str, int]], kept: set[int]) -> list[str]:
    """The kept entries, each run of dropped ones (markers included) replaced by ``… N lines``."""
    out: list[str] = []
    gap = 0
    for entry, source in entries:
        if source >= 0 and source in kept:
            if gap:
                out.append(gap_marker(gap))
                gap = 0
            out.append(entry)
        else:
            gap += 1 if source >= 0 else int(entry.split()[1])
    if gap:
        out.append(gap_marker(gap))
    return out
