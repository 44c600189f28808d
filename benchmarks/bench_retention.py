"""Speed and memory of the cohort and LTV tables (ecrm.analysis.cohort, .ltv) on a demo shop.

Prints one row per analysis: ecrm's seconds, the plain-pandas reference's
seconds (tests/reference/cohort_ltv_pandas.py, same data, same process), their
ratio and the process's peak RSS after the step. ecrm runs first, so the peak
RSS of its rows is ecrm's own.

* ``standalone`` rows: each ecrm function called on the canonical Parquet path,
  doing its own order-level work (as the pandas reference does each time);
* ``shared history``: :func:`ecrm.analysis.cohort.purchase_history` once, then every
  table from it (how a report computes them); its total is the target figure
  (all tables of items 1–4 in < 8 s on 2 cores, < 4 GB).

Data: the demo shop (``ecrm.io.demo``) written as Parquet into ``--data-dir`` and
made canonical. With ``--ingest`` through :func:`ecrm.io.ingest`; otherwise (the
default above 200,000 customers, where ingest needs many GB) by a DuckDB query
applying the same settings mapping: status exclusion, exact-duplicate removal,
empty customer id → guest, amounts as decimal(18, 4). The canonical file is
reused on later runs.

Usage::

    python benchmarks/bench_retention.py --customers 1000000
    python benchmarks/bench_retention.py --customers 200000 --ingest --skip-pandas
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the reference lives in tests/reference
    sys.path.insert(0, str(ROOT))

AS_OF = "2026-10-31"


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def canonical_orders(
    shop: str, customers: int, data_dir: Path, *, use_ingest: bool | None
) -> tuple[Path, float]:
    """Path of the demo shop's canonical orders (created when missing) and seconds taken."""
    from ecrm import ingest, load_settings
    from ecrm.io import demo

    shop_dir = data_dir / f"{shop}-{customers}"
    out = shop_dir / "canonical" / "orders.parquet"
    if out.is_file():
        return out, 0.0
    t0 = time.perf_counter()
    if not (shop_dir / "settings.yaml").is_file():
        print(f"generating {shop} with {customers:,} customers in {shop_dir} ...", flush=True)
        demo.write_demo_shops(
            data_dir, n_customers=customers, shops=[shop], file_format="parquet",
            suffix=f"-{customers}",
        )  # fmt: skip
    if use_ingest is None:
        use_ingest = customers <= 200_000
    if use_ingest:
        print("ingesting with ecrm.io.ingest ...", flush=True)
        ingest(shop_dir, today=demo.DEMO_INGEST_DATE)
    else:
        print("canonicalising with DuckDB (settings mapping, no validation) ...", flush=True)
        _canonicalise(load_settings(shop_dir), out)
    return out, time.perf_counter() - t0


def _canonicalise(settings: Any, out: Path) -> None:
    import duckdb

    cols = settings.columns
    src = [str(settings.resolve(s.path)) for s in settings.sources]

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    select = []
    for canon in ("order_id", "customer_id", "ordered_at", "amount", "quantity", "product_id",
                  "product_name", "category", "taste", "brand", "channel", "status"):  # fmt: skip
        if canon not in cols:
            continue
        raw = q(cols[canon])
        expr = {
            "customer_id": f"NULLIF(TRIM(CAST({raw} AS VARCHAR)), '')",
            "ordered_at": f"CAST({raw} AS TIMESTAMP)",
            "amount": f"CAST({raw} AS DECIMAL(18, 4))",
            "quantity": f"CAST({raw} AS BIGINT)",
        }.get(canon, f"CAST({raw} AS VARCHAR)")
        select.append(f"{expr} AS {canon}")
    excluded = ", ".join(
        "'" + s.lower().replace("'", "''") + "'" for s in settings.exclude_statuses
    )
    status = q(cols["status"]) if "status" in cols else None
    where = f"WHERE lower(coalesce({status}, '')) NOT IN ({excluded})" if status else ""
    files = ", ".join("'" + f + "'" for f in src)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.parquet")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT DISTINCT {', '.join(select)} FROM read_parquet([{files}]) {where}) "
        f"TO '{tmp}' (FORMAT parquet)"
    )
    tmp.replace(out)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


CPU: dict[str, float] = {}


def timed(fn: Callable[[], Any], name: str = "") -> tuple[Any, float]:
    """Run ``fn``; return its result and wall seconds (CPU seconds go to ``CPU[name]``)."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    result = fn()
    CPU[name] = cpu_seconds() - c0
    return result, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--shop", default="demo-food", choices=["demo-food", "demo-apparel"])
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ecrm-bench")
    ap.add_argument("--ingest", action="store_true", default=None, help="use ecrm.io.ingest")
    ap.add_argument("--skip-pandas", action="store_true", help="only time ecrm")
    args = ap.parse_args(argv)

    import duckdb
    import pyarrow.parquet as pq

    from ecrm.analysis import cohort, ltv

    # prepare the data in a child process, so that its memory is not in this one's peak RSS
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        path, prep = pool.apply(
            canonical_orders,
            (args.shop, args.customers, args.data_dir),
            {"use_ingest": args.ingest},
        )
    meta = pq.read_metadata(path)
    print(
        f"\n{args.shop}: {args.customers:,} customers, {meta.num_rows:,} order lines "
        f"({path}); as_of {AS_OF}; data prepared in {prep:.0f} s"
    )
    threads = duckdb.sql("SELECT current_setting('threads')").fetchall()[0][0]
    print(f"DuckDB threads: {threads}\n")

    from tests.reference import cohort_ltv_pandas as ref

    analyses: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
        ("cohort_table", cohort.cohort_table, ref.cohort_table),
        ("ltv_transition", ltv.ltv_transition, ref.ltv_transition),
        ("purchase_ladder", ltv.purchase_ladder, ref.purchase_ladder),
        ("f2_conversion", ltv.f2_conversion, ref.f2_conversion),
        ("interpurchase_intervals", ltv.interpurchase_intervals, ref.interpurchase_intervals),
    ]
    # (label, ecrm wall s, ecrm cpu s, pandas wall s, peak RSS GB)
    rows: list[tuple[str, float | None, float | None, float | None, float]] = []

    # warm-up (imports, first-call set-up) on a tiny frame
    import pandas as pd

    tiny = pd.DataFrame(
        {"order_id": ["1"], "customer_id": ["a"], "ordered_at": [pd.Timestamp("2026-01-01")],
         "amount": [1.0]}
    )  # fmt: skip
    for _, fn, _ in analyses:
        fn(tiny, as_of=AS_OF)

    # 1. ecrm as a report runs it: the purchase history once, every table from it
    c_all0, t_all0 = cpu_seconds(), time.perf_counter()
    hist, t = timed(lambda: cohort.purchase_history(path, as_of=AS_OF), "history")
    rows.append(("purchase_history (once)", t, CPU["history"], None, peak_rss_gb()))
    for name, fn, _ in analyses:
        _, t = timed(lambda fn=fn: fn(hist, as_of=AS_OF), name)
        rows.append((f"  {name}", t, CPU[name], None, peak_rss_gb()))
    t_shared, c_shared = time.perf_counter() - t_all0, cpu_seconds() - c_all0
    rows.append(("ALL TABLES (items 1-4), shared", t_shared, c_shared, None, peak_rss_gb()))
    _, t = timed(lambda: cohort.cohort_table(hist, as_of=AS_OF, by="category"), "by")
    rows.append(("  + cohort_table(by='category')", t, CPU["by"], None, peak_rss_gb()))
    hist.release()
    gc.collect()

    # 2. ecrm standalone: each function from the Parquet path, its own order-level work
    standalone: dict[str, tuple[float, float]] = {}
    for name, fn, _ in analyses:
        _, t = timed(lambda fn=fn: fn(path, as_of=AS_OF), name)
        standalone[name] = (t, CPU[name])
    ecrm_peak = peak_rss_gb()

    # 3. the plain-pandas reference on the same data, in this process
    pandas_times: dict[str, float] = {}
    t_read = None
    if not args.skip_pandas:
        cols = ["order_id", "customer_id", "ordered_at", "amount"]
        frame, t_read = timed(lambda: ref.read_orders(path, cols))
        for name, _, rfn in analyses:
            _, t = timed(lambda rfn=rfn: rfn(frame, as_of=AS_OF))
            pandas_times[name] = t
            print(f"  pandas {name}: {t:.1f} s", flush=True)
        del frame
        gc.collect()

    def f(v: float | None, width: int, spec: str = ".2f") -> str:
        return format(v, f"{width}{spec}") if v is not None else "–".rjust(width)

    print()
    head = f"{'analysis':40s} {'ecrm s':>8s} {'cpu s':>7s} {'pandas s':>9s} {'ratio':>6s}"
    head += f" {'RSS GB':>7s}"
    print(head)
    print("-" * len(head))
    for label, t, c, p, rss in rows:
        print(f"{label:40s} {f(t, 8)} {f(c, 7, '.1f')} {f(p, 9)} {f(None, 6)} {rss:7.2f}")
    print("-" * len(head))
    tot_t = sum(t for t, _ in standalone.values())
    tot_c = sum(c for _, c in standalone.values())
    for name, _, _ in analyses:
        t, c = standalone[name]
        p = pandas_times.get(name)
        ratio = p / t if p is not None else None
        print(
            f"{name + ' (standalone)':40s} {f(t, 8)} {f(c, 7, '.1f')} {f(p, 9)} "
            f"{f(ratio, 6, '.1f')} {ecrm_peak:7.2f}"
        )
    p_tot = sum(pandas_times.values()) if pandas_times else None
    ratio = p_tot / tot_t if p_tot is not None else None
    label = "all five (standalone)"
    print(f"{label:40s} {f(tot_t, 8)} {f(tot_c, 7, '.1f')} {f(p_tot, 9)} {f(ratio, 6, '.1f')}")
    if p_tot is not None and t_read is not None:
        p_all = p_tot + t_read
        label = "all five: shared vs pandas incl. read"
        print(
            f"{label:40s} {f(t_shared, 8)} {f(c_shared, 7, '.1f')} {f(p_all, 9)} "
            f"{f(p_all / t_shared, 6, '.1f')} {peak_rss_gb():7.2f}"
        )
        print(f"(pandas: reading the Parquet file took {t_read:.1f} s of that)")
    print(f"\necrm peak RSS (before the pandas part): {ecrm_peak:.2f} GB")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
