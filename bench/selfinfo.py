"""Throughput and memory of the two self-information backends.

For texts of 1k, 10k and 100k target-LLM tokens (o200k_base), times
``SelfInfoCompressor.compress(..., budget=Budget(rate=0.33))`` with the ``unigram``
backend (``get_compressor("selfinfo")``) and the ``causal-lm`` backend
(``get_compressor("selfinfo-lm")``, SmolLM2-135M on CPU), and reports each as a ratio
against merely tiktoken-encoding the same text (``TokenCounter().encode``), timed the
same way in the same run. Peak RSS growth is sampled during every timed call.

Texts are real English prose available offline: ``examples/incident_report.md``
followed by the docstrings of a fixed, sorted list of stdlib modules and of their
public classes, functions and methods (doctest paragraphs and short fragments
dropped), trimmed to exactly N tokens.

Run from the repository root::

    python -m bench.selfinfo            # unigram on 1k/10k/100k, LM on 1k/10k
    python -m bench.selfinfo --quick    # 1k and 10k only, fewer repeats
    python -m bench.selfinfo --full     # LM on 100k too (minutes)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import resource
import statistics
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import contextzip
from bench import PeakRSS, environment_line, markdown_table, median_time

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "incident_report.md"
RATE = 0.33
TARGET_SIZE = 100_000
TARGET_RATIO = 8.0
LM_DEFAULT_MAX_SIZE = 10_000

# Stdlib modules whose docstrings make the corpus: well documented, importable on every
# platform, no side effect on import. Sorted, so the text is the same on every run.
STDLIB_MODULES: tuple[str, ...] = tuple(
    sorted(
        (
            "argparse", "asyncio", "base64", "bdb", "bisect", "bz2", "calendar", "cmd", "code", "codecs",
            "collections", "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses",
            "datetime", "decimal", "difflib", "doctest", "email.message", "email.policy", "email.utils",
            "enum", "filecmp", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "gettext",
            "glob", "graphlib", "gzip", "hashlib", "heapq", "hmac", "html.parser", "http.client",
            "http.cookiejar", "http.server", "imaplib", "importlib", "inspect", "io", "ipaddress",
            "itertools", "json", "locale", "logging", "logging.handlers", "lzma", "mailbox", "mimetypes",
            "multiprocessing", "netrc", "numbers", "operator", "optparse", "os", "pathlib", "pdb",
            "pickle", "pkgutil", "platform", "plistlib", "poplib", "pprint", "profile", "pstats", "queue",
            "random", "re", "reprlib", "runpy", "sched", "secrets", "selectors", "shelve", "shlex",
            "shutil", "signal", "smtplib", "socket", "socketserver", "sqlite3", "ssl", "statistics",
            "string", "struct", "subprocess", "symtable", "sysconfig", "tarfile", "tempfile", "textwrap",
            "threading", "timeit", "tokenize", "trace", "traceback", "tracemalloc", "types", "typing",
            "unittest", "urllib.parse", "urllib.request", "uuid", "warnings", "weakref",
            "xml.dom.minidom", "xml.etree.ElementTree", "xmlrpc.client", "zipfile", "zoneinfo",
        )
    )
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One measurement: a backend on one text."""

    backend: str
    tokens: int
    seconds: float
    peer_seconds: float
    rss_growth_mib: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def ratio(self) -> float:
        return self.seconds / self.peer_seconds


def _prose_paragraphs(doc: str | None) -> Iterator[str]:
    """Paragraphs of a docstring that read as prose (no doctests, not a fragment)."""
    if not doc:
        return
    for paragraph in doc.split("\n\n"):
        paragraph = paragraph.strip()
        if ">>>" not in paragraph and len(paragraph.split()) >= 8:
            yield paragraph


def _documented(module_name: str) -> Iterator[object]:
    """A module, then its public classes and functions (sorted), each class followed by its methods."""
    module = importlib.import_module(module_name)
    yield module
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            yield obj
            for member_name, member in sorted(vars(obj).items()):
                if not member_name.startswith("_") and (
                    inspect.isroutine(member) or isinstance(member, property | classmethod | staticmethod)
                ):
                    yield member
        elif inspect.isroutine(obj):
            yield obj


def stdlib_prose() -> str:
    """Docstring prose of :data:`STDLIB_MODULES`, deduplicated, in a fixed order."""
    seen: set[str] = set()
    paragraphs: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module_name in STDLIB_MODULES:
            try:
                objects = list(_documented(module_name))
            except ImportError:  # e.g. a Python built without ssl or sqlite3
                continue
            for obj in objects:
                for paragraph in _prose_paragraphs(inspect.getdoc(obj)):
                    if paragraph not in seen:
                        seen.add(paragraph)
                        paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def build_texts(sizes: Sequence[int], counter: contextzip.TokenCounter) -> tuple[dict[int, str], bool]:
    """Texts of exactly each size in tokens; True if the corpus had to be repeated."""
    corpus = EXAMPLE.read_text(encoding="utf-8") + "\n\n" + stdlib_prose()
    ids = counter.encode(corpus)
    repeated = len(ids) < max(sizes)
    while len(ids) < max(sizes):
        corpus += "\n\n" + corpus
        ids = counter.encode(corpus)
    texts = {}
    for size in sizes:
        # A decoded prefix can re-encode to a token more or less at the cut; step until exact.
        cut = size
        text = counter.encoding.decode(ids[:cut])
        while (count := len(counter.encode(text))) != size and 0 < cut < len(ids):
            cut += 1 if count < size else -1
            text = counter.encoding.decode(ids[:cut])
        texts[size] = text
    return texts, repeated


def measure(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of ``fn`` over ``repeats``, then peak RSS growth (MiB) of one more call.

    The RSS sampler is a Python thread; it would steal the GIL from pure-Python work and
    slow it, so memory is measured on a separate, untimed call.
    """
    seconds = median_time(fn, repeats)
    with PeakRSS() as rss:
        fn()
    return seconds, rss.growth_mib


def measure_pair(peer: Callable[[], object], fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of ``peer`` and of ``fn``, their calls alternated so both see the same noise."""
    peer_times, times = [], []
    for _ in range(repeats):
        peer_times.append(median_time(peer, 1))
        times.append(median_time(fn, 1))
    return statistics.median(peer_times), statistics.median(times)


def _compress(compressor: contextzip.Compressor, text: str) -> Callable[[], object]:
    segments = [contextzip.Segment(text)]
    budget = contextzip.Budget(rate=RATE)
    return lambda: compressor.compress(segments, budget=budget)


def run(sizes: Sequence[int], *, quick: bool, lm_sizes: Sequence[int], precision: str) -> list[Row]:
    """Measure the peer and both backends on every size; LM only on ``lm_sizes``."""
    counter = contextzip.TokenCounter()
    texts, repeated = build_texts(sizes, counter)
    if repeated:
        print(f"note: the corpus is shorter than {max(sizes)} tokens on this Python; it was repeated.")

    unigram = contextzip.get_compressor("selfinfo")
    _compress(unigram, texts[min(sizes)])()  # loads the wordfreq dictionary
    lm = None
    if lm_sizes:
        lm = contextzip.get_compressor("selfinfo-lm", precision=precision)
        _compress(lm, "Warm-up: the model loads, converted once from GGUF and then cached.")()

    rows = []
    for size in sizes:
        text = texts[size]
        repeats = (3 if size < TARGET_SIZE else 2) if quick else (5 if size < TARGET_SIZE else 3)
        encode = partial(counter.encode, text)
        compress_unigram = _compress(unigram, text)
        encode()  # warm-up, as for the backends
        compress_unigram()
        peer_seconds, seconds = measure_pair(encode, compress_unigram, repeats)
        rows.append(Row("tiktoken encode (peer)", size, peer_seconds, peer_seconds, measure(encode, 1)[1]))
        rows.append(Row("selfinfo (unigram)", size, seconds, peer_seconds, measure(compress_unigram, 1)[1]))
        if lm is not None and size in lm_sizes:
            # one long call: sampling memory during it costs the GIL-free torch work nothing
            with PeakRSS() as lm_rss:
                seconds = median_time(_compress(lm, text), 1)
            rss = lm_rss.growth_mib
            rows.append(Row(f"selfinfo-lm (SmolLM2-135M, {precision})", size, seconds, peer_seconds, rss))
    return rows


def _max_rss_mib() -> float:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10  # bytes on macOS, KiB elsewhere


def report(rows: Sequence[Row], *, quick: bool, precision: str) -> str:
    """The Markdown table and the notes under it."""
    table = markdown_table(
        [
            "backend",
            "tokens",
            "median time (ms)",
            "tokens/s",
            "ratio vs tiktoken encode",
            "peak RSS growth (MiB)",
        ],
        [
            [
                row.backend,
                f"{row.tokens:,}",
                f"{row.seconds * 1e3:,.{2 if row.seconds < 0.01 else 1}f}",
                f"{row.tokens_per_second:,.0f}",
                f"{row.ratio:,.1f}x",
                f"{row.rss_growth_mib:,.1f}",
            ]
            for row in rows
        ],
    )
    repeats = "3 (2 at 100k)" if quick else "5 (3 at 100k)"
    lines = [
        table,
        "",
        f"Compression at rate={RATE}, unit=word. Times are medians of {repeats} calls after a warm-up, "
        "peer and unigram calls alternated so both see the same machine noise; one call for the LM. "
        "The ratio is the backend's median over tiktoken-encoding the same text in this run. Peak RSS "
        "growth is over the RSS before a call, sampled every 5 ms on a separate untimed call (during "
        "the call for the LM); models and dictionaries load during warm-up, so they are not counted.",
        f"Process peak RSS (ru_maxrss): {_max_rss_mib():,.1f} MiB.",
    ]
    target = next((r for r in rows if r.backend.startswith("selfinfo (") and r.tokens == TARGET_SIZE), None)
    claim = f"unigram at {TARGET_SIZE // 1000}k tokens costs at most {TARGET_RATIO:g}x tiktoken-encoding"
    if target is None:
        lines.append(f"Target '{claim}': NOT MEASURED (no {TARGET_SIZE:,}-token size in this run).")
    else:
        verdict = "PASS" if target.ratio <= TARGET_RATIO else "FAIL"
        lines.append(f"Target '{claim}': {verdict} (measured {target.ratio:.1f}x).")
    return "\n".join(lines)


def _sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes comma-separated integers, got {value!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"--sizes takes positive integers, got {value!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.selfinfo", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k tokens only, fewer repeats")
    parser.add_argument("--full", action="store_true", help="also time the causal LM on the largest size")
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), default="float32", help="LM precision"
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=None, help="comma-separated token counts (default 1000,10000,100000)"
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    lm_sizes = sizes if args.full else [size for size in sizes if size <= LM_DEFAULT_MAX_SIZE]
    print(environment_line())
    print()
    rows = run(sizes, quick=args.quick, lm_sizes=lm_sizes, precision=args.precision)
    print(report(rows, quick=args.quick, precision=args.precision))


if __name__ == "__main__":
    main()
