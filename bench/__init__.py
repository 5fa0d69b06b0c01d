"""Benchmarks for contextzip, one module per question.

Convention
----------
* Every benchmark is a module ``bench/<name>.py``, run from the repository root as
  ``python -m bench.<name>`` (``make bench`` runs them all).
* It prints a Markdown table to stdout, preceded by one line naming the date, CPU count
  and Python version, and followed by notes (what was measured, how, and any target it
  checks as PASS/FAIL with the measured value; a missed target is reported, not raised).
* Machines are shared and noisy, so a timing is never a single absolute number: it is
  the median over repeats (:func:`median_time`), reported as a ratio against a peer
  measured in the same run, on the same input, the same way (e.g. tiktoken-encoding
  the same text). Compare ratios across runs and machines, not milliseconds.
* ``--quick`` gives a smaller, faster run (fewer sizes, fewer repeats) for a smoke
  check; the default run is the one whose numbers are quoted.
* Inputs are built offline and deterministically (shipped examples, stdlib text), so
  two runs measure the same thing.

Only small shared helpers live here; anything specific stays in its benchmark.
"""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from types import TracebackType

__all__ = ["PeakRSS", "environment_line", "markdown_table", "median_time"]


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Call ``fn`` ``repeats`` times and return the median wall time in seconds.

    Warm-up is the caller's job: every call here is timed.

    Example:
        >>> median_time(lambda: sum(range(100)), repeats=3) >= 0
        True
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render ``rows`` under ``headers`` as a GitHub-flavoured Markdown table.

    Cells are converted with ``str``. A column whose every cell reads as a number (commas,
    a trailing ``x`` or ``%`` allowed, so preformatted ``"1,234.5"`` or ``"3.2x"`` count)
    is right-aligned; other columns are left-aligned.

    Example:
        >>> print(markdown_table(["name", "n"], [["a", 1], ["bb", 22]]))
        | name |   n |
        | :--- | --: |
        | a    |   1 |
        | bb   |  22 |
    """
    cells = [[str(cell) for cell in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"row {row} has {len(row)} cells for {len(headers)} headers")
    numeric = [
        bool(cells) and all(_is_number(row[column]) for row in cells) for column in range(len(headers))
    ]
    widths = [
        max([len(header), 3, *(len(row[column]) for row in cells)]) for column, header in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * (width - 1) + ":" if right else ":" + "-" * (width - 1)
        for width, right in zip(widths, numeric, strict=True)
    ]
    return "\n".join([line(list(headers)), line(rule), *(line(row) for row in cells)])


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", "").removesuffix("x").removesuffix("%"))
    except ValueError:
        return False
    return True


def environment_line() -> str:
    """The first line of every benchmark's output: date, CPU count, Python, platform."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now} | {os.cpu_count()} CPUs | Python {platform.python_version()} "
        f"({platform.python_implementation()}) | {platform.system()} {platform.machine()}"
    )


class PeakRSS:
    """Context manager: peak resident-memory growth of this process while inside it.

    A background thread samples ``psutil.Process().memory_info().rss`` every
    ``interval`` seconds; ``growth_bytes`` is the highest sample (including one taken
    on exit) minus the RSS on entry. Unlike ``tracemalloc`` this sees memory that
    native code (torch, numpy, tiktoken) allocates. Peaks shorter than the interval can
    be missed, and memory freed earlier but kept by the allocator is reused without
    showing up as growth, so read it as a lower bound.

    Example:
        >>> with PeakRSS() as rss:
        ...     block = bytearray(64 * 2**20)
        >>> rss.growth_bytes >= 0
        True
    """

    def __init__(self, interval: float = 0.005) -> None:
        import psutil  # a dev dependency; imported here so the module imports without it

        self.interval = interval
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start_bytes = 0
        self.peak_bytes = 0

    @property
    def growth_bytes(self) -> int:
        """Peak RSS seen minus the RSS on entry, in bytes (never negative)."""
        return max(self.peak_bytes - self.start_bytes, 0)

    @property
    def growth_mib(self) -> float:
        """:attr:`growth_bytes` in MiB."""
        return self.growth_bytes / 2**20

    def _sample(self) -> None:
        rss = self._process.memory_info().rss
        if rss > self.peak_bytes:
            self.peak_bytes = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakRSS:
        self.start_bytes = self.peak_bytes = self._process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="PeakRSS", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
