"""The engine contract: order totals, and the per-process cache of canonical files."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm.analysis import customers, lifecycle
from ecrm.engine import cache
from ecrm.engine import orders as engine
from ecrm.engine.backend import to_pandas
from ecrm.engine.run import RunTables
from ecrm.errors import DataError

AS_OF = "2026-10-31"


def _lines(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


def _write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    return path


def _totals(orders, as_of=AS_OF, **kw) -> pd.DataFrame:
    o = engine.order_totals(orders, as_of=as_of, **kw)
    return to_pandas(o.order_by("order_id"))


def test_order_is_atomic_and_dated_by_its_first_line():
    df = _lines(
        [
            ("1", "a", "2026-10-31 23:50", 1000),
            ("1", "a", "2026-11-01 00:10", 500),  # same order, stamped after midnight
            ("2", "a", "2026-11-01 09:00", 700),  # a later order: not read
            ("3", None, "2026-10-01 12:00", 300),  # guest
            ("4", "b", "2026-10-02 12:00", 800),
            ("4", "b", "2026-10-02 12:00", -800),  # fully returned in the same order
        ]
    )
    got = _totals(df)
    assert list(got.order_id) == ["1", "4"]
    assert list(got.amount) == [1500.0, 0.0]
    assert list(got.is_purchase) == [True, False]
    assert got.order_date.astype(str).tolist() == ["2026-10-31", "2026-10-02"]
    with_guests = _totals(df, customers_only=False)
    assert list(with_guests.order_id) == ["1", "3", "4"]


def test_upto_keeps_every_line_of_an_order_placed_by_as_of(tmp_path):
    """The lines behind the order totals: order 1's 00:10 line stays, order 2 goes.

    A canonical file's lines carry their order's time (ingestion writes them so):
    there the plain cut on ordered_at is the same.
    """
    df = _lines(
        [
            ("1", "a", "2026-10-31 23:50", 1000),
            ("1", "a", "2026-11-01 00:10", 500),
            ("2", "a", "2026-11-01 09:00", 700),
            ("3", "b", "2026-10-02 12:00", 800),
        ]
    )
    got = to_pandas(engine.upto(engine.orders_table(df), AS_OF).order_by("amount"))
    assert got[["order_id", "amount"]].values.tolist() == [["1", 500], ["3", 800], ["1", 1000]]
    canonical = df.assign(ordered_at=df.groupby("order_id")["ordered_at"].transform("min"))
    t = engine.orders_table(_write(canonical, tmp_path / "canonical" / "orders.parquet"))
    got = to_pandas(engine.upto(t, AS_OF).order_by("amount"))
    assert got[["order_id", "amount"]].values.tolist() == [["1", 500], ["3", 800], ["1", 1000]]


def test_cached_file_matches_uncached(demo_root, monkeypatch):
    path = demo_root / "data" / "demo-food" / "canonical" / "orders.parquet"
    cached = customers.measures(path, as_of=AS_OF)
    assert cache.is_kept(path)
    built: list[object] = []
    assert cache.table(path, ("order_totals",), lambda: built.append(1)) is not None
    assert not built  # the order totals were kept by the first call
    monkeypatch.setenv("ECRM_CACHE", "0")
    assert not cache.is_kept(path)
    plain = customers.measures(path, as_of=AS_OF)
    pd.testing.assert_frame_equal(cached, plain)
    frame = pd.read_parquet(path)
    pd.testing.assert_frame_equal(customers.measures(frame, as_of=AS_OF), plain)


def test_snapshot_cache_shared_and_equal(demo_root, monkeypatch):
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    built: list[tuple] = []
    get = cache.TableStore.get

    def counted(self, name, build, **kw):
        return get(self, name, lambda: built.append(name) or build(), **kw)

    monkeypatch.setattr(cache.TableStore, "get", counted)
    cache.clear()
    monthly = lifecycle.lifecycle_monthly(path, as_of=AS_OF)
    trans = lifecycle.lifecycle_transitions(path, as_of=AS_OF)
    assert len([k for k in built if k[0] == "snapshot_states"]) == 1  # shared
    monkeypatch.setenv("ECRM_CACHE", "0")
    pd.testing.assert_frame_equal(monthly, lifecycle.lifecycle_monthly(path, as_of=AS_OF))
    pd.testing.assert_frame_equal(trans, lifecycle.lifecycle_transitions(path, as_of=AS_OF))


def test_rewritten_file_is_never_served_stale(tmp_path):
    path = _write(_lines([("1", "a", "2026-10-01", 1000)]), tmp_path / "o.parquet")
    assert _totals(path).amount.tolist() == [1000.0]
    _write(_lines([("1", "a", "2026-10-01", 2000), ("2", "b", "2026-10-02", 10)]), path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a new mtime
    assert _totals(path).amount.tolist() == [2000.0, 10.0]


def test_order_with_two_customers_in_a_file_is_an_error(tmp_path):
    df = _lines([("1", "a", "2026-10-01", 1000), ("1", "b", "2026-10-01", 5)])
    path = _write(df, tmp_path / "o.parquet")
    with pytest.raises(DataError, match=r"order\(s\) \['1'\] name different customers"):
        engine.order_totals(path, as_of=AS_OF)


def test_cache_keeps_two_files(tmp_path):
    paths = [
        _write(_lines([(str(i), "a", "2026-10-01", 100 * (i + 1))]), tmp_path / f"{i}.parquet")
        for i in range(3)
    ]
    for p in paths:
        _totals(p)

    def kept(p: Path) -> bool:  # its order totals still kept?
        built: list[int] = []
        cache.table(p, ("order_totals",), lambda: built.append(1) or ibis.memtable({"a": [1]}))
        return not built

    assert cache.MAX_FILES == 2
    assert kept(paths[2]) and kept(paths[1])
    assert not kept(paths[0])  # the least recently used went first
    cache.clear()
    assert _totals(paths[0]).amount.tolist() == [100.0]  # recomputed after eviction


def test_zone_aware_times_are_refused():
    df = _lines([("1", "a", "2026-10-31 08:00", 1000)])
    df["ordered_at"] = df["ordered_at"].dt.tz_localize("Asia/Tokyo")
    with pytest.raises(DataError, match=r"time zone 'Asia/Tokyo'.*tz_convert"):
        engine.order_totals(df, as_of=AS_OF)


def test_stored_order_totals_are_read_while_they_are_the_files_own(tmp_path, monkeypatch):
    """Ingestion stores the order totals; a later process reads them, unless the file changed."""
    rows = [("1", "a", "2026-10-01 10:00", 1000), ("1", "a", "2026-10-01 10:05", -200)]
    rows += [
        ("2", "b", "2026-10-02 09:00", 10),
        ("3", None, "2026-10-03 09:00", 50),
        ("4", "b", "2026-10-04 09:00", -10),
    ]
    path = _write(_lines(rows), tmp_path / "canonical" / "orders.parquet")
    want = to_pandas(engine.all_order_totals(pd.read_parquet(path)).order_by("order_id"))
    cache.clear()
    schema = engine.all_order_totals(path).schema()  # grouped from the file's lines
    stored = engine.write_order_totals(path)
    assert stored == path.with_name("order_totals.parquet")

    def fresh() -> pd.DataFrame:
        cache.clear()  # as in a new process
        totals = engine.all_order_totals(path)
        assert totals.schema() == schema  # exact decimals and timestamps, as grouped
        return to_pandas(totals.order_by("order_id"))

    def read() -> bool:  # are the stored totals the file's own, so read instead of grouped?
        return engine.stored_order_totals(path) is not None

    pd.testing.assert_frame_equal(fresh(), want)
    assert read()
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    pd.testing.assert_frame_equal(fresh(), want)
    assert not read()  # a touched orders file: grouped again
    stored.write_bytes(b"not parquet")
    engine.write_order_totals(path)  # rewritten for the new time
    pd.testing.assert_frame_equal(fresh(), want)
    assert read()
    stored.write_bytes(b"not parquet")
    pd.testing.assert_frame_equal(fresh(), want)
    assert not read()
    monkeypatch.setenv("ECRM_CACHE", "0")  # the switch does not change what is stored
    engine.write_order_totals(path)
    assert read()
    pd.testing.assert_frame_equal(fresh(), want)
    cache.clear()


def test_stored_return_lines_are_every_line_of_the_returning_customers(tmp_path, monkeypatch):
    """Ingestion stores every line of each customer with a line < 0 (no guests), stamped."""
    rows = [("1", "a", "2026-10-01 10:00", 1000), ("1", "a", "2026-10-01 10:00", -200)]
    rows += [("2", "a", "2026-10-05 09:00", 300), ("3", "b", "2026-10-02 09:00", 10)]
    rows += [("4", None, "2026-10-03 09:00", -50), ("5", "c", "2026-10-04 09:00", -10)]
    rows += [("6", "d", "2026-10-04 09:00", 70)] * 9 + [("7", "e", "2026-10-06 09:00", 0)]
    df = _lines(rows).assign(category=["x", "y", "x", "x", None, "y", *["z"] * 9, "x"])
    path = _write(df[df["amount"] >= 0], tmp_path / "canonical" / "orders.parquet")
    engine.write_order_totals(path)
    assert engine.stored_return_lines(path) is None  # no return line: none stored
    assert not path.with_name(engine.RETURN_LINES_FILE).exists()
    path = _write(df, path)
    assert engine.stored_return_lines(path) is None  # nothing stored yet
    engine.write_order_totals(path)
    got = engine.stored_return_lines(path).to_pandas()
    want = df[df["customer_id"].isin(["a", "c"])]  # the guest's return line is not a customer's
    assert sorted(got.columns) == sorted(
        ["order_id", "customer_id", "ordered_at", "amount", "category"]
    )
    key = ["customer_id", "ordered_at", "order_id", "amount"]
    got = got.sort_values(key, ignore_index=True)
    want = want[got.columns].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got.astype({"amount": float}), want.astype({"amount": float}))
    assert engine.stored_return_lines(pd.read_parquet(path)) is None  # a DataFrame has none
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert engine.stored_return_lines(path) is None  # a touched orders file: not its own
    # 4 of the 16 lines are returning customers': above the largest share none is stored (and
    # the old file is removed), at it they are
    monkeypatch.setattr(engine, "RETURN_LINES_MAX_SHARE", 4 / 16 - 0.01)
    engine.write_order_totals(path)
    assert engine.stored_return_lines(path) is None
    assert not path.with_name(engine.RETURN_LINES_FILE).exists()
    monkeypatch.setattr(engine, "RETURN_LINES_MAX_SHARE", 4 / 16)
    engine.write_order_totals(path)
    assert len(engine.stored_return_lines(path).to_pandas()) == 4


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_stored_files_may_be_read_by_whoever_may_read_the_orders(tmp_path, mode):
    """The order totals and return lines get the orders file's permission bits."""
    rows = [("1", "a", "2026-10-01 10:00", 1000), ("2", "a", "2026-10-02 10:00", -200)]
    rows += [("3", "b", "2026-10-02 09:00", 10)] * 6
    path = _write(_lines(rows), tmp_path / "canonical" / "orders.parquet")
    path.chmod(mode)
    engine.write_order_totals(path)
    for name in (engine.ORDER_TOTALS_FILE, engine.RETURN_LINES_FILE):
        assert (path.with_name(name).stat().st_mode & 0o777) == mode, name


def test_stored_main_lines_are_each_orders_largest_line(tmp_path):
    """Ingestion stores each order's largest line: ties by product id, missing values last."""
    df = pd.DataFrame(
        {
            "order_id": ["1", "1", "1", "2", "2", "3", "4"],
            "customer_id": ["a", "a", "a", "b", "b", "b", None],
            "ordered_at": pd.to_datetime(["2026-10-01 10:00"] * 3 + ["2026-10-02 09:00"] * 2
                                         + ["2026-10-03 09:00", "2026-10-04 09:00"]),
            "amount": [500, 500, 100, 300, 300, -50, 70],
            "product_id": ["p2", "p1", "p0", None, "p9", "p5", "p7"],
            "channel": ["ads", "web", "shop", "ads", "web", "ads", None],
        }
    )  # fmt: skip
    path = _write(df, tmp_path / "canonical" / "orders.parquet")
    assert engine.stored_main_lines(path, ["channel"]) is None  # nothing stored yet
    engine.write_order_totals(path)
    cache.clear()
    got = engine.stored_main_lines(path, ["product_id", "channel"])
    got = got.order_by("order_id").to_pandas()
    want = pd.DataFrame(
        {  # 1: a tie at 500 → p1; 2: a tie at 300, the missing product last → p9
            "order_id": ["1", "2", "3", "4"],
            "product_id": ["p1", "p9", "p5", "p7"],
            "channel": ["web", "web", "ads", None],
        }
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    picked = engine.largest_line(ibis.memtable(df), "order_id", ["product_id", "channel"])
    pd.testing.assert_frame_equal(picked.order_by("order_id").to_pandas(), got)
    # the order totals themselves keep their columns; a DataFrame has nothing stored
    assert tuple(engine.all_order_totals(path).columns) == engine.TOTALS_COLUMNS
    assert engine.stored_main_lines(df, ["channel"]) is None
    assert engine.stored_main_lines(path, ["taste"]) is None  # not a column of the file
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert engine.stored_main_lines(path, ["channel"]) is None  # no longer the file's own
    cache.clear()


# ----------------------------------------------------------------------------- stored numbering

_times = st.sampled_from(
    ["2026-09-30 23:59", "2026-10-01 10:00", "2026-10-02 08:00", "2026-10-31 23:30",
     "2026-11-01 00:00", "2026-11-02 09:00"]
)  # fmt: skip
_order = st.tuples(
    st.sampled_from(["a", "b", "c", None]),
    _times,
    st.lists(st.sampled_from([-300, -5, 0, 5, 120, 999]), min_size=1, max_size=3),
)


def _orders_frame(orders: list[tuple]) -> pd.DataFrame:
    rows = [
        (f"o{i:02d}", customer, when, amount)
        for i, (customer, when, amounts) in enumerate(orders)
        for amount in amounts
    ]
    return _lines(rows)


def _purchases(table) -> pd.DataFrame:
    cols = ["order_id", "customer_id", "ordered_at", "amount", "order_date", "seq"]
    return to_pandas(table.select(*cols).order_by("order_id"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(_order, min_size=1, max_size=12),
    as_of=st.sampled_from(["2026-09-30", "2026-10-01", "2026-10-31", "2026-11-01", "2026-12-31"]),
)
def test_stored_purchase_numbers_are_the_windows_at_every_as_of(tmp_path, orders, as_of):
    """The numbering stored for the whole file is a run's window at any as_of.

    Ties in time (order id decides), guests, returns and zero orders (not
    purchases), orders after the cut.
    """
    df = _orders_frame(orders)
    path = _write(df, tmp_path / uuid.uuid4().hex / "orders.parquet")  # a new file each time
    engine.write_order_totals(path)
    cache.clear()
    try:
        with RunTables(df, as_of) as run:  # a DataFrame: the window
            want = _purchases(run.purchases)
        stored = engine.stored_purchases(path, as_of=as_of)
        assert stored is not None
        pd.testing.assert_frame_equal(_purchases(stored), want, check_dtype=False)
        with RunTables(path, as_of) as run:  # the run reads the stored numbers
            pd.testing.assert_frame_equal(_purchases(run.purchases), want, check_dtype=False)
        assert engine.stored_purchases(df, as_of=as_of) is None
    finally:
        cache.clear()


def test_a_run_numbers_purchases_itself_without_a_stored_numbering(tmp_path, monkeypatch):
    """Totals stored without purchase_seq (an older ecrm), or the cache off: the window."""
    import pyarrow.parquet as pq

    df = _orders_frame(
        [("a", "2026-10-01 10:00", [100]), ("a", "2026-10-01 10:00", [50]),
         ("b", "2026-10-02 08:00", [-5]), ("a", "2026-10-02 08:00", [7])]
    )  # fmt: skip
    path = _write(df, tmp_path / "canonical" / "orders.parquet")
    side = engine.write_order_totals(path)
    cache.clear()
    want = pd.DataFrame({"order_id": ["o00", "o01", "o03"], "seq": [1, 2, 3]})
    with RunTables(path, AS_OF) as run:
        got = _purchases(run.purchases)[["order_id", "seq"]]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    old = pq.read_table(side)
    pq.write_table(old.drop(["purchase_seq"]).replace_schema_metadata(old.schema.metadata), side)
    cache.clear()
    assert engine.stored_order_totals(path) is not None  # still the file's own totals
    assert engine.stored_purchases(path, as_of=AS_OF) is None
    with RunTables(path, AS_OF) as run:
        pd.testing.assert_frame_equal(_purchases(run.purchases)[["order_id", "seq"]], want,
                                      check_dtype=False)  # fmt: skip
    engine.write_order_totals(path)
    monkeypatch.setenv("ECRM_CACHE", "0")
    cache.clear()
    assert engine.stored_purchases(path, as_of=AS_OF) is None
    with RunTables(path, AS_OF) as run:
        pd.testing.assert_frame_equal(_purchases(run.purchases)[["order_id", "seq"]], want,
                                      check_dtype=False)  # fmt: skip
    cache.clear()


def test_customer_hashes_are_trusted_only_where_ingestion_found_them_distinct(
    tmp_path, monkeypatch
):
    """The stored totals record whether the file's customers' hashes are distinct, and under
    which DuckDB; anything else (no totals, a touched file, another DuckDB, a collision,
    a DataFrame) is not trusted."""
    import json

    import duckdb
    import pyarrow.parquet as pq

    rows = [("1", "a", "2026-10-01 10:00", 10), ("2", "b", "2026-10-02 10:00", 20)]
    rows += [("3", None, "2026-10-03 10:00", 5), ("4", "cc", "2026-10-04 10:00", 7)]
    df = _lines(rows)
    path = _write(df, tmp_path / "canonical" / "orders.parquet")
    assert not engine.customer_hash_distinct(path)  # nothing stored yet
    side = engine.write_order_totals(path)
    meta = json.loads(pq.read_schema(side).metadata[b"ecrm.customer_hash"])
    assert meta == {"duckdb": duckdb.__version__, "distinct": True}
    assert engine.customer_hash_distinct(path)
    assert engine.customer_hash_distinct(str(path))
    assert not engine.customer_hash_distinct(df)
    old = pq.read_table(side)
    other = {**old.schema.metadata, b"ecrm.customer_hash": json.dumps(
        {"duckdb": "0.0.1", "distinct": True}).encode()}  # fmt: skip
    pq.write_table(old.replace_schema_metadata(other), side)
    assert not engine.customer_hash_distinct(path)  # hashed by another DuckDB
    pq.write_table(old.replace_schema_metadata({b"ecrm.orders_file": old.schema.metadata[
        b"ecrm.orders_file"]}), side)  # fmt: skip
    assert engine.customer_hash_distinct(path) is False  # totals of an older ecrm
    # a hash that sends "a" and "b" (one character each) to one key: found at ingestion
    monkeypatch.setattr(engine, "customer_hash", lambda c: c.length().cast("int64"))
    engine.write_order_totals(path)
    assert not engine.customer_hash_distinct(path)
    monkeypatch.undo()
    engine.write_order_totals(path)
    assert engine.customer_hash_distinct(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert not engine.customer_hash_distinct(path)  # the totals are not the file's own
    cache.clear()
