"""Datasets: the committed fixture, squad-multidoc, user JSONL files, and the bigbench source."""

from __future__ import annotations

import json

import pytest

from contextzip import ConfigurationError, ResourceNotFoundError
from contextzip.eval.datasets import load_dataset
from contextzip.eval.metrics import answer_presence
from contextzip.eval.multidoc import article_split, multidoc_samples
from contextzip.eval.sources import fixture_articles, squad_samples
from contextzip.tokens import count_tokens


def test_fixture_answers_are_in_their_paragraphs():
    samples = list(squad_samples(fixture_articles(), "fixture"))
    assert len(samples) > 300
    assert all(answer_presence(s.context, s.answers) == 1.0 for s in samples)


@pytest.mark.parametrize("target", [1000, 3000])
def test_multidoc_contexts_are_sized_and_hold_the_gold_paragraph(target):
    samples = list(multidoc_samples(fixture_articles(), target_tokens=target, split="all"))[:40]
    for sample in samples:
        tokens = count_tokens(sample.context)
        assert 0.75 * target <= tokens <= target, tokens
        assert sample.documents[sample.meta["gold_index"]] == sample.meta["gold"]
        assert answer_presence(sample.context, sample.answers) == 1.0
        assert len(set(sample.documents)) == len(sample.documents)


def test_multidoc_mixes_same_article_and_other_article_distractors():
    sample = next(multidoc_samples(fixture_articles(), target_tokens=3000, split="all"))
    by_paragraph = {text: a.title for a in fixture_articles() for text, _ in a.paragraphs}
    titles = [by_paragraph[d] for d in sample.documents]
    assert titles.count(sample.meta["article"]) >= 2
    assert len(set(titles)) >= 2


def test_multidoc_is_deterministic_and_seeded():
    first = [s.documents for s in multidoc_samples(fixture_articles(), target_tokens=1500, split="all")][:5]
    again = [s.documents for s in multidoc_samples(fixture_articles(), target_tokens=1500, split="all")][:5]
    other = [
        s.documents for s in multidoc_samples(fixture_articles(), target_tokens=1500, split="all", seed=1)
    ][:5]
    assert first == again
    assert first != other


def test_splits_partition_articles():
    dev = {s.meta["article"] for s in multidoc_samples(fixture_articles(), target_tokens=500, split="dev")}
    train = {
        s.meta["article"] for s in multidoc_samples(fixture_articles(), target_tokens=500, split="train")
    }
    assert dev and train and not dev & train
    assert all(article_split(t) == "dev" for t in dev)
    with pytest.raises(ConfigurationError, match="train, dev, all"):
        list(multidoc_samples(fixture_articles(), split="test"))


def test_user_jsonl_and_longbench_files(tmp_path):
    plain = tmp_path / "mine.jsonl"
    rows = [
        {"context": "Ann wrote it.", "question": "Who wrote it?", "answers": ["Ann"]},
        {"id": "b", "context": ["Doc one.", "Bob sang."], "question": "Who sang?", "answers": "Bob"},
    ]
    plain.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    samples = load_dataset(f"jsonl:{plain}")
    assert [s.id for s in samples] == ["1", "b"]
    assert samples[1].documents == ("Doc one.", "Bob sang.") and samples[1].answers == ("Bob",)
    longbench = tmp_path / "lb.jsonl"
    longbench.write_text(json.dumps({"_id": "x", "context": "C", "input": "Q?", "answers": ["C"]}) + "\n")
    assert load_dataset(f"longbench:{longbench}")[0].question == "Q?"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"context": "c", "answers": []}\n')
    with pytest.raises(ConfigurationError, match=r"broken.jsonl:1: missing field 'question'"):
        load_dataset(f"jsonl:{broken}")


def test_unknown_dataset_lists_the_names():
    with pytest.raises(ConfigurationError, match="squad-multidoc"):
        load_dataset("hotpotqa")


def test_a_random_sample_spreads_over_articles_in_file_order_and_repeats():
    everything = load_dataset("fixture", length=1000)
    position = {sample.id: i for i, sample in enumerate(everything)}
    first = load_dataset("fixture", limit=20, length=1000)
    drawn = load_dataset("fixture", limit=20, length=1000, sample="random")
    again = load_dataset("fixture", limit=20, length=1000, sample="random")
    assert [s.id for s in first] == [s.id for s in everything[:20]]
    assert [s.id for s in drawn] == [s.id for s in again]
    places = [position[s.id] for s in drawn]
    assert places == sorted(set(places)) and len(places) == 20
    # the fixture comes article by article: the first 20 questions are about one article
    assert len({s.meta["article"] for s in first}) == 1
    assert len({s.meta["article"] for s in drawn}) > 2
    reseeded = load_dataset("fixture", limit=20, length=1000, sample="random", seed=1)
    assert {s.id for s in reseeded} != {s.id for s in drawn}
    assert len(load_dataset("fixture", limit=10**6, length=1000, sample="random")) == len(everything)


def test_an_unknown_sampling_is_refused():
    with pytest.raises(ConfigurationError, match="first, random"):
        load_dataset("fixture", limit=3, length=1000, sample="spread")


def test_a_corrupt_sdist_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / "bigbench-1.0.0.tar.gz"
    fake.write_bytes(b"not the real archive")
    from contextzip.eval.sources import bigbench_file

    with pytest.raises(ResourceNotFoundError, match="SHA-256"):
        bigbench_file("squaddev_v1.1.json", sdist=fake)


@pytest.mark.slow
@pytest.mark.package_index
def test_bigbench_sources_are_fetched_once_and_parsed():
    squad = load_dataset("squad", split="all")
    assert len(squad) == 10565  # the answerable questions of bigbench's SQuAD v1.1 dev copy
    assert all(answer_presence(s.context, s.answers) for s in squad[:500])
    dev, train = load_dataset("squad"), load_dataset("squad", split="train")
    assert len(dev) + len(train) == len(squad)
    assert not {s.meta["article"] for s in dev} & {s.meta["article"] for s in train}
    assert len(load_dataset("new-wiki", limit=100)) == 100
    coqa = load_dataset("coqa", limit=50)
    assert coqa[1].question.startswith("Q: ") and "\nQ: " in coqa[1].question
    multidoc = load_dataset("squad-multidoc", limit=5, length=8000)
    assert all(7000 <= count_tokens(s.context) <= 8000 for s in multidoc)
