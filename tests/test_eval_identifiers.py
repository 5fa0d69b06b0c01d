"""Identifier retention: what counts as an identifier, and when it counts as kept."""

from __future__ import annotations

from contextzip.eval.identifiers import find_identifiers, identifier_retention, retention_share


def test_each_kind_is_found_once():
    text = (
        "See https://example.com/docs/a.html and src/contextzip/cli.py. The parse_args() helper "
        "and os.path.join call getUserName in 2 of 3 runs (version 0.3.36), says Grace Hopper."
    )
    found = find_identifiers(text)
    assert found["url"] == {"https://example.com/docs/a.html"}
    assert found["path"] == {"src/contextzip/cli.py"}
    assert found["code"] == {"parse_args()", "os.path.join", "getUserName"}
    assert found["number"] == {"2", "3", "0.3.36"}
    assert found["name"] == {"Grace Hopper"}


def test_an_identifier_inside_a_longer_token_is_not_kept():
    counts = identifier_retention("It costs 12 dollars in run_id 7.", "It costs 123 dollars in run_ids 7.")
    assert counts == {"number": (1, 2), "code": (0, 1)}
    assert retention_share(counts) == 1 / 3


def test_plain_prose_has_no_identifiers_to_lose():
    assert identifier_retention("the cat sat on the mat", "") == {}
    assert retention_share({}) is None


def test_a_text_keeps_all_of_its_own_identifiers():
    text = "in 1999 Ada Lovelace's notes, by McDonald Smith, cited foo_bar_2 and https://x.org/a_b."
    assert all(kept == total for kept, total in identifier_retention(text, text).values())
