"""The shipped token classifier against its SmolLM2 surprisal teacher: speed on the same texts.

Both compress the same squad-multidoc contexts (dev articles, held out from training) at rate
0.33: ``token-classifier`` (the shipped ``contextzip-minilm-v1``, default precision) and
``selfinfo-lm`` (SmolLM2-135M-Instruct surprisal in bfloat16, the teacher's configuration), in
one process, alternating per text. A new compressor is built for every call, so neither one's
result memo helps (the loaded models are reused, as a server would). ``speed-up`` is the
teacher's median over the classifier's. The issue's target: at least 5x.

Run from the repository root::

    python -m bench.default_model            # 20 contexts of 8k tokens and 20 of 2k
    python -m bench.default_model --quick    # 5 contexts of 2k tokens
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench import environment_line, markdown_table

RATE = 0.33
TARGET = 5.0


def time_calls(method: str, documents: list[tuple[str, ...]], options: dict[str, Any]) -> list[float]:
    from contextzip import Budget, Segment, get_compressor

    times = []
    for docs in documents:
        compressor = get_compressor(method, **options)
        start = time.perf_counter()
        compressor.compress([Segment(d) for d in docs], budget=Budget(rate=RATE))
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    from contextzip import Budget, Segment, get_compressor
    from contextzip.eval.datasets import load_dataset

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 contexts of 2k tokens")
    args = parser.parse_args(argv)
    plan = ((2000, 5),) if args.quick else ((8000, 20), (2000, 20))
    methods: dict[str, dict[str, Any]] = {"token-classifier": {}, "selfinfo-lm": {"precision": "bfloat16"}}
    print(environment_line())
    print(f"Compression at rate {RATE}, one call per context, median seconds\n")
    rows, verdicts = [], []
    for length, count in plan:
        documents = [s.documents for s in load_dataset("squad-multidoc", length=length, limit=count + 1)]
        for method, options in methods.items():  # warm-up: load each model once
            get_compressor(method, **options).compress(
                [Segment(d) for d in documents[-1]], budget=Budget(rate=RATE)
            )
        times: dict[str, list[float]] = {m: [] for m in methods}
        for docs in documents[:-1]:
            for method, options in methods.items():
                times[method] += time_calls(method, [docs], options)
        medians = {m: statistics.median(t) for m, t in times.items()}
        speedup = medians["selfinfo-lm"] / medians["token-classifier"]
        for method in methods:
            rows.append([f"{length:,}", method, str(count), f"{medians[method]:.3f}",
                         f"{medians['selfinfo-lm'] / medians[method]:.1f}x"])  # fmt: skip
        verdict = "PASS" if speedup >= TARGET else "FAIL"
        verdicts.append(f"{length:,} tokens: {verdict} ({speedup:.1f}x, target {TARGET:.0f}x)")
    print(markdown_table(["tokens", "method", "contexts", "median s", "speed-up"], rows))
    print()
    for line in verdicts:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
