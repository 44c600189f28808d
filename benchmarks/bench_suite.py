"""Benchmark: every ecrm analysis against the DuckDB floor and plain pandas, and its growth.

For each size (order lines of the apparel demo shop, 3.8 lines per order: 10M
lines ≈ the 1M-customer shop) a fresh child process — so that its peak RSS is
that size's own — runs:

1. **the floor**: DuckDB merely scanning the columns and grouping the lines by
   customer (``common.floor``; fastest of three runs, the first warms the file
   cache), on ecrm's own DuckDB connection;
2. **every ecrm analysis** from the canonical Parquet path, as a report calls
   it (public functions, default settings): RFM scores + grid, decile table,
   CPM month ends, lifecycle month ends and transitions, KPIs, cohort table,
   LTV transition, purchase ladder, F2 conversion, clustering (features + fit,
   k chosen by silhouette as in the report), all CTB tables (``ctb_tables``).
   Each gets wall and CPU seconds, peak RSS, and its multiple of the floor
   measured again just before it (fastest of three; the machine's pace drifts
   by up to 2× within a run, so each ratio is side by side; the whole set's
   multiple is of the floor at the start);
3. **plain pandas** on the same file, in the same process after ecrm (so
   ecrm's peak RSS is its own): the analyst-style implementations of
   ``bench_segments.py`` for RFM…KPIs (their shared load + order totals counted
   in every row, as there) and the references in ``tests/reference/`` for the
   cohort/LTV tables (``cohort_ltv_pandas``, the file read counted in every
   row) and CTB (``ctb_pandas``: a per-customer Python walk — a test oracle,
   not what an analyst would write, so only up to ``--ctb-pandas-max``).
   Clustering has no pandas reference. Each pandas output is compared with
   ecrm's (``agreement``: counts exactly, money to a relative 1e-9; the
   cohort/LTV tables with the tests' own comparison) and the table says
   whether they agree;

Then a growth table over the sizes: the full analysis set's seconds, CPU
seconds, seconds per million lines, peak RSS, what DuckDB holds in memory
(``duckdb_memory()``) and the most its temp directory held (DuckDB runs with
``ECRM_DUCKDB_MEMORY_LIMIT``, default 3GB, and spills to
``ECRM_DUCKDB_TEMP_DIRECTORY``, default ``benchmarks/out/duckdb-tmp``).

Data: ``common.orders_for_lines`` generates each shop once into
``benchmarks/out`` (about lines / 10 customers) and ingests it with
``ecrm.io.ingest``; above 1M customers (10M lines) with DuckDB instead
(``common.canonicalise_duckdb``, the same rows — ``bench_floor.py
--check-canonical``), because ingest peaked at 9.3 GB on the 10M-line shop.

Targets (scale issue): each analysis within 4× the floor and ≥ 3× faster than
pandas at 10M lines; growth close to linear; 30M lines complete under the
memory limit.

Usage::

    python benchmarks/bench_suite.py --sizes 0.1M,1M,10M,30M [--record]
    python benchmarks/bench_suite.py --quick          # 10k and 20k lines, < 1 min
    python benchmarks/bench_suite.py --sizes 1M --skip-pandas
    python benchmarks/bench_suite.py --d2c --sizes 1M,10M   # the D2C analyses (issue #20)

``--d2c`` runs the D2C analyses (subscriptions, sBG projection, channel acquisition
with costs, products, cross-sell, revenue change) instead, on ``common.d2c_orders``
(the same shop with subscription_id, non-merchandise ids and a costs table), against
``tests/reference/d2c_pandas.py``, every cell compared (``d2c_pandas.differences``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(HERE), str(ROOT)):  # common / bench_segments, and tests.reference
    if _p not in sys.path:
        sys.path.insert(0, _p)

import common  # noqa: E402

AS_OF = "2026-10-31"
DEFAULT_SIZES = "0.1M,1M,10M,30M"
QUICK_SIZES = "10k,20k"
QUICK_CTB_PANDAS_MAX = "10k"  # the CTB reference walks customer by customer
FLOOR_TARGET = 4.0
PANDAS_TARGET = 3.0


# ----------------------------------------------------------------------------- ecrm


def ecrm_cases(path: Path) -> dict[str, Callable[[], Any]]:
    """The analyses of a monthly report, each from the canonical Parquet path."""
    from ecrm.analysis import cluster, cohort, cpm, ctb, decile, kpi, lifecycle, ltv, rfm

    p, a = path, AS_OF
    return {
        "RFM (scores + grid)": lambda: rfm.rfm_grid(rfm.rfm(p, as_of=a)),
        "decile table": lambda: decile.decile_table(p, as_of=a),
        "CPM month ends (12)": lambda: cpm.cpm_monthly(p, as_of=a),
        "lifecycle month ends (12)": lambda: lifecycle.lifecycle_monthly(p, as_of=a),
        "lifecycle transitions (12)": lambda: lifecycle.lifecycle_transitions(p, as_of=a),
        "KPIs (24 months)": lambda: kpi.kpi_table(p, as_of=a),
        "cohort table": lambda: cohort.cohort_table(p, as_of=a),
        "LTV transition": lambda: ltv.ltv_transition(p, as_of=a),
        "purchase ladder": lambda: ltv.purchase_ladder(p, as_of=a),
        "F2 conversion": lambda: ltv.f2_conversion(p, as_of=a),
        "clusters (features + fit)": lambda: cluster.cluster_customers(p, as_of=a),
        "CTB tables": lambda: ctb.ctb_tables(p, as_of=a),
    }


def d2c_cases(path: Path) -> dict[str, Callable[[], Any]]:
    """The D2C analyses of issue #20 on the D2C benchmark shop (``common.d2c_orders``).

    Named as ``tests/reference/d2c_pandas.COMPARE``. Products exclude the shop's
    non-merchandise ids and name pattern; acquisition has the costs table.
    """
    from ecrm.analysis import channels, cross_sell, products, revenue_change, subscriptions
    from ecrm.models import subscription_value

    p, a = path, AS_OF
    costs = common.d2c_costs(path)
    ex = {"exclude_ids": common.D2C_EXCLUDE_IDS, "exclude_pattern": common.D2C_EXCLUDE_PATTERN}
    return {
        "deliveries": lambda: subscriptions.deliveries(p, as_of=a),
        "continuation": lambda: subscriptions.continuation(p, as_of=a),
        "subscription_monthly": lambda: subscriptions.subscription_monthly(p, as_of=a),
        "lifetimes": lambda: subscriptions.lifetimes(p, as_of=a),
        "project": lambda: subscription_value.project(p, as_of=a).summary,
        "acquisition": lambda: channels.acquisition(p, as_of=a, costs=costs),
        "entry_products": lambda: products.entry_products(p, as_of=a, **ex),
        "product_conversion": lambda: products.product_conversion(p, as_of=a, **ex),
        "cross_purchase_products": lambda: products.cross_purchase_products(p, as_of=a, **ex),
        "cross_sell_monthly": lambda: cross_sell.cross_sell_monthly(p, as_of=a),
        "revenue_change": lambda: revenue_change.revenue_change(p, as_of=a),
    }


def d2c_pandas_groups(path: Path) -> list[PandasGroup]:
    """One group: the file read once (the columns the D2C analyses use), then each reference."""
    from tests.reference import d2c_pandas as ref

    a = AS_OF
    costs = common.d2c_costs(path)
    ex = {"exclude_ids": common.D2C_EXCLUDE_IDS, "exclude_pattern": common.D2C_EXCLUDE_PATTERN}
    cols = ["order_id", "customer_id", "ordered_at", "amount", "product_id", "product_name"]
    cols += ["category", "channel", "subscription_id"]
    fns: dict[str, Callable[[Any], Any]] = {
        "deliveries": lambda d: ref.deliveries(d, as_of=a),
        "continuation": lambda d: ref.continuation(d, as_of=a),
        "subscription_monthly": lambda d: ref.subscription_monthly(d, as_of=a),
        "lifetimes": lambda d: ref.lifetimes(d, as_of=a),
        "project": lambda d: ref.project(d, as_of=a),
        "acquisition": lambda d: ref.acquisition(d, as_of=a, costs=costs),
        "entry_products": lambda d: ref.entry_products(d, as_of=a, **ex),
        "product_conversion": lambda d: ref.product_conversion(d, as_of=a, **ex),
        "cross_purchase_products": lambda d: ref.cross_purchase_products(d, as_of=a, **ex),
        "cross_sell_monthly": lambda d: ref.cross_sell_monthly(d, as_of=a),
        "revenue_change": lambda d: ref.revenue_change(d, as_of=a),
    }
    return [("D2C (tests/reference/d2c_pandas.py: read)", lambda: ref.read_lines(path, cols), fns)]


# ----------------------------------------------------------------------------- pandas


PandasGroup = tuple[str, Callable[[], Any], dict[str, Callable[[Any], Any]]]


def pandas_groups(path: Path) -> list[PandasGroup]:
    """(group, load, {analysis: fn(loaded)}): the existing pandas implementations.

    The load of a group (reading the file, and for the segment group the order
    totals) is timed once and added to every row of the group.
    """
    import bench_segments as seg
    import pandas as pd

    from tests.reference import cohort_ltv_pandas as cl
    from tests.reference import ctb_pandas as cp

    as_of = dt.date.fromisoformat(AS_OF)

    def load_segments() -> tuple[pd.DataFrame, pd.DataFrame]:
        lines = pd.read_parquet(path, columns=["order_id", "customer_id", "ordered_at", "amount"])
        lines["amount"] = lines["amount"].astype("float64")
        return lines, seg.pd_orders(lines, seg.AS_OF)

    def load_cohort() -> pd.DataFrame:
        return cl.read_orders(path, ["order_id", "customer_id", "ordered_at", "amount"])

    def load_ctb() -> pd.DataFrame:
        cols = ["order_id", "customer_id", "ordered_at", "amount", "product_id"]
        cols += ["category", "taste", "brand", "channel"]
        return cl.read_orders(path, cols)

    def ctb_all(lines: pd.DataFrame) -> None:
        for level in ("category", "taste", "brand"):
            cp.preferences(lines, as_of=as_of, level=level)
        cp.first_purchase(lines, as_of=as_of, level="category", horizon_days=360)
        for level in ("category", "brand"):
            cp.transitions(lines, as_of=as_of, level=level)
            cp.cross_purchase(lines, as_of=as_of, level=level, min_support=0.001)
        cp.ctb_mix(lines, as_of=as_of, level="category")

    return [
        (
            "segments (bench_segments.py: read + order totals)",
            load_segments,
            {
                "RFM (scores + grid)": lambda d: seg.pd_rfm(d[1]),
                "decile table": lambda d: seg.pd_decile(d[1]),
                "CPM month ends (12)": lambda d: seg.pd_cpm_monthly(d[1]),
                "lifecycle month ends (12)": lambda d: seg.pd_lifecycle_monthly(d[1]),
                "lifecycle transitions (12)": lambda d: seg.pd_transitions(d[1]),
                "KPIs (24 months)": lambda d: seg.pd_kpi(d[0]),
            },
        ),
        (
            "cohort/LTV (tests/reference/cohort_ltv_pandas.py: read)",
            load_cohort,
            {
                "cohort table": lambda d: cl.cohort_table(d, as_of=AS_OF),
                "LTV transition": lambda d: cl.ltv_transition(d, as_of=AS_OF),
                "purchase ladder": lambda d: cl.purchase_ladder(d, as_of=AS_OF),
                "F2 conversion": lambda d: cl.f2_conversion(d, as_of=AS_OF),
            },
        ),
        (
            "CTB (tests/reference/ctb_pandas.py: read)",
            load_ctb,
            {"CTB tables": ctb_all},
        ),
    ]


# ----------------------------------------------------------------------------- agreement


def _cells(e: Any, p: Any, keys: list[str], pairs: dict[str, str], money: set[str]) -> str:
    """Join ecrm's and pandas' tables on ``keys``; counts must be equal, money close."""
    import numpy as np

    p = p.reset_index()
    for k in keys:  # dates and periods compared as text
        e, p = e.assign(**{k: e[k].astype(str)}), p.assign(**{k: p[k].astype(str)})
    m = e.merge(p, on=keys, how="outer", suffixes=("", "_pd"))
    for ours, theirs in pairs.items():
        a = m[ours].fillna(0).to_numpy("float64")
        b = m[theirs if theirs != ours else f"{ours}_pd"].fillna(0).to_numpy("float64")
        differ = ~np.isclose(a, b, rtol=1e-9, atol=1e-6) if ours in money else a != b
        if differ.any():
            where = m.loc[differ, keys].head(1).to_dict("records")
            return f"no: {ours} differs in {int(differ.sum())} of {len(m)} cells, e.g. {where}"
    return f"yes ({len(m)} cells)"


def agreement(name: str, ecrm_out: Any, pandas_out: Any) -> str:
    """Whether an analysis's ecrm output and its pandas implementation's output agree.

    Compared where the definitions coincide: every count exactly, money to a
    relative 1e-9 (the cohort/LTV tables with the tests' own comparison, which
    also checks which cells are empty). ``n/a`` says why a pair is not compared.
    """
    import pandas as pd

    from tests.reference import d2c_pandas as ref

    if name in ref.COMPARE and ecrm_out is not None and pandas_out is not None:
        found = ref.differences(name, ecrm_out, pandas_out)
        return f"no: {'; '.join(found)[:160]}" if found else f"yes ({len(ecrm_out)} rows)"
    if name == "CTB tables":
        return "n/a: checked table by table in tests/test_ctb.py"
    if ecrm_out is None or pandas_out is None:
        return "n/a"
    try:
        if name == "RFM (scores + grid)":
            return _cells(ecrm_out, pandas_out, ["r", "f"], {"customers": "customers",
                          "revenue": "revenue"}, {"revenue"})  # fmt: skip
        if name == "decile table":
            return _cells(ecrm_out, pandas_out, ["decile"], {"customers": "customers",
                          "revenue": "revenue"}, {"revenue"})  # fmt: skip
        if name == "lifecycle transitions (12)":
            e = ecrm_out[ecrm_out["customers"] > 0]
            keys = ["from_date", "to_date", "from_segment", "to_segment"]
            return _cells(e, pandas_out, keys, {"customers": "customers"}, set())
        if name in ("CPM month ends (12)", "lifecycle month ends (12)"):
            e = ecrm_out[ecrm_out["customers"] > 0]
            return _cells(e, pandas_out, ["month_end", "segment"], {"customers": "count"}, set())
        if name == "KPIs (24 months)":
            e = ecrm_out[ecrm_out["kpi"].isin(["revenue", "orders", "customers", "new_customers"])]
            e = e.pivot(index="month", columns="kpi", values="value").reset_index()
            e["month"] = pd.to_datetime(e["month"]).dt.to_period("M")
            p = pandas_out.reset_index()
            p = p[p["month"].isin(set(e["month"]))]
            e = e[e["month"].isin(set(p["month"]))]
            cols = {"revenue": "revenue", "orders": "orders", "customers": "customers",
                    "new_customers": "new_customers"}  # fmt: skip
            return _cells(e, p, ["month"], cols, {"revenue"})
        if name in COHORT_LTV_TABLES:
            counts, money = COHORT_LTV_TABLES[name]
            from tests.test_cohort import assert_same_table

            assert_same_table(ecrm_out, pandas_out, counts, money)
            return f"yes ({len(ecrm_out)} rows)"
    except AssertionError as e:
        return f"no: {str(e).splitlines()[0][:80]}"
    return "n/a: not the same table (a timing stand-in)"


#: the tests' comparison of each cohort/LTV table: (count columns, money columns)
COHORT_LTV_TABLES = {
    "cohort table": (("period", "cohort_size", "active"), ("revenue", "cum_revenue_per_customer")),
    "LTV transition": (("days", "cohort_size", "repeaters"), ("revenue", "ltv")),
    "purchase ladder": (
        ("n", "reached", "continued", "lapsed", "pending", "customers"),
        ("revenue", "revenue_per_customer"),
    ),
    "F2 conversion": (("days", "cohort_size", "repeaters"), ()),
}


# ----------------------------------------------------------------------------- child


def run_size(
    path: Path, *, with_pandas: bool, with_ctb_pandas: bool, temp_dir: Path, d2c: bool = False
) -> dict:
    """Time everything on one shop (in the child process); return a JSON-able dict."""
    from ecrm.analysis import cluster, cohort, cpm, ctb, decile, kpi, lifecycle, ltv, rfm  # noqa: F401

    lines = common.parquet_rows(path)
    out: dict[str, Any] = {"lines": lines, "path": str(path), "rows": {}, "pandas": {}}
    out["settings"] = common.duckdb_settings()
    con = common.duckdb_con()
    sql = f"SELECT count(DISTINCT customer_id) FROM read_parquet('{path}')"
    out["customers"] = int(con.execute(sql).fetchall()[0][0])
    con.close()
    fl = common.floor(path)
    out["floor"] = {"s": fl.seconds, "cpu": fl.cpu, "rss": fl.peak_rss, "load": fl.load}
    print(f"  floor {fl.seconds:7.3f}s  cpu {fl.cpu:6.3f}s", flush=True)
    mem_max = temp_max = 0
    kept: dict[str, Any] = {}  # outputs to compare with pandas
    with common.measure(watch_dir=temp_dir) as whole:
        for name, fn in (d2c_cases(path) if d2c else ecrm_cases(path)).items():
            gc.collect()
            before = common.floor(path)  # side by side: the machine's pace drifts within a run
            with common.measure(watch_dir=temp_dir) as m:
                result = fn()
            if with_pandas and name not in ("clusters (features + fit)", "CTB tables"):
                kept[name] = result
            result = None
            mem, tmp = common.duckdb_memory()
            mem_max, temp_max = max(mem_max, mem), max(temp_max, tmp, m.peak_temp)
            out["rows"][name] = {
                "s": m.seconds,
                "cpu": m.cpu,
                "rss": m.peak_rss,
                "load": m.load,
                "duckdb_mem": mem,
                "floor": before.seconds,
            }
            print(
                f"  ecrm   {name:<28}{m.seconds:7.2f}s  cpu {m.cpu:6.2f}s  "
                f"RSS {common.gib(m.peak_rss)} GiB  floor {before.seconds:6.3f}s  "
                f"{m.seconds / before.seconds:5.1f}× floor",
                flush=True,
            )
    # the analyses' own seconds: the floors measured between them are not theirs
    rows = out["rows"].values()
    out["all"] = {
        "s": sum(e["s"] for e in rows),
        "cpu": sum(e["cpu"] for e in rows),
        "load": whole.load,
    }
    out["ecrm_peak_rss"] = common.peak_rss_self()
    out["duckdb_mem_max"] = mem_max
    out["duckdb_mem_end"] = common.duckdb_memory()[0]
    out["temp_max"] = max(temp_max, whole.peak_temp)

    if not with_pandas:
        return out
    for group, load, fns in d2c_pandas_groups(path) if d2c else pandas_groups(path):
        if group.startswith("CTB") and not with_ctb_pandas:
            continue
        gc.collect()
        with common.measure() as ml:
            data = load()
        print(f"  pandas load, {group:<50}{ml.seconds:7.2f}s", flush=True)
        for name, fn in fns.items():
            gc.collect()
            with common.measure() as m:
                theirs = fn(data)
            agree = agreement(name, kept.pop(name, None), theirs)
            theirs = None
            out["pandas"][name] = {
                "s": m.seconds + ml.seconds,
                "cpu": m.cpu + ml.cpu,
                "rss": max(m.peak_rss, ml.peak_rss),
                "load": m.load,
                "agree": agree,
            }
            print(
                f"  pandas {name:<28}{m.seconds:7.2f}s (+ load {ml.seconds:.2f}s)  agree: {agree}",
                flush=True,
            )
        del data
    return out


def child_main(args: argparse.Namespace) -> int:
    temp = Path(os.environ.setdefault("ECRM_DUCKDB_TEMP_DIRECTORY", str(common.OUT / "duckdb-tmp")))
    temp = temp / f"bench-{os.getpid()}"
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["ECRM_DUCKDB_TEMP_DIRECTORY"] = str(temp)
    try:
        r = run_size(
            Path(args.child),
            with_pandas=args.with_pandas,
            with_ctb_pandas=args.with_ctb_pandas,
            temp_dir=temp,
            d2c=args.d2c,
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    r["peak_rss"] = common.peak_rss_self()
    Path(args.json_out).write_text(json.dumps(r), encoding="utf-8")
    return 0


# ----------------------------------------------------------------------------- tables


def size_table(r: dict) -> str:
    """One size: every analysis with seconds, CPU, RSS, × floor, pandas and load."""
    fl = r["floor"]
    rows = [
        (
            "DuckDB floor (scan + group by customer), at the start",
            f"{fl['s']:.3f}",
            f"{fl['cpu']:.3f}",
            common.gib(fl["rss"]),
            f"{fl['s']:.3f}",
            "1.0×",
            "",
            "",
            "",
            f"{fl['load']:.1f}",
        )
    ]
    tot_e = tot_p = 0.0
    all_pandas = True
    for name, e in r["rows"].items():
        p = r["pandas"].get(name)
        tot_e += e["s"]
        if p:
            tot_p += p["s"]
        else:
            all_pandas = False
        rows.append(
            (
                name,
                f"{e['s']:.2f}",
                f"{e['cpu']:.2f}",
                common.gib(e["rss"]),
                f"{_floor(e, fl):.3f}",
                f"{e['s'] / _floor(e, fl):.1f}×",
                f"{p['s']:.2f}" if p else "–",
                f"{p['s'] / e['s']:.1f}×" if p else "–",
                p.get("agree", "–") if p else "–",
                f"{e['load']:.1f}",
            )
        )
    a = r["all"]
    rows.append(
        (
            "**all analyses**",
            f"{a['s']:.2f}",
            f"{a['cpu']:.2f}",
            common.gib(r["ecrm_peak_rss"]),
            f"{fl['s']:.3f}",
            f"{a['s'] / fl['s']:.1f}×",
            f"{tot_p:.2f}" + ("" if all_pandas else " (rows with pandas)") if tot_p else "–",
            "",
            "",
            f"{a['load']:.1f}",
        )
    )
    head = (
        "analysis",
        "ecrm s",
        "CPU s",
        "peak RSS GiB",
        "floor s",
        "× floor",
        "pandas s",
        "ecrm faster",
        "outputs agree",
        "load",
    )
    title = (
        f"**{common.size_label(r['size'])} lines** — {r['lines']:,} order lines, "
        f"{r['customers']:,} customer ids ({r['settings']})"
    )
    return title + "\n\n" + common.table(rows, head)


def _floor(row: dict, start: dict) -> float:
    """The floor an analysis is compared with: measured just before it (else the start's)."""
    return float(row.get("floor", start["s"]))


def growth_table(results: list[dict]) -> str:
    """Across sizes: the whole analysis set, per million lines, memory and spill."""
    rows = []
    for r in results:
        a = r["all"]
        m = r["lines"] / 1e6
        rows.append(
            (
                common.size_label(r["size"]),
                f"{r['lines']:,}",
                f"{r['floor']['s']:.3f}",
                f"{a['s']:.1f}",
                f"{a['cpu']:.1f}",
                f"{a['s'] / m:.2f}",
                f"{a['s'] / r['floor']['s']:.1f}×",
                common.gib(r["ecrm_peak_rss"]),
                common.gib(r["duckdb_mem_max"]),
                common.gib(r["temp_max"]),
                f"{a['load']:.1f}",
            )
        )
    head = (
        "size",
        "lines",
        "floor s",
        "all analyses s",
        "CPU s",
        "s per M lines",
        "× floor",
        "peak RSS GiB",
        "DuckDB mem max GiB",
        "spill max GiB",
        "load",
    )
    return common.table(rows, head)


def verdicts(results: list[dict]) -> list[str]:
    """Which targets are met at the largest size with pandas figures, and the growth."""
    out = []
    for r in results:
        label = common.size_label(r["size"])
        over = [n for n, e in r["rows"].items() if e["s"] > FLOOR_TARGET * _floor(e, r["floor"])]
        out.append(
            f"* {label}: {len(r['rows']) - len(over)} of {len(r['rows'])} analyses within "
            f"{FLOOR_TARGET:g}× the floor" + (f" (not: {', '.join(over)})" if over else "")
        )
        if r["pandas"]:
            slow = [n for n, p in r["pandas"].items() if p["s"] < PANDAS_TARGET * r["rows"][n]["s"]]
            out.append(
                f"* {label}: {len(r['pandas']) - len(slow)} of {len(r['pandas'])} analyses with a "
                f"pandas reference ≥ {PANDAS_TARGET:g}× faster than it"
                + (f" (not: {', '.join(slow)})" if slow else "")
            )
    for r in results:
        out.append(
            f"* {common.size_label(r['size'])}: DuckDB held at most "
            f"{common.gib(r['duckdb_mem_max'])} GiB (`duckdb_memory()` after each analysis) "
            f"and spilled at most {common.gib(r['temp_max'])} GiB to its temp directory; the "
            f"process peaked at {common.gib(r['ecrm_peak_rss'])} GiB RSS before the pandas part "
            f"({r['settings']})"
        )
    if len(results) > 1:
        per = [r["all"]["s"] / (r["lines"] / 1e6) for r in results]
        out.append(
            "* seconds per million lines, smallest → largest size: "
            + " → ".join(f"{p:.2f}" for p in per)
            + f" (largest / second-largest: {per[-1] / per[-2]:.2f})"
        )
    return out


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Sizes are order lines: 0.1M, 1M, 10M, 30M (k and M suffixes).",
    )
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default {DEFAULT_SIZES}")
    ap.add_argument("--quick", action="store_true", help=f"tiny sizes ({QUICK_SIZES})")
    ap.add_argument(
        "--pandas-max", default="10M", help="largest size with the pandas comparison (10M)"
    )
    ap.add_argument(
        "--ctb-pandas-max",
        default="0.1M",
        help="largest size with the CTB reference (0.1M: it took 553 s at 1M lines)",
    )
    ap.add_argument("--skip-pandas", action="store_true", help="only ecrm and the floor")
    ap.add_argument("--record", action="store_true", help="append the tables to RESULTS.md")
    ap.add_argument(
        "--d2c",
        action="store_true",
        help="the D2C analyses (issue #20) on the D2C shop (common.d2c_orders)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", help=argparse.SUPPRESS)
    ap.add_argument("--with-pandas", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--with-ctb-pandas", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args)
    pandas_max = 0 if args.skip_pandas else common.parse_size(args.pandas_max)
    ctb_max = common.parse_size(QUICK_CTB_PANDAS_MAX if args.quick else args.ctb_pandas_max)

    sizes = common.parse_sizes(QUICK_SIZES if args.quick else args.sizes)
    load_start = common.load_text()
    print(f"{common.machine()}\n{common.versions()}\n{load_start}", flush=True)
    results = []
    started = time.perf_counter()
    for lines in sizes:
        path = common.d2c_orders(lines) if args.d2c else common.orders_for_lines(lines)
        print(f"\n== {common.size_label(lines)} lines: {path}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            cmd = [sys.executable, __file__, "--child", str(path), "--json-out", str(out)]
            if lines <= pandas_max:
                cmd.append("--with-pandas")
            if args.d2c:
                cmd.append("--d2c")
            if lines <= min(pandas_max, ctb_max):
                cmd.append("--with-ctb-pandas")
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            subprocess.run(cmd, check=True, env=env)
            r = json.loads(out.read_text(encoding="utf-8"))
        r["size"] = lines
        results.append(r)
        print("\n" + size_table(r), flush=True)

    what = "The D2C analyses" if args.d2c else "Every analysis"
    body = [f"### {what} against the DuckDB floor and pandas (`bench_suite.py`)", ""]
    body += [
        "Fresh process per size; the floor is the fastest of three runs of "
        "`SELECT customer_id, count(*), sum(amount), max(ordered_at) … GROUP BY 1` on "
        "ecrm's DuckDB connection, measured at the start and again just before each "
        "analysis (its `floor s`, which its `× floor` divides by); pandas rows include "
        "their group's load "
        "(read + order totals for the segment analyses, read for the references). "
        "Peak RSS is the process's, so later rows include what earlier ones left.",
        "",
    ]
    for r in results:
        body += [size_table(r), ""]
    body += ["### Growth of the full analysis set", "", growth_table(results), ""]
    body += verdicts(results)
    body += ["", f"Run time of this benchmark: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(body)
    print("\n" + text)
    if args.record:
        sizes_text = ", ".join(common.size_label(s) for s in sizes)
        common.record(
            ("D2C analyses" if args.d2c else "analysis suite")
            + f" vs floor and pandas ({sizes_text} lines)",
            text,
            load_at_start=load_start,
        )
        print(f"\nrecorded in {common.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
