"""The Ray engine: the same line function on Ray Data, an actor pool with one compressor per actor.

Lines go through Ray as opaque strings (parsing JSON into Arrow columns would retype the
records), in order, so the output is byte-identical to the local engine's. The records pass
through the driver, which writes the output file; the compression runs on the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from contextzip.batch.records import BatchJob, compress_line

__all__ = ["compress_on_ray"]


class _LineCompressor:
    """A Ray actor's state: one compressor, built when the actor starts."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.compressor = job.compressor()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        lines = [compress_line(str(line), self.compressor, self.job) for line in batch["line"]]
        return {"line": np.array(lines, dtype=object)}


def compress_on_ray(
    lines: Iterable[str], job: BatchJob, *, workers: int = 2, batch_size: int = 16
) -> Iterator[str]:
    """Compress ``lines`` with ``job`` on Ray Data; the outputs come back in input order.

    Connects to the cluster ``RAY_ADDRESS`` names, or starts a local one sized to ``workers``.
    """
    import logging

    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its plan and timing lines: run_batch reports
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not os.environ.get("RAY_ADDRESS"):
            options["num_cpus"] = max(workers, 1)
        ray.init(**options)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # run_batch draws its own
    items = [{"line": line} for line in lines]
    if not items:
        return iter(())
    dataset = ray.data.from_items(items).map_batches(
        _LineCompressor,
        fn_constructor_kwargs={"job": job},
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    return (str(row["line"]) for row in dataset.iter_rows())
