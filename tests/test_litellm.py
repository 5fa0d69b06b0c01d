"""The LiteLLM guardrail inside LiteLLM's real proxy (``make litellm``), in front of a fake upstream.

LiteLLM runs from ``.venv-litellm`` (its own environment, with contextzip's core); the client is
the OpenAI SDK; the upstream records what it received.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from contextzip.proxy.settings import ProxySettings
from tests.proxy_servers import ROOT, free_port, running_proxy
from tests.test_proxy import QUESTION, REPORT, SYSTEM

LITELLM = ROOT / ".venv-litellm" / "bin" / "litellm"
MASTER_KEY = "sk-contextzip-litellm-test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LITELLM.exists(), reason="LiteLLM's environment is not set up (make litellm)"),
]


@contextlib.contextmanager
def litellm_proxy(folder: Path, upstream: str, guardrail: dict[str, Any]) -> Iterator[str]:
    """LiteLLM's proxy on loopback, model ``fake`` routed to ``upstream``, with the guardrail on."""
    config = {
        "model_list": [{"model_name": "fake", "litellm_params": {
            "model": "openai/fake", "api_base": f"{upstream}/v1", "api_key": "sk-upstream"}}],
        "guardrails": [{"guardrail_name": "contextzip", "litellm_params": {
            "guardrail": "contextzip.integrations.litellm.ContextzipGuardrail", "mode": "pre_call",
            "default_on": True, **guardrail}}],
        "general_settings": {"master_key": MASTER_KEY},
    }  # fmt: skip
    (folder / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # no fetch of its price list
    env.pop("PYTHONPATH", None)
    with (folder / "litellm.log").open("w") as log:
        process = subprocess.Popen(
            [str(LITELLM), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, (folder / "litellm.log").read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def ask(url: str, *, stream: bool = False) -> str:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=120)
    messages: Any = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Use the report below.\n\n{REPORT}\n\nQuestion: {QUESTION}"},
    ]
    if not stream:
        return (
            client.chat.completions.create(model="fake", messages=messages).choices[0].message.content or ""
        )
    chunks = client.chat.completions.create(model="fake", messages=messages, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def received(upstream: str) -> list[dict[str, Any]]:
    """The messages of the last request the upstream received."""
    entry = httpx.get(f"{upstream}/_seen").json()["requests"][-1]
    return json.loads(base64.b64decode(entry["body_b64"]))["messages"]


def test_in_process_the_upstream_gets_the_compressed_request(tmp_path: Path, upstream: str) -> None:
    guardrail = {"rate": 0.3, "min_tokens": 200, "options": {"relevance": "lexical"}}
    with litellm_proxy(tmp_path, upstream, guardrail) as url:
        for stream in (False, True):
            httpx.post(f"{upstream}/_reset")
            assert ask(url, stream=stream) == "Hello from upstream"  # the upstream's answer, relayed
            system, user = received(upstream)
            assert system == {"role": "system", "content": SYSTEM}  # protected, byte for byte
            assert len(user["content"]) < 0.6 * len(REPORT) and user["content"].endswith(QUESTION)


def test_through_contextzip_serve_and_fail_open_when_it_is_down(tmp_path: Path, upstream: str) -> None:
    settings = ProxySettings(upstream="http://127.0.0.1:9", min_tokens=200, method="lexical")
    with running_proxy(settings) as (contextzip, app):
        guardrail = {"contextzip_url": contextzip, "rate": 0.3}
        with litellm_proxy(tmp_path, upstream, guardrail) as url:
            httpx.post(f"{upstream}/_reset")
            assert ask(url) == "Hello from upstream"
            assert len(received(upstream)[1]["content"]) < 0.6 * len(REPORT)
            metrics = httpx.get(f"{contextzip}/metrics").text
            assert 'contextzip_requests_total{outcome="compressed",route="compress"} 1.0' in metrics
    (tmp_path / "down").mkdir()
    with litellm_proxy(tmp_path / "down", upstream, {"contextzip_url": "http://127.0.0.1:9"}) as url:
        httpx.post(f"{upstream}/_reset")
        assert ask(url) == "Hello from upstream"
        user = received(upstream)[1]["content"]
        assert user == f"Use the report below.\n\n{REPORT}\n\nQuestion: {QUESTION}"  # untouched
