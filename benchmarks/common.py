"""Shared helpers of the benchmark scripts: demo data at a size, timing, peak RSS.

Also the pieces every table of the scale and reports issues shares: sizes given
in order lines (``--sizes 0.1M,1M,10M``), CPU seconds and the load average next
to every wall time, the DuckDB *floor* (the time DuckDB takes merely to scan the
columns and group the lines by customer: every analysis is reported as a
multiple of it) and ``--record``, which appends a table to RESULTS.md under a
dated heading with the machine, the load and the library versions.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
#: Mean order lines per customer of the apparel demo shop with 3.8 lines per order
#: (1,000,000 customers give 9,913,142 lines): sizes in lines map to customers with it.
LINES_PER_CUSTOMER = 10


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def dir_bytes(folder: Path | str | None) -> int:
    """Total size of the files directly in ``folder`` (0 when missing): DuckDB's spill files."""
    if not folder:
        return 0
    try:
        with os.scandir(folder) as it:
            return sum(e.stat().st_size for e in it if e.is_file(follow_symlinks=False))
    except OSError:
        return 0


@dataclass
class Measure:
    seconds: float = 0.0
    peak_rss: int = 0
    samples: list[int] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of this process (all threads) during the block
    start_rss: int = 0  # RSS when the block started
    load: float = 0.0  # 1-minute load average at the end of the block
    peak_temp: int = 0  # largest size of ``watch_dir`` seen during the block

    @property
    def rss_growth(self) -> int:
        """Peak RSS above the RSS at the start of the block."""
        return max(0, self.peak_rss - self.start_rss)


@contextmanager
def measure(interval: float = 0.005, watch_dir: Path | str | None = None):
    """Time a block (wall and CPU seconds) and sample its peak RSS in a background thread.

    With ``watch_dir`` the thread also samples the size of that folder (DuckDB's
    temp directory) every 50 ms; the largest is ``peak_temp``.
    """
    m = Measure()
    stop = threading.Event()
    m.start_rss = rss_bytes()
    peak = [m.start_rss]
    temp = [dir_bytes(watch_dir)]

    def sample() -> None:
        n = 0
        while not stop.is_set():
            peak[0] = max(peak[0], rss_bytes())
            if watch_dir and n % 10 == 0:
                temp[0] = max(temp[0], dir_bytes(watch_dir))
            n += 1
            time.sleep(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - start
        m.cpu = time.process_time() - cpu
        stop.set()
        t.join()
        m.peak_rss = max(peak[0], rss_bytes())
        m.peak_temp = max(temp[0], dir_bytes(watch_dir))
        m.load = os.getloadavg()[0]


#: Above this many customers (about 10M lines) the benchmark shops are made canonical
#: with DuckDB (:func:`canonicalise_duckdb`): ecrm.io.ingest reads whole exports into
#: pandas and peaked at 9.3 GB on the 10M-line shop, too much for 30M on 24 GiB.
INGEST_MAX_CUSTOMERS = 1_000_000


@contextmanager
def no_engine_cache():
    """Run the block with ``ECRM_CACHE=0``: ecrm groups the lines into orders afresh.

    What the first analysis of a process pays; restores the variable after.
    """
    before = os.environ.get("ECRM_CACHE")
    os.environ["ECRM_CACHE"] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["ECRM_CACHE"]
        else:
            os.environ["ECRM_CACHE"] = before


def demo_orders(customers: int, shop: str = "demo-apparel", *, standard: bool = False) -> Path:
    """The canonical orders of a demo shop of ``customers`` customers (made once, cached).

    Apparel uses 3.8 lines per order, the benchmark size of the foundation issue:
    1,000,000 customers give about 10,000,000 lines. ``standard=True`` keeps the
    shop's own lines per order (the data of ``make demo``), in
    ``out/<shop>-<customers>-std``. Shops up to :data:`INGEST_MAX_CUSTOMERS` go
    through :func:`ecrm.io.ingest.ingest`; larger ones through
    :func:`canonicalise_duckdb`.
    """
    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    suffix = f"-{customers}" + ("-std" if standard else "")
    folder = OUT / f"{shop}{suffix}"
    orders = folder / "canonical" / "orders.parquet"
    if not orders.is_file():
        fmt = "parquet" if customers >= 200_000 else "csv"
        if not (folder / "settings.yaml").is_file():
            demo.write_demo_shops(
                OUT,
                n_customers=customers,
                shops=[shop],
                file_format=fmt,
                suffix=suffix,
                lines_per_order=3.8 if shop == "demo-apparel" and not standard else None,
            )
        if customers <= INGEST_MAX_CUSTOMERS:
            ingest(folder, today=demo.DEMO_INGEST_DATE)
        else:
            canonicalise_duckdb(folder)
    return orders


def canonicalise_duckdb(folder: Path) -> Path:
    """Write ``canonical/orders.parquet`` of a demo shop with DuckDB (large shops only).

    Applies what ecrm.io.ingest does to the demo exports, as set-based SQL: the
    settings' column mapping, excluded statuses (case-insensitive), exact
    duplicates dropped, empty customer id → guest (NULL), amounts as
    decimal(18, 4), the product master's category / taste / brand by
    product_id, rows sorted by (ordered_at, order_id). Parquet exports only; no
    validation and no repairs (the demo exports need none); no quality.json. Checked against
    ingest on a small shop by ``bench_floor.py --check-canonical``.
    """
    import duckdb

    from ecrm import load_settings

    settings = load_settings(folder)
    cols = settings.columns

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    exprs = {
        "customer_id": "NULLIF(TRIM(CAST({} AS VARCHAR)), '')",
        "ordered_at": "CAST({} AS TIMESTAMP)",
        "amount": "CAST({} AS DECIMAL(18, 4))",
        "quantity": "CAST({} AS BIGINT)",
    }
    line_cols = [c for c in cols if c != "status"]
    select = [f"{exprs.get(c, 'CAST({} AS VARCHAR)').format(q(cols[c]))} AS {c}" for c in cols]
    files = [str(settings.resolve(src.path)) for src in settings.sources]
    if not all(f.endswith(".parquet") for f in files):
        raise ValueError(f"canonicalise_duckdb reads Parquet exports only, got {files}")
    src = f"read_parquet([{', '.join(lit(f) for f in files)}])"
    where = ""
    if "status" in cols and settings.exclude_statuses:
        excluded = ", ".join(lit(x.lower()) for x in settings.exclude_statuses)
        where = f"WHERE lower(coalesce(status, '')) NOT IN ({excluded})"
    lines = f"SELECT DISTINCT * FROM (SELECT {', '.join(select)} FROM {src}) {where}"
    out_cols = [f"l.{c}" for c in (*line_cols, "status") if c in cols]
    join = ""
    pm = settings.product_master
    if pm is not None:
        master = str(settings.resolve(pm.path))
        mreader = "read_parquet" if master.endswith(".parquet") else "read_csv_auto"
        attrs = [a for a in pm.columns if a not in cols]
        msel = ", ".join(f"CAST({q(pm.columns[a])} AS VARCHAR) AS {a}" for a in attrs)
        join = (
            f" LEFT JOIN (SELECT CAST({q(pm.key)} AS VARCHAR) AS _pid, {msel} "
            f"FROM {mreader}({lit(master)})) m ON l.product_id = m._pid"
        )
        out_cols += [f"m.{a}" for a in attrs]
    canonical = ("order_id", "customer_id", "ordered_at", "amount", "quantity", "product_id",
                 "product_name", "category", "taste", "brand", "channel", "status")  # fmt: skip
    order = {c.split(".")[1]: c for c in out_cols}
    ordered = [order[c] for c in canonical if c in order]
    out = folder / "canonical" / "orders.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.parquet")
    con = duckdb.connect()
    con.execute(f"SET temp_directory = {lit(str(OUT / 'duckdb-tmp'))}")
    con.execute(
        f"COPY (SELECT {', '.join(ordered)} FROM ({lines}) l{join} "
        f"ORDER BY l.ordered_at, l.order_id) TO {lit(str(tmp))} "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)"
    )
    con.close()
    tmp.replace(out)
    return out


def demo_orders_child(
    customers: int, shop: str = "demo-apparel", *, standard: bool = False
) -> Path:
    """:func:`demo_orders`, made in a child process when missing.

    Generating and ingesting a large shop needs several GB; in a child process
    that memory never shows in the benchmark process's peak RSS.
    """
    suffix = f"-{customers}" + ("-std" if standard else "")
    orders = OUT / f"{shop}{suffix}" / "canonical" / "orders.parquet"
    if orders.is_file():
        return orders
    import multiprocessing

    print(f"generating and ingesting {shop}{suffix} (cached in {OUT}) ...", flush=True)
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        path = pool.apply(demo_orders, (customers, shop), {"standard": standard})
    print(f"  made in {time.perf_counter() - start:.0f} s", flush=True)
    return Path(path)


# ----------------------------------------------------------------------------- sizes


def parse_size(text: str) -> int:
    """``"0.1M"``, ``"30M"``, ``"500k"`` or ``"2000"`` → a number of order lines."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    number = t[:-1] if factor > 1 else t
    try:
        value = float(number) * factor
    except ValueError:
        raise ValueError(f"a size looks like 0.1M, 10M or 500k, got {text!r}") from None
    if value < 1_000:
        raise ValueError(f"sizes are order lines (at least 1k), got {text!r}")
    return round(value)


def parse_sizes(text: str) -> list[int]:
    """A comma-separated list of sizes (see :func:`parse_size`)."""
    return [parse_size(s) for s in text.split(",") if s.strip()]


def size_label(lines: int) -> str:
    """10_000_000 → ``"10M"``; 100_000 → ``"0.1M"``; 20_000 → ``"20k"``."""
    if lines >= 100_000:
        return f"{lines / 1e6:g}M"
    return f"{lines / 1e3:g}k"


def customers_for(lines: int) -> int:
    """Apparel demo customers (3.8 lines per order) for about ``lines`` order lines."""
    return max(1_000, lines // LINES_PER_CUSTOMER)


def orders_for_lines(lines: int) -> Path:
    """The apparel benchmark shop of about ``lines`` order lines (made once, cached)."""
    return demo_orders_child(customers_for(lines))


def parquet_rows(path: Path | str) -> int:
    """Rows of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    return pq.read_metadata(str(path)).num_rows


# ----------------------------------------------------------------------------- the floor

FLOOR_SQL = (
    "SELECT count(*), sum(n), sum(revenue), max(last_order) FROM ("
    "SELECT customer_id, count(*) AS n, sum(amount) AS revenue, max(ordered_at) AS last_order "
    "FROM read_parquet('{path}') GROUP BY 1)"
)


def duckdb_con():
    """A cursor on the DuckDB database ecrm's analyses run on (Ibis's default backend).

    Sets ecrm's memory limit and temp directory first (``ECRM_DUCKDB_MEMORY_LIMIT``,
    ``ECRM_DUCKDB_TEMP_DIRECTORY``), so the floor runs under the same settings.
    """
    import ibis

    from ecrm import engine

    engine.configure_default_backend()
    # a cursor: the same database (memory limit, threads, temp files), its own results
    return ibis.get_backend().con.cursor()


def floor(path: Path | str, *, repeat: int = 3) -> Measure:
    """The DuckDB floor on ``path``: scan the columns and group the lines by customer.

    ``SELECT customer_id, count(*), sum(amount), max(ordered_at) ... GROUP BY 1``
    on ecrm's own DuckDB connection (same memory limit, same threads), its result
    reduced to one row so that nothing but the scan and the grouping is timed.
    Runs ``repeat`` times (the first also warms the file cache) and returns the
    fastest run.
    """
    con = duckdb_con()
    sql = FLOOR_SQL.format(path=str(path).replace("'", "''"))
    best: Measure | None = None
    for _ in range(repeat):
        with measure() as m:
            con.execute(sql).fetchall()
        if best is None or m.seconds < best.seconds:
            best = m
    con.close()
    assert best is not None
    return best


def duckdb_memory() -> tuple[int, int]:
    """(bytes DuckDB holds in memory, bytes in its temporary files) on ecrm's connection."""
    con = duckdb_con()
    mem = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()")
    mem = int(mem.fetchall()[0][0])
    tmp = con.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()")
    tmp = int(tmp.fetchall()[0][0])
    con.close()
    return mem, tmp


def duckdb_settings() -> str:
    """DuckDB's memory limit, threads and temp directory on ecrm's connection."""
    con = duckdb_con()
    rows = con.execute(
        "SELECT name, value FROM duckdb_settings() "
        "WHERE name IN ('memory_limit', 'threads', 'temp_directory')"
    ).fetchall()
    con.close()
    d = dict(rows)
    return (
        f"DuckDB memory_limit {d.get('memory_limit')}, threads {d.get('threads')}, "
        f"temp_directory {d.get('temp_directory') or '(default)'}"
    )


def machine() -> str:
    """A one-line description of this machine and the library versions."""
    import duckdb
    import ibis
    import pandas as pd

    return (
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {pd.__version__}, DuckDB {duckdb.__version__}, Ibis {ibis.__version__}"
    )


def versions() -> str:
    """Versions of ecrm and the libraries the tables compare (read without importing them)."""
    out = []
    for dist in ("ecrm", "duckdb", "ibis-framework", "pandas", "lifetimes", "pymc-marketing"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} (not installed)")
    return ", ".join(out)


def load_text() -> str:
    """The 1-, 5- and 15-minute load averages and the number of cores."""
    a, b, c = os.getloadavg()
    return f"load average {a:.2f} / {b:.2f} / {c:.2f} on {os.cpu_count()} cores"


def speed_probe() -> float:
    """Seconds of a fixed pure-Python loop (5M additions, best of 3): the machine's pace.

    This shared 2-core machine runs at very different speeds from hour to hour
    (the same report has taken 1.7x as long in a slow spell); the probe, taken
    with each record, tells which spell a figure comes from. Lower is faster.
    """
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        s = 0
        for i in range(5_000_000):
            s += i
        best = min(best, time.perf_counter() - t)
    return best


def speed_text() -> str:
    """The :func:`speed_probe` as text for a record's heading."""
    return f"speed probe {speed_probe():.2f} s (5M-addition Python loop; lower is faster)"


def cpu_seconds(children: bool = False) -> float:
    """CPU seconds (user + system) of this process, or of its finished children."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_self() -> int:
    """Peak RSS of this process so far (bytes; ``ru_maxrss``)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def record(title: str, body: str, *, load_at_start: str = "", speed_at_start: str = "") -> Path:
    """Append ``body`` to benchmarks/RESULTS.md under a dated heading.

    The heading carries the date and ``title``; then the machine, the load
    average and the :func:`speed_probe` (at the start of the run when given,
    and now) and the versions.
    """
    start = f"at the start: {load_at_start}; " if load_at_start else ""
    pace = f"at the start: {speed_at_start}; " if speed_at_start else ""
    head = (
        f"\n## {dt.date.today()} — {title}\n\n"
        f"{machine()}.  \n{versions()}.  \nLoad {start}at the end: {load_text()}.  \n"
        f"Pace {pace}at the end: {speed_text()}.\n\n"
    )
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(head + body.rstrip() + "\n")
    return RESULTS


def table(rows: list[tuple], header: tuple[str, ...]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the D2C shop

#: Products of the benchmark shop relabelled as non-merchandise lines (SPEC §3 Products'
#: ``exclude_products``): (old product_id, new product_id, new product_name). The three
#: are the apparel shop's least-sold products (0.17% of the lines), so every other
#: product, and every amount, stays as it was.
NON_MERCHANDISE = (
    ("A000286", "NM-SHIP", "送料"),
    ("A000287", "NM-WRAP", "ギフトラッピング"),
    ("A000288", "NM-SAMPLE", "サンプル 試供品"),
)
#: What the D2C cases exclude: two ids and a product-name pattern (both paths).
D2C_EXCLUDE_IDS = ("NM-SHIP", "NM-WRAP")
D2C_EXCLUDE_PATTERN = "サンプル|試供品"
#: Share of customers with a 定期 subscription, and the channels' cost per new customer (JPY).
D2C_SUBSCRIBER_SHARE = 0.2
D2C_CAC = {"自社サイト": 4_000, "楽天市場": 6_500, "Amazon": 5_500}


def _u(expr: str, salt: str) -> str:
    """SQL: a uniform number in [0, 1) from hashing ``expr`` with ``salt`` (deterministic)."""
    return f"((hash({expr} || '{salt}') % 1000003) / 1000003.0)"


def d2c_orders(lines: int) -> Path:
    """The benchmark shop of about ``lines`` lines with what the D2C analyses need (made once).

    Derived from :func:`orders_for_lines`'s canonical file with DuckDB, so that
    every existing column keeps its values except ``product_id`` /
    ``product_name`` of the three :data:`NON_MERCHANDISE` products:

    * ``subscription_id`` (added): :data:`D2C_SUBSCRIBER_SHARE` of the customers
      subscribe at their first purchase (70%) or second (30%); each has a churn
      probability θ = 0.04 + 0.5·u² (u uniform per customer: a skewed,
      beta-like mix, as in a real 定期 base) and keeps the subscription for a
      geometric number of deliveries, 1 + ⌊ln v / ln(1 − θ)⌋, capped by the
      customer's own purchases; those purchases carry ``S<customer_id>``. A
      subscription ends (SPEC §1's 60-day lapse) after its last delivery.
    * ``channel`` is the demo shop's own (three channels).
    * ``costs.parquet`` beside the orders: month × channel, the channel's cost
      per new customer (:data:`D2C_CAC`) × the month's first purchases in that
      channel × a deterministic 0.8–1.2 factor.

    Rows keep the file's order (ordered_at, order_id); ``order_totals.parquet``
    is written beside it (as ingest does), so the existing cases start from
    stored order totals exactly as on the plain shop.
    """
    import duckdb

    from ecrm import engine

    src = orders_for_lines(lines)
    folder = src.parent.parent.with_name(src.parent.parent.name + "-d2c")
    out = folder / "canonical" / "orders.parquet"
    if out.is_file() and (folder / "canonical" / "costs.parquet").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    s = str(src).replace("'", "''")
    cols = [f.name for f in __import__("pyarrow.parquet").parquet.read_schema(str(src))]
    relabel_id = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b, _ in NON_MERCHANDISE)
    relabel_name = " ".join(f"WHEN '{a}' THEN '{c}'" for a, _, c in NON_MERCHANDISE)
    select = []
    for c in cols:
        if c == "product_id":
            select.append(f"CASE l.product_id {relabel_id} ELSE l.product_id END AS product_id")
        elif c == "product_name":
            select.append(
                f"CASE l.product_id {relabel_name} ELSE l.product_name END AS product_name"
            )
        else:
            select.append(f"l.{c}")
    cid = "CAST(customer_id AS VARCHAR)"
    sql = f"""
    WITH o AS (
        SELECT customer_id, order_id, min(ordered_at) AS t, sum(amount) AS a
        FROM read_parquet('{s}') WHERE customer_id IS NOT NULL GROUP BY 1, 2),
    k AS (
        SELECT customer_id, order_id,
               row_number() OVER (PARTITION BY customer_id ORDER BY t, order_id) AS k
        FROM o WHERE a > 0),
    c AS (
        SELECT customer_id,
               CASE WHEN {_u(cid, "#start")} < 0.7 THEN 1 ELSE 2 END AS first_k,
               1 + floor(ln(greatest({_u(cid, "#v")}, 1e-9))
                         / ln(1 - (0.04 + 0.5 * pow({_u(cid, "#theta")}, 2)))) AS n
        FROM (SELECT DISTINCT customer_id FROM o)
        WHERE {_u(cid, "#sub")} < {D2C_SUBSCRIBER_SHARE}),
    s AS (
        SELECT k.order_id, 'S' || CAST(k.customer_id AS VARCHAR) AS subscription_id
        FROM k JOIN c USING (customer_id)
        WHERE k.k >= c.first_k AND k.k < c.first_k + c.n)
    SELECT {", ".join(select)}, s.subscription_id
    FROM read_parquet('{s}') l LEFT JOIN s USING (order_id)
    ORDER BY l.ordered_at, l.order_id
    """
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{OUT / 'duckdb-tmp'}'")
    con.execute("SET preserve_insertion_order = true")
    tmp = out.with_suffix(".tmp.parquet")
    con.execute(
        f"COPY ({sql}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)"
    )
    tmp.replace(out)
    cac = " ".join(f"WHEN '{ch}' THEN {v}" for ch, v in D2C_CAC.items())
    costs = f"""
    WITH first AS (
        SELECT customer_id, min(ordered_at) AS t FROM read_parquet('{s}')
        WHERE customer_id IS NOT NULL AND amount > 0 GROUP BY 1),
    ch AS (
        SELECT strftime(f.t, '%Y-%m') AS month, min(l.channel) AS channel
        FROM first f JOIN read_parquet('{s}') l
          ON l.customer_id = f.customer_id AND l.ordered_at = f.t
        GROUP BY f.customer_id, f.t)
    SELECT month, channel,
           CAST(round(count(*) * (CASE channel {cac} ELSE 5000 END)
                      * (0.8 + 0.4 * {_u("month || channel", "#cost")})) AS DOUBLE) AS cost
    FROM ch GROUP BY 1, 2 ORDER BY 1, 2
    """
    con.execute(f"COPY ({costs}) TO '{out.parent / 'costs.parquet'}' (FORMAT parquet)")
    con.close()
    engine.write_order_totals(out)
    return out


def d2c_costs(orders: Path) -> Any:
    """The costs table (month, channel, cost) beside a :func:`d2c_orders` file."""
    import pandas as pd

    return pd.read_parquet(orders.parent / "costs.parquet")
