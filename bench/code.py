"""The code compressor's two modes on a ~20k-token source file: tokens per second.

Both modes compress the same files (standard-library modules of about 20k tokens) to 4x
with the instruction taken from one of their functions, one call per file; the models
stay loaded between calls and every call starts with empty caches (a new compressor, the
sentence encoder's vectors cleared). ``code-bm25`` (chunks by BM25, no model) is timed in
the same run as the peer the ratios are against.

Run from the repository root::

    python -m bench.code            # 3 files
    python -m bench.code --quick    # 1 file, fast mode and the peer only
"""

from __future__ import annotations

import argparse
import statistics
import sysconfig
import time
from pathlib import Path

from bench import environment_line, markdown_table

RATE = 0.25
FILES = ("argparse.py", "difflib.py", "_pyio.py")  # 19.8k, 20.4k, 20.6k tokens (Python 3.11)
INSTRUCTION = "def parse_known_args(self, args=None, namespace=None):\n    Parse the known arguments."


def main(argv: list[str] | None = None) -> int:
    from contextzip import Budget, Segment, get_compressor
    from contextzip.embeddings import get_encoder
    from contextzip.tokens import count_tokens

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 file, no LM")
    args = parser.parse_args(argv)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [(name, (stdlib / name).read_text(encoding="utf-8")) for name in FILES[: 1 if args.quick else 3]]
    methods = ["code-bm25", "code-fast"] + ([] if args.quick else ["code"])
    warm = Segment(files[0][1][:4000], kind="code", meta={"path": "warm.py"})
    for method in methods:  # load the models once, as a server would
        get_compressor(method).compress([warm], query=INSTRUCTION, budget=Budget(rate=RATE))
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    speed: dict[str, list[float]] = {m: [] for m in methods}
    for name, text in files:
        segment = Segment(text, kind="code", meta={"path": name})
        tokens = count_tokens(text)
        for method in methods:
            get_encoder()._cache.clear()
            compressor = get_compressor(method)
            start = time.perf_counter()
            compressor.compress([segment], query=INSTRUCTION, budget=Budget(rate=RATE))
            elapsed = time.perf_counter() - start
            seconds[method].append(elapsed)
            speed[method].append(tokens / elapsed)
    peer = statistics.median(seconds["code-bm25"])
    print(environment_line())
    sizes = ", ".join(f"{name} {count_tokens(text):,}" for name, text in files)
    print(f"Code compression at rate {RATE} (4x); files (tokens): {sizes}\n")
    rows = [
        [m, str(len(seconds[m])), f"{statistics.median(seconds[m]):.2f}",
         f"{statistics.median(speed[m]):,.0f}", f"{statistics.median(seconds[m]) / peer:.1f}x"]
        for m in methods
    ]  # fmt: skip
    print(markdown_table(["method", "files", "median s", "tokens/s", "time vs code-bm25"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
