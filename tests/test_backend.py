"""The backend's settings: DuckDB threads and memory from the environment, dense groups."""

from __future__ import annotations

import ibis
import pytest

from ecrm.engine import backend
from ecrm.errors import ParameterError


def test_duckdb_threads_and_memory_come_from_the_environment(monkeypatch):
    """ECRM_DUCKDB_THREADS and _MEMORY_LIMIT reach the default backend; bad values fail."""
    con = ibis.get_backend()

    def setting(name: str) -> str:
        return str(con.raw_sql(f"SELECT current_setting('{name}')").fetchall()[0][0])

    threads, memory = setting("threads"), setting("memory_limit")
    monkeypatch.setenv("ECRM_DUCKDB_THREADS", "1")
    monkeypatch.setenv("ECRM_DUCKDB_MEMORY_LIMIT", "1GB")
    try:
        backend.configure_default_backend.__wrapped__()
        assert setting("threads") == "1"
        assert setting("memory_limit") != memory
        for bad in ("0", "two", "-1"):
            monkeypatch.setenv("ECRM_DUCKDB_THREADS", bad)
            with pytest.raises(ParameterError, match="ECRM_DUCKDB_THREADS"):
                backend.configure_default_backend.__wrapped__()
    finally:
        con.raw_sql(f"SET threads = {int(threads)}")
        con.raw_sql(f"SET memory_limit = '{memory}'")
    assert setting("threads") == threads


def _perfect_ht_threshold() -> int:
    sql = "SELECT current_setting('perfect_ht_threshold')"
    return int(ibis.get_backend().raw_sql(sql).fetchall()[0][0])


def test_dense_groups_raise_the_perfect_hash_threshold_inside_and_restore_it() -> None:
    """Two keys of 381 values: 2 × (9 + 1) bits inside; the default after, also on an error."""
    t = ibis.memtable({"a": [1, 2, 2], "b": [3, 3, 4]})
    before = _perfect_ht_threshold()
    with backend.dense_groups(t, 381, 381):
        assert _perfect_ht_threshold() == 20
        g = t.group_by(["a", "b"]).agg(n=t.count()).order_by(["a", "b"]).to_pandas()
    assert _perfect_ht_threshold() == before
    assert g["n"].tolist() == [1, 1, 1]
    with pytest.raises(ZeroDivisionError), backend.dense_groups(t, 1000, 1000):
        assert _perfect_ht_threshold() == 22
        raise ZeroDivisionError
    assert _perfect_ht_threshold() == before


@pytest.mark.parametrize("spans", [(32, 32), (2049, 2049), (5000,) * 3])
def test_dense_groups_leave_small_and_huge_key_ranges_alone(spans: tuple[int, ...]) -> None:
    """Keys DuckDB already groups in an array, or whose array would be too large: no change."""
    t = ibis.memtable({"a": [1]})
    before = _perfect_ht_threshold()
    with backend.dense_groups(t, *spans):
        assert _perfect_ht_threshold() == before


@pytest.mark.parametrize(
    ("spans", "fits"),
    [((381, 381), True), ((1024, 1024), True), ((1025, 1025), False), ((5000,), True)],
)
def test_dense_groups_fit_counts_a_bit_per_key_for_null(spans: tuple[int, ...], fits: bool) -> None:
    """381 codes: 9 bits + 1 each (20 ≤ 22); 1,025 codes need 11 + 1 each (24 > 22)."""
    assert backend.dense_groups_fit(*spans) is fits
