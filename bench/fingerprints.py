"""Fingerprints of what the compressors write, so a refactor can show it changed no byte.

Usage (from the repository root, with ``CONTEXTZIP_DATA_DIR`` naming the data folder)::

    python -m bench.fingerprints            # compute, compare with bench/fingerprints.json
    python -m bench.fingerprints --write    # record them (after a change meant to alter output)
    python -m bench.fingerprints --sets nq-multidoc --limit 10   # a quicker partial check

Three fixed sets of inputs, each compressed by the methods that work on it:

* ``nq-multidoc``: 100 random dev questions over 10 passages (seed 0), rate 0.25, through
  the registry (the path ``contextzip eval`` takes);
* ``code-deps``: 100 random samples of the code benchmark, rate 0.25;
* ``swe-agent``: every conversation prefix that ends in a tool result, of the 22 SWE-agent
  runs in the data folder: ``agent`` compresses each prefix alone (``compress_messages`` at its
  defaults); ``proxy`` sends the prefixes of a run in order through one proxy policy with its
  cache, as a client re-sending its history would.

Each output is recorded as the first 16 hex digits of its SHA-256 (the compressed text; for
conversations the messages as canonical JSON). The table gives, per set and method, how many
outputs match the recorded ones; the exit status is 1 when one differs or is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from bench import environment_line, markdown_table

RECORD = Path(__file__).with_name("fingerprints.json")
RATE = 0.25
SAMPLES = 100
METHODS = {
    "nq-multidoc": (
        "token-classifier",
        "token-classifier-query",
        "mig",
        "mig-tokens",
        "selfinfo",
        "truncate",
    ),
    "code-deps": ("code", "code-fast", "code-bm25", "code-embedding"),
    "swe-agent": ("agent", "proxy"),
}


def fingerprint(value: str | Any) -> str:
    """The first 16 hex digits of the SHA-256 of a text, or of a value's canonical JSON."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def qa_outputs(dataset: str, limit: int, methods: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """``(method, sample id, fingerprint)`` of each registry method over a QA dataset's samples."""
    from contextzip import Budget, get_compressor
    from contextzip.eval.datasets import load_dataset
    from contextzip.eval.runner import sample_segments

    options: dict[str, Any] = {"documents": 10} if dataset == "nq-multidoc" else {}
    samples = list(load_dataset(dataset, limit=limit, split="dev", seed=0, **options))
    for method in methods:
        compressor = get_compressor(method)
        for sample in samples:
            result = compressor.compress(
                sample_segments(sample), query=sample.question, budget=Budget(rate=RATE)
            )
            yield method, sample.id, fingerprint(result.text)


def swe_prefixes(limit: int) -> Iterator[tuple[str, list[list[dict[str, Any]]]]]:
    """Each SWE-agent run's id and its prefixes that end in a tool result, in order."""
    from contextzip.eval.swe_trajectories import swe_agent_trajectories

    for trajectory in swe_agent_trajectories()[:limit]:
        messages = trajectory.messages
        ends = [i + 1 for i, m in enumerate(messages) if m.get("role") == "tool"]
        yield trajectory.id, [messages[:end] for end in ends]


def agent_outputs(limit: int, methods: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """``(method, prefix id, fingerprint)`` of the agent compressor and the proxy policy."""
    from contextzip.compressors.agent import AgentCompressor
    from contextzip.proxy.cache import MemoryCache
    from contextzip.proxy.policy import CompressionPolicy
    from contextzip.proxy.settings import ProxySettings

    runs = list(swe_prefixes(limit))
    if "agent" in methods:
        compressor = AgentCompressor()
        for run, prefixes in runs:
            for prefix in prefixes:
                yield (
                    "agent",
                    f"{run}@{len(prefix)}",
                    fingerprint(compressor.compress_messages(prefix).messages),
                )
    if "proxy" in methods:
        for run, prefixes in runs:
            policy = CompressionPolicy(ProxySettings(), MemoryCache(4096))  # one client, one cache
            for prefix in prefixes:
                outcome = policy.compress("openai", {"model": "gpt-4o-mini", "messages": prefix})
                yield "proxy", f"{run}@{len(prefix)}", fingerprint(outcome.body or "unchanged")


SETS: dict[str, Callable[[int, tuple[str, ...]], Iterator[tuple[str, str, str]]]] = {
    "nq-multidoc": lambda limit, methods: qa_outputs("nq-multidoc", limit, methods),
    "code-deps": lambda limit, methods: qa_outputs("code-deps", limit, methods),
    "swe-agent": agent_outputs,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"record the fingerprints in {RECORD.name}")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    parser.add_argument(
        "--limit", type=int, default=None, help="fewer samples (SWE-agent: runs), for a quick check"
    )
    args = parser.parse_args(argv)
    names = [n for n in args.sets.split(",") if n]
    unknown = sorted(set(names) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    recorded: dict[str, dict[str, dict[str, str]]] = (
        json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.is_file() else {}
    )
    print(environment_line())
    rows, failed = [], False
    for name in names:
        limit = args.limit or (10**6 if name == "swe-agent" else SAMPLES)
        outputs: dict[str, dict[str, str]] = {}
        for method, key, value in tqdm(SETS[name](limit, METHODS[name]), desc=name, unit="output"):
            outputs.setdefault(method, {})[key] = value
        for method, values in outputs.items():
            before = recorded.get(name, {}).get(method, {})
            same = sum(before.get(k) == v for k, v in values.items())
            rows.append([name, method, str(len(values)), str(same), str(len(values) - same)])
            failed |= same < len(values)
        if args.write:
            recorded[name] = outputs
    print(markdown_table(["set", "method", "outputs", "identical", "changed or new"], rows))
    if args.write:
        RECORD.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nrecorded in {RECORD}")
        return 0
    print("\nPASS: every output is byte-identical to the record" if not failed else "\nFAIL: outputs changed")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
