"""Records per second of ``contextzip batch``: the local engine against Ray Data, in one run.

The records are passages of ``examples/incident_report.md`` (30-150 words each, seeded),
each with a question, compressed at rate 0.5 by each method. Every engine runs the whole
file (``run_batch``: reading, compressing, writing) ``--repeats`` times; the table gives the
median records/s and Ray's as a ratio of the local engine's. Ray's cluster is started once,
before the timing (its start-up is printed apart); each Ray run starts its actor pool and
loads the compressor once per actor, as a user's run does. The outputs of both engines are
compared byte for byte.

Run from the repository root (the ray extra installed)::

    python -m bench.batch            # 400 records, selfinfo and token-classifier, 3 repeats
    python -m bench.batch --quick    # 100 records, selfinfo, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from bench import environment_line, markdown_table, median_time
from contextzip.batch import BatchJob, run_batch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "incident_report.md"


def write_records(path: Path, count: int) -> None:
    words = EXAMPLE.read_text(encoding="utf-8").split()
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            size = rng.randint(30, 150)
            start = rng.randint(0, len(words) - size)
            record = {"id": n, "text": " ".join(words[start : start + size]), "question": "Who was on call?"}
            out.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 records, selfinfo, 1 repeat")
    parser.add_argument("--records", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--workers", type=int, default=2, help="Ray actors (default 2)")
    args = parser.parse_args()
    records = args.records or (100 if args.quick else 400)
    repeats = args.repeats or (1 if args.quick else 3)
    methods = ["selfinfo"] if args.quick else ["selfinfo", "token-classifier"]

    import ray

    started = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    cluster_s = time.perf_counter() - started
    folder = Path(tempfile.mkdtemp(prefix="cz-bench-batch-"))
    source = folder / "in.jsonl"
    write_records(source, records)
    rows = []
    for method in methods:
        job = BatchJob(method, rate=0.5, query_field="question")
        job.compressor().compress  # noqa: B018 - a model's first load is not the engine's cost
        seconds = {}
        for engine in ("local", "ray"):
            target = folder / f"{method}-{engine}.jsonl"

            def run(engine: str = engine, target: Path = target, job: BatchJob = job) -> None:
                target.unlink(missing_ok=True)
                run_batch(source, target, job, engine=engine, workers=args.workers, progress=False)  # type: ignore[arg-type]

            seconds[engine] = median_time(run, repeats)
        same = (folder / f"{method}-local.jsonl").read_bytes() == (
            folder / f"{method}-ray.jsonl"
        ).read_bytes()
        local, on_ray = records / seconds["local"], records / seconds["ray"]
        rows.append(
            [
                method,
                records,
                f"{local:.1f}",
                f"{on_ray:.1f}",
                f"{on_ray / local:.2f}x",
                "yes" if same else "NO",
            ]
        )
    print(environment_line())
    print(
        markdown_table(
            ["method", "records", "local records/s", "ray records/s", "ray / local", "same bytes"], rows
        )
    )
    print(
        f"\nMedian of {repeats} whole runs per engine; Ray: {args.workers} actors on a local cluster "
        f"(started once in {cluster_s:.1f} s, not counted). Ray pays its actor start and one model "
        "load per actor in every run: on one machine it wins only when compression, not start-up, "
        "dominates; on a cluster, actors on more machines add throughput."
    )


if __name__ == "__main__":
    main()
