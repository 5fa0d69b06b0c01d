"""Synthetic long-context tasks: determinism, answers in the context, length control."""

from __future__ import annotations

from itertools import pairwise

import pytest

from contextzip.errors import ConfigurationError
from contextzip.eval import synthetic
from contextzip.eval.synthetic import ALL_TASKS, TOLERANCE, default_haystack, generate, make_sample
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

COUNTER = TokenCounter()
NEEDLE_TASKS = ("single-needle", "multi-needle", "multi-key")

# Short real-text paragraphs, standing in for SQuAD contexts.
SQUAD_LIKE = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
    "a region in France. They were descended from Norse raiders and pirates from Denmark, Iceland "
    "and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III.",
    "Computational complexity theory is a branch of the theory of computation in theoretical "
    "computer science that focuses on classifying computational problems according to their "
    "inherent difficulty, and relating those classes to each other.",
    "Southern California, often abbreviated SoCal, is a geographic and cultural region that "
    "generally comprises California's southernmost ten counties. The region is traditionally "
    "described as eight counties, based on demographics and economic ties.",
    "  Oxygen is a chemical element with symbol O and atomic number 8. It is a member of the\n"
    "chalcogen group on the periodic table and is a highly reactive nonmetal.  ",
]


def test_all_is_pinned() -> None:
    assert synthetic.__all__ == [
        "ALL_TASKS",
        "MAX_LENGTH",
        "MIN_LENGTH",
        "TOLERANCE",
        "default_haystack",
        "generate",
        "make_sample",
    ]
    assert ALL_TASKS == ("single-needle", "multi-needle", "multi-key", "variable-tracking", "aggregation")


def test_default_haystack_is_prose_and_stable() -> None:
    paragraphs = default_haystack()
    assert paragraphs == default_haystack()
    assert len(paragraphs) > 100
    assert sum(COUNTER.count(p) for p in paragraphs) > 8000
    for paragraph in paragraphs:
        assert len(paragraph.split()) >= 8
        assert ">>>" not in paragraph
        assert paragraph == " ".join(paragraph.split())


@pytest.mark.parametrize("task", ALL_TASKS)
def test_same_seed_same_sample_other_seed_other_sample(task: str) -> None:
    first = make_sample(task, length_tokens=2000, seed=7)
    again = make_sample(task, length_tokens=2000, seed=7)
    other = make_sample(task, length_tokens=2000, seed=8)
    assert first == again and first.meta == again.meta
    assert first.documents != other.documents
    assert (first.question, first.answers) != (other.question, other.answers)


def test_generate_is_deterministic_ordered_and_unique() -> None:
    samples = generate(lengths=(300, 600), samples_per_task=3, seed=2)
    assert samples == generate(lengths=(300, 600), samples_per_task=3, seed=2)
    assert len(samples) == len(ALL_TASKS) * 2 * 3
    assert [s.id for s in samples[:4]] == [
        "single-needle-300-6",
        "single-needle-300-7",
        "single-needle-300-8",
        "single-needle-600-6",
    ]
    assert len({s.id for s in samples}) == len(samples)
    assert all(isinstance(s, QASample) and s.dataset == "synthetic" for s in samples)
    assert {s.id for s in samples}.isdisjoint(s.id for s in generate(lengths=(300, 600), samples_per_task=3))


def test_generate_matches_make_sample() -> None:
    samples = generate("multi-key", lengths=(400,), samples_per_task=2, seed=1)
    assert samples == [make_sample("multi-key", length_tokens=400, seed=s) for s in (2, 3)]


@pytest.mark.parametrize("task", ALL_TASKS)
@pytest.mark.parametrize("seed", range(4))
def test_answers_are_in_the_context(task: str, seed: int) -> None:
    sample = make_sample(task, length_tokens=2000, seed=seed)
    context = sample.context
    if task == "variable-tracking":
        value, chain = sample.meta["value"], sample.meta["chain"]
        assert sample.answers == (", ".join(chain),)
        assert f"VAR {chain[0]} = {value}." in sample.documents
        for before, after in pairwise(chain):
            statement = f"VAR {after} = VAR {before}."
            assert statement in sample.documents
            assert context.index(f"VAR {before} =") < context.index(statement)
        assert set(chain).isdisjoint(sample.meta["decoy_chain"])
    else:
        assert all(answer in context for answer in sample.answers)


@pytest.mark.parametrize("task", NEEDLE_TASKS)
@pytest.mark.parametrize("seed", range(4))
def test_needles_are_whole_paragraphs_and_the_question_names_the_key(task: str, seed: int) -> None:
    sample = make_sample(task, length_tokens=2000, seed=seed)
    key, value = sample.meta["key"], sample.answers[0]
    assert key in sample.question
    assert f"The special magic number for {key} is {value}." in sample.documents
    assert sample.context.count("The special magic number for") == len(sample.meta["keys"])
    assert len(value) == 7 and value.isdigit()


def test_multi_needle_and_multi_key_have_distinct_similar_keys() -> None:
    for seed in range(5):
        needles = make_sample("multi-needle", length_tokens=1000, seed=seed).meta["keys"]
        assert len(set(needles)) == len(needles) == 4
        keys = make_sample("multi-key", length_tokens=1000, seed=seed).meta["keys"]
        assert len(set(keys)) == 4
        assert len({k.split("-")[0] for k in keys}) == 1  # a shared prefix
        assert len({k.split("-")[1][0] for k in keys}) == 1  # nouns with one first letter


def test_aggregation_has_one_clear_winner() -> None:
    for seed in range(6):
        sample = make_sample("aggregation", length_tokens=2000, seed=seed)
        counts = sample.meta["counts"]
        winner = sample.answers[0]
        assert sorted(counts.values())[-1] > sorted(counts.values())[-2]
        assert max(counts, key=counts.get) == winner
        for name, count in counts.items():
            assert sample.context.count(f"Project {name} shipped") == count


@pytest.mark.parametrize("task", ALL_TASKS)
@pytest.mark.parametrize("length", [200, 2000, 8000])
def test_length_is_within_tolerance(task: str, length: int) -> None:
    for seed in range(3):
        sample = make_sample(task, length_tokens=length, seed=seed)
        tokens = COUNTER.count(sample.context)
        assert tokens == sample.meta["tokens"]
        assert (1 - TOLERANCE) * length <= tokens <= length


@pytest.mark.slow
@pytest.mark.parametrize("task", ALL_TASKS)
def test_length_is_within_tolerance_at_32k(task: str) -> None:
    sample = make_sample(task, length_tokens=32_000, seed=0)
    tokens = COUNTER.count(sample.context)
    assert (1 - TOLERANCE) * 32_000 <= tokens <= 32_000
    expected = sample.meta["chain"] if task == "variable-tracking" else sample.answers
    assert all(text in sample.context for text in expected)


def test_other_counter_is_honoured() -> None:
    counter = TokenCounter("cl100k_base")
    sample = make_sample("multi-needle", length_tokens=3000, seed=0, counter=counter)
    assert (1 - TOLERANCE) * 3000 <= counter.count(sample.context) <= 3000


def test_needles_land_at_different_depths_across_seeds() -> None:
    samples = [make_sample("single-needle", length_tokens=4000, seed=s) for s in range(10)]
    depths = [s.meta["depth"] for s in samples]
    assert all(0.0 <= d <= 1.0 for d in depths)
    assert len(set(depths)) >= 8
    assert min(depths) < 0.3 and max(depths) > 0.7
    positions = {
        next(i for i, d in enumerate(s.documents) if d.startswith("The special magic")) for s in samples
    }
    assert len(positions) >= 5


def test_a_short_haystack_is_cycled_and_not_modified() -> None:
    haystack = list(SQUAD_LIKE)
    sample = make_sample("single-needle", length_tokens=2000, seed=1, haystack=haystack)
    assert haystack == SQUAD_LIKE
    tokens = COUNTER.count(sample.context)
    assert (1 - TOLERANCE) * 2000 <= tokens <= 2000
    normalized = {" ".join(p.split()) for p in SQUAD_LIKE}
    hay = [d for d in sample.documents if not d.startswith("The special magic")]
    assert sum(d in normalized for d in hay) > 2 * len(SQUAD_LIKE)  # went round more than twice
    assert all(d in normalized or any(p.startswith(d) for p in normalized) for d in hay)  # cut at words
    assert sample.answers[0] in sample.context


def test_trimmed_paragraph_ends_at_a_word_boundary() -> None:
    for seed in range(5):
        sample = make_sample("single-needle", length_tokens=500, seed=seed, haystack=SQUAD_LIKE)
        words = {w for p in SQUAD_LIKE for w in p.split()}
        for document in sample.documents:
            if not document.startswith("The special magic"):
                assert all(w in words for w in document.split())


def test_unknown_task_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        make_sample("needle", length_tokens=2000, seed=0)
    for task in ALL_TASKS:
        assert task in str(info.value)
    with pytest.raises(ConfigurationError, match="single-needle"):
        generate(["single-needle", "haystack"])


@pytest.mark.parametrize("length", [0, 199, 200_001, 2000.0, True])
def test_length_out_of_range_is_rejected(length: object) -> None:
    with pytest.raises(ConfigurationError, match="length_tokens"):
        make_sample("single-needle", length_tokens=length, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="length_tokens"):
        generate(lengths=(2000, length))  # type: ignore[arg-type]


def test_bounds_are_accepted() -> None:
    sample = make_sample("aggregation", length_tokens=200, seed=0)
    assert (1 - TOLERANCE) * 200 <= COUNTER.count(sample.context) <= 200


def test_bad_haystack_and_counts_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="sequence of paragraphs"):
        make_sample("single-needle", length_tokens=2000, seed=0, haystack="one long string")
    with pytest.raises(ConfigurationError, match="no non-empty paragraph"):
        make_sample("single-needle", length_tokens=2000, seed=0, haystack=["", "  \n"])
    with pytest.raises(ConfigurationError, match="samples_per_task"):
        generate(samples_per_task=0)


def test_evidence_makes_every_uncompressed_sample_answerable():
    from contextzip.eval.runner import _presence

    samples = generate(lengths=(2000,), samples_per_task=4, seed=3)
    assert all(_presence(s.context, s) == 1.0 for s in samples)
    chained = next(s for s in samples if s.meta["task"] == "variable-tracking")
    assert len(chained.evidence) == 5 and all(e.startswith("VAR ") for e in chained.evidence)
    # dropping one link of the chain makes the question unanswerable
    broken = chained.context.replace(chained.evidence[2], "")
    assert _presence(broken, chained) == 0.0
