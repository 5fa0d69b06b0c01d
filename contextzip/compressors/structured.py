"""Reducers that shrink structured tool output and keep its structure.

* :func:`reduce_json` — drops the least relevant object members and array items until the
  document fits; the result is valid JSON in the original's layout (indented or compact),
  and every object or array that lost something says how much: an object gets a
  ``"…dropped": N`` member, an array a final ``"… N more items"`` string.
* :func:`reduce_log` — collapses runs of lines that differ only in numbers, ids and
  timestamps (one template) to their first and last line and a count, then drops the least
  relevant remaining lines; errors, warnings and tracebacks are kept.
* :func:`reduce_outline` — prunes indented lines (accessibility trees, ``tree`` and ``ls -R``
  listings, YAML, numbered source views) by relevance, FocusAgent-style; a kept line keeps
  the lines it is nested in (a kept statement keeps its ``def`` and ``class`` lines).
* :func:`reduce_html` — the page's block tree (HtmlRAG-style: script, style and markup gone,
  one block of visible text per line, indented by depth, link targets kept), pruned like an
  outline; a kept block keeps the heading of its section.

Relevance is a caller's function from texts to scores (higher is kept first); the default
counts query words (:func:`lexical_relevance`), so the reducers need no model.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError
from contextzip.tokens import TokenCounter

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DROPPED_KEY",
    "LINE_NUMBER",
    "LISTING_LANDMARK",
    "html_blocks",
    "lexical_relevance",
    "log_template",
    "reduce_html",
    "reduce_json",
    "reduce_log",
    "reduce_outline",
]

#: The member an object gets when some of its members were dropped.
DROPPED_KEY = "…dropped"

Relevance = Callable[[Sequence[str]], "np.ndarray"]

_WORD = re.compile(r"[A-Za-z0-9_]{2,}")
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
#: A line longer than this is not brought along as the parent (the label) of a kept line: the
#: previous, shallower block of a page can be a long paragraph, not the section the line sits in
LABEL_TOKENS = 64

_VARIABLE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # uuids
    r"|\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b"  # hex ids
    r"|\d+(?:[.:,/-]\d+)*",  # numbers, times, dates, versions
    re.I,
)


def lexical_relevance(query: str | None) -> Relevance:
    """Scores texts by the distinct query words (two or more characters) they contain, rare ones most.

    Each word counts its inverse document frequency among the ``N`` texts scored together,
    ``log((N + 1) / df)``: an identifier the question names and one line holds outweighs the
    question's common words that every line has (each of those weighs almost nothing).
    Scores are weighted sums, not word counts.

    Example:
        >>> lexical_relevance("disk quota exceeded")(["quota: 10GB", "user ok"]).round(2).tolist()
        [1.1, 0.0]
    """
    words = {w.lower() for w in _WORD.findall(query or "")}

    def score(texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        found = [words & {w.lower() for w in _WORD.findall(t)} for t in texts]
        frequency = Counter(w for held in found for w in held)
        weight = {w: math.log((len(texts) + 1) / n) for w, n in frequency.items()}
        return np.array([sum(weight[w] for w in sorted(held)) for held in found], dtype=np.float64)

    return score


def _weigh(
    texts: Sequence[str], relevance: Relevance | None, keep: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's relevance score, and whether it holds a string from ``keep`` (it must stay)."""
    import numpy as np

    scores = np.asarray((relevance or lexical_relevance(None))(texts), dtype=np.float64)
    held = np.array([any(k and k in text for k in keep) for text in texts], dtype=bool)
    return scores, held


def reduce_json(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
) -> str:
    """``text`` (a JSON document) with its least relevant members and items dropped to fit ``budget``.

    Array items (records) are dropped first, least relevant first, then object members; an
    item is scored on its path and leaves (``"path key: value ..."``), and one holding a
    string from ``keep`` (identifiers later messages use) stays. Arrays
    keep at least their first item, so their shape stays visible.

    Raises:
        ConfigurationError: ``text`` is not JSON.

    Example:
        >>> doc = '{"user": "ann", "quota": {"disk": "10GB", "mail": "2GB"}, "log": [1, 2, 3, 4, 5, 6, 7, 8]}'
        >>> reduce_json(doc, budget=25, relevance=lexical_relevance("disk quota"))
        '{"quota": {"disk": "10GB", "mail": "2GB"}, "…dropped": 2}'
    """
    import numpy as np

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"reduce_json needs a JSON document ({exc.msg} at {exc.pos})") from None
    counter = counter or TokenCounter()
    layout = _layout(text)
    items: list[tuple[tuple[Any, ...], str]] = []  # (path to a droppable item, its leaves as text)
    _collect(data, (), items)
    if not items:
        return text
    leaves = [" ".join(str(part) for part in path) + " " + text for path, text in items]
    scores, protected = _weigh(leaves, relevance, keep)
    # whole array items (records) go first, least relevant first, then object members: the
    # records that matter are trimmed only when dropping the others was not enough
    is_member = np.array([not isinstance(path[-1], int) for path, _ in items])
    order = np.lexsort((-np.arange(len(items)), scores, is_member))
    order = order[~protected[order]]
    dropped: set[tuple[Any, ...]] = set()
    current = _render(data, dropped, layout)
    for index in order.tolist():
        if counter.count(current) <= budget:
            break
        path = items[index][0]
        if any(path[: len(d)] == d for d in dropped) or _first_array_item(path):
            continue
        dropped.add(path)
        current = _render(data, dropped, layout)
    return current


def _collect(value: Any, path: tuple[Any, ...], items: list[tuple[tuple[Any, ...], str]]) -> list[str]:
    """Each member and item below ``value`` with the text of its leaves; returns ``value``'s leaves."""
    if isinstance(value, dict):
        leaves: list[str] = []
        for key, child in value.items():
            below = _collect(child, (*path, key), items)
            items.append(((*path, key), " ".join(below) or str(key)))
            leaves.extend(f"{key}: {leaf}" for leaf in below)
        return leaves
    if isinstance(value, list):
        leaves = []
        for position, child in enumerate(value):
            below = _collect(child, (*path, position), items)
            items.append(((*path, position), " ".join(below)))
            leaves.extend(below)
        return leaves
    return [json.dumps(value, ensure_ascii=False)]


def _first_array_item(path: tuple[Any, ...]) -> bool:
    return bool(path) and path[-1] == 0 and isinstance(path[-1], int) and not isinstance(path[-1], bool)


def _render(data: Any, dropped: set[tuple[Any, ...]], layout: dict[str, Any]) -> str:
    return json.dumps(_pruned(data, (), dropped), ensure_ascii=False, **layout)


def _pruned(value: Any, path: tuple[Any, ...], dropped: set[tuple[Any, ...]]) -> Any:
    if isinstance(value, dict):
        kept = {k: _pruned(v, (*path, k), dropped) for k, v in value.items() if (*path, k) not in dropped}
        if len(kept) < len(value):
            kept[DROPPED_KEY] = len(value) - len(kept)
        return kept
    if isinstance(value, list):
        kept_items = [
            _pruned(v, (*path, i), dropped) for i, v in enumerate(value) if (*path, i) not in dropped
        ]
        if len(kept_items) < len(value):
            missing = len(value) - len(kept_items)
            kept_items.append(f"… {missing} more item{'s' if missing != 1 else ''}")
        return kept_items
    return value


def _layout(text: str) -> dict[str, Any]:
    """``json.dumps`` options that reproduce the document's layout: indentation or compactness."""
    match = re.search(r"[\[{]\n([ \t]+)\S", text)
    if match:
        return {"indent": match.group(1)}
    compact = not re.search(r"[,:] ", text)
    return {"separators": (",", ":")} if compact else {}


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
    if counter.count(text) <= budget or len(lines) < 2:
        return text
    entries = _collapse_runs(lines)
    collapsed = "\n".join(e for e, _ in entries)
    if counter.count(collapsed) <= budget:
        return collapsed
    sources = [n for _, n in entries if n >= 0]
    scores, held = _weigh([lines[n] for n in sources], relevance, keep)
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
                out.append(f"… {gap} line{'s' if gap != 1 else ''}")
                gap = 0
            out.append(entry)
        else:
            gap += 1 if source >= 0 else int(entry.split()[1])
    if gap:
        out.append(f"… {gap} line{'s' if gap != 1 else ''}")
    return out


def _gap(count: int) -> str:
    return f"… {count} line{'s' if count != 1 else ''}"


def _prune_lines(
    lines: Sequence[str],
    parents: Sequence[int | None],
    scores: np.ndarray,
    must: np.ndarray,
    budget: int,
    counter: TokenCounter,
) -> str:
    """Best lines first, each with the lines it hangs from (``parents``), then gap markers."""
    import numpy as np

    costs = np.array([counter.count(line) + 1 for line in lines], dtype=np.float64)
    kept: set[int] = set()

    def with_parents(index: int) -> list[int]:
        chain = []
        at: int | None = index
        while at is not None and at not in kept:
            if at == index or costs[at] - 1 <= LABEL_TOKENS:  # a long parent is text, not a label
                chain.append(at)
            at = parents[at]
        return chain

    room = float(budget)
    for index in np.flatnonzero(must).tolist():
        chain = with_parents(index)
        kept.update(chain)
        room -= float(costs[chain].sum())
    for index in np.lexsort((np.arange(len(lines)), -scores)).tolist():
        chain = with_parents(index)
        cost = float(costs[chain].sum()) + 2  # a gap marker may be needed beside it
        if chain and cost <= room:
            kept.update(chain)
            room -= cost
    out: list[str] = []
    gap = 0
    for index, line in enumerate(lines):
        if index in kept:
            if gap:
                out.append(_gap(gap))
                gap = 0
            out.append(line)
        else:
            gap += 1
    if gap:
        out.append(_gap(gap))
    return "\n".join(out)


_NUMBERED = r"\s*\d+(?::(?!\d)|\t)"
#: A line number in front of a source line (an editor's ``open``, ``cat -n``, ``grep -n`` on one
#: file); not a clock time (``12:30``).
LINE_NUMBER = re.compile(rf"^{_NUMBERED}")
#: The map of a numbered source view: its definition lines (``1477:    def _deserialize(self):``)
#: and the unnumbered lines that frame it (``[File: fields.py (1997 lines total)]``).
LISTING_LANDMARK = re.compile(
    rf"^{_NUMBERED}\s*(?:export\s+)?(?:async\s+)?(?:def|class|function|func|fn|struct|interface)\b"
    rf"|^(?!{_NUMBERED})\s*\S"
)


def _indent_parents(lines: Sequence[str]) -> list[int | None]:
    """For each line, the nearest earlier line indented less (``None`` at the top level).

    A line number in front (``1477:    def f():``) does not count as indentation.
    """
    parents: list[int | None] = []
    stack: list[tuple[int, int]] = []  # (indent, line)
    for index, raw in enumerate(lines):
        number = LINE_NUMBER.match(raw)
        line = raw[number.end() :] if number else raw
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            parents.append(stack[-1][1] if stack else None)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents.append(stack[-1][1] if stack else None)
        stack.append((indent, index))
    return parents


def reduce_outline(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
    landmarks: re.Pattern[str] | None = None,
) -> str:
    """``text`` (indented lines: an accessibility tree, a listing, numbered source) pruned to fit ``budget``.

    The most relevant lines are kept first, each with the chain of less indented lines above
    it, so a kept ``button 'Submit'`` keeps its ``form``; lines holding a string from
    ``keep`` stay; each dropped run leaves ``… N lines``. Lines matching ``landmarks`` (in
    a numbered source view, :data:`LISTING_LANDMARK`) come before all others: the map of the rest.

    Example:
        >>> tree = "\\n".join(["RootWebArea 'Shop'", "  navigation", "    link 'Home'", "    link 'Help'",
        ...                   "  main", "    form 'Checkout'", "      textbox 'Card number'",
        ...                   "      button 'Pay now'"])
        >>> print(reduce_outline(tree, budget=34, relevance=lexical_relevance("pay with card")))
        RootWebArea 'Shop'
        … 3 lines
          main
            form 'Checkout'
              textbox 'Card number'
              button 'Pay now'
    """

    import numpy as np

    counter = counter or TokenCounter()
    lines = text.splitlines()
    if counter.count(text) <= budget or len(lines) < 2:
        return text
    scores, must = _weigh(lines, relevance, keep)
    if landmarks is not None:
        marked = np.array([bool(landmarks.match(line)) for line in lines])
        scores = scores + marked * (float(np.abs(scores).max(initial=0.0)) * 2 + 1)
    return _prune_lines(lines, _indent_parents(lines), scores, must, budget, counter)


_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol option p pre section summary table tbody "
    "td tfoot th thead title tr ul button label select textarea".split()
)
_SKIPPED_TAGS = frozenset("script style noscript svg template iframe canvas".split())
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6 title".split())


class _BlockReader(HTMLParser):
    """Collects ``(depth, tag, text)`` blocks; see :func:`html_blocks`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[tuple[int, str, str]] = []
        self.stack: list[tuple[str, list[str]]] = []  # open block tags and their text so far
        self.skipping: list[str] = []
        self.in_title = False

    def flush(self) -> None:
        if self.stack:
            tag, pieces = self.stack[-1]
            words = " ".join("".join(pieces).replace("\0", "").split())
            if words:
                depth = sum(1 for t, _ in self.stack if t not in ("html", "body")) - 1
                self.blocks.append((max(depth, 0), tag, words))
            pieces.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_title = self.in_title or tag == "title"
        if self.skipping or tag in _SKIPPED_TAGS:
            if tag not in _VOID_TAGS:
                self.skipping.append(tag)
            return
        if tag in _BLOCK_TAGS:
            self.flush()
            if tag not in _VOID_TAGS:
                self.stack.append((tag, []))
        if not self.stack:
            return
        values = dict(attrs)
        if tag == "a" and values.get("href") and not str(values["href"]).startswith(("#", "javascript:")):
            self.stack[-1][1].append(f"\0{values['href']}")  # written after the link's text
        elif tag == "img" and values.get("src"):
            self.stack[-1][1].append(f" {values.get('alt') or ''} <{values['src']}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag == "a" and self.stack:
            pieces = self.stack[-1][1]
            for at in range(len(pieces) - 1, -1, -1):
                if pieces[at].startswith("\0"):
                    pieces.append(f" <{pieces.pop(at)[1:]}>")
                    break
        if tag in _BLOCK_TAGS and any(t == tag for t, _ in self.stack):
            while self.stack:
                self.flush()
                if self.stack.pop()[0] == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.in_title and not self.stack:
            self.blocks.append((0, "title", " ".join(data.split())))
        elif not self.skipping and self.stack:
            self.stack[-1][1].append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")

    def close(self) -> None:
        super().close()
        while self.stack:
            self.flush()
            self.stack.pop()


def html_blocks(html: str) -> list[tuple[int, str, str]]:
    """The page's blocks with visible text: ``(depth, tag, text)`` in document order.

    Text is the source's own characters (entities stay as written); a link's or image's
    target follows its text as ``<href>``. ``title`` is read from the head; scripts, styles
    and the rest of the head are skipped.

    Example:
        >>> html_blocks('<div><h2>Plans</h2><p>Pro costs <b>$20</b>, <a href="/buy">buy</a></p></div>')
        [(1, 'h2', 'Plans'), (1, 'p', 'Pro costs $20, buy </buy>')]
    """
    reader = _BlockReader()
    reader.feed(html)
    reader.close()
    return [block for block in reader.blocks if block[2].strip()]


def reduce_html(
    text: str,
    *,
    budget: int,
    relevance: Relevance | None = None,
    keep: Sequence[str] = (),
    counter: TokenCounter | None = None,
) -> str:
    """``text`` (an HTML page) as its block tree, pruned by relevance to fit ``budget``.

    Each block (see :func:`html_blocks`) is one line indented by its depth; the most
    relevant blocks are kept with the blocks they sit in and the heading of their section;
    blocks holding a string from ``keep`` stay; dropped runs leave ``… N lines``. The
    markup is always gone, so a page that fits the budget as text comes back as text.

    Example:
        >>> page = ("<html><body><nav><a href='/'>Home</a></nav><h1>Orders</h1>"
        ...         "<p>Order 1042 shipped on May 3.</p><p>Order 1043 is pending.</p></body></html>")
        >>> print(reduce_html(page, budget=16, relevance=lexical_relevance("when did 1042 ship")))
        … 1 line
        Orders
        Order 1042 shipped on May 3.
        … 1 line
    """

    counter = counter or TokenCounter()
    blocks = html_blocks(text)
    lines = ["  " * depth + words for depth, _, words in blocks]
    joined = "\n".join(lines)
    if counter.count(joined) <= budget or len(lines) < 2:
        return joined
    parents = _indent_parents(lines)
    heading: int | None = None
    for index, (_, tag, _) in enumerate(blocks):  # a block hangs from its section's heading too
        if tag in _HEADINGS:
            heading = index
        elif parents[index] is None and heading is not None:
            parents[index] = heading
    scores, must = _weigh(lines, relevance, keep)
    return _prune_lines(lines, parents, scores, must, budget, counter)
