"""The budgeted unit selection every extractive compressor shares."""

from __future__ import annotations

import numpy as np

from contextzip.selection import add_best, select_units, spread_token_costs


def test_best_units_first_and_gaps_filled_by_smaller_ones():
    keep = select_units(np.array([5.0, 4.0, 3.0, 2.0]), np.array([3.0, 4.0, 1.0, 1.0]), 5)
    assert keep.tolist() == [True, False, True, True]


def test_in_order_stops_at_the_first_unit_that_does_not_fit():
    keep = select_units(np.array([5.0, 4.0, 3.0]), np.array([3.0, 4.0, 1.0]), 5, in_order=True)
    assert keep.tolist() == [True, False, False]


def test_forced_units_kept_even_over_budget_and_ties_break_by_position():
    keep = select_units(np.ones(4), np.ones(4), 2, forced=np.array([False, False, False, True]))
    assert keep.tolist() == [True, False, False, True]


def test_keeps_one_unit_rather_than_nothing_unless_told_not_to():
    assert select_units(np.array([1.0, 2.0]), np.array([5.0, 5.0]), 1).tolist() == [False, True]
    assert not select_units(np.array([1.0]), np.array([5.0]), 1, keep_at_least_one=False).any()


def test_token_shared_by_units_is_split_between_them():
    # units "東" (0,1) and "京" (1,2) share one token starting at 0; a second token starts at 2
    costs = spread_token_costs(np.array([1, 2, 5]), np.array([0, 2]), 5)
    assert costs.tolist() == [0.5, 0.5, 1.0]
    assert costs.sum() == 2


def test_the_budget_repair_never_adds_a_unit_its_chooser_ruled_out():
    keep = np.array([True, False, False, False])
    priority = np.array([1.0, -np.inf, 0.5, -np.inf])
    assert add_best(keep, priority, np.array([5.0, 1.0, 1.0, 1.0]), room=10.0)
    assert keep.tolist() == [True, False, True, False]
    assert not add_best(keep, priority, np.ones(4), room=10.0)  # nothing left that may be added
