"""The D2C side tables of a shop: subscriptions (定期) and acquisition costs (SPEC §1).

Both are optional (``subscriptions:`` and ``costs:`` in the settings, each a
path, a ``columns`` mapping — default: same-named columns — a format and an
encoding), read with :func:`~ecrm.io.read.read_raw`, checked, and written by
:func:`~ecrm.io.ingest.ingest` into the canonical set as
``subscriptions.parquet`` and ``costs.parquet`` (one set: they flip with the
orders, and a shop whose settings no longer name one loses the old file with
the next ingestion). Every problem is an :class:`~ecrm.errors.InputProblem`
naming file, row, column and value; they join the ingestion's one
:class:`~ecrm.errors.IngestError`.

**Subscriptions table** (:func:`read_subscriptions`, :func:`check_deliveries`):
subscription_id, customer_id, started_at (required); cancelled_at (empty while
active), product_id, channel (optional).

* subscription_id, product_id and channel are normalised like the orders'
  identifiers and codes (NFKC, trimmed, null markers empty); customer_id exactly
  as the orders' (:func:`~ecrm.io.masters.normalize_customer_ids`, email ids
  hashed with the shop's key), so the two tables join.
* Dates are read like ``ordered_at`` (ISO, ``YYYY/MM/DD``, ``YYYY年MM月DD日``,
  offsets converted to the shop's zone); before ``min_order_date`` is an error,
  and so is a start after the ingest date. A **cancellation after the ingest
  date** is kept (a 定期 system records a cancellation at the end of the paid
  cycle ahead of time): the analyses treat the subscription as active until
  that day; the summary counts them (``cancellations_scheduled``).
* Errors: an empty subscription_id, customer_id or started_at; an unparseable
  date; ``cancelled_at`` before ``started_at`` (by day: cancelled on its start
  day is allowed); a subscription id on two rows that differ (rows equal in
  every mapped column are one subscription exported twice: dropped and counted,
  ``exact_duplicates``, as for order lines).
* In the orders, with or without a table: an order whose lines name two
  different subscription ids is an error (a delivery belongs to one
  subscription; lines without an id beside them, add-ons, are fine).
* Against the orders (kept lines, after duplicates, re-exports and excluded
  statuses): the orders of one subscription naming two customers; orders whose
  customer is not the table's; a delivery **before the start** (by day: an
  order on the start day is on time, since a 定期 system stamps the start with
  the first order); and orders naming a subscription_id the table lacks. The
  last is an **error**, not a repair: the subscription analyses start from the
  table, so those deliveries would silently leave every continuation figure
  (an older subscriptions export than the orders is the usual cause). Export
  the table again, or remove ``subscriptions:`` so that subscriptions are
  derived from the orders (SPEC §1). A subscription without any order is kept
  (started, nothing delivered yet) and counted (``without_deliveries``).

**Costs table** (:func:`read_costs`): month, channel, cost.

* **month** is accepted as ``2026-10``, ``2026/10``, ``2026.10``, ``2026年10月``
  (one- or two-digit month, 全角 digits normalised), or a date on the first day
  of the month (``2026-10-01``, and a spreadsheet date cell, which is what Excel
  makes of a typed ``2026-10``); it is stored as ``YYYY-MM``. Any other day of
  a month, a month after the ingest date's month (a budget, not spend) or
  before ``min_order_date``'s month is an error.
* **cost** is read with the shop's number rules (:mod:`ecrm.io.schema`: ``¥``,
  ``円``, thousands separators, the source's ``decimal``; ``2,55`` under ``.``
  is ambiguous) and stored as an exact decimal; empty, negative or no number
  is an error.
* **channel** is NFKC and trimmed like the orders' channel; an empty channel, a
  duplicate (month, channel) row (every row of it named) and a channel the
  kept orders do not have (named, with the orders' channels) are errors.

:func:`~ecrm.analysis.channels.check_costs` applies the same rules (without row
numbers of a file) to a costs DataFrame given directly to the analysis.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa_arrow

from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.canonical import AMOUNT_TYPE
from ecrm.io.masters import EMAIL, customer_id_key, hash_customer_ids, normalize_customer_ids
from ecrm.io.read import read_raw
from ecrm.io.schema import (
    RawParser,
    ambiguous_message,
    header_list,
    is_null_marker,
    normalize_text,
)
from ecrm.settings import COST_COLUMNS, SUBSCRIPTION_COLUMNS, ShopSettings

__all__ = [
    "SUBSCRIPTION_REQUIRED",
    "check_deliveries",
    "cost_months",
    "costs_summary",
    "costs_table",
    "mixed_subscriptions",
    "read_costs",
    "read_subscriptions",
    "subscriptions_summary",
    "subscriptions_table",
]

#: Columns every subscriptions table needs.
SUBSCRIPTION_REQUIRED: tuple[str, ...] = ("subscription_id", "customer_id", "started_at")
#: At most this many problems of one kind are listed (as for the orders' checks).
_LIMIT = 20
_MONTH = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?")
_MONTH_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]0{1,2}:00(?::00)?)?")


def _code(s: pd.Series) -> pd.Series:
    t = normalize_text(s)
    return t.where(~is_null_marker(t), "")


def _load(
    settings: ShopSettings,
    src: Any,
    known: tuple[str, ...],
    required: tuple[str, ...],
    what: str,
    problems: list[InputProblem],
) -> tuple[pd.DataFrame, dict[str, str], int] | None:
    """Read a side table and map its columns; None (a problem added) when it cannot be used."""
    path = settings.resolve(src.path)
    if not path.is_file():
        raise SettingsError(f"shop {settings.name!r}: {what} file {path} not found")
    try:
        raw, enc = read_raw(path, fmt=src.format, encoding=src.encoding, label=src.path)
    except IngestError as e:
        problems.extend(e.problems)
        return None
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    mapping = dict(src.columns) or {c: c for c in raw.columns if c in known}
    missing = [f"{c} (raw column {v!r})" for c, v in mapping.items() if v not in raw.columns]
    missing += [f"{c} (not mapped)" for c in required if c not in mapping]
    if missing:
        problems.append(
            InputProblem(
                src.path,
                None,
                None,
                f"{what}: missing column(s): {'; '.join(missing)}. "
                f"The file has: {header_list(raw.columns)}",
            )
        )
        return None
    mapped = pd.DataFrame({k: raw[v] for k, v in mapping.items()}, index=raw.index)
    return mapped, mapping, 1 if enc == "parquet" else 2


def _dates(
    col: pd.Series, settings: ShopSettings, today: date
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parsed naive shop-local timestamps, the mask of empty cells, the mask of bad text."""
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = RawParser(settings.timezone, today).timestamps(col)
        return parsed, parsed.isna(), pd.Series(False, index=col.index)
    text = _code(col)
    empty = text == ""
    parsed = RawParser(settings.timezone, today).timestamps(text.where(~empty, ""))
    return parsed, empty, parsed.isna() & ~empty


def _shown(s: Any) -> str | None:
    return None if s is None or (not isinstance(s, str) and pd.isna(s)) else str(s)[:60]


def read_subscriptions(
    settings: ShopSettings,
    problems: list[InputProblem],
    *,
    today: date,
    hash_ids: bool = False,
) -> pd.DataFrame | None:
    """Read and check the optional subscriptions table (see the module docstring).

    Parameters
    ----------
    settings : ShopSettings
        ``subscriptions`` (None: returns None), the time zone, ``min_order_date``,
        the customer-id rules.
    problems : list of InputProblem
        Every problem found is appended here.
    today : date
        The ingest date: a later start is an error.
    hash_ids : bool, default False
        Hash every customer id (a preset keyed by email), as in the orders.

    Returns
    -------
    DataFrame or None
        subscription_id, customer_id, started_at, cancelled_at (naive
        timestamps, NaT while active), product_id and channel when mapped, and
        ``_row`` (the file's row of each subscription); ``.attrs`` holds
        ``file``, ``rows_read``, ``exact_duplicates``, ``columns`` (the
        mapping) and ``ok`` (False when a row had a problem: the table is
        returned anyway so that the checks against the orders list their
        problems in the same error). None without a subscriptions entry, or
        when the file cannot be read or lacks columns.
    """
    src = settings.subscriptions
    if src is None:
        return None
    loaded = _load(
        settings, src, SUBSCRIPTION_COLUMNS, SUBSCRIPTION_REQUIRED, "subscriptions", problems
    )
    if loaded is None:
        return None
    mapped, mapping, offset = loaded
    label = src.path
    n_before = len(problems)
    rows = pd.Series(mapped.index.to_numpy() + offset, index=mapped.index)

    def add(mask: pd.Series, canon: str, message: str, values: pd.Series | None = None) -> None:
        vals = mapped[canon] if values is None else values
        for idx in mask[mask].index[:_LIMIT]:
            problems.append(
                InputProblem(label, int(rows[idx]), mapping[canon], message, _shown(vals[idx]))
            )

    out = pd.DataFrame(index=mapped.index)
    out["subscription_id"] = _code(mapped["subscription_id"])
    add(out["subscription_id"] == "", "subscription_id", "subscription_id is empty")
    ids, _, _ = normalize_customer_ids(mapped["customer_id"], settings)
    add(
        ids == "",
        "customer_id",
        "customer_id is empty (or a guest marker): a subscription needs a customer",
    )
    emails = ids.str.fullmatch(EMAIL).fillna(False).astype(bool) | (hash_ids & (ids != ""))
    if emails.any():
        ids = ids.where(~emails, hash_customer_ids(ids[emails], customer_id_key(settings.shop_dir)))
    out["customer_id"] = ids
    for canon in ("started_at", "cancelled_at"):
        if canon not in mapped.columns:
            out[canon] = pd.Series(pd.NaT, index=mapped.index, dtype="datetime64[us]")
            continue
        parsed, empty, bad = _dates(mapped[canon], settings, today)
        out[canon] = parsed
        add(bad, canon, "not a date (expected e.g. 2026-05-31)")
        early = parsed.notna() & (parsed < pd.Timestamp(settings.min_order_date))
        add(
            early,
            canon,
            f"date is before the shop's min_order_date ({settings.min_order_date.isoformat()})",
        )
        if canon == "started_at":
            add(empty, canon, "started_at is empty: a subscription needs its start date")
            late = parsed.notna() & (parsed >= pd.Timestamp(today) + pd.Timedelta(days=1))
            add(late, canon, "start date is after the ingest date")
    backwards = (
        (out["cancelled_at"].dt.normalize() < out["started_at"].dt.normalize())
        .fillna(False)
        .astype(bool)
    )
    for idx in backwards[backwards].index[:_LIMIT]:  # each row's start date in its message
        problems.append(
            InputProblem(
                label,
                int(rows[idx]),
                mapping["cancelled_at"],
                f"cancelled before it started (started_at {out.at[idx, 'started_at'].date()})",
                _shown(mapped.at[idx, "cancelled_at"]),
            )
        )
    for canon in ("product_id", "channel"):
        if canon in mapped.columns:
            out[canon] = _code(mapped[canon])
    out["_row"] = rows
    n_rows = len(out)
    content = [c for c in out.columns if c != "_row"]
    dup = out.duplicated(subset=content, keep="first")
    out = out.loc[~dup]
    clash = out.duplicated("subscription_id", keep=False) & (out["subscription_id"] != "")
    for sid in out.loc[clash, "subscription_id"].unique()[:_LIMIT]:
        at = out.loc[out["subscription_id"] == sid, "_row"].tolist()
        problems.append(
            InputProblem(
                label,
                int(at[1]),
                mapping["subscription_id"],
                f"subscription id listed twice with different values (rows "
                f"{', '.join(map(str, at[:5]))})",
                str(sid),
            )
        )
    out = out.reset_index(drop=True)
    out.attrs = {
        "file": label,
        "rows_read": n_rows,
        "exact_duplicates": int(dup.sum()),
        "columns": mapping,
        "ok": len(problems) == n_before,
    }
    return out


def mixed_subscriptions(lines: pd.DataFrame, columns: dict[str, str]) -> list[InputProblem]:
    """Orders whose lines name two different subscriptions (an error, with or without a table).

    A delivery is an order of one subscription (SPEC §1): the subscription analyses
    give each order to one subscription, so an order whose lines carry two ids
    would silently count for one of them only. Lines without a subscription_id
    beside a subscription's lines (an add-on bought with a delivery) are fine.

    Parameters
    ----------
    lines : DataFrame
        Order lines: order_id, subscription_id (``""`` for none), ``_file``, ``_row``.
    columns : dict
        The orders' canonical → raw column names.

    Returns
    -------
    list of InputProblem
        One per such order (at most 20), at its first line.
    """
    named = lines.loc[lines["subscription_id"].fillna("") != ""]
    n = named.groupby("order_id")["subscription_id"].nunique()
    found = []
    for oid in n[n > 1].index[:_LIMIT]:
        m = named[named["order_id"] == oid].sort_values(["_file", "_row"])
        ids = ", ".join(repr(x) for x in sorted(m["subscription_id"].unique()))
        found.append(
            InputProblem(
                str(m["_file"].iloc[0]),
                int(m["_row"].iloc[0]),
                columns.get("subscription_id", "subscription_id"),
                f"the lines of order {oid!r} name different subscriptions ({ids}); a delivery "
                "belongs to one subscription: export one order per subscription delivered",
                str(oid),
            )
        )
    return found


def check_deliveries(
    subs: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    table_file: str,
    columns: dict[str, str],
    table_columns: dict[str, str] | None = None,
) -> list[InputProblem]:
    """The problems between the subscriptions table and the orders that name its ids.

    Parameters
    ----------
    subs : DataFrame
        :func:`read_subscriptions`' table (subscription_id, customer_id,
        started_at, ``_row``).
    lines : DataFrame
        The kept order lines: order_id, customer_id, ordered_at,
        subscription_id (``""`` for none), ``_file`` and ``_row``.
    table_file : str
        The subscriptions file, for messages.
    columns : dict
        The orders' canonical → raw column names.
    table_columns : dict, optional
        The table's canonical → raw column names (default: canonical names).

    Returns
    -------
    list of InputProblem
        Orders of one subscription naming two customers, orders whose customer
        is not the table's, deliveries before the start day, and orders naming
        a subscription the table lacks (each kind at most 20, the first line of
        each order named).
    """
    tcols = table_columns or {}
    sub_col = columns.get("subscription_id", "subscription_id")
    cust_col = columns.get("customer_id", "customer_id")
    o = lines.loc[lines["subscription_id"].fillna("") != ""]
    o = o.sort_values(["_file", "_row"]).drop_duplicates("order_id")
    found: list[InputProblem] = []
    if o.empty:
        return found
    n_cust = o.groupby("subscription_id")["customer_id"].nunique(dropna=False)
    for sid in n_cust[n_cust > 1].index[:_LIMIT]:
        m = o[o["subscription_id"] == sid]
        names = ", ".join(repr(c) for c in sorted(m["customer_id"].fillna("").unique()))
        where = ", ".join(f"{f} row {r}" for f, r in m[["_file", "_row"]].head(3).to_numpy())
        found.append(
            InputProblem(
                str(m["_file"].iloc[0]),
                int(m["_row"].iloc[0]),
                cust_col,
                f"the orders of subscription {sid!r} name different customers ({names}; {where})",
                str(sid),
            )
        )
    j = o.merge(
        subs[["subscription_id", "customer_id", "started_at", "_row"]]
        .drop_duplicates("subscription_id")
        .rename(columns={"customer_id": "_table_customer", "_row": "_table_row"}),
        on="subscription_id",
        how="left",
        indicator=True,
    )
    absent = j[j["_merge"] == "left_only"]
    for sid, g in list(absent.groupby("subscription_id", sort=True))[:_LIMIT]:
        found.append(
            InputProblem(
                str(g["_file"].iloc[0]),
                int(g["_row"].iloc[0]),
                sub_col,
                f"subscription id not in the subscriptions table {table_file} ({len(g):,} "
                "order(s)); export the table again, or remove `subscriptions:` from the "
                "settings to derive subscriptions from the orders",
                str(sid),
            )
        )
    known = j[j["_merge"] == "both"]
    other = known[known["customer_id"].fillna("") != known["_table_customer"]]
    other = other[~other["subscription_id"].isin(n_cust[n_cust > 1].index)]
    for rec in other.drop_duplicates("subscription_id").head(_LIMIT).to_dict("records"):
        found.append(
            InputProblem(
                str(rec["_file"]),
                int(rec["_row"]),
                cust_col,
                f"subscription {rec['subscription_id']!r} belongs to customer "
                f"{rec['_table_customer']!r} in {table_file} (row {rec['_table_row']}), "
                "but this order names another customer",
                _shown(rec["customer_id"]),
            )
        )
    early = known[known["ordered_at"].dt.normalize() < known["started_at"].dt.normalize()]
    first_early = early.sort_values("ordered_at").drop_duplicates("subscription_id")
    for rec in first_early.head(_LIMIT).to_dict("records"):
        found.append(
            InputProblem(
                str(rec["_file"]),
                int(rec["_row"]),
                columns.get("ordered_at", "ordered_at"),
                f"delivery of subscription {rec['subscription_id']!r} before its start "
                f"({rec['started_at'].date()} in {table_file} row {rec['_table_row']}, "
                f"column {tcols.get('started_at', 'started_at')!r})",
                str(rec["ordered_at"]),
            )
        )
    return found


def subscriptions_summary(subs: pd.DataFrame, lines: pd.DataFrame, today: date) -> dict[str, Any]:
    """The quality-summary section of a checked subscriptions table.

    Returns
    -------
    dict
        file, rows_read, exact_duplicates, subscriptions, active (not cancelled
        on or before ``today``), cancelled, cancellations_scheduled (dated after
        ``today``), without_deliveries (no kept order names it), delivery_orders.
    """
    end = pd.Timestamp(today) + pd.Timedelta(days=1)
    cancelled = subs["cancelled_at"].notna() & (subs["cancelled_at"] < end)
    scheduled = subs["cancelled_at"].notna() & ~cancelled
    named = lines.loc[lines["subscription_id"].fillna("") != "", ["order_id", "subscription_id"]]
    return {
        "file": subs.attrs.get("file"),
        "rows_read": int(subs.attrs.get("rows_read", len(subs))),
        "exact_duplicates": int(subs.attrs.get("exact_duplicates", 0)),
        "subscriptions": len(subs),
        "active": int((~cancelled).sum()),
        "cancelled": int(cancelled.sum()),
        "cancellations_scheduled": int(scheduled.sum()),
        "without_deliveries": int((~subs["subscription_id"].isin(named["subscription_id"])).sum()),
        "delivery_orders": int(named["order_id"].nunique()),
    }


def cost_months(
    col: pd.Series, *, today: date, min_date: date
) -> tuple[pd.Series, pd.Series, dict[str, str]]:
    """Month cells as ``YYYY-MM`` (see the module docstring for the forms accepted).

    Parameters
    ----------
    col : Series
        The raw month column (text, or spreadsheet dates).
    today, min_date : date
        Months after ``today``'s month or before ``min_date``'s are refused.

    Returns
    -------
    (Series, Series, dict)
        The months (``""`` where refused), the mask of refused cells, and the
        message of each refused cell by index.

    Examples
    --------
    >>> m, bad, why = cost_months(
    ...     pd.Series(["2026-10", "2026/9", "２０２６年８月", "2026-07-01", "2026-07-15"]),
    ...     today=date(2026, 11, 30), min_date=date(2000, 1, 1))
    >>> m.tolist()
    ['2026-10', '2026-09', '2026-08', '2026-07', '']
    >>> why[4]
    'a date, not a month (write 2026-10, 2026/10 or 2026年10月; a date must be the 1st)'
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col
        year, month = ts.dt.year.astype("Int64"), ts.dt.month.astype("Int64")
        not_first = (ts.notna() & ((ts.dt.day != 1) | (ts.dt.normalize() != ts))).to_numpy()
        empty = ts.isna().to_numpy()
    else:
        text = _code(col)
        empty = (text == "").to_numpy()
        ym = text.str.extract(r"^" + _MONTH.pattern + r"$")
        ymd = text.str.extract(r"^" + _MONTH_DAY.pattern + r"$")
        year = pd.to_numeric(ym[0].fillna(ymd[0]), errors="coerce").astype("Int64")
        month = pd.to_numeric(ym[1].fillna(ymd[1]), errors="coerce").astype("Int64")
        day = pd.to_numeric(ymd[2], errors="coerce")
        not_first = (day.notna() & (day != 1)).to_numpy()
    bad_month = (year.isna() | month.isna() | ~month.between(1, 12).fillna(False)).to_numpy()
    key = (year.fillna(0) * 100 + month.fillna(0)).astype("int64").to_numpy()
    latest, earliest = today.year * 100 + today.month, min_date.year * 100 + min_date.month
    reason = np.select(
        [empty, not_first, bad_month, key > latest, key < earliest],
        [
            "month is empty",
            "a date, not a month (write 2026-10, 2026/10 or 2026年10月; a date must be the 1st)",
            "not a month (expected e.g. 2026-10, 2026/10 or 2026年10月)",
            "month is after the ingest date (a budget is not spend)",
            f"month is before the shop's min_order_date ({min_date.isoformat()})",
        ],
        "",
    )
    refused = pd.Series(reason != "", index=col.index)
    why = {i: str(r) for i, r in zip(col.index, reason, strict=True) if r}
    text_out = year.astype("string").str.zfill(4) + "-" + month.astype("string").str.zfill(2)
    return text_out.where(~refused, "").fillna(""), refused, why


def read_costs(
    settings: ShopSettings,
    problems: list[InputProblem],
    *,
    today: date,
    channels: pd.Series | None,
    check_channels: bool = True,
) -> pd.DataFrame | None:
    """Read and check the optional costs table (see the module docstring).

    Parameters
    ----------
    settings : ShopSettings
        ``costs`` (None: returns None) and ``min_order_date``.
    problems : list of InputProblem
        Every problem found is appended here.
    today : date
        The ingest date: later months are errors.
    channels : Series or None
        The kept orders' channel column (normalised), None when the orders
        have none: every cost row is then an error.
    check_channels : bool, default True
        False skips the channel check (the orders are incomplete: a file failed).

    Returns
    -------
    DataFrame or None
        month (``YYYY-MM``), channel, cost (exact decimals, ``decimal(18, 4)``),
        sorted by month and channel; ``.attrs`` holds ``file`` and ``rows_read``.
        None without a costs entry or when the table has problems.
    """
    src = settings.costs
    if src is None:
        return None
    loaded = _load(settings, src, COST_COLUMNS, COST_COLUMNS, "costs", problems)
    if loaded is None:
        return None
    mapped, mapping, offset = loaded
    label = src.path
    n_before = len(problems)
    rows = pd.Series(mapped.index.to_numpy() + offset, index=mapped.index)

    def add(idx: Any, canon: str, message: str) -> None:
        problems.append(
            InputProblem(
                label, int(rows[idx]), mapping[canon], message, _shown(mapped.at[idx, canon])
            )
        )

    month, _, why = cost_months(mapped["month"], today=today, min_date=settings.min_order_date)
    for idx in list(why)[:_LIMIT]:
        add(idx, "month", why[idx])
    channel = _code(mapped["channel"])
    for idx in channel.index[channel == ""][:_LIMIT]:
        add(idx, "channel", "channel is empty")
    parser = RawParser(settings.timezone, today, decimal=src.decimal)
    cost = parser.decimals("cost", mapped["cost"])
    ok, plain = parser.parsed["cost_ok"], parser.parsed["cost_unambiguous"]
    text = _code(mapped["cost"]) if not pd.api.types.is_numeric_dtype(mapped["cost"]) else None
    empty = cost.isna() & (text == "") if text is not None else cost.isna()
    neg = (cost < 0).fillna(False).astype(bool)
    reason = np.select(
        [empty.to_numpy(), ~plain.to_numpy(), (~ok | cost.isna()).to_numpy(), neg.to_numpy()],
        [
            "cost is empty (write 0 for a month without spend)",
            ambiguous_message(src.decimal),
            "not an amount (expected a number such as 12000 or ¥12,000)",
            "cost is negative (spend is ≥ 0)",
        ],
        "",
    )
    for idx in mapped.index[reason != ""][:_LIMIT]:
        add(idx, "cost", str(reason[mapped.index.get_loc(idx)]))
    out = pd.DataFrame({"month": month, "channel": channel, "cost": cost, "_row": rows})
    valid = (month != "") & (channel != "")
    dup = out.duplicated(["month", "channel"], keep=False) & valid
    for (m, c), g in list(out[dup].groupby(["month", "channel"], sort=True))[:_LIMIT]:
        problems.append(
            InputProblem(
                label,
                int(g["_row"].iloc[1]),
                mapping["channel"],
                f"duplicate (month, channel) row: {m} / {c} is on rows "
                f"{', '.join(map(str, g['_row'].tolist()[:5]))}",
                f"{m} / {c}",
            )
        )
    named = out.loc[channel != "", "channel"]
    if not check_channels:
        pass
    elif channels is None:
        if len(named):
            problems.append(
                InputProblem(
                    label,
                    None,
                    mapping["channel"],
                    "the costs table names channels but the orders have no channel column: "
                    "map `channel` in the settings' `columns`",
                )
            )
    else:
        have = set(channels.dropna().astype(str)) - {""}
        unknown = out[(channel != "") & ~channel.isin(have)]
        for c, g in list(unknown.groupby("channel", sort=True))[:_LIMIT]:
            problems.append(
                InputProblem(
                    label,
                    int(g["_row"].iloc[0]),
                    mapping["channel"],
                    f"channel not in the orders ({len(g):,} row(s)); the orders' channels are "
                    f"{sorted(have)[:20]}",
                    str(c),
                )
            )
    if len(problems) > n_before:
        return None
    out = out.drop(columns="_row").sort_values(["month", "channel"]).reset_index(drop=True)
    out.attrs = {"file": label, "rows_read": len(mapped)}
    return out


def costs_table(costs: pd.DataFrame) -> pa_arrow.Table:
    """The checked costs as the canonical Arrow table (month, channel, cost decimal)."""
    return pa_arrow.table(
        {
            "month": pa_arrow.array(costs["month"].astype(str), pa_arrow.string()),
            "channel": pa_arrow.array(costs["channel"].astype(str), pa_arrow.string()),
            "cost": pa_arrow.array(costs["cost"]).cast(AMOUNT_TYPE),
        }
    )


def subscriptions_table(subs: pd.DataFrame) -> pa_arrow.Table:
    """The checked subscriptions as the canonical Arrow table (no ``_row``; empty codes null)."""
    cols = [c for c in SUBSCRIPTION_COLUMNS if c in subs.columns]
    df = subs[cols].copy()
    for c in cols:
        if c not in ("started_at", "cancelled_at"):
            df[c] = df[c].replace("", pd.NA).astype("string")
    schema = pa_arrow.schema(
        [(c, pa_arrow.timestamp("us") if c.endswith("_at") else pa_arrow.string()) for c in cols]
    )
    table = pa_arrow.Table.from_pandas(df, preserve_index=False).cast(schema)
    return table.sort_by("subscription_id")


def costs_summary(costs: pd.DataFrame) -> dict[str, Any]:
    """The quality-summary section of a checked costs table: rows, months, channels, total."""
    from ecrm.io.quality import decimal_sum, decimal_text

    return {
        "file": costs.attrs.get("file"),
        "rows": len(costs),
        "months": int(costs["month"].nunique()),
        "month_from": str(costs["month"].min()) if len(costs) else None,
        "month_to": str(costs["month"].max()) if len(costs) else None,
        "channels": sorted(costs["channel"].unique().tolist()),
        "total": decimal_text(decimal_sum(costs["cost"])),
    }
