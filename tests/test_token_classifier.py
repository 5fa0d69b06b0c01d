"""The token-classification compressor on a real encoder (all-MiniLM-L6-v2 with a seeded head).

The head is untrained, so these tests check the machinery — parity with llmlingua, rate
accuracy, faithfulness, structure, precision agreement — not compression quality.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from contextzip import Budget, Segment, get_compressor
from contextzip.compressors.extractive import consecutive_repeats
from contextzip.compressors.token_classifier import TokenClassifierCompressor, unit_probs
from contextzip.errors import ConfigurationError
from contextzip.eval.datasets import load_dataset
from contextzip.token_classification import TokenProbs, fast_precision
from contextzip.token_windows import cut_windows
from contextzip.words import word_punctuation_boundaries
from tests.helpers import assert_extractive

# llmlingua picks the WordPiece merge rule from the model path: the folder name says so
MODEL_FOLDER = "minilm-bert-base-multilingual-cased"


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from contextzip.train import init_token_classifier

    return init_token_classifier(tmp_path_factory.mktemp("models") / MODEL_FOLDER, seed=0)


@pytest.fixture(scope="session")
def paragraphs() -> list[list[str]]:
    """Document lists of the committed SQuAD fixture (multi-document samples)."""
    return [list(s.documents) for s in load_dataset("fixture", limit=4, length=2000)]


def _long_text(paragraphs: list[list[str]], tokens: int) -> str:
    from contextzip.tokens import TokenCounter

    counter = TokenCounter()
    pool = [p for docs in paragraphs for p in docs]
    parts: list[str] = []
    while counter.count("\n\n".join(parts)) < tokens:
        parts.append(pool[len(parts) % len(pool)])
    return "\n\n".join(parts)


# -- pure functions ---------------------------------------------------------------------


def test_punctuation_splits_off_but_urls_numbers_and_identifiers_stay_whole() -> None:
    text = 'He said: "Visit https://x.io/a?b=1, now!" It costs 3.5km (ID-42).'
    starts, ends = word_punctuation_boundaries(text)
    units = [text[s:e] for s, e in zip(starts, ends, strict=True)]
    assert units == ["He", "said", ":", '"', "Visit", "https://x.io/a?b=1", ",", "now", '!"', "It",
                     "costs", "3.5km", "(", "ID-42", ").", ]  # fmt: skip


def test_windows_end_at_chunk_ends_and_cover_every_token() -> None:
    ends = np.zeros(25, dtype=bool)
    ends[[3, 9, 17]] = True
    windows = cut_windows(25, 10, ends)
    assert windows == [(0, 10), (10, 18), (18, 25)]
    assert cut_windows(25, 5, np.zeros(25, dtype=bool)) == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 25)]


def test_word_probability_is_mean_or_first_of_its_tokens() -> None:
    probs = TokenProbs(np.array([0, 2, 6]), np.array([2, 5, 9]), np.array([0.2, 0.6, 0.9], dtype=np.float32))
    starts, ends = np.array([0, 6]), np.array([5, 9])
    assert unit_probs(starts, ends, probs, "mean") == pytest.approx([0.4, 0.9])
    assert unit_probs(starts, ends, probs, "first") == pytest.approx([0.2, 0.9])
    # a unit no token starts in (a dropped character) takes the unit before it
    assert unit_probs(np.array([0, 3, 6]), np.array([2, 4, 9]), probs, "mean")[1] == pytest.approx(0.2)


# -- options and errors -------------------------------------------------------------------


def test_bad_options_fail_with_what_to_change(classifier_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="unit='token'"):
        TokenClassifierCompressor(classifier_dir, unit="token")
    with pytest.raises(ConfigurationError, match="backend='onnx'"):
        TokenClassifierCompressor(classifier_dir, precision="int8")
    with pytest.raises(ConfigurationError, match="token_to_word"):
        TokenClassifierCompressor(classifier_dir, token_to_word="max")
    with pytest.raises(ConfigurationError, match="no option parity"):  # it is the llmlingua2-parity peer now
        get_compressor("token-classifier", model=str(classifier_dir), parity=True)


# -- behaviour on the real encoder --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.5, 0.33, 0.2, 0.1])
def test_achieved_rate_is_within_two_points_of_the_request(
    classifier_dir: Path, paragraphs: list[list[str]], rate: float
) -> None:
    compressor = TokenClassifierCompressor(classifier_dir)
    for size in (200, 2_000, 10_000, 50_000):
        text = _long_text(paragraphs, size)
        result = compressor.compress([Segment(text)], budget=Budget(rate=rate))
        assert result.reason is None
        assert abs(result.rate - rate) <= 0.02, (size, result.rate)
        assert_extractive(text, result.text, whole_words=False)  # punctuation is a unit of its own


@pytest.mark.slow
def test_documents_share_one_global_ranking(classifier_dir: Path, paragraphs: list[list[str]]) -> None:
    compressor = TokenClassifierCompressor(classifier_dir)
    for documents in paragraphs:
        result = compressor.compress([Segment(d) for d in documents], budget=Budget(rate=0.25))
        assert abs(result.rate - 0.25) <= 0.02
        rates = [r.tokens_after / r.tokens_before for r in result.segments]
        assert max(rates) - min(rates) > 0.05  # not one rate per document


@pytest.mark.slow
def test_output_keeps_case_urls_numbers_and_cjk_exactly(classifier_dir: Path) -> None:
    text = (
        "The NASA report (see https://www.nasa.gov/reports/2024?id=ABC-123&lang=en) lists 3.14159 "
        "as π and names OpenAI, McDonald's and the iPhone 15 Pro. "
        "東京は日本の首都であり、人口は約千四百万人です。 Contact ops@example.com or call +1-555-0100. "
    ) * 6
    compressor = TokenClassifierCompressor(classifier_dir)
    result = compressor.compress([Segment(text)], budget=Budget(rate=0.4))
    out = result.text
    assert_extractive(text, out, whole_words=False)
    for start, end in result.segments[0].spans:
        assert text[start:end] in out
    for url in ("https://www.nasa.gov/reports/2024?id=ABC-123&lang=en", "ops@example.com", "+1-555-0100"):
        kept = [piece.strip("().,") for piece in out.split() if url[:8] in piece]
        assert all(piece == url for piece in kept), kept  # whole or absent
    original_words = set(re.findall(r"[A-Za-z0-9]+", text))
    assert set(re.findall(r"[A-Za-z0-9]+", out)) <= original_words  # no lower-cased or rebuilt words
    assert re.search(r"[\u3040-\u9fff]", out)


@pytest.mark.slow
def test_json_tables_and_code_fences_survive(classifier_dir: Path) -> None:
    tool_output = json.dumps(
        {"results": [{"id": i, "title": f"Item {i} of the catalogue"} for i in range(40)]}
    )
    table = "| name | role | since |\n|---|---|---|\n" + "".join(
        f"| person number {i} | engineer on the platform team | 20{i:02d} |\n" for i in range(20)
    )
    code = (
        "Run this:\n```python\nfor i in range(3):\n    print(i)\n```\nThen check the output carefully. " * 3
    )
    compressor = TokenClassifierCompressor(classifier_dir)
    result = compressor.compress(
        [Segment(tool_output, kind="tool_output"), Segment(table), Segment(code)], budget=Budget(rate=0.5)
    )
    json_out, table_out, code_out = (r.text for r in result.segments)
    assert json.loads(json_out) == json.loads(tool_output)
    assert all(line.startswith("|") and line.endswith("|") for line in table_out.splitlines())
    assert "|---|---|---|" in table_out
    _assert_fences_hold_code(code_out)
    alone = compressor.compress([Segment(code)], budget=Budget(rate=0.5)).text
    _assert_fences_hold_code(alone)
    assert "```python" in alone  # something of a block was kept, so its fences were


def _assert_fences_hold_code(text: str) -> None:
    """Fences come in pairs and never enclose nothing (kept content keeps its fences)."""
    fences = [m.start() for m in re.finditer(r"^```", text, flags=re.M)]
    assert len(fences) % 2 == 0, text
    for start, end in zip(fences[::2], fences[1::2], strict=True):
        assert text[start:end].split("\n", 1)[1].strip(), text


@pytest.mark.slow
def test_short_prompts_are_left_alone(classifier_dir: Path) -> None:
    result = TokenClassifierCompressor(classifier_dir).compress(
        [Segment("What is the capital of France?")], budget=Budget(rate=0.3)
    )
    assert result.ratio == 1.0 and "min_tokens" in (result.reason or "")


@pytest.mark.slow
def test_force_tokens_digits_and_consecutive_repeats(classifier_dir: Path) -> None:
    text = "Revenue grew , , , by 12 percent in 2023 while costs fell 7 percent ; margins , , improved. " * 8
    compressor = TokenClassifierCompressor(
        classifier_dir, force_tokens=[",", ";"], force_reserve_digit=True, drop_consecutive=True,
        return_word_label=True,
    )  # fmt: skip
    result = compressor.compress([Segment(text)], budget=Budget(rate=0.3))
    out = result.text
    assert out.count("12") == text.count("12") and out.count("2023") == text.count("2023")
    assert out.count(";") == text.count(";")
    assert ", ," not in out  # repeats with nothing kept between them are dropped
    labels = result.segments[0].word_labels()
    assert [w for w, kept in labels if kept] == re.findall(r"\S+", re.sub(r"(\w)([,;.])", r"\1 \2", out))


@pytest.mark.slow
def test_consecutive_repeats_only_drop_force_token_units(classifier_dir: Path) -> None:
    from contextzip.compressors.units import build_unit_table
    from contextzip.tokens import TokenCounter

    text = "a , , b , c ; ;"
    counter = TokenCounter()
    table = build_unit_table(
        [Segment(text)], [counter.encode(text)], "word", counter, word_punctuation_boundaries
    )
    keep = np.ones(len(table), dtype=bool)
    repeats = consecutive_repeats(table, keep, [",", ";"])
    assert [text[s:e] for s, e, r in zip(table.starts, table.ends, repeats, strict=True) if r] == [",", ";"]


@pytest.mark.slow
def test_query_aware_windows_read_the_question(classifier_dir: Path, paragraphs: list[list[str]]) -> None:
    text = paragraphs[0][0]
    aware = TokenClassifierCompressor(classifier_dir, query_aware=True)
    plain = TokenClassifierCompressor(classifier_dir)
    with_query = aware.token_probs(text, "Who won the game?").probs
    other_query = aware.token_probs(text, "When was the stadium built?").probs
    assert not np.allclose(with_query, other_query)
    assert np.array_equal(plain.token_probs(text, "Who won?").probs, plain.token_probs(text, None).probs)


@pytest.mark.slow
def test_context_level_filter_drops_whole_documents(
    classifier_dir: Path, paragraphs: list[list[str]]
) -> None:
    compressor = TokenClassifierCompressor(classifier_dir, context_level_filter=True)
    documents = paragraphs[1]
    result = compressor.compress([Segment(d) for d in documents], budget=Budget(rate=0.3))
    dropped = [r for r in result.segments if r.dropped]
    assert 0 < len(dropped) < len(documents)
    assert all(r.score is not None for r in result.segments)
    assert abs(result.rate - 0.3) <= 0.02


@pytest.mark.slow
def test_same_input_same_bytes(classifier_dir: Path, paragraphs: list[list[str]]) -> None:
    segments = [Segment(d) for d in paragraphs[2]]
    first = TokenClassifierCompressor(classifier_dir).compress(segments, budget=Budget(rate=0.33), query="q")
    second = TokenClassifierCompressor(classifier_dir).compress(segments, budget=Budget(rate=0.33), query="q")
    assert first.text == second.text


@pytest.mark.slow
def test_default_precision_selects_what_float32_selects(
    classifier_dir: Path, paragraphs: list[list[str]]
) -> None:
    """The default picks the fastest precision only where it agrees with fp32 on >= 99% of words."""
    default = TokenClassifierCompressor(classifier_dir, return_word_label=True)
    reference = TokenClassifierCompressor(classifier_dir, precision="float32", return_word_label=True)
    assert default.classifier.resolved_precision == fast_precision("cpu")
    agree = total = 0
    for documents in paragraphs:
        segments = [Segment(d) for d in documents]
        a = default.compress(segments, budget=Budget(rate=0.33))
        b = reference.compress(segments, budget=Budget(rate=0.33))
        for x, y in zip(a.segments, b.segments, strict=True):
            labels_a = [u.kept for u in x.labels]
            labels_b = [u.kept for u in y.labels]
            agree += sum(p == q for p, q in zip(labels_a, labels_b, strict=True))
            total += len(labels_a)
    assert agree / total >= 0.99


@pytest.mark.slow
def test_onnx_backend_matches_torch(classifier_dir: Path, paragraphs: list[list[str]]) -> None:
    pytest.importorskip("onnxruntime")
    text = "\n\n".join(paragraphs[0][:4])
    torch_probs = TokenClassifierCompressor(classifier_dir, precision="float32").token_probs(text).probs
    onnx_probs = TokenClassifierCompressor(classifier_dir, backend="onnx").token_probs(text).probs
    assert np.abs(torch_probs - onnx_probs).max() < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"rate": 0.33},
        {"rate": 0.5, "force_tokens": ["\n", "?", ".", "!", ","]},
        {"rate": 0.2, "force_tokens": [",", "\n"], "force_reserve_digit": True, "drop_consecutive": True},
        {"target_token": 300, "token_to_word": "first"},
        {"rate": 0.4, "use_context_level_filter": False},
    ],
)
def test_parity_mode_reproduces_llmlingua_word_for_word(
    classifier_dir: Path, paragraphs: list[list[str]], options: dict[str, object]
) -> None:
    pytest.importorskip("llmlingua")
    from llmlingua import PromptCompressor

    from contextzip.eval.llmlingua2_parity import llmlingua2_compress
    from contextzip.tokens import seed_tiktoken_cache

    assert seed_tiktoken_cache("cl100k_base")  # llmlingua loads cl100k with plain tiktoken, offline
    reference = PromptCompressor(model_name=str(classifier_dir), use_llmlingua2=True, device_map="cpu")
    for documents in paragraphs[:2]:
        expected = reference.compress_prompt(list(documents), return_word_label=True, **options)
        ours = llmlingua2_compress(str(classifier_dir), documents, **options)  # type: ignore[arg-type]
        assert ours.compressed_prompt == expected["compressed_prompt"]
        labelled = [pair.rsplit(" ", 1) for pair in expected["fn_labeled_original_prompt"].split("\t\t|\t\t")]
        assert [(w, str(label)) for ws, ls in zip(ours.words, ours.labels, strict=True)
                for w, label in zip(ws, ls, strict=True)] == [tuple(p) for p in labelled]  # fmt: skip
    # and through the registered peer
    single = paragraphs[0][0] * 3
    compressor = get_compressor("llmlingua2-parity", model=str(classifier_dir))
    expected_text = reference.compress_prompt([single], rate=0.4)["compressed_prompt"]
    assert compressor.compress([Segment(single)], budget=Budget(rate=0.4)).text == expected_text


def test_windows_carry_the_token_types_the_tokenizer_itself_gives(classifier_dir: Path) -> None:
    from transformers import AutoTokenizer

    from contextzip.token_windows import plan_windows

    tokenizer = AutoTokenizer.from_pretrained(str(classifier_dir))
    text, question = "The tower was built in 1889. It is 330 metres tall.", "When was it built?"
    for query, expected in ((None, tokenizer(text)), (question, tokenizer(question, text))):
        plan = plan_windows(tokenizer, text, query)
        [(lo, hi)] = plan.windows
        ids, types = plan.sequence(lo, hi)
        assert ids.tolist() == expected["input_ids"]
        assert types.tolist() == expected["token_type_ids"]  # a lone text is type 0; after a question, 1
