"""Datasets: the committed fixture, squad-multidoc, nq-multidoc, user JSONL files, the data directory."""

from __future__ import annotations

import gzip
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
    first = load_dataset("fixture", limit=20, length=1000, sample="first")
    drawn = load_dataset("fixture", limit=20, length=1000)  # random is the default
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


# -- the data directory -------------------------------------------------------------------


def _squad_file(path, titles=("Alpha", "Beta")):
    data = {"version": "1.1", "data": [
        {"title": title, "paragraphs": [{"context": f"{title} was founded in {1900 + i}.", "qas": [
            {"id": f"{title}-{i}", "question": f"When was {title} founded?",
             "answers": [{"text": str(1900 + i), "answer_start": 0}]},
            {"id": f"{title}-{i}-none", "question": "Unanswerable?", "answers": []},
        ]} for i in range(3)]}
        for title in titles
    ]}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(data, handle)


def _nq_file(path, count=40):
    lines = []
    for i in range(count):
        title = f"Topic {i}"
        text = f"{title} is a river in region {i}. It flows into lake number {i} near town {i}x."
        gold = {"title": title, "text": text, "hasanswer": True, "isgold": True}
        lines.append(
            {"question": f"where does topic {i} river flow", "answers": [f"lake number {i}"], "ctxs": [gold]}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_a_missing_data_file_names_the_file_the_folder_and_the_original(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path))
    with pytest.raises(ResourceNotFoundError) as caught:
        load_dataset("squad", limit=3)
    message = str(caught.value)
    assert "squad/dev-v1.1.json.gz" in message and str(tmp_path) in message
    assert "rajpurkar.github.io/SQuAD-explorer" in message and "CONTEXTZIP_DATA_DIR" in message
    with pytest.raises(ResourceNotFoundError, match="lost-in-the-middle"):
        load_dataset("nq-multidoc", limit=3)
    with pytest.raises(ResourceNotFoundError, match="coqa-dev-v1.0.json"):
        load_dataset("coqa", limit=3)


def test_the_data_directory_defaults_to_the_cache(tmp_path, monkeypatch):
    from contextzip.resources import data_dir

    monkeypatch.delenv("CONTEXTZIP_DATA_DIR")
    monkeypatch.setenv("CONTEXTZIP_CACHE_DIR", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "data"


@pytest.mark.parametrize("name", ["squad/dev-v1.1.json.gz", "squad/dev-v1.1.json"])
def test_squad_files_are_read_in_the_official_format_gzipped_or_not(tmp_path, monkeypatch, name):
    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path))
    _squad_file(tmp_path / "squad" / "dev-v1.1.json.gz")
    if not name.endswith(".gz"):
        packed = tmp_path / "squad" / "dev-v1.1.json.gz"
        (tmp_path / name).write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    samples = load_dataset("squad", split="all", sample="first")
    assert [s.id for s in samples] == [f"{t}-{i}" for t in ("Alpha", "Beta") for i in range(3)]
    assert samples[1].answers == ("1901",) and samples[1].documents == ("Alpha was founded in 1901.",)


def test_nq_splits_are_a_stable_hash_of_the_question(tmp_path, monkeypatch):
    from contextzip.eval.nq import nq_split

    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path))
    _nq_file(tmp_path / "nq-open" / "nq-open-oracle.jsonl.gz".removesuffix(".gz"))
    dev = load_dataset("nq-open", sample="first")
    train = load_dataset("nq-open", split="train", sample="first")
    assert dev and train and len(dev) + len(train) == 40
    assert all(nq_split(s.question) == "dev" for s in dev)
    assert not {s.id for s in dev} & {s.id for s in train}
    assert dev[0].documents[0].startswith("(Title: Topic ")


@pytest.mark.parametrize("position", ["first", "middle", "last", "random"])
def test_nq_multidoc_puts_the_gold_passage_where_asked_among_answer_free_distractors(
    tmp_path, monkeypatch, position
):
    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path))
    _nq_file(tmp_path / "nq-open" / "nq-open-oracle.shared.jsonl")
    samples = load_dataset("nq-multidoc", documents=10, gold_position=position, split="all", sample="first")
    places = set()
    for sample in samples:
        gold = sample.meta["gold_index"]
        places.add(gold)
        assert len(sample.documents) == 10 and sample.documents[gold] == sample.meta["gold"]
        expected = {"first": 0, "middle": 4, "last": 9}.get(position, gold)
        assert gold == expected
        others = [d for i, d in enumerate(sample.documents) if i != gold]
        assert not any(answer_presence(d, sample.answers) for d in others)
        assert len(set(sample.documents)) == 10
    assert position != "random" or len(places) > 3


def test_nq_multidoc_is_sized_in_tokens_deterministic_and_seeded(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path))
    _nq_file(tmp_path / "nq-open" / "nq-open-oracle.shared.jsonl.gz".removesuffix(".gz"))
    first = load_dataset("nq-multidoc", length=400, split="all", limit=5)
    again = load_dataset("nq-multidoc", length=400, split="all", limit=5)
    other = load_dataset("nq-multidoc", length=400, split="all", limit=5, seed=1)
    assert [s.documents for s in first] == [s.documents for s in again]
    assert [s.documents for s in first] != [s.documents for s in other]
    assert all(0.75 * 400 <= count_tokens(s.context) <= 400 for s in first)
    dups = load_dataset("nq-multidoc-dups", length=400, split="all", limit=5)
    originals = {d for s in first for d in s.documents}
    assert any(d not in originals for s in dups for d in s.documents)  # near copies were added


def test_documents_and_gold_position_are_refused_where_they_do_not_apply():
    with pytest.raises(ConfigurationError, match="nq-multidoc"):
        load_dataset("fixture", limit=3, length=1000, documents=10)
    with pytest.raises(ConfigurationError, match="first, middle, last, random"):
        load_dataset("nq-multidoc", limit=3, gold_position="centre")


def _shared(name: str) -> None:
    from contextzip.resources import data_file

    try:
        data_file(name, origin="../shared/data/README.md")
    except ResourceNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_the_shared_squad_files_load_with_dev_and_train_article_splits():
    _shared("squad/dev-v1.1.json.gz")
    squad = load_dataset("squad", split="all")
    assert len(squad) == 10570  # SQuAD v1.1 dev, every question answerable
    assert all(answer_presence(s.context, s.answers) for s in squad[:500])
    dev, train = load_dataset("squad"), load_dataset("squad", split="train")
    assert len(dev) + len(train) == len(squad)
    assert not {s.meta["article"] for s in dev} & {s.meta["article"] for s in train}
    assert len(load_dataset("new-wiki", limit=100)) == 100
    multidoc = load_dataset("squad-multidoc", limit=5, length=8000)
    assert all(7000 <= count_tokens(s.context) <= 8000 for s in multidoc)


@pytest.mark.slow
def test_the_shared_nq_file_makes_a_dev_split_of_about_half():
    _shared("nq-open/nq-open-oracle.shared.jsonl.gz")
    dev = load_dataset("nq-multidoc", length=2000)
    assert 900 <= len(dev) <= 1100
    assert all(answer_presence(s.documents[s.meta["gold_index"]], s.answers) for s in dev)
    assert all(1500 <= count_tokens(s.context) <= 2000 for s in dev[:50])


def test_the_cli_builds_nq_multidoc_by_document_count_and_gold_position(tmp_path, monkeypatch, capsys):
    from contextzip.cli import main
    from contextzip.eval.runner import RESULTS_FILE

    monkeypatch.setenv("CONTEXTZIP_DATA_DIR", str(tmp_path / "data"))
    _nq_file(tmp_path / "data" / "nq-open" / "nq-open-oracle.shared.jsonl")
    args = ["eval", "--dataset", "nq-multidoc", "--split", "all", "--documents", "6", "--gold-position",
            "last", "--methods", "truncate", "--rates", "0.5", "--limit", "4", "--out", str(tmp_path / "out"),
            "--quiet"]  # fmt: skip
    assert main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / "out" / RESULTS_FILE).read_text().splitlines()]
    drawn = load_dataset("nq-multidoc", split="all", documents=6, gold_position="last", limit=4)
    assert sorted({row["sample_id"] for row in rows}) == sorted(s.id for s in drawn)
    # truncate keeps the head: with the gold passage last, a half of the context never holds it
    assert all(row["presence"] == 0.0 for row in rows if row["method"] == "truncate")
    assert main(["eval", "--dataset", "fixture", "--documents", "6", "--methods", "random",
                 "--out", str(tmp_path / "x"), "--quiet"]) == 2  # fmt: skip
    assert "apply to nq-multidoc" in capsys.readouterr().err
