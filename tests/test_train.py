"""contextzip.train: teachers, labelled examples, fine-tuning, shipped deltas, the train CLI."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contextzip.errors import ConfigurationError, ResourceNotFoundError
from contextzip.train.corpus import Passage, read_corpus, write_corpus
from contextzip.train.data import IGNORE, LabelledText, encode_examples, focus_on_questions, label_passages
from contextzip.train.teachers import LLMTeacher, QATeacher, align_kept_words, top_share, word_keys
from tests.helpers import serve

PARIS = (
    "Paris is the capital and most populous city of France. The city has been a major centre "
    "of finance, diplomacy and science since the 17th century. The Eiffel Tower was built in 1889."
)
TOKYO = "Tokyo is the capital of Japan. It was called Edo until 1868, when the emperor moved there."


def kept_words(text: str, keep: np.ndarray) -> list[str]:
    return [w for w, k in zip(word_keys(text), keep.tolist(), strict=True) if k]


# -- teachers -----------------------------------------------------------------------------


def test_qa_teacher_keeps_answer_spans_and_shared_content_words() -> None:
    keep = QATeacher().label(PARIS, [("When was the Eiffel Tower built?", ["1889"])])
    assert kept_words(PARIS, keep) == ["eiffel", "tower", "built", "1889"]  # not "when", "was", "the"


def test_qa_teacher_finds_an_answer_written_in_another_case() -> None:
    keep = QATeacher().label(TOKYO, [("What was the old name?", ["edo"])])
    assert "edo" in kept_words(TOKYO, keep)


def test_top_share_fills_up_after_the_forced_words_deterministically() -> None:
    scores = np.array([5.0, 1.0, 3.0, 3.0, 0.0])
    already = np.array([False, True, False, False, False])
    assert top_share(scores, 0.6, already=already).tolist() == [True, True, True, False, False]
    assert top_share(scores, 0.2, already=np.ones(5, dtype=bool)).all()  # forced words all stay


@pytest.mark.slow
def test_surprisal_teachers_keep_their_share_and_qa_words_come_first() -> None:
    from contextzip.train.teachers import CombinedTeacher, SurprisalTeacher

    surprisal = SurprisalTeacher(keep=0.4)
    words = len(word_keys(PARIS))
    keep = surprisal.label(PARIS)
    assert keep.sum() == round(0.4 * words)
    fewer = surprisal.with_keep(0.2)
    assert fewer.lm is surprisal.lm and fewer._scores is surprisal._scores  # one LM pass per text
    assert fewer.label(PARIS).sum() == round(0.2 * words) and not (fewer.label(PARIS) & ~keep).any()
    assert surprisal.keep == 0.4
    combined = CombinedTeacher(surprisal, keep=0.4)
    asked = [("When was the Eiffel Tower built?", ["1889"])]
    both = combined.label(PARIS, asked)
    assert both.sum() == round(0.4 * words)
    assert not (QATeacher().label(PARIS, asked) & ~both).any()  # every QA word is kept
    assert np.array_equal(combined.label(PARIS), keep)  # no questions: surprisal alone


def test_alignment_keeps_matched_words_in_order_and_skips_invented_ones() -> None:
    text = "The quick brown fox jumps over the lazy dog ."
    answer = word_keys("quick fox leaps over lazy dog")  # "leaps" is not in the original
    kept = kept_words(text, align_kept_words(word_keys(text), answer))
    assert kept == ["quick", "fox", "over", "lazy", "dog"]
    # a reordered word cannot be matched backwards
    assert align_kept_words(["a", "b", "c"], ["c", "a"]).tolist() == [False, False, True]


def _extractive_llm(calls: list[dict[str, Any]]) -> Any:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        calls.append(body)
        words = body["messages"][-1]["content"].split()
        reply = " ".join(w for i, w in enumerate(words) if i % 2 == 0) + " Furthermore"
        return JSONResponse({"choices": [{"message": {"role": "assistant", "content": reply}}]})

    return app


def test_llm_teacher_labels_from_a_real_chat_completions_server(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    with serve(_extractive_llm(calls)) as url:
        teacher = LLMTeacher("tiny-llm", base_url=f"{url}/v1", api_key="sk-test", chunk_words=20,
                             cache_dir=tmp_path)  # fmt: skip
        keep = teacher.label(TOKYO)
        again = teacher.label(TOKYO)
    words = word_keys(TOKYO)
    assert len(keep) == len(words) and keep.any() and not keep.all()
    assert "furthermore" not in kept_words(TOKYO, keep)  # the invented word maps to nothing
    assert calls[0]["messages"][0]["role"] == "system" and "never add" in calls[0]["messages"][0]["content"]
    assert len(calls) == -(-len(words) // 20)  # one request per chunk, the second labelling is cached
    np.testing.assert_array_equal(keep, again)


def test_llm_teacher_needs_a_model() -> None:
    from contextzip.train.recipe import make_teacher

    with pytest.raises(ConfigurationError, match="--llm-model"):
        make_teacher("llm")


# -- corpus and labelled examples --------------------------------------------------------------


def test_corpus_jsonl_round_trip_and_clear_errors(tmp_path: Path) -> None:
    passages = [Passage("p1", PARIS, (("When?", ("1889",)),), group="a"), Passage("p2", TOKYO, group="a")]
    path = tmp_path / "corpus.jsonl"
    write_corpus(passages, path)
    assert read_corpus(path) == passages
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "no text field"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="bad.jsonl:1: .*'text'"):
        read_corpus(bad)


@pytest.mark.slow
def test_builtin_corpus_never_holds_an_evaluation_passage() -> None:
    from contextzip.eval.datasets import load_dataset
    from contextzip.train.corpus import qa_corpus

    corpus = qa_corpus()
    assert {p.id.split("/")[0] for p in corpus} == {"squad-train", "new-wiki", "nq-train"}
    texts = {p.text for p in corpus}
    squad_dev = {s.documents[0] for s in load_dataset("squad", split="all")}
    assert not texts & squad_dev
    nq_dev = {s.documents[0].split(") ", 1)[1] for s in load_dataset("nq-open")}
    assert not texts & nq_dev
    assert all(p.questions for p in corpus if p.id.startswith("nq-train/"))


class CountingTeacher(QATeacher):
    def __init__(self) -> None:
        self.calls = 0

    def label(self, text: str, questions: Any = ()) -> np.ndarray:
        self.calls += 1
        return super().label(text, questions)


def test_labelling_resumes_from_its_cache(tmp_path: Path) -> None:
    passages = [Passage("p1", PARIS, (("When was the tower built?", ("1889",)),)), Passage("p2", TOKYO)]
    cache = tmp_path / "labels.jsonl"
    first = label_passages(passages[:1], CountingTeacher(), cache=cache, progress=False)
    teacher = CountingTeacher()
    both = label_passages(passages, teacher, cache=cache, progress=False)
    assert teacher.calls == 1  # only the new passage
    assert both[0].id == first[0].id and np.array_equal(both[0].keep, first[0].keep)
    assert len(cache.read_text(encoding="utf-8").splitlines()) == 2


BERLIN = "Berlin is the capital of Germany. Its wall fell in 1989."


class NothingTeacher(QATeacher):
    """Keeps no word: marks which parts a distractor teacher labelled."""

    def label(self, text: str, questions: Any = ()) -> np.ndarray:
        return np.zeros(len(word_keys(text)), dtype=bool)


def three_passages() -> tuple[Passage, Passage, Passage]:
    """Paris (two questions) and Tokyo in group "a", Berlin alone in group "b"."""
    paris = Passage(
        "a/0",
        PARIS,
        (("When was the Eiffel Tower built?", ("1889",)), ("What is the capital of France?", ("Paris",))),
        group="a",
    )
    tokyo = Passage("a/1", TOKYO, (("What was Tokyo called?", ("Edo",)),), group="a")
    berlin = Passage("b/0", BERLIN, (("When did the wall fall?", ("1989",)),), group="b")
    return paris, tokyo, berlin


def test_query_aware_examples_mix_the_passage_with_same_and_other_group_distractors() -> None:
    paris, tokyo, berlin = three_passages()
    teacher = QATeacher()
    examples = label_passages([paris, tokyo, berlin], teacher, query_aware=True, progress=False)
    again = label_passages([paris, tokyo, berlin], teacher, query_aware=True, progress=False)
    assert [e.to_json() for e in examples] == [e.to_json() for e in again]  # deterministic
    assert len(examples) == 3  # one question per passage
    by_query = {e.query: e for e in examples}
    eiffel = by_query["When was the Eiffel Tower built?"]
    assert PARIS in eiffel.text and TOKYO in eiffel.text and BERLIN in eiffel.text
    kept = kept_words(eiffel.text, eiffel.keep)
    # the passage keeps what all its questions need; the distractors' answers are not this question's
    assert {"1889", "paris"} <= set(kept) and "edo" not in kept and "1989" not in kept
    # the only group-"b" passage gets its one distractor from the other group
    wall = by_query["When did the wall fall?"]
    assert BERLIN in wall.text and wall.text.count("capital") == 2

    quiet = label_passages(
        [paris, tokyo, berlin], teacher, query_aware=True, distractor_teacher=NothingTeacher(), progress=False
    )
    eiffel = next(e for e in quiet if e.query == "When was the Eiffel Tower built?")
    assert set(kept_words(eiffel.text, eiffel.keep)) <= set(
        kept_words(PARIS, teacher.label(PARIS, paris.questions))
    )


def test_token_labels_follow_their_words_and_skip_specials_and_query(classifier_tokenizer: Any) -> None:
    keep = np.array([w in {"eiffel", "tower", "1889"} for w in word_keys(PARIS)])
    example = LabelledText("x", PARIS, keep, query="When was it built?")
    [(ids, types, labels)] = encode_examples([example], classifier_tokenizer)
    tokens = classifier_tokenizer.convert_ids_to_tokens(ids.tolist())
    assert labels[0] == IGNORE and labels[-1] == IGNORE  # [CLS] ... [SEP]
    query_end = tokens.index("[SEP]")
    assert (labels[: query_end + 1] == IGNORE).all() and (labels[query_end + 1 : -1] != IGNORE).all()
    kept_pieces = [t for t, label in zip(tokens, labels.tolist(), strict=True) if label == 1]
    assert kept_pieces == ["e", "##iff", "##el", "tower", "1889"] or kept_pieces == [
        "eiffel",
        "tower",
        "1889",
    ]
    assert types[query_end + 1 :].max() == 1 and types[: query_end + 1].max() == 0


def test_focus_on_questions_ranks_the_asked_answer_above_the_other_kept_words() -> None:
    paris, tokyo, berlin = three_passages()
    passages = [paris, tokyo, berlin]
    examples = label_passages(passages, QATeacher(), query_aware=True, progress=False)
    focused = focus_on_questions(examples, passages, other_keep=0.6)
    graded, alone = focused[:3], focused[3:]
    assert [e.id for e in graded] == [e.id for e in examples]
    eiffel = next(e for e in graded if e.query == "When was the Eiffel Tower built?")
    assert eiffel.target is not None
    target = dict(zip(word_keys(eiffel.text), eiffel.target.tolist(), strict=True))
    assert target["1889"] == 1.0  # the asked answer
    assert target["paris"] == pytest.approx(0.6)  # another question's answer: kept, but below
    assert target["science"] == 0.0 and target["edo"] == 0.0
    assert np.array_equal(eiffel.target > 0, eiffel.keep)  # the same words as the hard labels
    # the same question over its passage alone, with the passage's part of the targets
    single = next(e for e in alone if e.query == eiffel.query)
    assert single.text == PARIS and single.target is not None
    assert kept_words(PARIS, single.target == 1.0) == ["1889"]
    # every question of a passage is asked of it alone: the same words, another answer first
    capital = next(e for e in alone if e.query == "What is the capital of France?")
    assert capital.target is not None and kept_words(PARIS, capital.target == 1.0) == ["paris"]
    assert np.array_equal(capital.keep, single.keep)
    assert len(alone) == 4 and len({e.id for e in focused}) == 7
    assert len(focus_on_questions(examples, passages, other_keep=0.6, questions_alone=1)) == 6
    with pytest.raises(ValueError, match="not a query-aware example"):
        focus_on_questions(label_passages(passages, QATeacher(), progress=False), passages, other_keep=0.6)
    with pytest.raises(ValueError, match="other_keep"):
        focus_on_questions(examples, passages, other_keep=1.5)


def test_soft_targets_are_learned_as_keep_probabilities(classifier_tokenizer: Any) -> None:
    import torch

    from contextzip.train.finetune import keep_loss

    keep = np.array([w in {"eiffel", "tower", "1889"} for w in word_keys(PARIS)])
    target = np.where(keep, 0.6, 0.0).astype(np.float32)
    target[word_keys(PARIS).index("1889")] = 1.0
    [(_, _, labels)] = encode_examples([LabelledText("x", PARIS, keep, target=target)], classifier_tokenizer)
    assert sorted(set(labels.tolist())) == [IGNORE, 0.0, pytest.approx(0.6), 1.0]

    # hard labels: the usual cross-entropy, ignored tokens left out
    logits = torch.tensor([[[0.3, -1.2], [2.0, 0.5], [0.0, 0.0], [-0.4, 1.1]]])
    hard = torch.tensor([[1.0, 0.0, IGNORE, 1.0]])
    expected = torch.nn.functional.cross_entropy(logits[0], hard[0].long(), ignore_index=IGNORE)
    assert keep_loss(logits, hard).item() == pytest.approx(expected.item())
    # a soft target is learned as a probability: the loss is lowest where p(keep) = 0.6
    shift = torch.linspace(-3, 3, 601)
    losses = [keep_loss(torch.tensor([[[0.0, float(s)]]]), torch.tensor([[0.6]])).item() for s in shift]
    best = torch.sigmoid(shift[int(np.argmin(losses))]).item()
    assert best == pytest.approx(0.6, abs=0.01)


def test_a_trained_classifier_keeps_its_head_when_training_continues_from_it(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from contextzip.train.model import init_token_classifier, is_keep_classifier

    trained = init_token_classifier(tmp_path / "trained", seed=1)
    assert is_keep_classifier(trained) and not is_keep_classifier(tmp_path)
    continued = init_token_classifier(tmp_path / "continued", base=trained, seed=2)
    fresh = init_token_classifier(tmp_path / "fresh", seed=2)
    head = {n: load_file(str(m / "model.safetensors"))["classifier.weight"] for n, m in
            (("trained", trained), ("continued", continued), ("fresh", fresh))}  # fmt: skip
    assert torch.equal(head["continued"], head["trained"])
    assert not torch.equal(head["fresh"], head["trained"])


@pytest.fixture(scope="module")
def classifier_tokenizer() -> Any:
    from transformers import AutoTokenizer

    from contextzip.resources import minilm_dir

    return AutoTokenizer.from_pretrained(str(minilm_dir()))


# -- fine-tuning, export, the shipped model ---------------------------------------------------


def _tiny_examples() -> list[LabelledText]:
    from contextzip.eval.sources import fixture_articles

    passages = [
        Passage(f"{a.title}/{i}", text, tuple((q, answers) for _, q, answers in questions), group=a.title)
        for a in fixture_articles()
        for i, (text, questions) in enumerate(a.paragraphs)
    ][:12]
    return label_passages(passages, QATeacher(), progress=False)


@pytest.mark.slow
def test_interrupted_fine_tuning_resumes_to_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from safetensors.torch import load_file

    from contextzip.train.finetune import FinetuneConfig, finetune

    module = importlib.import_module(
        "contextzip.train.finetune"
    )  # the package re-exports a function by that name

    examples = _tiny_examples()
    config = FinetuneConfig(epochs=1, batch_size=4, trainable_layers=1, checkpoint_every=1)
    whole = finetune(examples, tmp_path / "whole", config=config, progress=False)

    real_save = module._save_checkpoint
    saves = 0

    def interrupt_after_two(*args: Any, **kwargs: Any) -> None:
        nonlocal saves
        real_save(*args, **kwargs)
        saves += 1
        if saves == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "_save_checkpoint", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        finetune(examples, tmp_path / "resumed", config=config, progress=False)
    monkeypatch.setattr(module, "_save_checkpoint", real_save)
    resumed = finetune(examples, tmp_path / "resumed", config=config, progress=False)

    first, second = load_file(str(whole / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    record = json.loads((tmp_path / "resumed" / "training.json").read_text(encoding="utf-8"))
    assert record["steps"] == len(record["losses"]) and record["examples"] == len(examples)
    with pytest.raises(ConfigurationError, match="other settings"):  # a finished run is not silently reused
        finetune(examples, tmp_path / "whole", config=replace(config, epochs=2), progress=False)


@pytest.mark.slow
def test_shipped_delta_rebuilds_the_trained_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextzip.compressors.token_classifier import TokenClassifierCompressor
    from contextzip.token_classification import TokenClassifier
    from contextzip.train.export import export_delta
    from contextzip.train.finetune import FinetuneConfig, finetune

    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    trained = finetune(_tiny_examples(), tmp_path / "run", progress=False,
                       config=FinetuneConfig(epochs=1, batch_size=4, trainable_layers=2))  # fmt: skip
    shipped = export_delta(trained, tmp_path / "models" / "my-classifier")
    record = json.loads((shipped / "base.json").read_text(encoding="utf-8"))
    assert record["parameters"] and not any("embeddings" in p for p in record["parameters"])
    assert all(
        ".layer.4." in p or ".layer.5." in p or p.startswith("classifier.") for p in record["parameters"]
    )
    assert (shipped / "weights.safetensors").stat().st_size < 0.4 * (
        trained / "model.safetensors"
    ).stat().st_size

    # by folder, and by name under CONTEXTZIP_MODELS_DIR
    monkeypatch.setenv("CONTEXTZIP_MODELS_DIR", str(tmp_path / "models"))
    by_name = TokenClassifierCompressor("my-classifier")
    assert by_name.model == TokenClassifierCompressor(shipped).model
    rebuilt = TokenClassifier(by_name.model, precision="float32").keep_probs(PARIS).probs
    original = TokenClassifier(str(trained), precision="float32").keep_probs(PARIS).probs
    np.testing.assert_allclose(rebuilt, original, atol=2e-3)  # float16 deltas


def test_missing_default_model_says_how_to_make_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextzip.compressors.token_classifier import TokenClassifierCompressor

    monkeypatch.setenv("CONTEXTZIP_MODELS_DIR", str(tmp_path))
    with pytest.raises(ResourceNotFoundError, match="contextzip train --recipe default"):
        TokenClassifierCompressor()


def test_recipe_cli_derives_the_query_aware_settings_from_the_agnostic_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextzip import cli
    from contextzip.train import recipe as recipe_module
    from contextzip.train.finetune import FinetuneConfig

    seen: dict[str, Any] = {}

    def fake_train(work: Path, *, recipe: Any, progress: Any) -> dict[str, Path]:
        seen["recipe"] = recipe
        return {}

    monkeypatch.setattr(recipe_module, "train_default", fake_train)
    monkeypatch.setattr(recipe_module, "ship_default", lambda *args, **kwargs: [])
    args = ["train", "--recipe", "default", "--out", str(tmp_path), "--learning-rate", "2e-4", "--no-eval"]
    assert cli.main([*args, "--batch-size", "8", "--quiet"]) == 0
    chosen = seen["recipe"]
    assert (chosen.finetune.epochs, chosen.finetune.learning_rate, chosen.finetune.batch_size) == (2, 2e-4, 8)
    query = chosen.query_config()
    assert (query.epochs, query.learning_rate, query.batch_size) == (1, 1e-4, 8)
    # the defaults give exactly the settings the shipped query-aware model was trained with
    assert cli.main(["train", "--recipe", "default", "--out", str(tmp_path), "--no-eval", "--quiet"]) == 0
    assert seen["recipe"].query_config() == FinetuneConfig(epochs=1, learning_rate=5e-5)
    assert recipe_module.DefaultRecipe().query_config() == FinetuneConfig(epochs=1, learning_rate=5e-5)


@pytest.mark.slow
def test_the_default_recipe_runs_end_to_end_on_a_tiny_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """corpus -> teacher -> a few steps -> export -> load -> compress (`train --recipe default`)."""
    from contextzip import Budget, Segment
    from contextzip.compressors.token_classifier import TokenClassifierCompressor
    from contextzip.train.corpus import qa_corpus, spread_subset
    from contextzip.train.finetune import FinetuneConfig
    from contextzip.train.recipe import DefaultRecipe, ship_default, train_default

    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    tiny = FinetuneConfig(epochs=1, batch_size=4, trainable_layers=1, max_length=256)
    recipe = DefaultRecipe(finetune=tiny, query_finetune=tiny, passages=8)
    corpus = spread_subset(qa_corpus(), 8)
    models = train_default(tmp_path / "work", recipe=recipe, passages=corpus, progress=False)
    shipped = ship_default(models, tmp_path / "work", recipe=recipe, models_dir=tmp_path / "models",
                           evaluate=False, progress=False)  # fmt: skip
    assert [folder.name for folder in shipped] == ["contextzip-minilm-v1", "contextzip-minilm-query-v1"]
    card = (shipped[0] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "8 passages" in card and "SQuAD v1.0 train" in card
    monkeypatch.setenv("CONTEXTZIP_MODELS_DIR", str(tmp_path / "models"))
    for query_aware in (False, True):
        compressor = TokenClassifierCompressor(query_aware=query_aware)
        result = compressor.compress([Segment(PARIS + " " + TOKYO)], query="When was the tower built?",
                                     budget=Budget(rate=0.5))  # fmt: skip
        assert 0 < result.tokens_after < result.tokens_before
