"""Shared fixtures: texts in several scripts, and network-free test processes."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_llama import FAKE_SERVER

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "incident_report.md"

# the data sets no package ships sit beside the checkout (the Makefile says the same)
if "CONTEXTZIP_DATA_DIR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["CONTEXTZIP_DATA_DIR"] = str(ROOT.parent / "shared" / "data")

ENGLISH = EXAMPLE.read_text(encoding="utf-8")
CJK = (
    "東京は日本の首都であり、人口は約千四百万人です。江戸時代には江戸と呼ばれていました。"
    "明治維新の後、天皇が京都から移り、東京と改名されました。現在は政治と経済の中心です。"
)
EMOJI = (
    "Launch day 🚀! The team 👩🏽‍💻👨‍🔬 shipped v2.0 at 09:00 🎉. Users loved the new dashboard 😍, "
    "but 3 of them hit a login bug 🐛. The fix 🔧 went out at 11:30 ✅. Coffee ☕ was consumed."
)
MIXED = (
    "Qwen2 と Llama-3.1 の比較: the 8B model scored 71.3% on MMLU, 日本語では 64.0% でした。"
    "次の評価は金曜日です。"
)

TEXTS = {"english": ENGLISH, "cjk": CJK, "emoji": EMOJI, "mixed": MIXED}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to reach a network address (loopback stays allowed)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and "/" not in host:
            raise OSError(f"network access attempted in a test: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture
def fake_llama(tmp_path, monkeypatch):
    """A fake ``llama_cpp.server`` first on the path (this process's and children's) and a tiny .gguf."""
    package = tmp_path / "fake_llama" / "llama_cpp"
    (package / "server").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "server" / "__init__.py").write_text("")
    (package / "server" / "__main__.py").write_text(FAKE_SERVER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake_llama"))
    monkeypatch.syspath_prepend(str(tmp_path / "fake_llama"))
    for name in [m for m in sys.modules if m == "llama_cpp" or m.startswith("llama_cpp.")]:
        monkeypatch.delitem(sys.modules, name)
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    return model, package / "server" / "requests.txt"


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The fake OpenAI- and Anthropic-compatible API in its own process, one per test module."""
    from tests.proxy_servers import fake_upstream  # the proxy extra, only where a test asks

    with fake_upstream() as url:
        yield url
