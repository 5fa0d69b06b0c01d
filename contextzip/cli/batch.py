"""``contextzip batch``: a JSONL file compressed record by record."""

from __future__ import annotations

import argparse
import sys

from contextzip.cli.common import parse_options
from contextzip.cli.compress import default_method
from contextzip.defaults import DEFAULTS

__all__ = ["batch_command"]


def batch_command(args: argparse.Namespace) -> int:
    from contextzip.batch import BatchJob, run_batch

    rate = args.rate if args.rate is not None or args.target_tokens is not None else DEFAULTS["cli"].rate
    job = BatchJob(
        method=args.method or default_method(),
        rate=rate,
        target_tokens=args.target_tokens,
        text_field=args.text_field,
        query_field=args.query_field,
        output_field=args.output_field,
        options=parse_options(args.option),
    )
    stats = run_batch(
        args.source, args.target, job, engine=args.engine, workers=args.workers,
        batch_size=args.batch_size, progress=not args.quiet,
    )  # fmt: skip
    sys.stderr.write(
        f"{job.method}: {stats.compressed} records compressed ({stats.resumed} already done) in "
        f"{stats.seconds:.1f} s, {stats.records_per_second:.1f} records/s ({args.engine})\n"
    )
    return 0
