"""``contextzip eval`` and ``contextzip compare``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contextzip.cli.common import parse_options
from contextzip.errors import ConfigurationError

__all__ = ["compare_command", "eval_command"]


def eval_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contextzip.eval.datasets import CONVERSATION_DATASETS, load_dataset
    from contextzip.eval.readers import get_reader
    from contextzip.eval.report import write_report
    from contextzip.eval.runner import RESULTS_FILE, load_results, run_eval

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    method_options: dict[str, dict[str, Any]] = {}
    for item in args.method_option:
        method, sep, pair = item.partition(":")
        if not sep:
            raise ConfigurationError(f"--method-option {item!r} is not METHOD:KEY=VALUE")
        method_options.setdefault(method, {}).update(parse_options([pair]))
    selection = _parse_slice(args.slice)
    if args.dataset in CONVERSATION_DATASETS:
        if args.slice is not None:
            raise ConfigurationError(f"--slice does not apply to {args.dataset}; leave it out")
        if args.reader != "presence":
            return _eval_agent_qa(args, methods, method_options.get("agent", {}))
        options = method_options.get("agent", {})
        return _eval_agent(args.dataset, methods, options, Path(args.out), quiet=args.quiet)
    rates = [_parse_rate(r) for r in args.rates.split(",") if r.strip()]
    reader = get_reader(args.reader, **parse_options(args.reader_option))
    samples = load_dataset(
        args.dataset,
        limit=args.limit,
        length=args.length,
        split=args.split,
        seed=args.seed,
        sample=args.sample,
        documents=args.documents,
        gold_position=args.gold_position,
    )[selection]
    if not samples:
        raise ConfigurationError(
            f"dataset {args.dataset!r} has no samples" + (f" in --slice {args.slice}" if args.slice else "")
        )
    out = Path(args.out)
    try:
        results = run_eval(
            samples,
            methods=methods,
            rates=rates,
            reader=reader,
            out_dir=out,
            method_options=method_options,
            baseline=not args.no_baseline,
            progress=False if args.quiet else None,
        )
    finally:
        _close(reader)
    # the report covers everything recorded in the folder, earlier runs' methods included
    recorded = load_results(out / RESULTS_FILE)
    paths = write_report(recorded or results, out)
    sys.stdout.write(paths["markdown"].read_text(encoding="utf-8"))
    sys.stderr.write(f"wrote {', '.join(str(p) for p in paths.values())}\n")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contextzip.eval.paired import paired_differences, paired_table, pooled_by_family
    from contextzip.eval.runner import RESULTS_FILE, load_results

    results = []
    for folder in args.folders:
        path = Path(folder) / RESULTS_FILE
        if not path.is_file():
            raise ConfigurationError(f"{path} does not exist; pass a folder `contextzip eval --out` wrote")
        results.extend(load_results(path))
    if args.pool:
        results.extend(pooled_by_family(results))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    differences = paired_differences(
        results,
        args.baseline,
        methods=methods,
        metric=args.metric,
        resamples=args.resamples,
        confidence=args.confidence,
    )
    if not differences:
        raise ConfigurationError(f"no samples shared by {args.baseline!r} and another method")
    sys.stdout.write(paired_table(differences, confidence=args.confidence))
    return 0


def _trajectories(dataset: str, out: str | Path, say: Callable[[str], None] | None) -> list[Any]:
    """The conversations of ``agent-trajectories`` or ``swe-agent-trajectories`` (data).

    The former are replayed once and kept in ``out`` (``trajectories.json``), so that a run
    stopped early goes on with the same conversations and the reader's cached answers.
    """
    if dataset == "swe-agent-trajectories":
        from contextzip.eval.swe_trajectories import swe_agent_trajectories

        return swe_agent_trajectories()
    from contextzip.eval.agent_tasks import agent_trajectories

    recorded = Path(out) / "trajectories.json"
    if recorded.is_file() and say is not None:
        say(f"replaying the conversations recorded in {recorded} (delete it to run the tools again)")
    return agent_trajectories(recorded=recorded)


def _eval_agent(dataset: str, methods: list[str], options: dict[str, Any], out: Path, *, quiet: bool) -> int:
    """The agent-trajectory benchmark: its methods compress whole conversations, not documents."""
    from contextzip.eval.agent_bench import run_agent_eval, write_agent_report

    def say(line: str) -> None:
        if not quiet:
            sys.stderr.write(line + "\n")

    rows = run_agent_eval(_trajectories(dataset, out, say), methods, agent_options=options, progress=say)
    paths = write_agent_report(rows, out, dataset=dataset)
    sys.stdout.write(paths["markdown"].read_text(encoding="utf-8"))
    return 0


def _close(reader: Any) -> None:
    """Stop a reader's server (llama) and its connections, for readers that have them."""
    close = getattr(reader, "close", None)
    if close is not None:
        close()


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _eval_agent_qa(args: argparse.Namespace, methods: list[str], options: dict[str, Any]) -> int:
    """Questions about old tool results, asked by ``--reader`` after each method (and ``original``)."""
    from contextzip.eval.agent_qa import ORIGINAL, run_agent_qa, write_agent_qa_report
    from contextzip.eval.readers import get_reader

    if args.limit is not None and args.limit < 1:
        raise ConfigurationError(f"--limit must be >= 1 (trajectories), got {args.limit}")
    reader = get_reader(args.reader, **parse_options(args.reader_option))
    n_ctx = getattr(reader, "n_ctx", None)
    # the reader's tokenizer is not the counter's: leave a fifth of its window as margin
    window = int(0.8 * n_ctx) if n_ctx else None
    label = getattr(reader, "name", args.reader)
    reports: list[dict[str, Path]] = []
    progress = None if args.quiet else _say
    try:
        run_agent_qa(
            # --limit N: the first N
            [t for t in _trajectories(args.dataset, args.out, progress) if t.questions][: args.limit],
            reader,
            [ORIGINAL, *(m for m in methods if m != ORIGINAL)],
            window=window,
            agent_options=options,
            progress=progress,
            # the report is rewritten after each trajectory: a run stopped early keeps what it asked
            after_each=lambda so_far: reports.append(
                write_agent_qa_report(so_far, args.out, reader=label, dataset=args.dataset)
            ),
        )
    finally:
        _close(reader)
    sys.stdout.write(reports[-1]["markdown"].read_text(encoding="utf-8"))
    return 0


def _parse_slice(raw: str | None) -> slice:
    """``START:END`` (either may be left out) as a slice of the selected samples."""
    if raw is None:
        return slice(None)
    start_raw, sep, end_raw = raw.partition(":")
    try:
        if not sep:
            raise ValueError
        start = int(start_raw) if start_raw.strip() else 0
        end = int(end_raw) if end_raw.strip() else None
    except ValueError:
        raise ConfigurationError(f"--slice {raw!r} is not START:END, e.g. --slice 50:100") from None
    if start < 0 or (end is not None and end <= start):
        raise ConfigurationError(f"--slice {raw!r} needs 0 <= START < END, e.g. --slice 50:100")
    return slice(start, end)


def _parse_rate(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"rate {raw!r} is not a number; use e.g. --rates 0.5,0.2") from None
