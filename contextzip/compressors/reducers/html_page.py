"""HTML pages: the block tree of visible text, pruned like an outline."""

from __future__ import annotations

from collections.abc import Sequence
from html.parser import HTMLParser

from contextzip.compressors.reducers.lines import indent_parents, prune_lines
from contextzip.compressors.reducers.scoring import weigh
from contextzip.compressors.relevance import Relevance
from contextzip.tokens import TokenCounter

__all__ = ["html_blocks", "reduce_html"]

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
        >>> from contextzip.compressors.reducers import lexical_relevance
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
    parents = indent_parents(lines)
    heading: int | None = None
    for index, (_, tag, _) in enumerate(blocks):  # a block hangs from its section's heading too
        if tag in _HEADINGS:
            heading = index
        elif parents[index] is None and heading is not None:
            parents[index] = heading
    scores, must = weigh(lines, relevance, keep)
    return prune_lines(lines, parents, scores, must, budget, counter)
