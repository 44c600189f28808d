"""ecrm on Spark: the analyses give DuckDB's tables when the orders are a Spark table.

The engine contract (:mod:`ecrm.engine`) says every analysis runs unchanged on
any Ibis backend. Here Spark runs in local mode (``local[2]``) and reads the
canonical Parquet files itself; each analysis is called with that Spark-backed
Ibis table and compared with the same call on DuckDB (the Parquet path):
counts, ids, dates and segments exactly, money and rates to a relative 1e-9.

The Spark session's time zone is UTC, set on purpose (Ibis's pyspark backend
sets the same on connect): ``ordered_at`` is a zone-less shop-local time, so the
calendar day Spark gives it must not depend on the machine's or the cluster's
zone. Skipped, with the reason, where Java or pyspark is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecrm.analysis import cohort, customers, decile, ltv, rfm
from tests import fixtures_segments as fx
from tests.test_cohort import AS_OF as HAND_AS_OF
from tests.test_cohort import hand_orders

pytestmark = [
    pytest.mark.slow,
    # pyspark 4.0's toPandas passes pandas 3 a deprecated keyword, once per column
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

#: The demo calendar's last day.
AS_OF = "2026-10-31"
#: Mid-month as_of of the hand-typed cohort shop: F's first order (2026-03-15 10:00).
MID_MONTH = "2026-03-15"


def _has_java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and (Path(home) / "bin" / "java").is_file()) or bool(shutil.which("java"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local Spark session (2 cores, 2 shuffle partitions, no UI, time zone UTC)."""
    if not _has_java():
        pytest.skip("Spark needs Java: no `java` on PATH or in JAVA_HOME (install a JDK, e.g. 17)")
    sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed (pip install 'ecrm[spark]')"
    )
    tmp = tmp_path_factory.mktemp("spark")
    session = (
        sql.SparkSession.builder.master("local[2]")
        .appName("ecrm-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.local.dir", str(tmp / "local"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")  # unpartitioned-window warnings of deciles
    yield session
    session.stop()


@pytest.fixture(scope="session")
def con(spark: Any) -> Any:
    """Ibis's pyspark backend on the session, its time zone UTC (checked)."""
    import ibis

    backend = ibis.pyspark.connect(spark, **{"spark.sql.session.timeZone": "UTC"})
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    return backend


@pytest.fixture(scope="session")
def demo_orders(demo_root: Path) -> Path:
    """The canonical orders of the demo apparel shop (1,500 customers), ingested."""
    return demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"


@pytest.fixture(scope="session")
def spark_orders(con: Any, demo_orders: Path) -> Any:
    """The demo orders as a Spark table (Spark reads the Parquet file itself)."""
    t = con.read_parquet(str(demo_orders), table_name="demo_apparel_orders")
    assert t.get_backend().name == "pyspark"
    return t


def _to_parquet(df: pd.DataFrame, path: Path) -> Path:
    # timestamps in microseconds, as ingestion writes them
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, coerce_timestamps="us")
    return path


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, dtypes and rows; floats (money, rates) to a relative 1e-9, the rest exact."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for c in want.columns:
        g, w = got[c].reset_index(drop=True), want[c].reset_index(drop=True)
        assert g.dtype == w.dtype, f"{c}: {g.dtype} on Spark, {w.dtype} on DuckDB"
        if pd.api.types.is_float_dtype(w.dtype):
            np.testing.assert_allclose(
                g.to_numpy(), w.to_numpy(), rtol=1e-9, atol=0, equal_nan=True, err_msg=c
            )
        else:
            pd.testing.assert_series_equal(g, w, check_exact=True, obj=c)


def _measures_rfm_and_grids(orders: Any) -> list[pd.DataFrame]:
    scores = rfm.rfm(orders, as_of=AS_OF, attributes=True)
    return [
        customers.measures(orders, as_of=AS_OF),
        scores,
        rfm.rfm_grid(scores),
        rfm.rfm_grid(scores, by="first_channel"),
    ]


def _cached_history(orders: Any) -> list[pd.DataFrame]:
    # a materialised history (Table.cache() on Spark), read by two tables, then released
    with cohort.purchase_history(orders, as_of=AS_OF) as h:
        return [ltv.ltv_transition(h, as_of=AS_OF), ltv.purchase_ladder(h, as_of=AS_OF)]


#: Analyses compared on the demo shop: name -> orders -> table(s). Kept few, as
#: every Spark query costs seconds of planning whatever the data size.
DEMO_CASES: dict[str, Callable[[Any], pd.DataFrame | list[pd.DataFrame]]] = {
    "measures_rfm_and_grids": _measures_rfm_and_grids,
    "rfm_quantile": lambda o: rfm.rfm(o, as_of=AS_OF, method="quantile"),
    "decile_table": lambda o: decile.decile_table(o, as_of=AS_OF),
    "decile_migration": lambda o: decile.decile_migration(o, as_of=AS_OF),
    "cohort_table": lambda o: cohort.cohort_table(o, as_of=AS_OF),
    "ltv_transition_and_ladder": _cached_history,
}


def _tables(result: pd.DataFrame | list[pd.DataFrame]) -> list[pd.DataFrame]:
    return result if isinstance(result, list) else [result]


@pytest.mark.parametrize("case", list(DEMO_CASES))
def test_demo_shop_same_as_duckdb(case: str, spark_orders: Any, demo_orders: Path) -> None:
    run = DEMO_CASES[case]
    got, want = _tables(run(spark_orders)), _tables(run(demo_orders))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert len(w) > 0
        assert_same_table(g, w)


def test_hand_typed_segment_shop_same_as_duckdb(con: Any, tmp_path: Path) -> None:
    # threshold edges: an order at 23:59 on as_of, one at 00:00 the day after, a
    # guest line, a return, a two-line first order
    orders = fx.orders()
    t = con.read_parquet(str(_to_parquet(orders, tmp_path / "segments.parquet")))
    for run in (
        lambda o: rfm.rfm(o, as_of=fx.AS_OF, attributes=True),
        lambda o: decile.decile_table(o, as_of=fx.AS_OF),
        lambda o: decile.decile_migration(o, as_of=fx.AS_OF),
    ):
        assert_same_table(run(t), run(orders))


def test_hand_typed_cohort_shop_same_as_duckdb(con: Any, tmp_path: Path) -> None:
    # returns before the first purchase, return-only and zero orders, same-day
    # second purchases, orders after as_of, guests, a customer without a category;
    # the cohort table at mid-month, as_of the day of F's first order (10:00)
    orders = hand_orders()
    t = con.read_parquet(str(_to_parquet(orders, tmp_path / "cohort.parquet")))
    for run in (
        lambda o: cohort.cohort_table(o, as_of=MID_MONTH, by="category"),
        lambda o: ltv.ltv_transition(o, as_of=HAND_AS_OF, step_days=30, horizon_days=120),
    ):
        assert_same_table(run(t), run(orders))
