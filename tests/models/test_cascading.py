"""The pure rules of passing a plan down: level policy, equal shares, tightening."""

from decimal import Decimal as D

import pytest

from models.cascading import IssueMode, LevelPolicy, level_policy, looser_than, split_equally, task_concerns
from models.plan import Comparator


def test_level_policy_uses_its_entry_and_repeats_the_last() -> None:
    policy = {"levels": [{"lead_days": 5, "issue": "wait"}, {"lead_days": 3}]}
    assert level_policy(policy, 1) == LevelPolicy(5, IssueMode.WAIT)
    assert level_policy(policy, 2) == LevelPolicy(3, IssueMode.AUTO)
    assert level_policy(policy, 7) == LevelPolicy(3, IssueMode.AUTO)
    assert level_policy({}, 1) == LevelPolicy(5, IssueMode.AUTO)


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        ("12", 4, ["3", "3", "3", "3"]),
        ("715", 3, ["239", "238", "238"]),  # the remainder goes to the first units in code order
        ("7", 5, ["2", "2", "1", "1", "1"]),
        ("2", 3, ["1", "1", "0"]),
        ("10.5", 4, ["2.63", "2.63", "2.62", "2.62"]),  # not whole: the same in hundredths
    ],
)
def test_equal_shares_add_up_exactly(total: str, count: int, expected: list[str]) -> None:
    codes = [f"U{i}" for i in range(count, 0, -1)]  # given out of order: shares follow code order
    shares = split_equally(D(total), codes)
    assert [shares[f"U{i}"] for i in range(1, count + 1)] == [D(e) for e in expected]
    assert sum(shares.values()) == D(total)


def test_equal_shares_of_nobody_are_empty() -> None:
    assert split_equally(D(5), []) == {}


@pytest.mark.parametrize(
    ("comparator", "value", "parent", "parent_value", "looser"),
    [
        (Comparator.GE, "4", Comparator.GE, "3", False),  # asks more
        (Comparator.GE, "3", Comparator.GE, "3", False),  # keeps it
        (Comparator.GE, "2", Comparator.GE, "3", True),
        (Comparator.GT, "3", Comparator.GE, "3", False),  # > 3 is stricter than ≥ 3
        (Comparator.GE, "3", Comparator.GT, "3", True),
        (Comparator.GE, "91", Comparator.GT, "90", False),
        (Comparator.LE, "3", Comparator.GE, "3", True),  # the wrong direction
        (Comparator.LT, "4", Comparator.LT, "5", False),
        (Comparator.LT, "6", Comparator.LT, "5", True),
        (Comparator.LE, "5", Comparator.LT, "5", True),
        (Comparator.EQ, "100", Comparator.EQ, "100", False),
        (Comparator.GE, "100", Comparator.EQ, "100", True),
        (Comparator.EQ, "95", Comparator.GE, "90", False),  # an exact figure above the floor
    ],
)
def test_a_unit_may_tighten_but_not_loosen(comparator: Comparator, value: str, parent: Comparator, parent_value: str, looser: bool) -> None:
    assert looser_than(comparator, D(value), parent, D(parent_value)) is looser


def test_a_task_concerns_a_unit_it_names_or_one_below_it_or_names_nobody() -> None:
    ward, its_police, other_ward, town = 2, 21, 3, 1
    subtree = {ward, its_police}
    assert task_concerns(set(), subtree)  # names nobody: everyone's
    assert task_concerns({ward, other_ward}, subtree)
    assert task_concerns({its_police}, subtree)
    assert not task_concerns({town}, subtree)  # the parent level's own task stays with it
    assert not task_concerns({other_ward}, subtree)
