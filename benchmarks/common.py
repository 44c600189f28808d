"""Shared helpers of the benchmark scripts: demo data at a size, timing, peak RSS."""

from __future__ import annotations

import os
import platform
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measure:
    seconds: float = 0.0
    peak_rss: int = 0
    samples: list[int] = field(default_factory=list)


@contextmanager
def measure(interval: float = 0.005):
    """Time a block and sample its peak RSS in a background thread."""
    m = Measure()
    stop = threading.Event()
    peak = [rss_bytes()]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - start
        stop.set()
        t.join()
        m.peak_rss = max(peak[0], rss_bytes())


def demo_orders(customers: int, shop: str = "demo-apparel") -> Path:
    """The canonical orders of a demo shop of ``customers`` customers (made once, cached).

    Apparel uses 3.8 lines per order, the benchmark size of the foundation issue:
    1,000,000 customers give about 10,000,000 lines.
    """
    from ecrm import demo
    from ecrm.ingest import ingest

    folder = OUT / f"{shop}-{customers}"
    orders = folder / "canonical" / "orders.parquet"
    if not orders.is_file():
        fmt = "parquet" if customers >= 200_000 else "csv"
        suffix = f"-{customers}"
        demo.write_demo_shops(
            OUT,
            n_customers=customers,
            shops=[shop],
            file_format=fmt,
            suffix=suffix,
            lines_per_order=3.8 if shop == "demo-apparel" else None,
        )
        ingest(folder, today=demo.DEMO_INGEST_DATE)
    return orders


def machine() -> str:
    """A one-line description of this machine and the library versions."""
    import duckdb
    import ibis
    import pandas as pd

    return (
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {pd.__version__}, DuckDB {duckdb.__version__}, Ibis {ibis.__version__}"
    )


def table(rows: list[tuple], header: tuple[str, ...]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
