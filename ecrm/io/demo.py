"""Deterministic synthetic order histories of two Japanese EC shops.

The demo shops behave like real ones so that every analysis has something to
find, and the generating process is known so that tests can check models
against the truth:

* ``demo-apparel`` — a fashion shop selling on its own site, Rakuten and Amazon:
  modest repeat (about 40 % of customers buy a second time, ≈ 2.8 orders per
  customer), AOV around ¥10,000, a product master that carries category, taste
  and brand, and a Japanese cart export (Japanese headers, one file per channel,
  each in its own encoding).
* ``demo-food`` — a coffee / tea / sweets shop with a subscription line: high
  repeat (about 65 % buy again à la carte, ≈ 5.5 orders per customer), AOV
  around ¥4,000, CTB attributes on the order lines and one export per calendar
  year; on top, a 定期便 (about 22 % of customers subscribe; monthly deliveries,
  skipped months, shifted-beta-geometric cancellations; the orders' ``定期購入ID``
  column and a subscriptions export, see :mod:`ecrm.io.demo_d2c`).

Both shops have a monthly ad costs export per channel (CAC: marketplaces dearer
than the own site).

The process
-----------
Customers arrive over the calendar with growth (+30 % a year) and seasonality
(December peak, a July summer-sale bump, a February dip); each has an
acquisition channel that most repeat orders keep (85 %). Purchases follow a
buy-till-you-die (BG/NBD) process: a purchase rate ``λ ~ Gamma(r, α)`` per day
and, after each repeat purchase, a dropout with probability ``p ~ Beta(a, b)``;
gaps between purchases are exponential, so the order *date* is the continuous
time floored to a day and same-day repeats happen now and then. The time of day
follows a realistic evening-heavy distribution (a monotone map of the
fractional day, so a customer's orders stay in time order).

Every customer has persistent CTB preferences: a favourite category, taste and
brand (high spenders lean to dearer categories and brands). Each order has 1–4
lines; each line takes the favourite category / taste / brand with high
probability, else draws from the shop's popularity distribution. The category of
the first order's largest line (SPEC §2's ``first_category``) moves ``λ`` and
``p`` a little, so "which entry categories make loyal customers" has a visible
answer: インナー (apparel) and 定期便セット (food) make loyal customers,
アクセサリー and ギフト do not. Amounts are whole yen (list price incl. tax ×
quantity, 30 % off on some lines in the January and July sales).

Data-quality cases (deterministic, small): ≈ 1 % cancelled orders (an extra order
placed minutes after a real one, then cancelled), two test orders, ≈ 2 % returns
(a separate order ``<order_id>-R`` 3–14 days later, same customer, one line with
negative quantity and amount), ≈ 3 % guest orders (empty customer id) and ≈ 0.1 %
of lines written twice. Cancelled, test and guest orders sit outside the
customers' BG/NBD histories, so ``truth.n_orders`` equals each customer's count
of normal (non-cancelled, non-test, non-return) orders.

Sizes (measured, default seeds and calendar)
--------------------------------------------
The 1,000,000-customer food row was measured before the 定期便 was added
(expect ≈ 20 % more orders).
"Orders" counts every order number (cancelled, test and return orders too);
repeat is the share of customers with a second normal order; AOV is the mean
net amount of normal orders (guests included). The food shop's figures include
its 定期便 deliveries (at 30,000 customers: 6,776 subscriptions, 34,971
deliveries; without them repeat, orders per customer and AOV are as before the
定期便 was added: ≈ 65 %, 5.5, ≈ ¥4,000).

==========================  ==========  ===========  ======  ============  =========
shop, customers             orders      order lines  repeat  orders/cust.  AOV (yen)
==========================  ==========  ===========  ======  ============  =========
apparel, 30,000                 88,429      160,006  40.7 %  2.78          10,142
food, 30,000                   211,479      460,646  72.1 %  6.67           3,597
apparel, 1,000,000           2,988,439    5,405,625
food, 1,000,000              5,837,198   14,141,741
apparel, 1 M, lines 3.8      2,935,814    9,913,142
==========================  ==========  ===========  ======  ============  =========

The two shops average ≈ 10 lines per customer over the three years. For a
benchmark with ≈ 10 M lines per million apparel customers pass
``lines_per_order=3.8``. One million customers plus :func:`write_shop` to
Parquet take ≈ 20 s (apparel) and ≈ 35 s (food) on two cores, with peak RSS
≈ 1.5 GB and ≈ 2.5 GB.

The code is in three more modules: :mod:`ecrm.io.demo_specs` (calendar, columns,
seeds and each shop's parameters), :mod:`ecrm.io.demo_generate` (the process)
and :mod:`ecrm.io.demo_write` (the raw export files). This module is the public
API and re-exports the public constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ecrm.io.demo_d2c import CAC, COST_EXPORT_COLUMNS, SUBSCRIPTION_EXPORT_COLUMNS
from ecrm.io.demo_generate import ShopGenerator
from ecrm.io.demo_specs import (
    APPAREL_FILES,
    APPAREL_ORDER_COLUMNS,
    APPAREL_PRODUCT_COLUMNS,
    CUSTOMER_COLUMNS,
    DEFAULT_SEEDS,
    DEMO_END,
    DEMO_INGEST_DATE,
    DEMO_START,
    FOOD_ORDER_COLUMNS,
    SHOPS,
    SUBSCRIPTION_ORDER_COLUMN,
    TRUTH_COLUMNS,
    spec_for,
)
from ecrm.io.demo_write import write_atomic, write_split

__all__ = [
    "APPAREL_ORDER_COLUMNS",
    "APPAREL_PRODUCT_COLUMNS",
    "CAC",
    "COST_EXPORT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "DEFAULT_SEEDS",
    "DEMO_END",
    "DEMO_INGEST_DATE",
    "DEMO_START",
    "FOOD_ORDER_COLUMNS",
    "SHOPS",
    "SUBSCRIPTION_EXPORT_COLUMNS",
    "SUBSCRIPTION_ORDER_COLUMN",
    "TRUTH_COLUMNS",
    "DemoShop",
    "generate_shop",
    "write_demo_shops",
    "write_shop",
]


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class DemoShop:
    """One generated demo shop.

    Attributes
    ----------
    name : str
        ``"demo-apparel"`` or ``"demo-food"``.
    orders : DataFrame
        Raw order lines as the shop's cart exports them (columns
        ``APPAREL_ORDER_COLUMNS`` or ``FOOD_ORDER_COLUMNS``, in that order),
        sorted by order time: order numbers, customer ids and timestamps as
        strings, quantity and amount as int64 (whole yen), the low-cardinality
        text columns as categoricals. Includes the data-quality cases (cancelled,
        test, return and guest orders, duplicated lines).
    products : DataFrame or None
        The apparel product master (``APPAREL_PRODUCT_COLUMNS``; ``定価`` is the
        list price incl. tax, int64); None for the food shop.
    customers : DataFrame
        One row per customer id in ``orders`` (``CUSTOMER_COLUMNS``), with
        personal data (email, name, phone, birth_date). Dates are ``YYYY-MM-DD``
        strings; ``mail_opt_in`` is bool.
    truth : DataFrame
        The latent process per customer (``TRUTH_COLUMNS``): ``lambda_``
        (purchases per day while alive), ``p_dropout`` (dropout probability after
        each repeat purchase), ``spend_level`` (expected order value in yen at
        list price), ``alive_at_end`` (not dropped out by the calendar's end),
        ``n_orders`` (normal orders placed, 定期便 deliveries included),
        ``channel`` (acquisition channel),
        ``entry_category`` (category of the first order's largest line) and the
        favourite category, taste and brand.
    subscriptions : DataFrame or None
        The food shop's 定期 export (``SUBSCRIPTION_EXPORT_COLUMNS``: 定期ID,
        会員ID, 開始日, 解約日 — empty while active —, 商品コード, 販売チャネル; dates
        ``YYYY-MM-DD``), one row per subscription ordered by start; its
        deliveries are the orders whose ``定期購入ID`` names it. None for apparel.
    costs : DataFrame or None
        Monthly ad spend (``COST_EXPORT_COLUMNS``: 月 ``YYYY/MM``, 広告媒体, 費用
        int64 yen) per calendar month and channel with customers.
    """

    name: str
    orders: pd.DataFrame
    products: pd.DataFrame | None
    customers: pd.DataFrame
    truth: pd.DataFrame
    subscriptions: pd.DataFrame | None = None
    costs: pd.DataFrame | None = None


def generate_shop(
    name: str,
    *,
    n_customers: int = 30_000,
    seed: int | None = None,
    start: date = DEMO_START,
    end: date = DEMO_END,
    lines_per_order: float | None = None,
    subscriptions: bool = True,
) -> DemoShop:
    """Generate one demo shop's order history, customers and latent truth.

    Parameters
    ----------
    name : {"demo-apparel", "demo-food"}
        Which shop.
    n_customers : int, default 30,000
        Customers acquired over the calendar (guest orders come on top).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; None uses the shop's fixed default
        (``DEFAULT_SEEDS``), so the output is reproducible either way.
    start, end : date
        The calendar, both inclusive (default: 2023-11-01 to 2026-10-31).
    lines_per_order : float, optional
        Mean lines per order before the same product twice in one order is
        merged (between 1 and 20). None uses the shop's own distribution over
        1–4 lines (≈ 1.8 apparel, ≈ 2.5 food after merging). Larger values make
        bigger orders (and AOV) for benchmarks: apparel with 3.8 gives ≈ 10 lines
        per customer. Setting it changes the random draws.
    subscriptions : bool, default True
        The food shop's 定期便. False writes an empty subscriptions export and
        no deliveries: the orders are then a pure BG/NBD process (for tests of
        the purchase models against ``truth``), the other draws unchanged.

    Returns
    -------
    DemoShop
        ``orders``, ``products`` (apparel only), ``customers`` and ``truth``;
        see :class:`DemoShop` for the columns.

    Raises
    ------
    ValueError
        Unknown shop name, ``n_customers`` < 1, ``end`` before ``start`` or
        ``lines_per_order`` outside [1, 20].

    Examples
    --------
    >>> shop = generate_shop("demo-food", n_customers=200)
    >>> list(shop.orders.columns[:3])
    ['order_no', 'member_id', 'order_date']
    """
    spec = spec_for(name)
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise ValueError(f"n_customers must be a positive integer, got {n_customers!r}")
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    if lines_per_order is not None and not 1.0 <= lines_per_order <= 20.0:
        raise ValueError(f"lines_per_order must be between 1 and 20, got {lines_per_order!r}")
    rng = np.random.default_rng(DEFAULT_SEEDS[name] if seed is None else seed)
    gen = ShopGenerator(name, spec, rng, n_customers, start, end, lines_per_order, subscriptions)
    tables = gen.run()
    return DemoShop(name, *tables)


def write_shop(
    shop: DemoShop, raw_dir: Path, *, file_format: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write a demo shop's raw export files into ``raw_dir``.

    Layout (``.parquet`` instead of ``.csv`` for ``file_format="parquet"``):

    * demo-apparel: ``orders_own.csv`` (自社サイト, UTF-8), ``orders_rakuten.csv``
      (楽天市場, CP932 with CRLF line ends), ``orders_amazon.csv`` (Amazon, UTF-8
      with BOM), ``products.csv`` and ``customers.csv`` (UTF-8);
    * demo-food: ``orders_<year>.csv`` per calendar year of the order date (UTF-8
      with BOM), ``customers.csv`` (UTF-8) and ``subscriptions.csv`` (the 定期
      system's export, CP932 with CRLF line ends);
    * both: ``costs.csv`` (monthly ad spend per channel, UTF-8 with BOM).

    CSV files quote every text value; Parquet files hold every column as strings
    except the integer quantity and amount columns (and ``定価``). ``mail_opt_in``
    is written ``True``/``False``. Each file is written to a temporary name in
    ``raw_dir`` and then moved into place, so a reader never sees half a file.
    Identical shops give byte-identical files.

    Parameters
    ----------
    shop : DemoShop
        From :func:`generate_shop`.
    raw_dir : Path
        Target folder (created with its parents when missing).
    file_format : {"csv", "parquet"}, default "csv"
        Parquet for large (benchmark-size) shops.

    Returns
    -------
    list of Path
        The files written, orders files first.

    Raises
    ------
    ValueError
        Unknown file format or shop name.

    Examples
    --------
    >>> paths = write_shop(generate_shop("demo-food", n_customers=200), Path(tmp))  # doctest: +SKIP
    """
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {file_format!r}")
    spec_for(shop.name)
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    if shop.name == "demo-apparel":
        targets = {value: (f"orders_{stem}", enc) for value, stem, enc in APPAREL_FILES}
        written = write_split(shop.orders, "販売チャネル", None, targets, raw_dir, file_format)
    else:
        written = write_split(shop.orders, "order_date", 4, {}, raw_dir, file_format)
    if shop.products is not None:
        written += write_split(
            shop.products, None, None, {"": ("products", "utf-8")}, raw_dir, file_format
        )
    customers = shop.customers.assign(mail_opt_in=shop.customers["mail_opt_in"].map(str))
    written += write_split(
        customers, None, None, {"": ("customers", "utf-8")}, raw_dir, file_format
    )
    if shop.subscriptions is not None:
        written += write_split(
            shop.subscriptions, None, None, {"": ("subscriptions", "cp932")}, raw_dir, file_format
        )
    if shop.costs is not None:
        written += write_split(
            shop.costs, None, None, {"": ("costs", "utf-8-sig")}, raw_dir, file_format
        )
    return written


def write_demo_shops(
    out: Path,
    *,
    n_customers: int = 30_000,
    shops: Sequence[str] = SHOPS,
    file_format: Literal["csv", "parquet"] = "csv",
    suffix: str = "",
    lines_per_order: float | None = None,
) -> list[Path]:
    """Generate demo shops into ``out/<shop><suffix>/`` (raw exports + settings).

    Each shop folder gets ``raw/`` (see :func:`write_shop`) and a
    ``settings.yaml`` from ``ecrm/io/templates/<shop>.yaml`` naming the folder and
    the file extension, ready for ``ecrm ingest``. Shops use their default seed.

    Parameters
    ----------
    out : Path
        The data folder (normally ``data/``).
    n_customers : int, default 30,000
        Customers per shop.
    shops : sequence of str
        Which demo shops (default both).
    file_format : {"csv", "parquet"}
        Raw file format.
    suffix : str
        Appended to each shop's folder and settings name, e.g. ``"-1m"``.
    lines_per_order : float, optional
        Passed to :func:`generate_shop` (the benchmark shop uses 3.8 for about
        10 million lines per million apparel customers).

    Returns
    -------
    list of Path
        The shop folders written.

    Raises
    ------
    ValueError
        Unknown shop, format or bad ``n_customers``.
    """
    for s in shops:
        spec_for(s)
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {file_format!r}")
    folders = []
    for s in shops:
        folder = Path(out) / f"{s}{suffix}"
        shop = generate_shop(s, n_customers=n_customers, lines_per_order=lines_per_order)
        write_shop(shop, folder / "raw", file_format=file_format)
        del shop
        template = resources.files("ecrm.io").joinpath("templates", f"{s}.yaml").read_text("utf-8")
        text = template.replace("{name}", f"{s}{suffix}").replace("{ext}", file_format)
        write_atomic(folder / "settings.yaml", lambda f, t=text: f.write(t.encode("utf-8")))
        folders.append(folder)
    return folders
