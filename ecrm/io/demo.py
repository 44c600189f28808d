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
  repeat (about 65 % buy again, ≈ 5.5 orders per customer), AOV around ¥4,000,
  CTB attributes on the order lines and one export per calendar year.

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
"Orders" counts every order number (cancelled, test and return orders too);
repeat is the share of customers with a second normal order; AOV is the mean
net amount of normal orders (guests included).

==========================  ==========  ===========  ======  ============  =========
shop, customers             orders      order lines  repeat  orders/cust.  AOV (yen)
==========================  ==========  ===========  ======  ============  =========
apparel, 30,000                 88,429      160,006  40.7 %  2.78          10,142
food, 30,000                   175,459      424,585  65.4 %  5.51           3,962
apparel, 1,000,000           2,988,439    5,405,625
food, 1,000,000              5,837,198   14,141,741
apparel, 1 M, lines 3.8      2,935,814    9,913,142
==========================  ==========  ===========  ======  ============  =========

The two shops average ≈ 10 lines per customer over the three years. For a
benchmark with ≈ 10 M lines per million apparel customers pass
``lines_per_order=3.8``. One million customers plus :func:`write_shop` to
Parquet take ≈ 20 s (apparel) and ≈ 35 s (food) on two cores, with peak RSS
≈ 1.5 GB and ≈ 2.5 GB.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = [
    "APPAREL_ORDER_COLUMNS",
    "APPAREL_PRODUCT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "DEFAULT_SEEDS",
    "DEMO_END",
    "DEMO_INGEST_DATE",
    "DEMO_START",
    "FOOD_ORDER_COLUMNS",
    "SHOPS",
    "TRUTH_COLUMNS",
    "DemoShop",
    "generate_shop",
    "write_demo_shops",
    "write_shop",
]

#: First day of the demo calendar (fixed: never the machine clock).
DEMO_START = date(2023, 11, 1)
#: Last day of the demo calendar, inclusive (three years of history).
DEMO_END = date(2026, 10, 31)
#: The day the demo exports are ingested: the morning after the last order day.
DEMO_INGEST_DATE = DEMO_END + timedelta(days=1)
#: The demo shops, by name.
SHOPS: tuple[str, ...] = ("demo-apparel", "demo-food")
#: The seed each shop uses when ``seed`` is None.
DEFAULT_SEEDS: dict[str, int] = {"demo-apparel": 20231101, "demo-food": 20231102}

APPAREL_ORDER_COLUMNS: tuple[str, ...] = (
    "受注番号",
    "会員ID",
    "受注日時",
    "商品コード",
    "商品名",
    "数量",
    "小計",
    "販売チャネル",
    "受注ステータス",
)
APPAREL_PRODUCT_COLUMNS: tuple[str, ...] = (
    "商品コード",
    "商品名",
    "カテゴリ",
    "テイスト",
    "ブランド",
    "定価",
)
FOOD_ORDER_COLUMNS: tuple[str, ...] = (
    "order_no",
    "member_id",
    "order_date",
    "sku",
    "item_name",
    "qty",
    "line_total",
    "category",
    "flavor",
    "brand",
    "channel",
    "status",
)
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "email",
    "name",
    "phone",
    "prefecture",
    "registered_at",
    "birth_date",
    "gender",
    "mail_opt_in",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "lambda_",
    "p_dropout",
    "spend_level",
    "alive_at_end",
    "n_orders",
    "channel",
    "entry_category",
    "fav_category",
    "fav_taste",
    "fav_brand",
)

_MAX_ROUNDS = 2_000  # purchase rounds; λ ≤ 0.2 per day keeps real runs far below this
_MAX_LAMBDA = 0.2  # purchases per day: at most one every five days on average
_REPEAT_CHANNEL_STAY = 0.85
_CANCEL_RATE = 0.01
_RETURN_RATE = 0.02
_GUEST_RATE = 0.03
_DUPLICATE_RATE = 0.001
_N_TEST_ORDERS = 2
_SALE_MONTHS = (1, 7)
_SALE_SHARE = 0.35  # of lines in a sale month
_SALE_FACTOR = 0.7
_SPEND_TILT = 0.7  # how strongly the spend level tilts favourite category / brand by price
_ROW_GROUP = 1 << 20  # rows per Parquet row group / CSV slice
_CHUNK = 1 << 21  # orders per chunk of line generation

# Month weights of customer acquisition (Jan..Dec): Dec peak, July sale, Feb dip.
_SEASON = (0.95, 0.8, 1.0, 1.0, 1.0, 0.95, 1.25, 1.0, 0.95, 1.0, 1.1, 1.5)
_GROWTH_PER_YEAR = 1.3
# Orders per hour of day (0..23): quiet at night, an evening peak.
_HOUR_WEIGHTS = (
    2.0, 1.2, 0.7, 0.4, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.2, 3.4,
    4.0, 3.6, 3.2, 3.2, 3.3, 3.5, 3.9, 4.5, 5.2, 5.8, 5.6, 3.8,
)  # fmt: skip


# --------------------------------------------------------------------------- shop specs


@dataclass(frozen=True)
class _Spec:
    """Everything that differs between the two demo shops."""

    categories: tuple[str, ...]
    category_pop: tuple[float, ...]
    category_price: tuple[int, ...]  # typical list price before tax, yen
    entry_lambda: tuple[float, ...]  # λ multiplier by entry category
    entry_logit_p: tuple[float, ...]  # shift of logit(p) by entry category
    tastes: tuple[str, ...]
    taste_pop: tuple[float, ...]
    brands: tuple[str, ...]
    brand_pop: tuple[float, ...]
    brand_price: tuple[float, ...]
    channels: tuple[str, ...]
    channel_pop: tuple[float, ...]
    r: float  # λ ~ Gamma(shape r, rate alpha), per day
    alpha: float
    a: float  # p ~ Beta(a, b)
    b: float
    lines_pop: tuple[float, ...]  # P(1..4 lines)
    qty_mu: float  # extra units ~ Poisson(qty_mu * exp(z / 2)), at most 4
    pref_category: float
    pref_taste: float
    pref_brand: float
    tax: float
    statuses: tuple[str, str, str, str]  # normal, cancelled, test, return
    female_share: float
    age_mean: float
    age_sd: float


_APPAREL = _Spec(
    categories=(
        "トップス",
        "ボトムス",
        "ワンピース",
        "アウター",
        "シューズ",
        "バッグ",
        "アクセサリー",
        "インナー",
    ),
    category_pop=(0.24, 0.17, 0.11, 0.08, 0.09, 0.08, 0.12, 0.11),
    category_price=(2700, 3800, 5400, 10000, 5800, 5000, 1900, 1200),
    entry_lambda=(1.0, 1.05, 0.95, 0.85, 0.9, 1.0, 0.7, 1.45),
    entry_logit_p=(0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.45, -0.6),
    tastes=("ベーシック", "モード", "ナチュラル", "カジュアル", "フェミニン", "ストリート"),
    taste_pop=(0.28, 0.12, 0.18, 0.20, 0.14, 0.08),
    brands=("ソラノイロ", "KOMOREBI", "月白", "ハルカゼ", "MINAMO", "藍日和", "ユキアカリ", "NAGI"),
    brand_pop=(0.20, 0.17, 0.08, 0.15, 0.12, 0.08, 0.10, 0.10),
    brand_price=(1.0, 0.85, 1.7, 0.9, 1.1, 1.3, 1.0, 0.75),
    channels=("自社サイト", "楽天市場", "Amazon"),
    channel_pop=(0.55, 0.30, 0.15),
    r=0.22,
    alpha=32.0,
    a=0.7,
    b=4.5,
    lines_pop=(0.42, 0.33, 0.16, 0.09),
    qty_mu=0.1,
    pref_category=0.6,
    pref_taste=0.5,
    pref_brand=0.6,
    tax=0.10,
    statuses=("発送済み", "キャンセル", "テスト", "返品"),
    female_share=0.78,
    age_mean=36.0,
    age_sd=10.0,
)

_FOOD = _Spec(
    categories=("コーヒー豆", "ドリップバッグ", "紅茶", "焼き菓子", "定期便セット", "ギフト"),
    category_pop=(0.30, 0.20, 0.12, 0.13, 0.15, 0.10),
    category_price=(900, 650, 650, 900, 1750, 2050),
    entry_lambda=(1.1, 0.95, 0.9, 0.8, 1.6, 0.6),
    entry_logit_p=(-0.1, 0.0, 0.0, 0.2, -0.8, 0.7),
    tastes=("深煎り", "中煎り", "浅煎り", "デカフェ", "フルーティー"),
    taste_pop=(0.30, 0.28, 0.17, 0.10, 0.15),
    brands=("森の焙煎所", "珈琲ひより", "KISSA MOKU", "茶寮はなれ", "山の菓子工房"),
    brand_pop=(0.30, 0.25, 0.20, 0.13, 0.12),
    brand_price=(1.0, 0.9, 1.15, 1.05, 1.1),
    channels=("自社サイト", "楽天市場", "Yahoo!ショッピング"),
    channel_pop=(0.70, 0.20, 0.10),
    r=0.5,
    alpha=40.0,
    a=0.6,
    b=9.0,
    lines_pop=(0.12, 0.28, 0.32, 0.28),
    qty_mu=0.15,
    pref_category=0.6,
    pref_taste=0.6,
    pref_brand=0.6,
    tax=0.08,
    statuses=("shipped", "cancelled", "test", "returned"),
    female_share=0.55,
    age_mean=45.0,
    age_sd=12.0,
)

_SPECS: dict[str, _Spec] = {"demo-apparel": _APPAREL, "demo-food": _FOOD}
# Apparel export files: channel -> (file stem, encoding).
_APPAREL_FILES: tuple[tuple[str, str, str], ...] = (
    ("自社サイト", "own", "utf-8"),
    ("楽天市場", "rakuten", "cp932"),
    ("Amazon", "amazon", "utf-8-sig"),
)

# Apparel item nouns, one row per category, one column per brand.
_APPAREL_NOUNS: tuple[tuple[str, ...], ...] = (
    (
        "リネンシャツ",
        "コットンブラウス",
        "ロゴTシャツ",
        "リブニット",
        "カーディガン",
        "スウェット",
        "カットソー",
        "ニットベスト",
    ),
    (
        "ワイドパンツ",
        "テーパードパンツ",
        "デニムパンツ",
        "プリーツスカート",
        "タイトスカート",
        "ショートパンツ",
        "カーゴパンツ",
        "フレアスカート",
    ),
    (
        "シャツワンピース",
        "ニットワンピース",
        "キャミワンピース",
        "ジャンパースカート",
        "ロングワンピース",
        "ティアードワンピース",
        "サロペット",
        "ドレス",
    ),
    (
        "トレンチコート",
        "ダウンジャケット",
        "ノーカラーコート",
        "デニムジャケット",
        "マウンテンパーカー",
        "テーラードジャケット",
        "ブルゾン",
        "ウールコート",
    ),
    (
        "スニーカー",
        "ローファー",
        "サンダル",
        "ショートブーツ",
        "パンプス",
        "バレエシューズ",
        "ロングブーツ",
        "スリッポン",
    ),
    (
        "トートバッグ",
        "ショルダーバッグ",
        "リュック",
        "ミニバッグ",
        "かごバッグ",
        "ボストンバッグ",
        "クラッチバッグ",
        "サコッシュ",
    ),
    (
        "ピアス",
        "ネックレス",
        "リング",
        "ヘアクリップ",
        "ブレスレット",
        "ストール",
        "キャップ",
        "ベルト",
    ),
    (
        "タンクトップ",
        "キャミソール",
        "レギンス",
        "ブラトップ",
        "ソックス",
        "タイツ",
        "インナーT",
        "ルームウェア",
    ),
)
# Food item names by category ({t} = the flavour line).
_FOOD_TEMPLATES: tuple[str, ...] = (
    "{t}ブレンド 200g",
    "ドリップバッグ {t} 10袋",
    "{t}紅茶 リーフ50g",
    "焼き菓子アソート（{t}に合う）",
    "定期便 {t}セット 月2袋",
    "ギフトボックス {t}詰め合わせ",
)

_SURNAMES = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
    "山崎", "森", "池田", "橋本", "阿部", "石川", "山下", "中島", "石井", "小川",
    "前田", "岡田", "長谷川", "藤田", "後藤", "近藤", "村上", "遠藤", "青木", "坂本",
)  # fmt: skip
_FEMALE_NAMES = (
    "陽菜", "結衣", "葵", "凛", "美咲", "さくら", "花子", "恵子", "由美", "裕子",
    "真由美", "智子", "彩", "愛", "舞", "麻衣", "優子", "直美", "明美", "久美子",
    "千尋", "奈々", "美穂", "香織", "理恵", "沙織", "瞳", "友美", "早紀", "陽子",
)  # fmt: skip
_MALE_NAMES = (
    "翔太", "大輔", "健太", "拓也", "直樹", "亮", "達也", "和也", "誠", "浩",
    "隆", "学", "剛", "淳", "聡", "大樹", "翔", "蓮", "悠真", "湊",
    "陽翔", "健一", "一郎", "修", "哲也", "洋平", "雄太", "康介", "智也", "光",
)  # fmt: skip
_GENDERS = ("女性", "男性", "回答しない")
# The 47 prefectures with their population (2020 census, 10,000s) as weights.
_PREFECTURES: tuple[tuple[str, int], ...] = (
    ("北海道", 522), ("青森県", 124), ("岩手県", 121), ("宮城県", 230), ("秋田県", 96),
    ("山形県", 107), ("福島県", 183), ("茨城県", 287), ("栃木県", 193), ("群馬県", 194),
    ("埼玉県", 734), ("千葉県", 628), ("東京都", 1405), ("神奈川県", 924), ("新潟県", 220),
    ("富山県", 103), ("石川県", 113), ("福井県", 77), ("山梨県", 81), ("長野県", 205),
    ("岐阜県", 198), ("静岡県", 363), ("愛知県", 754), ("三重県", 177), ("滋賀県", 141),
    ("京都府", 258), ("大阪府", 884), ("兵庫県", 547), ("奈良県", 132), ("和歌山県", 92),
    ("鳥取県", 55), ("島根県", 67), ("岡山県", 189), ("広島県", 280), ("山口県", 134),
    ("徳島県", 72), ("香川県", 95), ("愛媛県", 133), ("高知県", 69), ("福岡県", 514),
    ("佐賀県", 81), ("長崎県", 131), ("熊本県", 174), ("大分県", 112), ("宮崎県", 107),
    ("鹿児島県", 159), ("沖縄県", 147),
)  # fmt: skip
_EMAIL_DOMAINS = ("example.jp", "example.ne.jp", "example.co.jp", "example.com")


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
        ``n_orders`` (normal orders placed), ``channel`` (acquisition channel),
        ``entry_category`` (category of the first order's largest line) and the
        favourite category, taste and brand.
    """

    name: str
    orders: pd.DataFrame
    products: pd.DataFrame | None
    customers: pd.DataFrame
    truth: pd.DataFrame


def generate_shop(
    name: str,
    *,
    n_customers: int = 30_000,
    seed: int | None = None,
    start: date = DEMO_START,
    end: date = DEMO_END,
    lines_per_order: float | None = None,
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
    spec = _spec_for(name)
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise ValueError(f"n_customers must be a positive integer, got {n_customers!r}")
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    if lines_per_order is not None and not 1.0 <= lines_per_order <= 20.0:
        raise ValueError(f"lines_per_order must be between 1 and 20, got {lines_per_order!r}")
    rng = np.random.default_rng(DEFAULT_SEEDS[name] if seed is None else seed)
    return _Generator(name, spec, rng, n_customers, start, end, lines_per_order).run()


def write_shop(
    shop: DemoShop, raw_dir: Path, *, file_format: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write a demo shop's raw export files into ``raw_dir``.

    Layout (``.parquet`` instead of ``.csv`` for ``file_format="parquet"``):

    * demo-apparel: ``orders_own.csv`` (自社サイト, UTF-8), ``orders_rakuten.csv``
      (楽天市場, CP932 with CRLF line ends), ``orders_amazon.csv`` (Amazon, UTF-8
      with BOM), ``products.csv`` and ``customers.csv`` (UTF-8);
    * demo-food: ``orders_<year>.csv`` per calendar year of the order date (UTF-8
      with BOM) and ``customers.csv`` (UTF-8).

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
    _spec_for(shop.name)
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    if shop.name == "demo-apparel":
        targets = {value: (f"orders_{stem}", enc) for value, stem, enc in _APPAREL_FILES}
        written = _write_split(shop.orders, "販売チャネル", None, targets, raw_dir, file_format)
    else:
        written = _write_split(shop.orders, "order_date", 4, {}, raw_dir, file_format)
    if shop.products is not None:
        written += _write_split(
            shop.products, None, None, {"": ("products", "utf-8")}, raw_dir, file_format
        )
    customers = shop.customers.assign(mail_opt_in=shop.customers["mail_opt_in"].map(str))
    written += _write_split(
        customers, None, None, {"": ("customers", "utf-8")}, raw_dir, file_format
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
        _spec_for(s)
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
        _atomic(folder / "settings.yaml", lambda f, t=text: f.write(t.encode("utf-8")))
        folders.append(folder)
    return folders


# --------------------------------------------------------------------------- generation


def _spec_for(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown demo shop {name!r}; choose one of {list(SHOPS)}") from None


@dataclass
class _Lines:
    """Order lines of a block of orders: the order (block-local), product, units, yen."""

    order: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    amount: np.ndarray


class _Generator:
    """One run of the process; all randomness comes from ``rng`` in a fixed order."""

    def __init__(
        self,
        name: str,
        spec: _Spec,
        rng: np.random.Generator,
        n: int,
        start: date,
        end: date,
        lines_per_order: float | None,
    ) -> None:
        self.name, self.spec, self.rng, self.n = name, spec, rng, n
        self.lines_per_order = lines_per_order
        self.start = start
        self.n_days = (end - start).days + 1
        days = np.datetime64(start, "D") + np.arange(self.n_days + 30)
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        self.sale_day = np.isin(month, _SALE_MONTHS)
        self._products()

    # ---------------------------------------------------------------- catalogue

    def _products(self) -> None:
        """The catalogue: one product per (category, taste, brand), index (c*T + t)*B + b."""
        s = self.spec
        nc, nt, nb = len(s.categories), len(s.tastes), len(s.brands)
        c, t, b = (
            g.ravel()
            for g in np.meshgrid(np.arange(nc), np.arange(nt), np.arange(nb), indexing="ij")
        )
        jitter = np.exp(self.rng.normal(0.0, 0.15, c.size))
        base = np.asarray(s.category_price)[c] * np.asarray(s.brand_price)[b] * jitter
        if self.name == "demo-apparel":
            base = np.maximum(np.round(base / 100.0), 5) * 100  # ¥3,500 + 10 % = ¥3,850
            codes = [f"A{i + 1:06d}" for i in range(c.size)]
            names = [
                f"{s.tastes[ti]} {_APPAREL_NOUNS[ci][bi]}"
                for ci, ti, bi in zip(c, t, b, strict=True)
            ]
        else:
            base = np.maximum(np.round(base / 10.0), 30) * 10  # ¥1,200 + 8 % = ¥1,296
            codes = [f"SKU{i + 1:04d}" for i in range(c.size)]
            names = [
                f"{s.brands[bi]} " + _FOOD_TEMPLATES[ci].format(t=s.tastes[ti])
                for ci, ti, bi in zip(c, t, b, strict=True)
            ]
        self.p_cat, self.p_taste, self.p_brand = (
            c.astype(np.int16),
            t.astype(np.int16),
            b.astype(np.int16),
        )
        self.price = np.floor(base * (1.0 + s.tax) + 1e-6).astype(np.int64)
        self.codes = codes
        self.names = names
        self.shape = (nc, nt, nb)

    # ---------------------------------------------------------------- customers

    def _arrival_times(self, n: int) -> np.ndarray:
        """``n`` sorted arrival times (days since start) with growth and seasonality."""
        days = np.datetime64(self.start, "D") + np.arange(self.n_days)
        month_id = days.astype("datetime64[M]").astype(np.int64)
        w = np.asarray(_SEASON)[month_id % 12] * _GROWTH_PER_YEAR ** (
            np.arange(self.n_days) / 365.25
        )
        day = self.rng.choice(self.n_days, size=n, p=w / w.sum())
        return np.sort(day + self.rng.random(n))

    def _preferences(self, n: int) -> dict[str, np.ndarray]:
        """Spend level ``z`` and favourite category / taste / brand of ``n`` buyers."""
        s, rng = self.spec, self.rng
        z = rng.standard_normal(n)
        cat = _tilted_choice(rng, s.category_pop, np.log(s.category_price), z)
        taste = rng.choice(len(s.tastes), size=n, p=_norm(s.taste_pop)).astype(np.int16)
        brand = _tilted_choice(rng, s.brand_pop, np.log(s.brand_price), z)
        qty_mu = s.qty_mu * np.exp(0.5 * z)  # extra units per line ~ Poisson(qty_mu), at most 4
        return {"z": z, "cat": cat, "taste": taste, "brand": brand, "qty_mu": qty_mu}

    def _expected_order_value(self, prefs: dict[str, np.ndarray]) -> np.ndarray:
        """E[order value at list price] under each buyer's preferences and spend level."""
        s = self.spec
        a = self.price.reshape(self.shape).astype(np.float64)
        pops = [_norm(s.category_pop), _norm(s.taste_pop), _norm(s.brand_pop)]
        favs = [prefs["cat"], prefs["taste"], prefs["brand"]]
        ws = [s.pref_category, s.pref_taste, s.pref_brand]
        price = np.zeros(len(prefs["z"]))
        for mask in range(8):  # each axis: the favourite (weight w) or popularity (1 - w)
            t = a
            weight = 1.0
            index: list[np.ndarray | slice] = []
            for axis in range(3):
                if mask >> axis & 1:
                    weight *= ws[axis]
                    index.append(favs[axis])
                else:
                    weight *= 1.0 - ws[axis]
                    index.append(slice(None))
            for axis in reversed(range(3)):  # contract the popularity axes
                if not mask >> axis & 1:
                    t = np.tensordot(t, pops[axis], axes=([axis], [0]))
            fav_index = tuple(i for i in index if not isinstance(i, slice))
            price += weight * (t[fav_index] if fav_index else t)
        mu = prefs["qty_mu"]
        extra = np.zeros_like(mu)  # E[min(Poisson(mu), 4)] = sum_{j=1..4} P(X >= j)
        term = np.exp(-mu)
        cdf = term.copy()
        for j in range(1, 5):
            extra += 1.0 - cdf
            term = term * mu / j
            cdf += term
        lines = self.lines_per_order or float(np.dot(np.arange(1, 5), _norm(s.lines_pop)))
        return lines * (1.0 + extra) * price

    # ---------------------------------------------------------------- order lines

    def _lines(self, prefs: dict[str, np.ndarray], owner: np.ndarray, t: np.ndarray) -> _Lines:
        """Lines of orders placed by ``owner`` (index into ``prefs``) at times ``t``.

        Works through the orders in fixed-size chunks (so memory stays bounded and
        the random stream does not depend on the machine).
        """
        parts = [
            self._lines_chunk(prefs, owner[i : i + _CHUNK], t[i : i + _CHUNK])
            for i in range(0, max(t.size, 1), _CHUNK)
        ]
        return _concat_lines(parts, list(range(0, max(t.size, 1), _CHUNK)))

    def _lines_chunk(
        self, prefs: dict[str, np.ndarray], owner: np.ndarray, t: np.ndarray
    ) -> _Lines:
        s, rng = self.spec, self.rng
        _, nt, nb = self.shape
        if self.lines_per_order is None:
            k = _categorical(rng.random(t.size), s.lines_pop) + 1
        else:  # 1 + Binomial(most - 1, q) has the requested mean
            most = max(4, math.ceil(2 * self.lines_per_order - 1))
            q = (self.lines_per_order - 1.0) / (most - 1)
            k = 1 + rng.binomial(most - 1, q, t.size)
        order = np.repeat(np.arange(t.size, dtype=np.int32), k)
        who = owner[order]
        n = order.size

        def pick(fav: np.ndarray, w: float, pop: tuple[float, ...]) -> np.ndarray:
            u = rng.random(n)  # below w: the favourite; else rescaled into popularity
            return np.where(u < w, fav, _categorical((u - w) / (1.0 - w), pop))

        product = pick(prefs["cat"][who], s.pref_category, s.category_pop).astype(np.int32)
        product *= nt
        product += pick(prefs["taste"][who], s.pref_taste, s.taste_pop)
        product *= nb
        product += pick(prefs["brand"][who], s.pref_brand, s.brand_pop)
        qty = 1 + np.minimum(rng.poisson(prefs["qty_mu"][who]), 4)
        del who
        # The same product twice in one order becomes one line with the units added.
        root = np.arange(n, dtype=np.int32)
        for lag in (3, 2, 1):
            same = (order[lag:] == order[:-lag]) & (product[lag:] == product[:-lag])
            same = np.flatnonzero(same) + lag
            same = same[root[same] == same]
            root[same] = same - lag
        keep = root == np.arange(n, dtype=np.int32)
        if not keep.all():
            qty = np.bincount(root, weights=qty, minlength=n)[keep]
            order, product = order[keep], product[keep]
        del root, keep
        qty = qty.astype(np.int32)
        sale = self.sale_day[t.astype(np.int32)][order] & (rng.random(order.size) < _SALE_SHARE)
        unit = self.price[product]
        unit = np.where(sale, (unit * _SALE_FACTOR).astype(np.int64) // 10 * 10, unit)
        return _Lines(order, product, qty, (unit * qty).astype(np.int32))

    # ---------------------------------------------------------------- the process

    def _simulate(self, t0: np.ndarray, lam: np.ndarray, p: np.ndarray):
        """BG/NBD repeat purchases in rounds: (customer, time) of each, and alive_at_end."""
        rng, horizon = self.rng, float(self.n_days)
        alive_at_end = np.ones(t0.size, dtype=bool)
        who = np.arange(t0.size, dtype=np.int64)
        now = t0.copy()
        got_who, got_t = [], []
        for _ in range(_MAX_ROUNDS):
            if who.size == 0:
                break
            nxt = now + rng.exponential(1.0, who.size) / lam[who]
            buys = nxt < horizon
            who, nxt = who[buys], nxt[buys]
            got_who.append(who)
            got_t.append(nxt)
            dies = rng.random(who.size) < p[who]
            alive_at_end[who[dies]] = False
            who, now = who[~dies], nxt[~dies]
        cust = np.concatenate(got_who) if got_who else np.zeros(0, np.int64)
        t = np.concatenate(got_t) if got_t else np.zeros(0)
        return cust, t, alive_at_end

    def run(self) -> DemoShop:
        s, rng, n = self.spec, self.rng, self.n
        # Customers: arrival (= first order), channel, preferences.
        t0 = self._arrival_times(n)
        channel = _categorical(rng.random(n), s.channel_pop)
        prefs = self._preferences(n)
        owner = np.arange(n, dtype=np.int64)
        first = self._lines(prefs, owner, t0)
        entry = self._entry_category(first, n)
        # Latent BG/NBD parameters, moved a little by the entry category.
        lam = rng.gamma(s.r, 1.0 / s.alpha, n) * np.asarray(s.entry_lambda)[entry]
        lam = np.clip(lam, 1e-6, _MAX_LAMBDA)
        p0 = np.clip(rng.beta(s.a, s.b, n), 1e-6, 1 - 1e-6)
        logit = np.log(p0 / (1.0 - p0)) + np.asarray(s.entry_logit_p)[entry]
        p = np.clip(1.0 / (1.0 + np.exp(-logit)), 1e-4, 0.999)
        rep_cust, rep_t, alive_at_end = self._simulate(t0, lam, p)
        stay = rng.random(rep_cust.size) < _REPEAT_CHANNEL_STAY
        other = _categorical(rng.random(rep_cust.size), s.channel_pop)
        rep_channel = np.where(stay, channel[rep_cust], other)
        repeat = self._lines(prefs, rep_cust, rep_t)
        n_main = n + rep_cust.size
        # Guests: one-off buyers without a customer id.
        n_guest = max(1, round(n_main * _GUEST_RATE / (1.0 - _GUEST_RATE)))
        g_t = rng.permutation(self._arrival_times(n_guest))
        g_prefs = self._preferences(n_guest)
        g_channel = _categorical(rng.random(n_guest), s.channel_pop)
        guest = self._lines(g_prefs, np.arange(n_guest, dtype=np.int64), g_t)

        # Orders so far: status 0 (normal).
        o_t = np.concatenate([t0, rep_t, g_t])
        o_cust = np.concatenate([owner, rep_cust, np.full(n_guest, -1, np.int64)])
        o_chan = np.concatenate([channel, rep_channel, g_channel])
        lines = _concat_lines([first, repeat, guest], [0, n, n_main])
        del first, repeat, guest
        n_normal = o_t.size
        o_status = np.zeros(n_normal, np.int8)
        o_parent = np.full(n_normal, -1, np.int64)  # the original order of a return
        line_start = np.searchsorted(lines.order, np.arange(n_normal + 1))

        # Cancelled orders: a copy of a real order placed minutes later, then cancelled.
        horizon = float(self.n_days)
        cand = np.flatnonzero((o_t > 0.2) & (o_t < horizon - 0.2))
        src = np.sort(
            rng.choice(
                cand, size=min(cand.size, max(1, round(n_normal * _CANCEL_RATE))), replace=False
            )
        )
        delta = rng.uniform(2.0, 180.0, src.size) / 1440.0
        c_t = np.where(
            o_t[src] + delta < horizon,
            o_t[src] + delta,
            np.maximum(o_t[src] - delta, np.floor(o_t[src])),
        )
        c_lines = _copy_lines(lines, line_start, src, n_normal)
        # Test orders on the first day: one line each, no customer.
        test_t = 0.45 + np.arange(_N_TEST_ORDERS) * 0.01
        test_first = n_normal + src.size
        test_lines = _Lines(
            np.arange(test_first, test_first + _N_TEST_ORDERS, dtype=np.int32),
            np.zeros(_N_TEST_ORDERS, np.int32),
            np.ones(_N_TEST_ORDERS, np.int32),
            np.repeat(self.price[:1], _N_TEST_ORDERS).astype(np.int32),
        )
        # Returns: 3-14 days later, one line of a customer's order, negative.
        cand = np.flatnonzero((o_cust >= 0) & (o_t < horizon - 14.0))
        ret = np.sort(
            rng.choice(
                cand, size=min(cand.size, max(1, round(n_normal * _RETURN_RATE))), replace=False
            )
        )
        r_t = o_t[ret] + rng.uniform(3.0, 14.0, ret.size)
        n_lines = line_start[ret + 1] - line_start[ret]
        pick = line_start[ret] + np.floor(rng.random(ret.size) * n_lines).astype(np.int64)
        ret_first = test_first + _N_TEST_ORDERS
        r_lines = _Lines(
            np.arange(ret_first, ret_first + ret.size, dtype=np.int32),
            lines.product[pick],
            -lines.qty[pick],
            -lines.amount[pick],
        )
        lines = _concat_lines([lines, c_lines, test_lines, r_lines], [0, 0, 0, 0])
        o_t = np.concatenate([o_t, c_t, test_t, r_t])
        o_cust = np.concatenate([o_cust, o_cust[src], np.full(_N_TEST_ORDERS, -1), o_cust[ret]])
        o_chan = np.concatenate(
            [o_chan, o_chan[src], np.zeros(_N_TEST_ORDERS, np.int8), o_chan[ret]]
        )
        o_status = np.concatenate(
            [
                o_status,
                np.full(src.size, 1, np.int8),
                np.full(_N_TEST_ORDERS, 2, np.int8),
                np.full(ret.size, 3, np.int8),
            ]
        )
        o_parent = np.concatenate([o_parent, np.full(src.size + _N_TEST_ORDERS, -1), ret])

        orders = self._orders_table(lines, o_t, o_cust, o_chan, o_status, o_parent)
        del lines
        n_orders = np.bincount(o_cust[(o_status == 0) & (o_cust >= 0)], minlength=n)
        customers = self._customers_table(t0, prefs["z"])
        truth = pd.DataFrame(
            {
                "customer_id": customers["customer_id"].to_numpy(),
                "lambda_": lam,
                "p_dropout": p,
                "spend_level": self._expected_order_value(prefs),
                "alive_at_end": alive_at_end,
                "n_orders": n_orders.astype(np.int64),
                "channel": pd.Categorical.from_codes(channel, categories=list(s.channels)),
                "entry_category": pd.Categorical.from_codes(entry, categories=list(s.categories)),
                "fav_category": pd.Categorical.from_codes(
                    prefs["cat"], categories=list(s.categories)
                ),
                "fav_taste": pd.Categorical.from_codes(prefs["taste"], categories=list(s.tastes)),
                "fav_brand": pd.Categorical.from_codes(prefs["brand"], categories=list(s.brands)),
            }
        )
        products = None
        if self.name == "demo-apparel":
            products = pd.DataFrame(
                {
                    "商品コード": self.codes,
                    "商品名": self.names,
                    "カテゴリ": [s.categories[i] for i in self.p_cat],
                    "テイスト": [s.tastes[i] for i in self.p_taste],
                    "ブランド": [s.brands[i] for i in self.p_brand],
                    "定価": self.price,
                }
            )
        return DemoShop(self.name, orders, products, customers, truth)

    def _entry_category(self, first: _Lines, n: int) -> np.ndarray:
        """Category of each first order's largest line (ties: the lowest product code)."""
        idx = np.lexsort((first.product, -first.amount, first.order))
        head = np.ones(idx.size, dtype=bool)
        head[1:] = first.order[idx][1:] != first.order[idx][:-1]
        top = np.empty(n, np.int32)
        top[first.order[idx][head]] = first.product[idx][head]
        return self.p_cat[top].astype(np.int16)

    # ---------------------------------------------------------------- tables

    def _timestamps(self, t: np.ndarray) -> pa.Array:
        """``YYYY-MM-DD HH:MM:SS`` of times in days since start (evening-heavy clock)."""
        day = np.floor(t)
        frac = t - day
        w = np.asarray(_HOUR_WEIGHTS)
        edges = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
        hour = np.clip(np.searchsorted(edges, frac, side="right") - 1, 0, 23)
        within = (frac - edges[hour]) / (edges[hour + 1] - edges[hour])
        sec = np.minimum(np.floor((hour + within) * 3600.0).astype(np.int64), 86_399)
        epoch = (self.start - date(1970, 1, 1)).days
        stamp = (epoch + day.astype(np.int64)) * 86_400 + sec
        return pa.array(stamp, type=pa.timestamp("s")).cast(pa.string())

    def _customer_ids(self, count: int) -> pa.Array:
        num = pa.array(np.arange(1, count + 1, dtype=np.int64))
        if self.name == "demo-apparel":
            return pc.binary_join_element_wise("C", pc.utf8_lpad(num.cast(pa.string()), 7, "0"), "")
        return pc.add(num, 100_000).cast(pa.string())

    def _orders_table(
        self,
        lines: _Lines,
        o_t: np.ndarray,
        o_cust: np.ndarray,
        o_chan: np.ndarray,
        o_status: np.ndarray,
        o_parent: np.ndarray,
    ) -> pd.DataFrame:
        """The raw orders frame; empties ``lines`` on the way to keep memory down."""
        s, rng = self.spec, self.rng
        n_orders = o_t.size
        # Order numbers run with time over every order except returns (<original>-R).
        # Output order of the orders: by time. Order-level columns are built
        # directly in that order ("ranked").
        ranked = np.argsort(o_t, kind="stable")
        is_ret = o_parent[ranked] >= 0
        seq = np.zeros(n_orders, np.int64)
        seq[ranked] = np.cumsum(~is_ret)
        source = np.where(is_ret, o_parent[ranked], ranked)  # a return is named after its order
        oid = self._order_ids(seq[source], np.floor(o_t[source]).astype(np.int64))
        del seq, source
        if is_ret.any():
            oid = pc.if_else(pa.array(is_ret), pc.binary_join_element_wise(oid, "-R", ""), oid)
        cust_ids = pa.concat_arrays([self._customer_ids(self.n), pa.array([""])])
        cust = cust_ids.take(pa.array(np.where(o_cust >= 0, o_cust, self.n)[ranked]))
        stamp = self._timestamps(o_t[ranked])
        chan, status = o_chan[ranked], o_status[ranked]

        # Lines in output order: orders ranked, lines within an order as generated.
        start = np.searchsorted(lines.order, np.arange(n_orders + 1))
        count = np.diff(start)[ranked]
        start = start[:-1][ranked]
        out_start = np.cumsum(count) - count
        perm = np.repeat(start - out_start, count) + np.arange(lines.order.size)
        lo = np.repeat(np.arange(n_orders, dtype=np.int32), count)  # ranked order of each line
        del start, count, out_start, ranked
        lines.order = np.zeros(0, np.int32)
        # Exact duplicate lines (an export glitch) among normal lines.
        normal = np.flatnonzero(status[lo] == 0)
        n_dup = min(normal.size, max(1, round(lo.size * _DUPLICATE_RATE)))
        times = np.ones(lo.size, np.int8)
        times[rng.choice(normal, size=n_dup, replace=False)] = 2
        del normal
        perm, lo = np.repeat(perm, times), np.repeat(lo, times)
        del times
        product = lines.product[perm].astype(np.int16)
        lines.product = np.zeros(0, np.int32)
        qty = lines.qty[perm].astype(np.int64)
        lines.qty = np.zeros(0, np.int32)
        amount = lines.amount[perm].astype(np.int64)
        lines.amount = np.zeros(0, np.int32)
        del perm

        def dictionary(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values, pa.string()))

        names = APPAREL_ORDER_COLUMNS if self.name == "demo-apparel" else FOOD_ORDER_COLUMNS
        at = pa.array(lo)
        cols: dict[str, pa.Array] = {}
        cols[names[0]] = oid.cast(pa.large_string()).take(at)
        del oid
        cols[names[1]] = cust.cast(pa.large_string()).take(at)
        del cust
        cols[names[2]] = stamp.cast(pa.large_string()).take(at)
        del stamp, at
        cols[names[3]] = dictionary(product, self.codes)
        cols[names[4]] = dictionary(product, self.names)
        cols[names[5]] = pa.array(qty)
        cols[names[6]] = pa.array(amount)
        del qty, amount
        if self.name == "demo-food":
            cols["category"] = dictionary(self.p_cat[product], s.categories)
            cols["flavor"] = dictionary(self.p_taste[product], s.tastes)
            cols["brand"] = dictionary(self.p_brand[product], s.brands)
        del product
        cols[names[-2]] = dictionary(chan[lo], s.channels)
        cols[names[-1]] = dictionary(status[lo], s.statuses)
        del lo
        table = pa.table(cols)
        del cols
        frame = table.to_pandas()
        del table
        pa.default_memory_pool().release_unused()
        return frame

    def _order_ids(self, seq: np.ndarray, day: np.ndarray) -> pa.Array:
        """Apparel ``A<yymm>-<7-digit number>``; food ``F<8-digit number>``."""
        seq_txt = pa.array(seq).cast(pa.string())
        if self.name == "demo-food":
            return pc.binary_join_element_wise("F", pc.utf8_lpad(seq_txt, 8, "0"), "")
        ym = (np.datetime64(self.start, "D") + day).astype("datetime64[M]").astype(np.int64)
        yymm = pa.array((ym // 12 + 1970) % 100 * 100 + ym % 12 + 1).cast(pa.string())
        return pc.binary_join_element_wise(
            "A", pc.utf8_lpad(yymm, 4, "0"), "-", pc.utf8_lpad(seq_txt, 7, "0"), ""
        )

    def _customers_table(self, t0: np.ndarray, z: np.ndarray) -> pd.DataFrame:
        s, rng, n = self.spec, self.rng, self.n
        epoch = (self.start - date(1970, 1, 1)).days
        first_day = np.floor(t0).astype(np.int64)
        earlier = np.where(rng.random(n) < 0.55, 0, rng.integers(1, 400, n))
        registered = np.maximum(first_day - earlier, 0)
        gender = rng.choice(3, size=n, p=[s.female_share, 0.96 - s.female_share, 0.04]).astype(
            np.int8
        )
        female = rng.integers(0, len(_FEMALE_NAMES), n)
        male = rng.integers(0, len(_MALE_NAMES), n)
        is_female = (gender == 0) | ((gender == 2) & (rng.random(n) < 0.5))
        surname = pa.array(_SURNAMES).take(pa.array(rng.integers(0, len(_SURNAMES), n)))
        given = pc.if_else(
            pa.array(is_female),
            pa.array(_FEMALE_NAMES).take(pa.array(female)),
            pa.array(_MALE_NAMES).take(pa.array(male)),
        )
        age = np.clip(rng.normal(s.age_mean, s.age_sd, n), 16.0, 85.0)
        birth = epoch + self.n_days - np.round(age * 365.25).astype(np.int64)
        pref_w = np.asarray([w for _, w in _PREFECTURES], dtype=np.float64)
        prefecture = rng.choice(len(_PREFECTURES), size=n, p=pref_w / pref_w.sum()).astype(np.int8)
        mail_num = pa.array(rng.permutation(n).astype(np.int64) + 1).cast(pa.string())
        domain = pa.array(_EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(_EMAIL_DOMAINS), n)))
        email = pc.binary_join_element_wise("u", pc.utf8_lpad(mail_num, 7, "0"), "@", domain, "")
        mobile = pa.array(["090", "080", "070"]).take(
            pa.array(rng.choice(3, size=n, p=[0.5, 0.4, 0.1]))
        )
        mid = pc.utf8_lpad(pa.array(rng.integers(0, 10_000, n)).cast(pa.string()), 4, "0")
        last = pc.utf8_lpad(pa.array(rng.integers(0, 10_000, n)).cast(pa.string()), 4, "0")
        opt_in = rng.random(n) < (0.55 + 0.1 * np.tanh(z))
        table = pa.table(
            {
                "customer_id": self._customer_ids(n),
                "email": email,
                "name": pc.binary_join_element_wise(surname, given, " "),
                "phone": pc.binary_join_element_wise(mobile, mid, last, "-"),
                "prefecture": pa.DictionaryArray.from_arrays(
                    pa.array(prefecture), pa.array([p for p, _ in _PREFECTURES])
                ),
                "registered_at": pa.array((epoch + registered).astype(np.int32), pa.date32()).cast(
                    pa.string()
                ),
                "birth_date": pa.array(birth.astype(np.int32), pa.date32()).cast(pa.string()),
                "gender": pa.DictionaryArray.from_arrays(
                    pa.array(gender), pa.array(list(_GENDERS))
                ),
                "mail_opt_in": pa.array(opt_in),
            }
        )
        return table.to_pandas()


# --------------------------------------------------------------------------- helpers


def _norm(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def _tilted_choice(
    rng: np.random.Generator, pop: Sequence[float], log_price: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """One draw per buyer from ``pop`` tilted towards dear items for high spend ``z``."""
    lp = np.asarray(log_price, dtype=np.float64)
    lp = (lp - lp.mean()) / (lp.std() or 1.0)
    logits = np.log(_norm(pop))[None, :] + _SPEND_TILT * z[:, None] * lp[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    cum = np.cumsum(prob, axis=1)
    u = rng.random(z.size) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), len(pop) - 1).astype(np.int16)


def _concat_lines(blocks: list[_Lines], offsets: list[int]) -> _Lines:
    return _Lines(
        np.concatenate([b.order + np.int32(o) for b, o in zip(blocks, offsets, strict=True)]),
        np.concatenate([b.product for b in blocks]),
        np.concatenate([b.qty for b in blocks]),
        np.concatenate([b.amount for b in blocks]),
    )


def _copy_lines(lines: _Lines, line_start: np.ndarray, src: np.ndarray, first_new: int) -> _Lines:
    """The lines of orders ``src``, renumbered as new orders ``first_new + i``."""
    count = line_start[src + 1] - line_start[src]
    out_start = np.concatenate([[0], np.cumsum(count)[:-1]])
    idx = np.repeat(line_start[src] - out_start, count) + np.arange(int(count.sum()))
    return _Lines(
        np.repeat(np.arange(first_new, first_new + src.size, dtype=np.int32), count),
        lines.product[idx],
        lines.qty[idx],
        lines.amount[idx],
    )


def _categorical(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Category index (int8) of uniforms ``u`` under ``weights`` (inverse CDF)."""
    cdf = np.cumsum(_norm(weights))[:-1]
    out = np.zeros(u.shape, np.int8)
    for edge in cdf:
        out += u >= edge
    return out


# --------------------------------------------------------------------------- writing


def _plain(table: pa.Table) -> pa.Table:
    """Integers as int64, everything else as plain strings."""
    fields = [
        pa.field(f.name, pa.int64() if pa.types.is_integer(f.type) else pa.string())
        for f in table.schema
    ]
    return table.replace_schema_metadata(None).cast(pa.schema(fields))


class _Sink:
    """One output file, written through a temporary name in its folder."""

    def __init__(self, path: Path, file_format: str, encoding: str, schema: pa.Schema) -> None:
        self.path, self.encoding, self.schema = path, encoding, schema
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.tmp = Path(tmp)
        self.file = os.fdopen(fd, "wb")
        self.parquet: pq.ParquetWriter | None = None
        self.header_done = False
        if file_format == "parquet":
            self.parquet = pq.ParquetWriter(self.file, schema, compression="zstd")
        elif encoding == "utf-8-sig":
            self.file.write(b"\xef\xbb\xbf")

    def write(self, part: pa.Table) -> None:
        if self.parquet is not None:
            self.parquet.write_table(part, row_group_size=_ROW_GROUP)
            return
        buf = io.BytesIO()
        options = pa_csv.WriteOptions(
            include_header=not self.header_done,
            quoting_style="needed",
            quoting_header="none",
            eol="\r\n" if self.encoding == "cp932" else "\n",
        )
        pa_csv.write_csv(part, buf, options)
        self.header_done = True
        data = buf.getvalue()
        self.file.write(data.decode("utf-8").encode("cp932") if self.encoding == "cp932" else data)

    def close(self) -> Path:
        if self.parquet is None and not self.header_done:
            self.write(self.schema.empty_table())
        if self.parquet is not None:
            self.parquet.close()
        self.file.close()
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            if self.parquet is not None:
                self.parquet.close()
        with contextlib.suppress(Exception):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


def _write_split(
    df: pd.DataFrame,
    key: str | None,
    key_chars: int | None,
    targets: dict[str, tuple[str, str]],
    raw_dir: Path,
    file_format: str,
) -> list[Path]:
    """Write ``df`` into one file per value of column ``key`` (or one file).

    ``targets`` maps a key value to (file stem, encoding); those files are
    written even when empty. With ``key_chars`` the key is the first characters
    of the column and files are ``<key>_<value>`` named after the value (UTF-8
    with BOM). Rows keep their order; the frame is converted and written one
    slice at a time so that memory stays bounded.
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    schema = _plain(table.slice(0, 0)).schema
    ext = ".parquet" if file_format == "parquet" else ".csv"
    sinks: dict[str, _Sink] = {}
    try:
        for value, (stem, enc) in targets.items():
            sinks[value] = _Sink(raw_dir / f"{stem}{ext}", file_format, enc, schema)
        for off in range(0, table.num_rows, _ROW_GROUP):
            part = _plain(table.slice(off, _ROW_GROUP))
            if key is None:
                sinks[""].write(part)
                continue
            values = part.column(key)
            if key_chars is not None:
                values = pc.utf8_slice_codeunits(values, 0, key_chars)
            for value in sorted(pc.unique(values).to_pylist()):
                if value not in sinks:
                    if key_chars is None:
                        raise ValueError(f"{key} value {value!r} has no export file")
                    name = f"orders_{value}{ext}"
                    sinks[value] = _Sink(raw_dir / name, file_format, "utf-8-sig", schema)
                sinks[value].write(part.filter(pc.equal(values, value)))
        return [sinks[value].close() for value in sorted(sinks, key=_file_order(targets))]
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise


def _file_order(targets: dict[str, tuple[str, str]]) -> Callable[[str], tuple[int, str]]:
    order = {value: i for i, value in enumerate(targets)}
    return lambda value: (order.get(value, len(order)), value)


def _atomic(path: Path, write: Callable[[io.BufferedWriter], object]) -> None:
    """Write ``path`` through a temporary file in its folder, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
