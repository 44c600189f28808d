"""Benchmark: the predicted-value fit (BG/NBD + Gamma-Gamma, ecrm.models.predict) on a demo shop.

Target: :func:`ecrm.models.predict.predict_value` (MAP) on 100,000 customers in under
60 s on 2 cores, the one-off import of pymc-marketing excluded (it is reported
on its own line: PyMC's first import on a machine also compiles and caches C
code, a minute or more, once).

Steps, each timed in this process (peak RSS is the process's so far):

* ``import pymc_marketing``: the optional extra, imported lazily by ecrm and
  only for ``fit_method="mcmc"`` (the MAP fit is :mod:`ecrm.models.btyd`'s): shown
  for comparison with the fit times;
* ``rfm_summary``: the per-customer summary in the engine (DuckDB);
* ``predict_value``: summary + both fits + predictions (the target figure);
* with ``--calibration``: :func:`ecrm.models.predict.calibration` (fit at the cutoff,
  hold-out to as_of) and its total predicted vs actual purchases;
* with ``--compare-rfm``: ``pymc_marketing.clv.rfm_summary`` (the lifetimes
  algorithm, in pandas) on the same purchases, and whether it agrees with
  ``rfm_summary(..., purchases="periods")``.

The demo shop is generated with :mod:`ecrm.io.demo` (Parquet raw files) and
ingested once into ``--workdir`` (default ``benchmarks/out``), then reused.

Usage::

    python benchmarks/bench_predict.py --customers 100000
    python benchmarks/bench_predict.py --customers 100000 --calibration --compare-rfm
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from importlib import resources
from pathlib import Path

AS_OF = "2026-10-31"
CUTOFF = "2025-10-31"
TARGET_S = 60.0
OUT = Path(__file__).resolve().parent / "out"


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def prepare(shop: str, n: int, workdir: Path) -> Path:
    """Generate and ingest the demo shop (reused when already there)."""
    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    folder = workdir / f"{shop}-{n}"
    orders = folder / "canonical" / "orders.parquet"
    if orders.is_file():
        print(f"reusing {orders}")
        return orders
    t = time.perf_counter()
    data = demo.generate_shop(shop, n_customers=n)
    demo.write_shop(data, folder / "raw", file_format="parquet")
    del data
    text = resources.files("ecrm").joinpath("templates", f"{shop}.yaml").read_text("utf-8")
    text = text.replace("{name}", f"{shop}-{n}").replace("{ext}", "parquet")
    (folder / "settings.yaml").write_text(text, encoding="utf-8")
    print(f"{'generate + write':<22}{time.perf_counter() - t:8.1f} s")
    t = time.perf_counter()
    result = ingest(folder, today=demo.DEMO_INGEST_DATE)
    print(f"{'ingest':<22}{time.perf_counter() - t:8.1f} s")
    return result.orders_path


def line(step: str, seconds: float, note: str = "") -> None:
    print(f"{step:<22}{seconds:8.2f} s   peak RSS {peak_rss_gb():5.2f} GB   {note}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--shop", default="demo-food", choices=["demo-food", "demo-apparel"])
    ap.add_argument("--fit-method", default="map", choices=["map", "mcmc"])
    ap.add_argument("--workdir", type=Path, default=OUT)
    ap.add_argument("--calibration", action="store_true", help="also run the calibration")
    ap.add_argument("--compare-rfm", action="store_true", help="also time pymc-marketing's")
    ap.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = ap.parse_args(argv)

    import duckdb
    import ibis
    import pandas as pd

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {os.cpu_count()} cores ({cores} usable), load average "
        f"{os.getloadavg()[0]:.1f} (shared machine), Python {sys.version.split()[0]}, "
        f"pandas {pd.__version__}, DuckDB {duckdb.__version__}, Ibis {ibis.__version__}"
    )
    orders = prepare(args.shop, args.customers, args.workdir)

    from ecrm import engine
    from ecrm.models import predict

    t = time.perf_counter()
    import pymc
    import pymc_marketing

    line("import pymc_marketing", time.perf_counter() - t, f"(pymc-marketing "
         f"{pymc_marketing.__version__}, PyMC {pymc.__version__})")  # fmt: skip

    t = time.perf_counter()
    rfm = predict.rfm_summary(orders, as_of=AS_OF)
    line("rfm_summary", time.perf_counter() - t, f"{len(rfm):,} customers")

    t = time.perf_counter()
    p = predict.predict_value(orders, as_of=AS_OF, fit_method=args.fit_method)
    fit_s = time.perf_counter() - t
    c = p.customers
    line(
        "predict_value",
        fit_s,
        f"{p.info['customers']:,} customers, {p.info['repeat_customers']:,} repeaters, "
        f"{p.info['nonpositive_spend_customers']} with repeat spend <= 0",
    )
    params = ", ".join(f"{k} {v:.4g}" for k, v in p.params.items())
    print(f"  parameters: {params}")
    print(
        f"  next 12 months: {c['expected_purchases'].sum():,.0f} purchases, "
        f"value {c['expected_value'].sum():,.0f}; mean P(alive) "
        f"{c['probability_alive'].mean():.3f}"
    )
    print(
        f"  target: under {TARGET_S:.0f} s -> {'met' if fit_s < TARGET_S else 'MISSED'} "
        f"({fit_s:.1f} s)"
    )

    if args.calibration:
        t = time.perf_counter()
        cal = predict.calibration(orders, cutoff=CUTOFF, as_of=AS_OF, fit_method=args.fit_method)
        s = cal.summary.set_index("measure")
        line("calibration", time.perf_counter() - t, f"cutoff {CUTOFF}, hold-out to {AS_OF}")
        for m in ("purchases", "value"):
            r = s.loc[m]
            print(
                f"  {m:<9} predicted {r.predicted_total:14,.0f}  actual {r.actual_total:14,.0f}"
                f"  relative error {r.relative_error:+.1%}  MAE {r.mae:,.2f}  RMSE {r.rmse:,.2f}"
                f"  corr {r.correlation:.3f}"
            )

    if args.compare_rfm:
        from pymc_marketing.clv import rfm_summary as pm_rfm_summary

        ot = engine.order_totals(orders, as_of=AS_OF)
        buys = engine.to_pandas(
            ot.filter(ot.amount > 0).select("order_id", "customer_id", "ordered_at", "amount")
        )
        t = time.perf_counter()
        ours = predict.rfm_summary(buys, as_of=AS_OF, purchases="periods")
        ours_s = time.perf_counter() - t
        t = time.perf_counter()
        ref = pm_rfm_summary(
            buys, "customer_id", "ordered_at", "amount", observation_period_end=AS_OF
        )
        ref_s = time.perf_counter() - t
        ref = ref.sort_values("customer_id").reset_index(drop=True)
        same = len(ref) == len(ours) and all(
            (abs(ours[k].to_numpy() - ref[k].to_numpy()) < 1e-6).all()
            for k in ("frequency", "recency", "T", "monetary_value")
        )
        line("rfm_summary (periods)", ours_s, "ecrm, on the purchases only")
        line("pymc_marketing rfm", ref_s, f"same figures: {same}")

    return 1 if args.check and fit_s >= TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
