"""Real user messages through the running proxy, read by the LLM reader: what compression costs in answers.

Each sample's message goes as one chat request through ``contextzip serve`` (a child
process with its default policy, or ``--rate``/``--method`` given here) twice: with
``x-contextzip: off`` (method ``original``) and as is (method ``proxy``). The proxy's
upstream is a small recorder in this process that keeps what the proxy forwarded and
answers it with the ``llama`` reader (its on-disk answer cache included, so a rerun after
a compressor change reads only the messages whose compression changed).

Each (sample, mode) becomes one :class:`~contextzip.eval.types.SampleResult` line in
``samples.jsonl`` (resumable, like :func:`contextzip.eval.runner.run_eval`): presence and
identifier retention are measured on the text the upstream really received, the
compression time is the proxy's own (its ``/metrics`` histogram), tokens are the proxy's
``x-contextzip-tokens-*`` headers.

Run it::

    python -m contextzip.eval.proxy_traffic --out eval/reports/DATE-end-task/proxy-traffic-1.5b
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contextzip.eval.identifiers import identifier_retention, occurs
from contextzip.eval.llama_reader import LlamaReader
from contextzip.eval.metrics import answer_in_reply, answer_presence, exact_match, f1, rouge_l
from contextzip.eval.prompts import SYSTEM_PROMPT, first_line
from contextzip.eval.runner import RESULTS_FILE, load_results
from contextzip.eval.servers import LoopbackServer, serve_in_thread
from contextzip.eval.types import BASELINE_METHOD, QASample, SampleResult

__all__ = ["PROXY_METHOD", "run_proxy_traffic"]

logger = logging.getLogger(__name__)

#: The method name of requests the proxy compressed with its policy.
PROXY_METHOD = "proxy"

_COMPRESSION_SUM = re.compile(r"^contextzip_compression_seconds_sum\{[^}]*\}\s+(\S+)$", re.M)


class _Recorder:
    """The proxy's upstream: records each forwarded chat body and answers it with the reader."""

    def __init__(self, reader: LlamaReader) -> None:
        self.reader = reader
        self.last_body: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def chat(request: Request) -> JSONResponse:
            body = json.loads(await request.body())
            with self._lock:
                self.last_body = body
            content = await run_in_threadpool(
                self.reader.chat, body["messages"], max_tokens=body.get("max_tokens")
            )
            return JSONResponse(
                {
                    "id": "chatcmpl-recorded",
                    "object": "chat.completion",
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                }
            )

        return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def run_proxy_traffic(
    samples: Sequence[QASample],
    *,
    out_dir: Path,
    model: str = "1.5b",
    rate: float | None = None,
    method: str | None = None,
    max_tokens: int = 64,
    progress: bool | None = None,
) -> list[SampleResult]:
    """Send every sample through a started proxy, compressed and not; return all results in ``out_dir``.

    Args:
        samples: Messages (each sample's one document is the whole user message).
        out_dir: Where ``samples.jsonl`` is written and resumed from.
        model: The reader model (see :class:`~contextzip.eval.llama_reader.LlamaReader`).
        rate: The proxy's ``--rate``; ``None`` for its default.
        method: The proxy's ``--method``; ``None`` for its default.
        max_tokens: Longest answer, in tokens.
        progress: Show a progress bar; ``None`` shows it on a terminal.
    """
    import httpx
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    done = {result.key: result for result in load_results(path)}
    reader = LlamaReader(model, max_tokens=max_tokens)
    label_rate = rate if rate is not None else _default_rate()
    plan = [(sample, mode) for sample in samples for mode in (BASELINE_METHOD, PROXY_METHOD)]

    def key(sample: QASample, mode: str) -> tuple[str, str, str, float, str]:
        return (
            _dataset(sample),
            sample.id,
            mode,
            1.0 if mode == BASELINE_METHOD else label_rate,
            reader.name,
        )

    todo = [(s, m) for s, m in plan if key(s, m) not in done]
    recorder = _Recorder(reader)
    try:
        if todo:
            reader.start()  # from this thread: the recorder answers from worker threads
        with serve_in_thread(recorder.app()) as upstream, _proxy(upstream, rate, method) as proxy:
            client = httpx.Client(base_url=proxy.url or "", timeout=reader.timeout_s)
            with open(path, "a", encoding="utf-8") as sink:
                for sample, mode in tqdm(
                    todo,
                    desc="proxy traffic",
                    unit="request",
                    disable=None if progress is None else not progress,
                ):
                    result = _send(client, recorder, sample, mode, label_rate, reader.name, max_tokens)
                    sink.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                    sink.flush()
                    done[result.key] = result
            client.close()
    finally:
        reader.close()
    return [done[key(s, m)] for s, m in plan if key(s, m) in done]


def _dataset(sample: QASample) -> str:
    """The dataset label of a sample's results: one report row per message shape."""
    shape = sample.meta.get("shape")
    return f"{sample.dataset}/{shape}" if shape else sample.dataset


def _default_rate() -> float:
    from contextzip.proxy.settings import ProxySettings

    return float(ProxySettings.model_fields["rate"].default)


def _proxy(upstream: str, rate: float | None, method: str | None) -> LoopbackServer:
    def command(port: int) -> list[str]:
        args = [sys.executable, "-m", "contextzip", "serve", "--upstream", upstream,
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
        if rate is not None:
            args += ["--rate", str(rate)]
        if method is not None:
            args += ["--method", method]
        return args

    # ready once its models are loaded: the first request's latency is then compression's own
    return LoopbackServer("contextzip proxy", command, ready_path="/readyz", startup_timeout_s=600.0)


def _send(
    client: Any, recorder: _Recorder, sample: QASample, mode: str, rate: float, reader: str, max_tokens: int
) -> SampleResult:
    message = sample.documents[0]
    body: dict[str, Any] = {
        "model": reader,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": message}],
        "temperature": 0.0,
        "max_tokens": max_tokens,
    }
    headers = {"x-contextzip": "off"} if mode == BASELINE_METHOD else {}
    before = _compression_seconds(client)
    recorder.last_body = None
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    response.raise_for_status()
    seconds = _compression_seconds(client) - before
    prediction = first_line(response.json()["choices"][0]["message"]["content"] or "")
    if recorder.last_body is None:
        raise RuntimeError(f"the proxy answered sample {sample.id} without asking the upstream")
    received = recorder.last_body["messages"][-1]["content"]
    tokens_before = int(response.headers.get("x-contextzip-tokens-before", 0))
    tokens_after = int(response.headers.get("x-contextzip-tokens-after", tokens_before))
    return SampleResult(
        dataset=_dataset(sample),
        sample_id=sample.id,
        method=mode,
        rate=1.0 if mode == BASELINE_METHOD else rate,
        reader=reader,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        achieved_rate=tokens_after / tokens_before if tokens_before else 1.0,
        ratio=tokens_before / max(tokens_after, 1),
        compress_seconds=seconds,
        # SQuAD normalisation glues code to its punctuation (errors='replace' -> errorsreplace):
        # an answer standing as written, between non-word characters, counts too
        presence=max(
            answer_presence(received, sample.answers), float(any(occurs(a, received) for a in sample.answers))
        ),
        prediction=prediction,
        exact_match=exact_match(prediction, sample.answers),
        f1=f1(prediction, sample.answers),
        rouge_l=rouge_l(prediction, sample.answers),
        accuracy=answer_in_reply(prediction, sample.answers),
        reason=response.headers.get("x-contextzip-method"),
        identifiers={kind: list(n) for kind, n in identifier_retention(message, received).items()},
    )


def _compression_seconds(client: Any) -> float:
    """The proxy's total compression time so far, summed over routes, from ``/metrics``."""
    text = client.get("/metrics").text
    return sum(float(value) for value in _COMPRESSION_SUM.findall(text))


def main(argv: Sequence[str] | None = None) -> int:
    from contextzip.eval.datasets import load_dataset
    from contextzip.eval.report import write_report

    parser = argparse.ArgumentParser(
        prog="python -m contextzip.eval.proxy_traffic", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="folder for samples.jsonl and the report")
    parser.add_argument("--dataset", default="proxy-traffic", help="dataset of whole user messages")
    parser.add_argument("--limit", type=int, help="number of samples (default: all)")
    parser.add_argument("--shapes", help="comma-separated message shapes to keep (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="1.5b", help="reader model: 1.5b, 0.5b or a .gguf path")
    parser.add_argument("--rate", type=float, help="the proxy's --rate (default: its own)")
    parser.add_argument("--method", help="the proxy's --method (default: its own)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    samples = load_dataset(args.dataset, limit=args.limit, seed=args.seed)
    if args.shapes:
        shapes = {shape.strip() for shape in args.shapes.split(",")}
        samples = [sample for sample in samples if sample.meta.get("shape") in shapes]
    out = Path(args.out)
    results = run_proxy_traffic(
        samples, out_dir=out, model=args.model, rate=args.rate, method=args.method,
        progress=False if args.quiet else None,
    )  # fmt: skip
    paths = write_report(load_results(out / RESULTS_FILE) or results, out, metric="accuracy")
    sys.stdout.write(paths["markdown"].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
