"""ecrm.engine.sets: memberships of list columns and the pairs of codes sharing a set."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.engine import sets


def _brute(lists: list[list[int] | None], n: int) -> np.ndarray:
    out = np.zeros((n, n), dtype=np.int64)
    for items in lists:
        for a, b in itertools.combinations(sorted(set(items or [])), 2):
            out[a, b] += 1
    return out


def test_memberships_by_hand() -> None:
    lists = pa.array([[3, 1, 3], None, [], [0], [2, 0, 1, 2]], pa.list_(pa.int64()))
    rows, codes = sets.code_members(lists, 4)
    # duplicates dropped, sorted by set then code, empty and null sets hold nothing
    assert rows.tolist() == [0, 0, 3, 4, 4, 4]
    assert codes.tolist() == [1, 3, 0, 0, 1, 2]


def test_pairs_by_hand() -> None:
    # set 0: {1, 3}; set 1: {0, 1, 2}; set 2: {0, 1}; set 3: {2}
    rows = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    codes = np.array([1, 3, 0, 1, 2, 0, 1, 2])
    c = sets.pair_counts(rows, codes, 4)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 1] = 2  # sets 1 and 2
    expected[0, 2] = 1
    expected[1, 2] = 1
    expected[1, 3] = 1
    assert (c == expected).all()


def test_chunked_input_and_integer_types() -> None:
    chunked = pa.chunked_array(
        [pa.array([[1, 0]], pa.list_(pa.int32())), pa.array([[0, 1, 1]], pa.list_(pa.int32()))]
    )
    rows, codes = sets.code_members(chunked, 2)
    assert rows.tolist() == [0, 0, 1, 1]
    assert sets.pair_counts(rows, codes, 2)[0, 1] == 2


def test_code_out_of_range_and_too_many_codes_raise() -> None:
    with pytest.raises(ValueError, match="codes must lie in 0"):
        sets.code_members(pa.array([[0, 5]], pa.list_(pa.int64())), 5)
    with pytest.raises(ValueError, match="at most"):
        sets.pair_counts(np.array([0]), np.array([0]), sets.MAX_PAIR_CODES + 1)


def test_a_batch_boundary_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    lists = [rng.choice(9, size=int(rng.integers(0, 9)), replace=True).tolist() for _ in range(50)]
    rows, codes = sets.code_members(pa.array(lists, pa.list_(pa.int64())), 9)
    whole = sets.pair_counts(rows, codes, 9)
    monkeypatch.setattr(sets, "_BATCH", 3)
    assert (sets.pair_counts(rows, codes, 9) == whole).all()
    assert (whole == _brute(lists, 9)).all()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.one_of(st.none(), st.lists(st.integers(0, n - 1), max_size=15)), max_size=30
            ),
        )
    )
)
def test_pairs_are_the_brute_force_count(case: tuple[int, list[list[int] | None]]) -> None:
    n, lists = case
    rows, codes = sets.code_members(pa.array(lists, pa.list_(pa.int64())), n)
    assert sorted(zip(rows.tolist(), codes.tolist(), strict=True)) == sorted(
        {(i, c) for i, items in enumerate(lists) for c in (items or [])}
    )
    assert (sets.pair_counts(rows, codes, n) == _brute(lists, n)).all()
