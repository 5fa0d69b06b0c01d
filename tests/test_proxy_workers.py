"""``contextzip serve --workers 2``: two processes serve, and ``/metrics`` adds up both."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from tests.proxy_servers import fake_upstream, metric_total, served_proxy

pytestmark = pytest.mark.slow


def test_two_workers_serve_and_their_metrics_add_up(tmp_path: Path) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
    with fake_upstream() as upstream:
        arguments = ["--upstream", upstream, "--workers", "2", "--log-level", "warning"]
        with served_proxy(arguments, {}, tmp_path / "proxy.log") as (url, process):
            workers = [
                p for p in psutil.Process(process.pid).children() if "spawn_main" in " ".join(p.cmdline())
            ]
            assert len(workers) == 2
            # a new connection each, so both workers take some
            answers = [httpx.post(f"{url}/v1/chat/completions", json=body) for _ in range(30)]
            assert all(a.status_code == 200 for a in answers)
            # whichever worker answers /metrics, it counts every worker's requests
            counts = {metric_total(url, "contextzip_requests", route="openai") for _ in range(6)}
            assert counts == {30.0}
