"""contextzip's token classifier against llmlingua 0.2.2 on the same model and texts.

Both run LLMLingua-2 compression (rate 0.33) with the same MiniLM-based classifier
(all-MiniLM-L6-v2 with a seeded 2-label head, :func:`contextzip.train.init_token_classifier`;
its folder name carries ``bert-base-multilingual-cased`` because llmlingua picks its word
rule from the path) on the same 2k / 10k / 50k-token texts (SQuAD dev paragraphs from the
committed fixture, cycled). Configurations:

* ``llmlingua`` — ``PromptCompressor(use_llmlingua2=True).compress_prompt([text], rate=0.33)``;
* ``contextzip`` — ``TokenClassifierCompressor(model)``, the default (precision ``auto``);
* ``contextzip-fp32``, ``contextzip-onnx`` (fp32), ``contextzip-onnx-int8``.

Every configuration and size runs in a fresh subprocess, so peak RSS (``ru_maxrss``, model
load included) is its own. Each process warms up on a short text, then times ``--repeats``
calls; contextzip builds a new compressor per call so its result memo cannot help (the
loaded model is reused, as llmlingua reuses its own). ``speed-up`` is llmlingua's median over
the configuration's, measured in the same run; ``agree`` is the share of words whose keep
label equals ``contextzip-fp32``'s at the same rate.

Run from the repository root::

    python -m bench.token_classifier            # 2k, 10k, 50k tokens, 3 repeats
    python -m bench.token_classifier --quick    # 2k and 10k, 2 repeats
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import environment_line, markdown_table

RATE = 0.33
CONFIGS = ("llmlingua", "contextzip", "contextzip-fp32", "contextzip-onnx", "contextzip-onnx-int8")
MODEL_FOLDER = "minilm-bert-base-multilingual-cased"


def model_dir() -> Path:
    from contextzip.resources import cache_dir
    from contextzip.train import init_token_classifier

    folder = cache_dir() / "bench" / MODEL_FOLDER
    if not (folder / "model.safetensors").is_file():
        init_token_classifier(folder, seed=0)
    return folder


def bench_text(tokens: int) -> str:
    from contextzip.eval.datasets import load_dataset
    from contextzip.tokens import TokenCounter

    pool = list(dict.fromkeys(d for s in load_dataset("fixture", length=2000) for d in s.documents))
    counter = TokenCounter()
    parts: list[str] = []
    total = 0
    while total < tokens:
        part = pool[len(parts) % len(pool)]
        parts.append(part)
        total += counter.count(part) + 1
    return "\n\n".join(parts)


def _compressor(config: str, model: str) -> object:
    from contextzip.compressors.token_classifier import TokenClassifierCompressor

    options = {
        "contextzip": {},
        "contextzip-fp32": {"precision": "float32"},
        "contextzip-onnx": {"backend": "onnx"},
        "contextzip-onnx-int8": {"backend": "onnx", "precision": "int8"},
    }[config]
    return TokenClassifierCompressor(model, return_word_label=True, **options)


def worker(config: str, tokens: int, repeats: int) -> dict[str, object]:
    """Time one configuration on one text size in this process; return the numbers."""
    from contextzip import Budget, Segment
    from contextzip.tokens import seed_tiktoken_cache

    # llmlingua loads cl100k_base with plain tiktoken, which downloads it unless the cache holds it
    if not seed_tiktoken_cache("cl100k_base"):
        raise RuntimeError(
            "cannot seed tiktoken's cache with cl100k_base; set TIKTOKEN_CACHE_DIR to a writable folder"
        )
    model = str(model_dir())
    text = bench_text(tokens)
    warm = bench_text(300)
    labels: list[int] = []
    times = []
    if config == "llmlingua":
        from llmlingua import PromptCompressor

        reference = PromptCompressor(model_name=model, use_llmlingua2=True, device_map="cpu")
        reference.compress_prompt([warm], rate=RATE)
        for _ in range(repeats):
            start = time.perf_counter()
            reference.compress_prompt([text], rate=RATE)
            times.append(time.perf_counter() - start)
        precision = "float32"
    else:
        _compressor(config, model).compress([Segment(warm)], budget=Budget(rate=RATE))  # type: ignore[attr-defined]
        for _ in range(repeats):
            compressor = _compressor(config, model)
            start = time.perf_counter()
            result = compressor.compress([Segment(text)], budget=Budget(rate=RATE))  # type: ignore[attr-defined]
            times.append(time.perf_counter() - start)
        labels = [int(u.kept) for u in result.segments[0].labels]
        precision = compressor.classifier.resolved_precision  # type: ignore[attr-defined]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"config": config, "tokens": tokens, "seconds": statistics.median(times),
            "peak_mib": peak_kib / 1024, "labels": labels, "precision": precision}  # fmt: skip


def run_worker(config: str, tokens: int, repeats: int) -> dict[str, object]:
    command = [sys.executable, "-m", "bench.token_classifier", "--worker", config, "--size", str(tokens),
               "--repeats", str(repeats)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{config} at {tokens} tokens failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2k and 10k tokens, 2 repeats")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.repeats)))
        return 0
    sizes = (2_000, 10_000) if args.quick else (2_000, 10_000, 50_000)
    repeats = 2 if args.quick else args.repeats
    model_dir()  # once, before the workers race for it
    print(environment_line())
    print(f"LLMLingua-2 compression at rate {RATE}, MiniLM-L6 token classifier, median of {repeats} calls\n")
    rows = []
    for tokens in sizes:
        results = {config: run_worker(config, tokens, repeats) for config in CONFIGS}
        reference = results["contextzip-fp32"]["labels"]
        base = float(results["llmlingua"]["seconds"])  # type: ignore[arg-type]
        for config, r in results.items():
            labels = r["labels"]
            agree = (
                f"{sum(a == b for a, b in zip(labels, reference, strict=True)) / len(reference):.2%}"  # type: ignore[arg-type]
                if labels else "–"
            )  # fmt: skip
            rows.append(
                [
                    f"{tokens:,}",
                    config,
                    r["precision"],
                    f"{float(r['seconds']):.2f}",  # type: ignore[arg-type]
                    f"{base / float(r['seconds']):.2f}x",
                    f"{float(r['peak_mib']):.0f}",
                    agree,
                ]
            )  # type: ignore[arg-type]
            print(f"  {tokens:>6,} tokens {config:<22} {float(r['seconds']):.2f} s", file=sys.stderr)  # type: ignore[arg-type]
    print(
        markdown_table(["tokens", "config", "precision", "median s", "speed-up", "peak MiB", "agree"], rows)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
