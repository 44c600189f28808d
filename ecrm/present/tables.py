"""Tables a client reads: an analysis frame as an HTML table and as a CSV for people.

An analysis returns a frame of stable codes (columns such as ``f2_rate``, values
such as ``champions``); this module decides how each column is shown, by a
**declared kind** rather than by guessing from the column's name:

* :data:`COLUMN_KINDS` names the kind of every column an analysis table shows
  (``money``, ``rate``, ``days``, ``count``, ``number``, ``code``, ``text``,
  ``bool``); :data:`TABLES` adds, per table name (the CSV name a notebook gives
  ``ctx.show``), the columns that are display artefacts (dropped on the page,
  kept in the CSV), the layout and the kinds that differ from the common ones.
  A column declared nowhere falls back on its dtype: integers are counts, other
  numbers two decimals, strings looked up in :mod:`ecrm.present.labels`.
* Headers are the column's label in the page's language
  (:mod:`ecrm.present.labels`); a money column carries the currency in its
  header (``売上 (円)``, ``revenue (¥)``, ``revenue (£)``) and its cells the
  amount to the currency's minor unit without a symbol.
* Values: rates in percent (``5.6%``), days as whole numbers, counts with
  thousands separators, booleans as ``✓`` / ``—``, codes as their labels, a
  missing value as ``—``. Number cells have ``class="num"`` (the style sheet
  right-aligns them), text stays left. Every text is escaped.
* **Wide tables** (more than :data:`MAX_COLUMNS` shown columns) are transposed
  when that makes them narrower (metrics as rows, e.g. clusters as columns),
  otherwise split into tables of at most :data:`MAX_COLUMNS` columns that each
  repeat the key column.
* **Long tables** (more than :data:`MAX_ROWS` rows) show their first rows and a
  link to the CSV (``tables/<name>.csv``) that holds every row.

:func:`csv_frame` is what ``ctx.save`` writes: every column, the headers in the
report's language (or the codes, with ``tables: {csv_headers: codes}``), numbers
unformatted but rounded: money to the currency's minor unit, rates to 4
decimals, days to 1, other numbers to 4.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from ecrm.present import format as fmt
from ecrm.present.labels import check_lang, label

__all__ = [
    "COLUMN_KINDS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "TABLES",
    "Kind",
    "TableSpec",
    "column_kind",
    "csv_frame",
    "format_table",
    "header",
]

Kind = Literal[
    "money", "amount", "rate", "days", "count", "number", "code", "text", "bool", "points", "change"
]

#: Tables with more shown columns than this are transposed or split.
MAX_COLUMNS = 10
#: Tables with more rows than this show their first rows and a link to the CSV.
MAX_ROWS = 15

_NUMERIC_KINDS = frozenset(
    {"money", "amount", "rate", "days", "count", "number", "points", "change"}
)

#: The kind of every column an analysis table shows (by its code).
COLUMN_KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        # money
        **dict.fromkeys(
            (
                "revenue",
                "monetary",
                "avg_monetary",
                "avg_revenue",
                "min_revenue",
                "max_revenue",
                "aov",
                "ltv",
                "expected_value",
                "expected_value_3m",
                "expected_value_6m",
                "expected_value_12m",
                "avg_expected_value",
                "expected_spend",
                "monetary_value",
                "revenue_per_customer",
                "revenue_per_customer_360",
                "cum_revenue_per_customer",
                "cost",
                "cac",
                "margin",
                "contribution",
                "before",
                "after",
                "mean_delivery_value",
                "subscriber_ltv",
            ),
            "money",
        ),
        # shares, rates, probabilities (0..1)
        **dict.fromkeys(
            (
                "share",
                "revenue_share",
                "cumulative_share",
                "cum_share",
                "share_of_from",
                "share_of_to",
                "expected_value_share",
                "retention",
                "f2_rate",
                "f2_rate_90",
                "f2_rate_360",
                "continuation_rate",
                "survival",
                "support",
                "confidence",
                "confidence_ab",
                "confidence_ba",
                "probability",
                "probability_alive",
                "avg_probability_alive",
                "hit_rate",
                "cancellation_rate",
                "cross_sell_rate",
                "repeat_rate",
                "lapse_rate",
            ),
            "rate",
        ),
        # days
        **dict.fromkeys(
            (
                "days",
                "recency_days",
                "tenure_days",
                "purchase_interval",
                "median_days_to_next",
                "horizon_days",
                "payback_day",
            ),
            "days",
        ),
        # counts
        **dict.fromkeys(
            (
                "customers",
                "size",
                "reached",
                "continued",
                "lapsed",
                "pending",
                "repeaters",
                "pairs",
                "customers_a",
                "customers_b",
                "customers_both",
                "customers_90",
                "customers_360",
                "cohort_size",
                "intervals",
                "hits",
                "top_n",
                "k",
                "cluster",
                "decile",
                "value_decile",
                "orders",
                "deliveries",
                "delivery_no",
                "cancelled",
                "cross_buyers",
                "r",
                "f",
                "m",
                "period",
            ),
            "count",
        ),
        # other numbers
        **dict.fromkeys(
            (
                "lift",
                "hhi",
                "silhouette",
                "frequency",
                "avg_purchases",
                "avg_expected_purchases",
                "expected_purchases",
                "expected_purchases_3m",
                "expected_purchases_6m",
                "expected_purchases_12m",
                "ltv_cac",
                "roas",
                "z",
            ),
            "number",
        ),
        # codes with a label
        **dict.fromkeys(
            (
                "segment",
                "from_segment",
                "to_segment",
                "level",
                "group",
                "method",
                "status",
                "spend_basis",
                "part",
                "factor",
            ),
            "code",
        ),
        # the shop's own values (categories, products, brands): shown as they are
        **dict.fromkeys(
            (
                "value",
                "value_a",
                "value_b",
                "from_value",
                "to_value",
                "top_category",
                "top_brand",
                "category",
                "taste",
                "brand",
                "channel",
                "product_name",
                "entry_product",
                "second_product",
                "product_a",
                "product_b",
                "segment_label",
                "action",
                "label",
                "month_end",
                "cutoff",
                "cohort",
            ),
            "text",
        ),
        "chosen": "bool",
        # the D2C page's tables
        **{f"ltv_{d}": "money" for d in (90, 180, 360)},
        **{f"{c}_{d}": "number" for c in ("ltv_cac", "roas") for d in (90, 180, 360)},
        "f2_rate_180": "rate",
        **dict.fromkeys(("subscriptions", "horizon"), "count"),
        **dict.fromkeys(("alpha", "beta"), "number"),
        # further columns of saved tables
        **dict.fromkeys(("from_total", "segment_customers"), "count"),
        "segment_revenue": "money",
        **dict.fromkeys(("customer_share", "relative_error"), "rate"),
        # the calibration's rows are purchases and money: plain numbers
        **dict.fromkeys(("predicted_total", "actual_total", "mae", "rmse"), "number"),
        **dict.fromkeys(("correlation", "sd"), "number"),
        "left_censored": "bool",
        "horizon_months": "count",
        "discount_rate_annual": "rate",
    }
)


def _kpi_kind(code: str, column: str) -> Kind:
    rates = {"repeat_rate", "f2_rate", "lapse_rate", "cross_sell_rate"}
    if column == "value":
        if code in rates:
            return "rate"
        if code in fmt.MONEY_KPIS:
            return "amount"  # a column of mixed kinds: the currency in the cell
        return "number" if code == "purchases_per_customer" else "count"
    return "points" if code in rates else "change"


def _driver_kind(factor: str, column: str) -> Kind:
    """Revenue change: a factor's before/after are customers, purchases or money."""
    if column == "contribution":
        return "money"
    if column not in ("before", "after"):
        return "text"
    if factor == "customers":
        return "count"
    return "number" if factor == "purchases_per_customer" else "amount"


_PARTS = {
    "new": ("新規", "new"),
    "repeat": ("リピート", "repeat"),
    "other": ("ゲスト等", "guests and others"),
    "total": ("合計", "total"),
}
_FACTORS = {
    "customers": ("顧客数", "customers"),
    "purchases_per_customer": ("購入頻度", "purchases per customer"),
    "aov": ("客単価", "AOV"),
    "revenue": ("売上", "revenue"),
}


@dataclass(frozen=True)
class TableSpec:
    """How one named table is shown, beyond :data:`COLUMN_KINDS`.

    Attributes
    ----------
    kinds : mapping
        Column kinds that differ from :data:`COLUMN_KINDS` in this table.
    drop : tuple of str
        Columns that are display artefacts: not shown (the CSV keeps them).
    transpose : bool, optional
        Force (True) or forbid (False) transposition; None decides by width.
    key : str or tuple of str, optional
        The column naming each row (the column headers when transposed);
        default the first shown column. Several columns (a month and a
        channel) name a row together: a split table repeats all of them.
    values : mapping
        Per-column value labels ``{column: {value: (ja, en)}}`` where a code
        means something else than in :data:`~ecrm.present.labels.LABELS`.
    row_kinds : (column, function), optional
        Kinds that vary by row: ``function(code in column, other column)``.
    headers : mapping
        Headers ``{column: (ja, en)}`` where a code means something else here.
    constants : tuple of str
        Columns that hold one value for the whole table (a horizon, a cut-off):
        when constant, stated once above the table instead of in every row.
    drop_pattern : str, optional
        A regular expression: matching columns are not shown either.
    """

    kinds: Mapping[str, Kind] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    transpose: bool | None = None
    key: str | tuple[str, ...] | None = None
    values: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    row_kinds: tuple[str, Callable[[str, str], Kind]] | None = None
    headers: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    constants: tuple[str, ...] = ()
    drop_pattern: str | None = None


_GROUPS = {
    "all": ("全顧客", "all customers"),
    "one_purchase": ("購入1回の顧客", "one-purchase customers"),
    "repeat_buyers": ("購入2回以上の顧客", "customers with 2+ purchases"),
}

#: Per-table display rules (by the table's CSV name).
TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {
        "kpi_summary": TableSpec(drop=("kpi",), row_kinds=("kpi", _kpi_kind)),
        "purchase_ladder": TableSpec(drop=("n",), kinds={"continued": "count"}),
        "cluster_profile": TableSpec(
            transpose=True,
            key="cluster",
            drop_pattern=r"^cat_.+_median$",  # mostly 0: a customer buys few categories
        ),
        "cluster_silhouette": TableSpec(kinds={"silhouette": "number"}),
        "ctb_first_purchase": TableSpec(
            constants=("horizon_days",),
            headers={
                "value": ("初回購入", "first purchase"),
                "ltv": ("LTV", "LTV"),  # within the horizon stated above the table
            },
        ),
        "lifecycle_latest": TableSpec(constants=("month_end",)),
        "ctb_cross_purchase": TableSpec(constants=("level",)),
        "ctb_recommendation_check": TableSpec(
            constants=("level", "cutoff", "horizon_days", "top_n"),
            headers={"method": ("推奨方法", "method")},
            values={
                "group": _GROUPS,
                "method": {
                    "model": ("推奨モデル", "model"),
                    "popularity": ("人気順（比較基準）", "popularity baseline"),
                },
            },
        ),
        **{
            f"{kind}_campaign_summary": TableSpec(drop=("segment",))
            for kind in ("rfm", "cpm", "lifecycle")
        },
        "decile_migration": TableSpec(kinds={"from_decile": "text", "to_decile": "text"}),
        "subscription_continuation": TableSpec(
            drop=("n",), headers={"label": ("配送回数", "deliveries")}
        ),
        "subscription_projection": TableSpec(constants=("horizon",)),
        "revenue_change": TableSpec(
            drop=("method",),
            constants=("month", "base_month"),
            kinds={"before": "number", "after": "number"},
            row_kinds=("factor", _driver_kind),
            values={"part": _PARTS, "factor": _FACTORS},
        ),
        # the page shows 90 and 360 days; the CSV keeps 180 too
        "channel_acquisition_summary": TableSpec(
            drop_pattern=r"^(ltv|f2_rate|ltv_cac|roas)_180$", key=("month", "channel")
        ),
        # the rate is stated in the sentence under the table; the CSV keeps it
        "predicted_value_horizons": TableSpec(drop=("discount_rate_annual",)),
        "predicted_value_tracking": TableSpec(
            headers={
                "week": ("週", "week"),
                "start": ("週の始まり", "week start"),
                "end": ("週の終わり", "week end"),
                "days": ("カットオフからの日数", "days since the cut-off"),
            },
            kinds={"predicted": "number", "predicted_cumulative": "number"},
        ),
        "subscription_cohort_retention": TableSpec(
            kinds={
                "months_since_start": "count",
                "started": "count",
                "active": "count",
                "left_censored": "bool",
            }
        ),
        # the d2c page shows product names; the CSV keeps the ids too
        "d2c_product_conversion": TableSpec(drop=("entry_product", "second_product")),
        "d2c_product_pairs": TableSpec(drop=("product_a", "product_b")),
        "subscription_cohort_retention_by_channel": TableSpec(
            kinds={"months_since_start": "count", "started": "count", "active": "count"}
        ),
        "subscription_cohort_retention_by_product_id": TableSpec(
            kinds={"months_since_start": "count", "started": "count", "active": "count"}
        ),
        "subscription_projection_check": TableSpec(
            kinds={"projected": "rate", "observed": "rate", "error": "points"}
        ),
    }
)

#: A number already spelt as text (a summary table of mixed kinds): right-aligned too.
_SPELT_NUMBER = re.compile(r"^[-+]?[¥£$€]?\d[\d,]*(\.\d+)?(%|pt| [A-Z]{3})?$")

_STAT_SUFFIX = {"_mean": ("（平均）", ", mean"), "_median": ("（中央値）", ", median")}


def _split_stat(col: str) -> tuple[str, str | None]:
    for suffix in _STAT_SUFFIX:
        if col.endswith(suffix):
            return col[: -len(suffix)], suffix
    return col, None


def column_kind(col: str, s: pd.Series | None = None, spec: TableSpec | None = None) -> Kind:
    """The declared kind of column ``col`` (falling back on the dtype of ``s``).

    A cluster profile's ``<feature>_mean`` / ``_median`` has its feature's kind,
    ``cat_<category>_…`` (a share of the customer's spend) is a rate.
    """
    spec = spec or TableSpec()
    if col in spec.kinds:
        return spec.kinds[col]
    if col in COLUMN_KINDS:
        return COLUMN_KINDS[col]
    base, stat = _split_stat(col)
    if stat and base.startswith("cat_"):
        return "rate"
    if stat and base in COLUMN_KINDS:
        kind = COLUMN_KINDS[base]
        return "number" if kind == "count" else kind
    if s is None:
        return "text"
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "count"
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    return "code"


def currency_unit(currency: str, lang: str = "ja") -> str:
    """The unit a money header carries: 円 on Japanese pages for JPY, else the symbol or code."""
    code = currency.upper()
    if code == "JPY" and lang == "ja":
        return "円"
    return fmt.SYMBOLS.get(code, code)


def header(col: str, kind: Kind, *, lang: str = "ja", currency: str = "JPY") -> str:
    """A column's header in ``lang``; money headers carry the currency: ``売上 (円)``."""
    base, stat = _split_stat(col)
    if stat and col not in COLUMN_KINDS:
        if base.startswith("cat_"):
            name = base[len("cat_") :]
            if name == "other":
                text = "その他カテゴリ比率" if lang == "ja" else "other categories' share"
            else:
                text = f"{name}比率" if lang == "ja" else f"share of {name}"
        else:
            text = label(base, lang)
        text += _STAT_SUFFIX[stat][0 if lang == "ja" else 1]
    else:
        text = label(col, lang)
    if kind == "money":
        text += f" ({currency_unit(currency, lang)})"
    return text


def _cell(v: Any, kind: Kind, *, lang: str, currency: str, values: Mapping | None) -> str:
    if kind == "bool":
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return fmt.MISSING
        return "✓" if bool(v) else fmt.MISSING
    if kind in _NUMERIC_KINDS:
        if isinstance(v, str):
            return v
        if kind == "money":
            d = fmt.minor_unit(currency)
            return fmt.number(v, decimals=d)
        if kind == "amount":
            return fmt.money(v, currency)
        if kind == "rate":
            return fmt.rate(v)
        if kind == "days" or kind == "count":
            return fmt.count(v)
        if kind == "points":
            return fmt.points(v, lang=lang, short=True)
        if kind == "change":
            return fmt.rate(v, signed=True)
        return fmt.number(v)
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return fmt.MISSING
    if isinstance(v, bool | np.bool_):
        return "✓" if v else fmt.MISSING
    if isinstance(v, pd.Timestamp | np.datetime64):
        return str(pd.Timestamp(v).date())
    if isinstance(v, float | np.floating):
        return fmt.number(v)
    if isinstance(v, int | np.integer):
        return fmt.count(v)
    text = str(v)
    if values is not None and text in values:
        return values[text][0 if lang == "ja" else 1]
    if kind == "code" or text == "(unknown)":
        return label(text, lang)
    return text


@dataclass(frozen=True)
class _Shown:
    headers: list[str]
    cells: list[list[str]]
    numeric: list[list[bool]]


def _spec(name: str | None) -> TableSpec:
    return TABLES.get(name or "", TableSpec())


def _constant(df: pd.DataFrame, spec: TableSpec) -> list[str]:
    return [c for c in spec.constants if c in df.columns and len(df) and df[c].nunique() <= 1]


def _shown_columns(df: pd.DataFrame, spec: TableSpec, lang: str) -> list[str]:
    other_lang = "label_en" if lang == "ja" else "label_ja"
    drop = set(spec.drop) | {other_lang} | set(_constant(df, spec))
    pattern = re.compile(spec.drop_pattern) if spec.drop_pattern else None
    return [
        c
        for c in map(str, df.columns)
        if c not in drop and not (pattern is not None and pattern.match(c))
    ]


def _header(col: str, kind: Kind, spec: TableSpec, *, lang: str, currency: str) -> str:
    if col in spec.headers:
        text = spec.headers[col][0 if lang == "ja" else 1]
        return f"{text} ({currency_unit(currency, lang)})" if kind == "money" else text
    return header(col, kind, lang=lang, currency=currency)


def _conditions(df: pd.DataFrame, spec: TableSpec, *, lang: str, currency: str) -> str:
    """``集計単位: カテゴリ · 観測期間（日）: 180`` for the table's constant columns."""
    parts = []
    for c in _constant(df, spec):
        kind = column_kind(c, df[c], spec)
        v = _cell(df[c].iloc[0], kind, lang=lang, currency=currency, values=spec.values.get(c))
        parts.append(f"{_header(c, kind, spec, lang=lang, currency=currency)}: {v}")
    if not parts:
        return ""
    return f'<p class="ecrm-note ecrm-conditions">{escape(" · ".join(parts))}</p>'


def _display(df: pd.DataFrame, spec: TableSpec, *, lang: str, currency: str) -> _Shown:
    cols = _shown_columns(df, spec, lang)
    headers, cells, numeric = [], [], []
    row_col, row_fn = spec.row_kinds if spec.row_kinds else (None, None)
    for c in cols:
        s = df[c]
        kind = column_kind(c, s, spec)
        headers.append(_header(c, kind, spec, lang=lang, currency=currency))
        vals = spec.values.get(c)
        if row_fn is not None and row_col in df.columns and c != row_col:
            kinds = [row_fn(str(code), c) for code in df[row_col]]
        else:
            kinds = [kind] * len(df)
        col_cells = [
            _cell(v, k, lang=lang, currency=currency, values=vals)
            for v, k in zip(s.tolist(), kinds, strict=True)
        ]
        cells.append(col_cells)
        plain_numbers = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        numeric.append(
            [
                t != fmt.MISSING
                and (k in _NUMERIC_KINDS or plain_numbers or bool(_SPELT_NUMBER.match(t)))
                for k, t in zip(kinds, col_cells, strict=True)
            ]
        )
    return _Shown(headers, cells, numeric)


def _cluster_key(df: pd.DataFrame, lang: str) -> list[str] | None:
    col = "label_ja" if lang == "ja" else "label_en"
    if "cluster" not in df.columns or col not in df.columns:
        return None
    return [f"{c}: {n}" for c, n in zip(df["cluster"], df[col], strict=True)]


def _table_html(
    headers: list[str],
    rows: list[list[str]],
    numeric: list[list[bool]],
    classes: list[str],
    *,
    row_headers: bool = False,
) -> str:
    out = [f'<table class="{escape(" ".join(classes))}">', "<thead><tr>"]
    out += [f"<th>{escape(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row, nums in zip(rows, numeric, strict=True):
        out.append("<tr>")
        for j, (text, num) in enumerate(zip(row, nums, strict=True)):
            tag = "th" if row_headers and j == 0 else "td"
            attr = ' class="num"' if num else ""
            scope = ' scope="row"' if tag == "th" else ""
            out.append(f"<{tag}{attr}{scope}>{escape(text)}</{tag}>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def format_table(
    df: pd.DataFrame,
    *,
    lang: str = "ja",
    currency: str = "JPY",
    max_rows: int = MAX_ROWS,
    name: str | None = None,
    csv_href: str | None = None,
) -> str:
    """Render a table as HTML a client reads (see the module docstring for the rules).

    Parameters
    ----------
    df : DataFrame
        An analysis table of codes and numbers.
    lang : {"ja", "en"}
    currency : str
        The shop's ISO 4217 currency (money headers and decimals).
    max_rows : int, default :data:`MAX_ROWS`
        More rows than this show the first ``max_rows`` and a note or link.
    name : str, optional
        The table's name (its CSV name): picks its :data:`TABLES` rules and
        adds the class ``ecrm-table-<name>`` (for tests and style sheets).
    csv_href : str, optional
        Where the full CSV is (``tables/<name>.csv``): a long table links to it.

    Returns
    -------
    str
        ``<table class="ecrm-table …">`` elements (several when a wide table
        is split) and, for a long table, a ``<p class="ecrm-note">``.
    """
    from ecrm.settings import SLUG

    check_lang(lang)
    spec = _spec(name)
    classes = ["ecrm-table"] + ([f"ecrm-table-{name}"] if name and SLUG.match(name) else [])
    shown = _display(df, spec, lang=lang, currency=currency)
    ncols, nrows = len(shown.headers), len(df)
    transpose = spec.transpose if spec.transpose is not None else ncols > MAX_COLUMNS > nrows
    parts = [_conditions(df, spec, lang=lang, currency=currency)]
    if transpose and nrows:
        parts.append(_transposed(df, shown, spec, classes, lang=lang))
        return Markup("".join(parts))
    keep = min(nrows, max_rows)
    rows = [[col[i] for col in shown.cells] for i in range(keep)]
    nums = [[col[i] for col in shown.numeric] for i in range(keep)]
    if ncols > MAX_COLUMNS:
        shown_cols = _shown_columns(df, spec, lang)
        wanted = (spec.key,) if isinstance(spec.key, str) else (spec.key or ())
        keys = [shown_cols.index(k) for k in wanted if k in shown_cols] or [0]
        others = [j for j in range(ncols) if j not in keys]
        pieces = -(-len(others) // (MAX_COLUMNS - len(keys)))
        step = -(-len(others) // pieces)  # balanced: 10 columns split 5 + 5, not 9 + 1
        for start in range(0, len(others), step):
            idx = [*keys, *others[start : start + step]]
            parts.append(
                _table_html(
                    [shown.headers[j] for j in idx],
                    [[r[j] for j in idx] for r in rows],
                    [[n[j] for j in idx] for n in nums],
                    classes,
                )
            )
    else:
        parts.append(_table_html(shown.headers, rows, nums, classes))
    if nrows > max_rows:
        parts.append(_more_note(nrows, max_rows, lang=lang, href=csv_href))
    return Markup("".join(parts))


def _transposed(
    df: pd.DataFrame, shown: _Shown, spec: TableSpec, classes: list[str], *, lang: str
) -> str:
    key_col = (spec.key if isinstance(spec.key, str) else None) or _shown_columns(df, spec, lang)[0]
    names = _cluster_key(df, lang) if key_col == "cluster" else None
    if names is None:
        j = _shown_columns(df, spec, lang).index(key_col)
        names = shown.cells[j]
    label_cols = {"cluster", "label_ja", "label_en"}
    cols = _shown_columns(df, spec, lang)
    headers = ["", *names]
    rows, nums = [], []
    for j, c in enumerate(cols):
        if c == key_col or (names is not None and c in label_cols):
            continue
        rows.append([shown.headers[j], *shown.cells[j]])
        nums.append([False, *shown.numeric[j]])
    return _table_html(headers, rows, nums, [*classes, "ecrm-transposed"], row_headers=True)


def _more_note(nrows: int, shown: int, *, lang: str, href: str | None) -> str:
    more = fmt.count(nrows - shown)
    total = fmt.count(nrows)
    if href:
        text = f"全 {total} 行の CSV" if lang == "ja" else f"all {total} rows as CSV"
        lead = f"…他 {more} 行:" if lang == "ja" else f"… {more} more rows: "
        return f'<p class="ecrm-note">{escape(lead)}<a href="{escape(href)}">{escape(text)}</a></p>'
    text = (
        f"…他 {more} 行(全行は tables/ の CSV)"
        if lang == "ja"
        else f"… {more} more rows (all rows in the CSV under tables/)"
    )
    return f'<p class="ecrm-note">{escape(text)}</p>'


def csv_frame(
    df: pd.DataFrame,
    *,
    name: str | None = None,
    lang: str = "ja",
    currency: str = "JPY",
    headers: Literal["labels", "codes"] = "labels",
) -> pd.DataFrame:
    """The table as a CSV for people: every column, rounded numbers, labelled headers.

    Money is rounded to the currency's minor unit (JPY 0, USD/EUR/GBP 2), rates
    to 4 decimals, days to 1, other non-integer numbers to 4; integers, text and
    codes are unchanged (values stay codes, so the CSV joins with other data).
    With ``headers="labels"`` the header row is :func:`header` in ``lang``
    (a label shared by two columns gets the code in brackets so headers stay
    unique); ``"codes"`` keeps the column codes (for machine use).
    """
    check_lang(lang)
    spec = _spec(name)
    out = df.copy()
    decimals = {"money": fmt.minor_unit(currency), "rate": 4, "days": 1, "number": 4}
    decimals |= {"points": 4, "change": 4}
    names = []
    for c in map(str, df.columns):
        s = out[c]
        kind = column_kind(c, s, spec)
        if spec.row_kinds and c != spec.row_kinds[0]:
            kind = "number"
        if pd.api.types.is_float_dtype(s) and kind in decimals:
            out[c] = s.round(decimals[kind])
        names.append(_header(c, kind, spec, lang=lang, currency=currency))
    if headers == "labels":
        seen = pd.Series(names)
        dup = seen.duplicated(keep=False)
        out.columns = [
            f"{n} ({c})" if d else n
            for n, c, d in zip(names, map(str, df.columns), dup, strict=True)
        ]
    return out
