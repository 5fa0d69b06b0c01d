"""The command line's arguments, one sub-parser per command."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from contextzip import __version__
from contextzip.cli.common import EXIT_USAGE
from contextzip.defaults import DEFAULTS
from contextzip.eval.datasets import CONVERSATION_DATASETS, DATASETS

__all__ = ["build_parser"]


def _add_compressor_arguments(parser: argparse.ArgumentParser) -> None:
    """The budget, method and options, as ``compress`` and ``batch`` both take them."""
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--rate", type=float, help=f"kept/original tokens, e.g. 0.25 for 4x (default {DEFAULTS['cli'].rate})"
    )
    budget.add_argument("--target-tokens", type=int, help="number of tokens to keep")
    parser.add_argument(
        "--method",
        "-m",
        help="compressor name (see: contextzip methods); default: the shipped token classifier "
        "(selfinfo where the ml extra is not installed)",
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="compressor option, e.g. -o unit=sentence; values are read as JSON when they parse",
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="contextzip", description="Compress LLM context to a token budget.")
    parser.add_argument("--version", action="version", version=f"contextzip {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compress = commands.add_parser(
        "compress",
        help="compress a text file (or stdin) to a budget",
        description="Compress FILE (or stdin) and print the result; stats go to stderr.",
    )
    compress.add_argument("file", nargs="?", default="-", help="text file to compress; - for stdin")
    _add_compressor_arguments(compress)
    compress.add_argument("--query", "-q", help="the question or task the context serves")
    compress.add_argument("--encoding", help="tiktoken encoding budgets are counted in (default o200k_base)")
    output = compress.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the full result as JSON")
    output.add_argument(
        "--show",
        action="store_true",
        help="print the input with dropped text struck out (colour on a terminal or with "
        "FORCE_COLOR; otherwise dropped text is shown as [-...-])",
    )

    batch = commands.add_parser(
        "batch",
        help="compress the texts of a JSONL file, record by record (resumable)",
        description="Compress one field of each record of SOURCE (JSONL) and write each record with "
        "the compressed text, tokens_before and tokens_after added to TARGET, in order. Run again "
        "after an interruption: records already in TARGET are kept and skipped.",
    )
    batch.add_argument("source", help="input JSONL file, one JSON object per line")
    batch.add_argument("target", help="output JSONL file (appended to when it exists: resume)")
    _add_compressor_arguments(batch)
    batch.add_argument("--text-field", default="text", help="the field to compress (default text)")
    batch.add_argument("--query-field", help="the field holding each record's question, if any")
    batch.add_argument(
        "--output-field", default="compressed", help="where the compressed text goes (default compressed)"
    )
    batch.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local (this process) or ray (Ray Data actors, one model load each; the ray extra)",
    )  # fmt: skip
    batch.add_argument("--workers", type=int, default=2, help="Ray actors (default 2)")
    batch.add_argument("--batch-size", type=int, default=16, help="records per Ray batch (default 16)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")

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
    evaluate.add_argument(
        "--dataset",
        "-d",
        required=True,
        help=f"{', '.join((*DATASETS, *CONVERSATION_DATASETS))}; SQuAD, NQ and SWE-agent files are read "
        "from $CONTEXTZIP_DATA_DIR",
    )
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
                       "(default: the package's models/, contextzip/models in a checkout)")  # fmt: skip
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
    serve.add_argument(
        "--rate",
        type=float,
        help=f"share of its tokens a compressed text keeps (default {DEFAULTS['proxy'].rate})",
    )
    serve.add_argument(
        "--method",
        help="a compressor from contextzip methods (default agent), or the shorthand lexical "
        "(agent, no model) or agent-tokens (agent, prose also through the token classifier)",
    )
    serve.add_argument("--min-tokens", type=int, help="texts shorter than this pass untouched (default 500)")
    serve.add_argument("--redis-url", help="share the compression cache between workers and replicas")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default 1); each has its own memory cache and "
        "models unless --redis-url is given"
    )  # fmt: skip
    serve.add_argument("--config", dest="config_file", help="TOML or JSON settings file")
    serve.add_argument("--log-level", help="debug, info (default), warning or error")
