"""Benchmark: the segment analyses (RFM, decile, CPM, lifecycle, KPIs) against plain pandas.

Usage::

    python benchmarks/bench_segments.py --customers 1000000 [--record]

Times each analysis of ecrm on the demo apparel shop of that size (generated and
ingested once into benchmarks/out/), then a plain-pandas implementation of the
same tables in the same process — written the way an analyst would: groupbys,
and one recomputation per month end for the month-end views. Prints a Markdown
table (seconds, peak RSS, speed-up) and, with ``--record``, appends it to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo_orders, machine, measure, table

AS_OF = dt.date(2026, 10, 31)


# ----------------------------------------------------------------------------- pandas


def pd_orders(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    t = lines[(lines.ordered_at < pd.Timestamp(as_of) + pd.Timedelta(days=1))]
    t = t[t.customer_id.notna()]
    o = (
        t.groupby(["customer_id", "order_id"], sort=False)
        .agg(ordered_at=("ordered_at", "min"), amount=("amount", "sum"))
        .reset_index()
    )
    o["order_date"] = o.ordered_at.dt.normalize()
    o["is_purchase"] = o.amount > 0
    return o


def pd_measures(o: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    o = o[o.ordered_at < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    p = o[o.is_purchase]
    m = p.groupby("customer_id").agg(
        frequency=("order_id", "size"),
        first_purchase=("order_date", "min"),
        last_purchase=("order_date", "max"),
    )
    m["monetary"] = o.groupby("customer_id").amount.sum().reindex(m.index)
    m["recency_days"] = (pd.Timestamp(as_of) - m.last_purchase).dt.days
    m["tenure_days"] = (m.last_purchase - m.first_purchase).dt.days
    return m


def pd_rfm(o: pd.DataFrame) -> pd.DataFrame:
    m = pd_measures(o, AS_OF)
    r = 5 - np.searchsorted([30, 90, 180, 365], m.recency_days.to_numpy(), side="left")
    f = 1 + np.searchsorted([1, 2, 4, 9], m.frequency.to_numpy(), side="left")
    mm = 1 + np.searchsorted([5000, 10000, 30000, 100000], m.monetary.to_numpy(), side="right")
    m = m.assign(r=r, f=f, m=mm)
    return m.groupby(["r", "f"]).agg(customers=("frequency", "size"), revenue=("monetary", "sum"))


def pd_decile(o: pd.DataFrame) -> pd.DataFrame:
    start = pd.Timestamp(AS_OF) - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    p = o[o.order_date >= start]
    g = p.groupby("customer_id").agg(revenue=("amount", "sum"), purchases=("is_purchase", "sum"))
    g = (
        g[g.purchases > 0]
        .reset_index()
        .sort_values(["revenue", "customer_id"], ascending=[False, True])
    )
    n = len(g)
    q, rem = divmod(n, 10)
    sizes = [q + 1] * rem + [q] * (10 - rem)
    g["decile"] = np.repeat(np.arange(1, 11), sizes)
    return g.groupby("decile").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))


def _month_ends() -> list[pd.Timestamp]:
    return [
        (pd.Timestamp(AS_OF) - pd.offsets.MonthEnd(k)) if k else pd.Timestamp(AS_OF)
        for k in range(11, -1, -1)
    ]


def pd_cpm_monthly(o: pd.DataFrame) -> pd.DataFrame:
    out = []
    for d in _month_ends():
        m = pd_measures(o, d.date())
        stage = np.select(
            [m.frequency == 1, m.tenure_days < 90, m.monetary < 70000, m.tenure_days < 210],
            ["first", "toddler", "steady", "fad"],
            "loyal",
        )
        state = np.where(m.recency_days < 240, "_active", "_lapsed")
        seg = pd.Series(np.char.add(stage.astype(str), state), index=m.index)
        out.append(seg.value_counts().rename_axis("segment").reset_index().assign(month_end=d))
    return pd.concat(out)


def _pd_lifecycle(o: pd.DataFrame, d: pd.Timestamp) -> pd.Series:
    """Each customer's lifecycle segment at month end ``d`` (SPEC defaults)."""
    m = pd_measures(o, d.date())
    rep = m.frequency - 1
    seg = np.select(
        [m.recency_days > 360, m.recency_days > 120, rep == 0, rep == 1, rep <= 4],
        ["churned", "dormant", "new", "first_repeat", "repeat"],
        "vip",
    )
    return pd.Series(seg, index=m.index)


def pd_lifecycle_monthly(o: pd.DataFrame) -> pd.DataFrame:
    out = []
    for d in _month_ends():
        seg = _pd_lifecycle(o, d)
        out.append(seg.value_counts().rename_axis("segment").reset_index().assign(month_end=d))
    return pd.concat(out)


def pd_transitions(o: pd.DataFrame) -> pd.DataFrame:
    """Customers moving between lifecycle segments from each month end to the next (12 pairs).

    A customer without a purchase yet at a month end is in ``none``.
    """
    ends = [_month_ends()[0] - pd.offsets.MonthEnd(1), *_month_ends()]
    segs = [_pd_lifecycle(o, d) for d in ends]
    out = []
    for a, b, sa, sb in zip(ends, ends[1:], segs, segs[1:], strict=False):
        j = pd.DataFrame({"to_segment": sb}).join(pd.DataFrame({"from_segment": sa}), how="left")
        j["from_segment"] = j["from_segment"].fillna("none")
        g = j.groupby(["from_segment", "to_segment"]).size().rename("customers").reset_index()
        out.append(g.assign(from_date=a.date(), to_date=b.date()))
    return pd.concat(out, ignore_index=True)


def pd_kpi(lines: pd.DataFrame) -> pd.DataFrame:
    t = lines[lines.ordered_at < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)]
    o = t.groupby(["order_id"], sort=False).agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "min"),
        amount=("amount", "sum"),
    )
    o["month"] = o.ordered_at.dt.to_period("M")
    first = o[o.amount > 0].groupby("customer_id").month.min()
    o["first_month"] = o.customer_id.map(first)
    o["new"] = o.first_month == o.month
    g = o.groupby("month").agg(
        revenue=("amount", "sum"),
        orders=("amount", lambda s: int((s > 0).sum())),
    )
    g["customers"] = o[o.amount > 0].groupby("month").customer_id.nunique()  # buyers (SPEC)
    g["new_customers"] = o[o.new].groupby("month").customer_id.nunique()
    return g.tail(36)


# ----------------------------------------------------------------------------- ecrm


def ecrm_cases(path: Path) -> dict[str, callable]:
    from ecrm.analysis import cpm, decile, kpi, lifecycle, rfm

    a = AS_OF
    return {
        "rfm (scores + grid)": lambda: rfm.rfm_grid(rfm.rfm(path, as_of=a)),
        "decile table": lambda: decile.decile_table(path, as_of=a),
        "cpm month ends (12)": lambda: cpm.cpm_monthly(path, as_of=a),
        "lifecycle month ends (12)": lambda: lifecycle.lifecycle_monthly(path, as_of=a),
        "lifecycle transitions (12)": lambda: lifecycle.lifecycle_transitions(path, as_of=a),
        "kpi (24 months)": lambda: kpi.kpi_table(path, as_of=a),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    path = demo_orders(args.customers)
    n_lines = pd.read_parquet(path, columns=["order_id"]).shape[0]
    print(f"{machine()}\n{args.customers:,} customers, {n_lines:,} lines: {path}")

    rows = []
    results = {}
    for name, fn in ecrm_cases(path).items():
        gc.collect()
        with measure() as m:
            fn()
        results[name] = m
        print(
            f"ecrm   {name:<28} {m.seconds:7.2f}s  peak {m.peak_rss / 2**30:5.2f} GiB", flush=True
        )

    gc.collect()
    with measure() as load:
        lines = pd.read_parquet(path, columns=["order_id", "customer_id", "ordered_at", "amount"])
        lines["amount"] = lines["amount"].astype("float64")
        o = pd_orders(lines, AS_OF)
    print(
        f"pandas load + order totals            {load.seconds:7.2f}s (counted in every pandas row)"
    )
    pandas_cases = {
        "rfm (scores + grid)": lambda: pd_rfm(o),
        "decile table": lambda: pd_decile(o),
        "cpm month ends (12)": lambda: pd_cpm_monthly(o),
        "lifecycle month ends (12)": lambda: pd_lifecycle_monthly(o),
        "lifecycle transitions (12)": lambda: pd_transitions(o),
        "kpi (24 months)": lambda: pd_kpi(lines),
    }
    total_e = total_p = 0.0
    for name, fn in pandas_cases.items():
        gc.collect()
        with measure() as m:
            fn()
        e = results[name]
        p_sec = m.seconds + load.seconds
        total_e += e.seconds
        total_p += p_sec
        rows.append(
            (
                name,
                f"{e.seconds:.2f}",
                f"{p_sec:.2f}",
                f"{p_sec / e.seconds:.1f}×",
                f"{e.peak_rss / 2**30:.2f}",
                f"{max(m.peak_rss, load.peak_rss) / 2**30:.2f}",
            )
        )
        print(f"pandas {name:<28} {m.seconds:7.2f}s (+ load)", flush=True)
    rows.append(
        ("**total**", f"{total_e:.2f}", f"{total_p:.2f}", f"{total_p / total_e:.1f}×", "", "")
    )
    md = table(
        rows, ("analysis", "ecrm s", "pandas s", "speed-up", "ecrm peak GiB", "pandas peak GiB")
    )
    head = (
        f"### Segment analyses — {args.customers:,} customers, {n_lines:,} lines "
        f"({dt.date.today()})\n\n{machine()}\n\n"
    )
    print("\n" + head + md)
    if args.record:
        res = Path(__file__).resolve().parent / "RESULTS.md"
        with res.open("a", encoding="utf-8") as f:
            f.write("\n" + head + md + "\n")


if __name__ == "__main__":
    main()
