"""``contextzip batch``: a JSONL file compressed record by record, resumable, on one machine or on Ray."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contextzip.batch.records import BatchJob, compress_line
from contextzip.errors import ConfigurationError

__all__ = ["ENGINES", "BatchStats", "run_batch"]

#: Where the records are compressed: this process, or Ray Data (an actor pool, one model load each).
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchStats:
    """What a run did: records found already done, records compressed now, and seconds spent."""

    resumed: int
    compressed: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        return self.compressed / self.seconds if self.seconds else 0.0


def run_batch(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    job: BatchJob,
    *,
    engine: Literal["local", "ray"] = "local",
    workers: int = 2,
    batch_size: int = 16,
    progress: bool = True,
) -> BatchStats:
    """Compress each record of ``source`` into ``target``, in order, resuming where ``target`` stops.

    ``target`` gets one line per record: the record with ``job.output_field``,
    ``tokens_before`` and ``tokens_after`` added. Lines already complete in ``target`` are
    kept and their records skipped (a line cut short by an interrupted run is rewritten), so
    running the same command again finishes the job. The same job gives the same bytes on
    either engine.

    Args:
        source: A JSONL file, one JSON object per line (blank lines are skipped).
        target: The output JSONL file.
        job: What to compress and how.
        engine: ``"local"``, or ``"ray"`` (``pip install 'ray[data]'``; uses the running Ray
            cluster, or starts a local one).
        workers: Ray actors (each loads the compressor once).
        batch_size: Records per Ray batch.
        progress: Draw a progress bar on stderr.
    """
    if engine not in ENGINES:
        raise ConfigurationError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise ConfigurationError(f"cannot read {source}: no such file")
    total = sum(1 for _ in _records(source))
    done = _complete_lines(target)
    if done > total:
        raise ConfigurationError(f"{target} holds {done} records, {source} only {total}: a different input?")
    pending = itertools.islice(_records(source), done, None)
    started = time.perf_counter()
    if engine == "local":
        compressor = job.compressor()
        outputs: Iterator[str] = (compress_line(line, compressor, job) for line in pending)
    else:
        from contextzip.batch.ray_engine import compress_on_ray

        outputs = compress_on_ray(pending, job, workers=workers, batch_size=batch_size)
    compressed = 0
    with target.open("a", encoding="utf-8") as out, _Progress(total, done, progress) as bar:
        for line in outputs:
            out.write(line + "\n")
            compressed += 1
            bar.update(1)
    return BatchStats(done, compressed, time.perf_counter() - started)


def _records(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield line.rstrip("\n")


def _complete_lines(target: Path) -> int:
    """Lines ``target`` holds whole; a last line without its newline (a run cut short) is removed."""
    if not target.exists():
        return 0
    data = target.read_bytes()
    whole = data.rfind(b"\n") + 1
    if whole < len(data):
        with target.open("r+b") as out:
            out.truncate(whole)
    return data[:whole].count(b"\n")


class _Progress:
    """tqdm when it is installed and wanted; otherwise nothing."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self._bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, initial=done, unit="record", desc="compressing")

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)
