"""The one cache (ecrm.engine.cache): keys, names, bounds, invalidation and the switch."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import ibis
import pandas as pd
import pytest

from ecrm import engine
from ecrm.engine import cache
from ecrm.engine.run import RunTables
from ecrm.errors import ParameterError


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _file(path: Path, amount: int = 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(
        {
            "order_id": ["1"],
            "customer_id": ["a"],
            "ordered_at": pd.to_datetime(["2026-10-01"]),
            "amount": [amount],
            "category": ["x"],
        }
    )
    df.to_parquet(path, index=False)
    return path


def _builds(orders, name=("t",)) -> int:
    """Ask for the file table ``name``; 1 if it was built, 0 if it was kept."""
    built: list[int] = []
    cache.table(orders, name, lambda: built.append(1) or ibis.memtable({"a": [1]}))
    return len(built)


def test_key_is_the_resolved_path_mtime_and_size(tmp_path):
    path = _file(tmp_path / "shop" / "canonical" / "orders.parquet")
    st = path.stat()
    assert cache.file_stamp(path) == (str(path.resolve()), st.st_mtime_ns, st.st_size)
    assert cache.file_stamp(tmp_path / "shop") == cache.file_stamp(path)  # a shop folder
    assert cache.file_stamp(tmp_path / "missing.parquet") is None
    assert cache.file_key(path) == cache.file_stamp(path)
    scan = engine.orders_table(path)
    assert cache.file_key(scan) == cache.file_stamp(path)  # the kept scan names its file
    assert engine.orders_table(path) is scan
    assert cache.file_key(pd.read_parquet(path)) is None  # DataFrames are never kept


def test_tables_are_kept_by_name_and_arguments(tmp_path):
    path = _file(tmp_path / "o.parquet")
    assert _builds(path, ("t", 1)) == 1
    assert _builds(path, ("t", 1)) == 0
    assert _builds(path, ("t", 2)) == 1  # other arguments: another table
    assert _builds(pd.read_parquet(path), ("t", 1)) == 1  # not kept: built each time
    assert _builds(pd.read_parquet(path), ("t", 1)) == 1


def test_a_rewritten_file_gets_new_tables(tmp_path):
    path = _file(tmp_path / "o.parquet")
    assert _builds(path) == 1
    _file(path, amount=2000)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _builds(path) == 1


def test_clear_and_bounds(tmp_path):
    paths = [_file(tmp_path / f"{i}.parquet") for i in range(cache.MAX_FILES + 1)]
    for p in paths:
        assert _builds(p) == 1
    assert _builds(paths[-1]) == 0
    assert _builds(paths[0]) == 1  # the least recently used file went first
    cache.clear()
    assert _builds(paths[-1]) == 1


def test_runs_are_kept_per_file_and_as_of_least_recently_used_out(tmp_path):
    path = _file(tmp_path / "o.parquet")
    days = [dt.date(2026, 10, d) for d in range(1, cache.MAX_RUNS + 2)]
    stores = [cache.run(path, d) for d in days]
    assert all(s is not None for s in stores)
    assert cache.run(path, days[-1]) is stores[-1]
    assert cache.run(path, days[0]) is not stores[0]  # evicted by the later runs
    assert cache.run(pd.read_parquet(path), days[0]) is None


def test_the_switch_turns_everything_off(tmp_path, monkeypatch):
    path = _file(tmp_path / "o.parquet")
    monkeypatch.setenv("ECRM_CACHE", "0")
    assert not cache.enabled()
    assert cache.file_key(path) is None and cache.run(path, dt.date(2026, 10, 1)) is None
    assert _builds(path) == 1 and _builds(path) == 1
    assert cache.file_stamp(path) is not None  # the file's stamp does not depend on it


def test_run_tables_share_kept_tables_and_release_their_own(tmp_path):
    path = _file(tmp_path / "o.parquet")
    with RunTables(path, "2026-10-31") as a:
        customers = a.customers
    with RunTables(path, "2026-10-31") as b:
        assert b.customers is customers  # the run's kept table, by name
        with pytest.raises(ParameterError, match="share=False"):
            b.provide(("orders",), customers)
    with RunTables(path, "2026-10-31", share=False) as own:
        assert own.customers is not customers
        own.provide(("names", "category"), ["x", "y"])
        assert own.names("category") == ["x", "y"]
    assert engine.to_pandas(customers).frequency.tolist() == [1]


def test_purchases_number_the_run_s_orders_once_built(tmp_path, monkeypatch):
    """Built orders are numbered as they are; without them the totals are read once."""
    from ecrm.engine import run as run_module

    path = _file(tmp_path / "o.parquet")
    calls: list[int] = []
    real = run_module.order_totals
    counted = lambda *a, **k: calls.append(1) or real(*a, **k)  # noqa: E731
    monkeypatch.setattr(run_module, "order_totals", counted)
    with RunTables(path, "2026-10-31", share=False) as first:
        orders = first.orders
        assert engine.to_pandas(first.purchases).amount.tolist() == [1000]
        assert len(engine.to_pandas(orders)) == 1
    assert len(calls) == 1  # the purchases reused the built orders
    with RunTables(path, "2026-10-31", share=False) as second:
        p = engine.to_pandas(second.purchases)
    assert len(calls) == 2
    assert p[["order_id", "seq"]].values.tolist() == [["1", 1]]
