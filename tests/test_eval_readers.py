"""Readers: the OpenAI-compatible client against a real local server, the local LM, the registry."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contextzip.errors import ConfigurationError, ContextZipError
from contextzip.eval.readers import (
    TRUNCATION_MARK,
    LocalReader,
    OpenAIReader,
    PresenceReader,
    ReaderError,
    available_readers,
    build_prompt,
    get_reader,
)
from contextzip.eval.types import Reader, ReaderOutput
from tests.helpers import serve

KEY = "sk-test-SECRET-0123456789"


@dataclass
class FakeState:
    """What the fake server does and what it saw; reset before every test."""

    calls: int = 0
    fail_status: int = 0
    fail_times: int = 0
    always_fail: bool = False
    delay_s: dict[str, float] = field(default_factory=dict)
    authorization: list[str | None] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def _question(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    match = re.search(r"Question: (.*)\nAnswer:$", user)
    return match.group(1) if match else ""


def _make_app(state: FakeState) -> Any:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        state.calls += 1
        auth = request.headers.get("authorization")
        state.authorization.append(auth)
        if state.always_fail or state.fail_times > 0:
            state.fail_times -= 1
            # echoes the Authorization header, as a careless server might, to test redaction
            return JSONResponse(
                {"error": f"failing on purpose; you sent {auth}"},
                status_code=state.fail_status,
                headers={"Retry-After": "0"} if state.fail_status == 429 else None,
            )
        body = await request.json()
        question = _question(body)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await asyncio.sleep(state.delay_s.get(question, 0.0))
        finally:
            state.in_flight -= 1
        content = f"  answer to {question} (model {body['model']})\nsecond line"
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": content}}]})

    return app


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[str, FakeState]]:
    state = FakeState()
    with serve(_make_app(state)) as url:
        yield f"{url}/v1", state


@pytest.fixture
def fake(server: tuple[str, FakeState]) -> tuple[str, FakeState]:
    url, state = server
    state.__init__()  # type: ignore[misc]
    return url, state


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_reader(url: str, tmp_path: Path, sleeps: list[float], **options: Any) -> OpenAIReader:
    return OpenAIReader(
        "fake-model", base_url=url, api_key=KEY, cache_dir=tmp_path, sleep=sleeps.append, **options
    )


def test_answer_is_the_first_line_of_the_reply(fake, tmp_path, sleeps):
    url, state = fake
    with make_reader(url, tmp_path, sleeps) as reader:
        out = reader.read("Who wrote it?", "Ann wrote it.")
    assert out == ReaderOutput("answer to Who wrote it? (model fake-model)", out.seconds, cached=False)
    assert out.seconds > 0
    assert state.calls == 1 and sleeps == []


def test_authorization_header_carries_the_key(fake, tmp_path, sleeps):
    url, state = fake
    make_reader(url, tmp_path, sleeps).read("q", "c")
    assert state.authorization == [f"Bearer {KEY}"]


def test_no_key_sends_no_authorization(fake, tmp_path, sleeps, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    url, state = fake
    OpenAIReader("m", base_url=url, cache=False).read("q", "c")
    assert state.authorization == [None]


def test_key_comes_from_the_environment(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    url, state = fake
    OpenAIReader("m", base_url=url, cache=False).read("q", "c")
    assert state.authorization == ["Bearer sk-from-env"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_then_succeeds(fake, tmp_path, sleeps, status):
    url, state = fake
    state.fail_status, state.fail_times = status, 2
    out = make_reader(url, tmp_path, sleeps, max_retries=3).read("q", "c")
    assert out.prediction == "answer to q (model fake-model)"
    assert state.calls == 3
    if status == 429:
        assert sleeps == [0.0, 0.0]  # Retry-After: 0 honoured
    else:
        assert sleeps == [0.5, 1.0]  # exponential backoff


def test_backoff_is_capped(fake, tmp_path, sleeps):
    url, state = fake
    state.fail_status, state.fail_times = 500, 5
    make_reader(url, tmp_path, sleeps, max_retries=5, max_backoff_s=2.0).read("q", "c")
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_gives_up_after_max_retries_without_leaking_the_key(fake, tmp_path, sleeps, caplog):
    url, state = fake
    state.fail_status, state.always_fail = 500, True
    with pytest.raises(ReaderError) as info:
        make_reader(url, tmp_path, sleeps, max_retries=2).read("q", "c")
    assert state.calls == 3 and len(sleeps) == 2
    message = str(info.value)
    assert "500" in message and f"{url}/chat/completions" in message
    assert KEY not in message and KEY not in repr(info.value.args) and KEY not in caplog.text
    assert info.value.status == 500 and isinstance(info.value, ContextZipError)
    assert list(tmp_path.iterdir()) == []  # failures are not cached


def test_client_errors_are_not_retried(fake, tmp_path, sleeps):
    url, state = fake
    state.fail_status, state.always_fail = 401, True
    with pytest.raises(ReaderError, match="HTTP 401") as info:
        make_reader(url, tmp_path, sleeps).read("q", "c")
    assert state.calls == 1 and sleeps == []
    assert KEY not in str(info.value)


def test_connection_errors_are_retried_then_reported(tmp_path, sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    reader = make_reader(f"http://127.0.0.1:{port}/v1", tmp_path, sleeps, max_retries=2)
    with pytest.raises(ReaderError, match="after 3 attempts") as info:
        reader.read("q", "c")
    assert info.value.status is None and len(sleeps) == 2 and KEY not in str(info.value)


def test_second_read_comes_from_the_cache(fake, tmp_path, sleeps):
    url, state = fake
    first = make_reader(url, tmp_path, sleeps).read("Who?", "Ann wrote it.")
    second = make_reader(url, tmp_path, sleeps).read("Who?", "Ann wrote it.")  # a new reader, same cache
    assert state.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.prediction == first.prediction
    make_reader(url, tmp_path, sleeps, max_tokens=8).read("Who?", "Ann wrote it.")  # another request
    assert state.calls == 2
    files = list(tmp_path.iterdir())
    assert len(files) == 2 and all(re.fullmatch(r"[0-9a-f]{64}\.json", f.name) for f in files)
    assert all(KEY not in f.read_text(encoding="utf-8") for f in files)


def test_cache_off_always_asks(fake, tmp_path, sleeps):
    url, state = fake
    reader = make_reader(url, tmp_path, sleeps, cache=False)
    assert [reader.read("q", "c").cached for _ in range(2)] == [False, False]
    assert state.calls == 2 and list(tmp_path.iterdir()) == []


def test_unreadable_cache_file_is_a_miss(fake, tmp_path, sleeps):
    url, state = fake
    make_reader(url, tmp_path, sleeps).read("q", "c")
    (path,) = tmp_path.iterdir()
    path.write_text("{not json", encoding="utf-8")
    out = make_reader(url, tmp_path, sleeps).read("q", "c")
    assert out.cached is False and state.calls == 2
    assert make_reader(url, tmp_path, sleeps).read("q", "c").cached is True


def test_read_many_preserves_order_with_concurrency(fake, tmp_path, sleeps):
    url, state = fake
    questions = [f"q{i}" for i in range(12)]
    state.delay_s = {q: 0.02 * ((len(questions) - i) % 5) for i, q in enumerate(questions)}
    items = [(q, f"context {q}") for q in questions]
    original = list(items)
    outputs = make_reader(url, tmp_path, sleeps, concurrency=4).read_many(items)
    assert [o.prediction for o in outputs] == [f"answer to {q} (model fake-model)" for q in questions]
    assert 2 <= state.max_in_flight <= 4
    assert items == original


def test_repr_hides_the_key(tmp_path):
    assert KEY not in repr(OpenAIReader("m", api_key=KEY, cache_dir=tmp_path))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"base_url": "api.openai.com"}, "base_url"),
        ({"concurrency": 0}, "concurrency"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_openai_bad_options(options, match):
    with pytest.raises(ConfigurationError, match=match):
        OpenAIReader("m", **options)


def test_presence_reader_declines():
    reader = PresenceReader()
    assert isinstance(reader, Reader) and reader.name == "presence"
    assert reader.read("q", "c") == ReaderOutput(prediction=None)


def test_get_reader_builds_each_reader(tmp_path):
    assert available_readers() == ["llama", "local", "openai", "presence"]
    assert isinstance(get_reader("presence"), PresenceReader)
    local = get_reader("local", max_new_tokens=8, precision="bfloat16")
    assert isinstance(local, LocalReader) and local.max_new_tokens == 8
    remote = get_reader("openai", model="m", base_url="http://127.0.0.1:1/v1", cache_dir=tmp_path)
    assert isinstance(remote, OpenAIReader) and remote.url == "http://127.0.0.1:1/v1/chat/completions"
    running = get_reader("llama", url="http://127.0.0.1:1/v1", model="1.5b")
    assert running.name == "llama-1.5b" and running.url == "http://127.0.0.1:1/v1/chat/completions"
    assert all(isinstance(r, Reader) for r in (local, remote, running))


def test_get_reader_errors():
    with pytest.raises(
        ConfigurationError, match="unknown reader 'gpt'; choose one of llama, local, openai, presence"
    ):
        get_reader("gpt")
    with pytest.raises(
        ConfigurationError, match=r"no option temprature; valid options: model, .*temperature"
    ):
        get_reader("openai", model="m", temprature=0.0)
    with pytest.raises(ConfigurationError, match="no option device; valid options: none"):
        get_reader("presence", device="cpu")
    with pytest.raises(ConfigurationError, match="needs model="):
        get_reader("openai")
    with pytest.raises(ConfigurationError, match="precision"):
        get_reader("local", precision="int4")


class WordTokenizer:
    """A stand-in fast tokenizer: one token per word, a one-line chat template."""

    def apply_chat_template(self, messages: list[dict[str, str]], **_: Any) -> str:
        return "\n".join(f"<{m['role']}> {m['content']}" for m in messages) + "\n<assistant>"

    def __call__(self, text: str, **_: Any) -> dict[str, Any]:
        spans = [m.span() for m in re.finditer(r"\S+", text)]
        return {"input_ids": list(range(len(spans))), "offset_mapping": spans}


def test_build_prompt_cuts_the_middle_to_fit():
    tok = WordTokenizer()
    context = " ".join(f"w{i}" for i in range(1000))
    short = build_prompt(tok, "Which?", "w1 w2", max_tokens=100)
    assert "w1 w2" in short and TRUNCATION_MARK not in short
    prompt = build_prompt(tok, "Which?", context, max_tokens=200)
    assert len(tok(prompt)["input_ids"]) <= 200
    assert TRUNCATION_MARK in prompt and "w0 " in prompt and "w999" in prompt and " w500 " not in prompt
    with pytest.raises(ConfigurationError, match="question alone"):
        build_prompt(tok, "Which? " * 50, context, max_tokens=40)


@pytest.fixture(scope="session")
def local_reader() -> LocalReader:
    return LocalReader()


@pytest.mark.slow
def test_local_reader_answers_from_the_context(local_reader):
    out = local_reader.read("What is the capital of France?", "The capital of France is Paris.")
    assert out.prediction is not None and "Paris" in out.prediction
    assert out.cached is False and out.seconds > 0
    again = local_reader.read("What is the capital of France?", "The capital of France is Paris.")
    assert again.prediction == out.prediction


@pytest.mark.slow
def test_local_reader_cuts_a_long_context(local_reader):
    from contextzip.causal_lm import _load
    from contextzip.resources import resolve_causal_lm

    sentences = [
        f"Report {i} says the sensor in room {i % 97} read {i * 7 % 100} degrees." for i in range(1200)
    ]
    context = "The launch code is HEADMARK. " + " ".join(sentences) + " The backup code is TAILMARK."
    tokenizer, lm = _load(resolve_causal_lm(None), "cpu")
    assert len(tokenizer(context)["input_ids"]) > 20_000
    budget = lm.config.max_position_embeddings - local_reader.max_new_tokens
    prompt = build_prompt(tokenizer, "What is the launch code?", context, max_tokens=budget)
    assert budget - 8 <= len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) <= budget
    assert "HEADMARK" in prompt and "TAILMARK" in prompt and TRUNCATION_MARK in prompt
    out = local_reader.read("What is the launch code?", context)
    assert isinstance(out.prediction, str)


@pytest.mark.slow
def test_local_reader_cache_shares_answers_between_readers(tmp_path):
    question, context = "What is the capital of France?", "The capital of France is Paris."
    first = LocalReader(cache_dir=tmp_path).read(question, context)
    second = LocalReader(cache_dir=tmp_path).read(question, context)  # a new reader, same folder
    assert (first.cached, second.cached) == (False, True)
    assert second.prediction == first.prediction == LocalReader().read(question, context).prediction
    assert len(list(tmp_path.glob("*.json"))) == 1
    # another generation setting is another request
    assert LocalReader(cache_dir=tmp_path, max_new_tokens=8).read(question, context).cached is False
    assert len(list(tmp_path.glob("*.json"))) == 2
