"""The llama reader: its model assembled from data-only wheels, its server started, read and stopped."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contextzip.errors import ConfigurationError, ResourceNotFoundError
from contextzip.eval.llama_reader import LLAMA_CMAKE_ARGS, LlamaReader
from contextzip.eval.openai_reader import ReaderError
from contextzip.eval.reader_models import READER_MODELS, ReaderModel, reader_model_file
from contextzip.eval.readers import get_reader

ROOT = Path(__file__).resolve().parents[1]
CHUNKS = [b"GGUF" + bytes(range(200)), bytes(range(255, 0, -1)) * 3, b"tail-bytes"]


def _install_fake_parts(site: Path, chunks: list[bytes], *, version: str = "0.1.0") -> ReaderModel:
    """Fake part wheels as pip lays them out: a package with data/partNN.bin and its dist-info.

    Each package's ``__init__`` raises: assembling must find the chunks without importing them.
    """
    for i, chunk in enumerate(chunks, start=1):
        package = site / f"fakepart{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('part code must never run')\n")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        info = site / f"fakepart{i}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakepart{i}\nVersion: {version}\n")
    whole = b"".join(chunks)
    return ReaderModel(
        name="fake",
        title="a fake model",
        filename="fake.gguf",
        distribution="fakepart",
        version="0.1.0",
        parts=len(chunks),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    return site


def test_parts_join_in_order_into_a_verified_file(fake_parts):
    model = _install_fake_parts(fake_parts, CHUNKS)
    path = reader_model_file(model)
    assert path.read_bytes() == b"".join(CHUNKS)
    assert "fakepart1" not in sys.modules  # found by spec, never imported
    assert reader_model_file(model) == path  # reused


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"size": len(b"".join(CHUNKS)) + 1}, "join to .* bytes, not the expected"),
        ({"sha256": "0" * 64}, "SHA-256 .* is not the expected"),
    ],
)
def test_a_wrong_size_or_checksum_is_refused_and_leaves_no_file(fake_parts, change, match):
    model = _install_fake_parts(fake_parts, CHUNKS)
    wrong = ReaderModel(**{**model.__dict__, **change})
    with pytest.raises(ResourceNotFoundError, match=match):
        reader_model_file(wrong)
    folder = Path(fake_parts.parent / "cache" / "reader-models")
    assert [p.name for p in folder.iterdir() if not p.name.endswith(".lock")] == []


def test_a_swapped_chunk_fails_the_checksum(fake_parts):
    model = _install_fake_parts(fake_parts, CHUNKS)
    (fake_parts / "fakepart2" / "data" / "part02.bin").write_bytes(CHUNKS[1][::-1])  # same size
    with pytest.raises(ResourceNotFoundError, match="SHA-256"):
        reader_model_file(model)


def test_a_missing_part_or_another_version_is_named(fake_parts):
    model = _install_fake_parts(fake_parts, CHUNKS, version="0.2.0")
    with pytest.raises(ResourceNotFoundError, match=r"fakepart1 is version 0\.2\.0, not the pinned 0\.1\.0"):
        reader_model_file(model)
    more = ReaderModel(**{**model.__dict__, "parts": 4, "version": "0.2.0"})
    with pytest.raises(ResourceNotFoundError, match="fakepart4 is not installed.*make reader"):
        reader_model_file(more)


def test_a_damaged_cached_file_is_joined_again(fake_parts):
    model = _install_fake_parts(fake_parts, CHUNKS)
    path = reader_model_file(model)
    path.write_bytes(b"x" * model.size)  # same size, other bytes; a new mtime makes it unverified
    assert reader_model_file(model).read_bytes() == b"".join(CHUNKS)


def test_the_reader_extra_pins_every_part_and_the_makefile_builds_portably():
    pyproject = (ROOT / "pyproject.toml").read_text()
    extra = re.search(r"^reader = \[(.*?)^\]", pyproject, re.M | re.S)
    assert extra is not None
    pinned = set(re.findall(r'"([^"]+)"', extra.group(1)))
    for model in READER_MODELS.values():
        assert set(model.requirements()) <= pinned
    makefile = (ROOT / "Makefile").read_text().replace("\\\n\t", "")
    assert " ".join(LLAMA_CMAKE_ARGS.split()) in " ".join(makefile.split())


def test_the_reader_starts_its_server_reads_and_stops_it(fake_llama, tmp_path):
    model, requests = fake_llama
    reader = get_reader("llama", model=str(model), cache_dir=str(tmp_path / "answers"), threads=1)
    assert reader.name == "llama-tiny"
    with reader:
        assert reader.read("Capital?", "Paris is the capital.").prediction == "Paris"
        server = reader._server
        assert server is not None and server.process is not None
        process = server.process
    assert process.poll() is not None  # stopped on close
    assert requests.read_text() == "1"

    # a new reader (another port) finds the answer in the cache and starts no server
    again = LlamaReader(str(model), cache_dir=tmp_path / "answers")
    output = again.read("Capital?", "Paris is the capital.")
    assert (output.prediction, output.cached, again._server) == ("Paris", True, None)
    assert requests.read_text() == "1"


def test_a_server_that_exits_while_starting_is_reported_with_its_log(fake_llama, tmp_path):
    model, _ = fake_llama
    (model.parent / "fake_llama" / "llama_cpp" / "server" / "__main__.py").write_text(
        "import sys\nprint('cannot load the model: out of memory')\nsys.exit(3)\n"
    )
    reader = LlamaReader(str(model), cache=False)
    with pytest.raises(ReaderError, match="exited with code 3(.|\n)*cannot load the model"):
        reader.read("Capital?", "Paris.")


def test_bad_models_are_named():
    with pytest.raises(ConfigurationError, match="neither 1.5b nor 0.5b nor an existing .gguf"):
        LlamaReader("7b")
    with pytest.raises(ConfigurationError, match="unknown reader model"):
        reader_model_file("7b")


_READER_READY = importlib.util.find_spec("llama_cpp") is not None and all(
    importlib.util.find_spec(d.replace("-", "_")) is not None for d in READER_MODELS["0.5b"].distributions()
)


@pytest.mark.slow
@pytest.mark.skipif(not _READER_READY, reason="the reader is not installed (make reader)")
def test_the_packaged_reader_answers_a_one_passage_question(tmp_path):
    with LlamaReader("0.5b", cache=False, n_ctx=2048) as reader:
        output = reader.read(
            "In what year was the Eiffel Tower completed?",
            "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was completed in 1889 "
            "as the entrance arch of the World's Fair.",
        )
        process = reader._server.process if reader._server else None
    assert output.prediction is not None and "1889" in output.prediction
    assert process is not None and process.poll() is not None


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_killed_evaluation_leaves_no_server_behind(fake_llama, tmp_path):
    model, _ = fake_llama
    script = (
        "import os, signal, sys\n"
        "from contextzip.eval.llama_reader import LlamaReader\n"
        f"reader = LlamaReader({str(model)!r}, cache=False, threads=1)\n"
        "reader.read('Capital?', 'Paris.')\n"
        "print(reader._server.process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"  # no close(), no exit handlers
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    server = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(server):
        time.sleep(0.1)
    assert not _alive(server)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
