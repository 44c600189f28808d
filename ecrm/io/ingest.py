"""Ingestion: raw exports → the canonical orders table (SPEC §1) as Parquet.

``ingest(settings)`` reads every raw export a shop's settings name, maps their
columns, validates them declaratively (a pandera schema, checked lazily so one
error lists every problem with file, row and column), applies the documented
repairs, runs every check — the order totals included — and only then replaces
the shop's canonical set (``canonical/orders.parquet``,
``canonical/order_totals.parquet``, ``canonical/customers.parquet``,
``canonical/quality.json``) as one set (:func:`ecrm.io.canonical.replace_set`):
a reader sees the old set or the new one, whole. Raw files are opened read-only
and never modified.

Rules and documented repairs (each counted in the data-quality summary):

* **Sources inside the shop folder.** Every file read (orders, product master,
  customers) must resolve inside ``data/<shop>/``: a symbolic link, ``../`` or
  an absolute path leading elsewhere is a settings error unless
  ``allow_external_sources: true``. A missing-column message lists the file's
  header names only, at most 30 of at most 40 characters, and only for a file
  with two or more columns (:func:`ecrm.io.schema.header_list`).
* **Encodings.** CSV files are UTF-8, UTF-8 with BOM, UTF-16 with BOM or
  Shift_JIS; ``auto`` detects which (a UTF-8 BOM means UTF-8-SIG, a UTF-16 BOM
  UTF-16; bytes that decode as UTF-8 are UTF-8; otherwise CP932, the Windows
  superset of Shift_JIS that Japanese cart exports use). ``shift_jis`` in the
  settings is read as CP932 for the same reason. A file that is none of them
  (Latin-1, UTF-16 without a BOM, anything else with a NUL byte) is an error.
* **Rows** are numbered as a spreadsheet shows them: the header is row 1, the
  first data line row 2 (Parquet: the first record is row 1); ``skip_rows``
  title rows above the header shift both (:mod:`ecrm.io.read`).
* **Normalisation.** Identifiers (order_id, customer_id, product_id), codes
  (channel, status), dates and numbers are Unicode NFKC (全角 ``１７８５０`` is
  ``17850``), trimmed. In every text column the null markers ``NaN``, ``nan``,
  ``NULL``, ``null``, ``None``, ``#N/A``, ``N/A`` and ``-`` (any case) are
  missing, like an empty cell; an order_id that is one is an error.
* **Timestamps** without an offset are wall-clock times in the shop's time zone;
  timestamps with an offset (``+09:00``, ``Z``) are converted to it. The canonical
  ``ordered_at`` is naive shop-local time. ISO dates, ``YYYY/MM/DD`` and
  ``YYYY年MM月DD日`` forms are accepted. Every line needs one. Dates before the
  shop's ``min_order_date`` (default 2000-01-01: a 1900-01-01 or 0001-01-01 is
  an empty date cell a spreadsheet filled in) and after the ingest date are errors.
* **Amounts** may carry thousands separators, ``¥``/``￥``/``円`` (and ``\\``, the
  yen sign of Shift_JIS read as CP932) and ``▲``/``△`` as a minus sign (Japanese
  accounting exports); they are stored as exact decimals ``decimal(18, 4)``. Every
  line needs one. The decimal separator is the source's ``decimal`` (default
  ``.``); a number ambiguous under it (``2,55`` or ``1.234,56`` with ``.``: a
  ``,`` must separate groups of exactly three digits, as in ``1,234,567.89``) is
  an error naming the value (:mod:`ecrm.io.schema` gives the exact rule). An
  Excel file's numbers carry no separator, so ``decimal: ","`` on an Excel
  source is an error. A number with more than four decimal places or in exponent
  form — a float written out by a spreadsheet or an export, such as
  ``4.440892e-16`` for zero — is rounded half-even to four decimals and counted
  (``amounts_rounded``); text that is no number is an error. When the settings map
  ``unit_price`` and not ``amount``, ``amount = quantity × unit_price`` and every
  line needs a quantity. An order whose lines add up beyond
  ±99,999,999,999,999.9999, or exports whose amounts add up beyond it in
  absolute value, are errors (no total could be stored exactly).
* **Signs of quantity and amount.** A line with a negative quantity and a
  positive amount is an error (a return must lower revenue: its amount is
  negative). A positive quantity with a negative amount is a discount, coupon
  or adjustment line, kept and counted (``negative_amount_positive_quantity``).
  Returns written as negative quantities with negative amounts (or, with
  ``unit_price``, negative quantities) are returns.
* **Exact duplicates**: lines equal in every mapped column are dropped and counted
  (within a file and across files).
* **Re-exports**: when an order_id appears in more than one source file, the
  order is taken whole from the last file in the sources' order (globs sorted by
  name); its lines in earlier files are dropped (``replaced_by_later_export``)
  and the order counted (``orders_replaced``). Lines are never added up across
  files. An order whose earlier lines all reappear unchanged in the later file
  is an exact duplicate, not a replacement. Applied before excluded statuses, so
  an order re-exported as cancelled is dropped.
* **Excluded statuses** (``exclude_statuses``, compared case-insensitively) are
  dropped and counted per status, as the settings spell it.
* **Guests**: an empty customer_id, a null marker or one of the shop's
  ``guest_ids`` is a guest line; it is kept (revenue KPIs) and counted
  (``guest_markers`` by value); customer analyses leave it out. ``0`` is a
  customer id unless ``guest_ids`` lists it (EC-CUBE and other carts write
  ``0`` for a 非会員 guest order): the summary counts such lines
  (``customer_id_zero_lines``) so that a consultant can decide.
* **Email customer ids**: a customer_id that is an email address is replaced by
  a keyed hash (:func:`ecrm.io.masters.hash_customer_ids`, the shop's key in
  ``data/<shop>/.customer-id-key``), in the orders and in the customers table
  alike, and counted (``customer_ids_hashed``). No address reaches the
  canonical data.
* **Returns** are negative lines or separate orders with a negative net amount;
  they are kept as they are. The summary counts return lines: lines whose
  order_id matches ``return_order_pattern`` when set, else lines with a negative
  amount.
* **Customer ids** like ``17850.0`` (a spreadsheet turned an id into a float) lose
  the ``.0`` when ``strip_float_suffix`` is on (default).
* **Split order timestamps**: lines of one order whose times differ by at most
  one hour (an export that stamps each line) get the order's earliest time; a
  larger spread is an error (the order number was reused).
* **Conflicting duplicates** — lines of one order with different customer ids —
  are errors. So are unparseable dates, amounts or quantities and empty order ids.
* **Replacing good data**: a new set with no orders, or fewer than half the
  orders of the current canonical set, is an error naming both counts unless
  ``allow_shrink=True`` (``ecrm ingest --allow-shrink``). A current set that
  cannot be read (a damaged file) has nothing to protect and is replaced.
* **Shopify preset** (``preset: shopify``): order-level fields (customer, time,
  status, channel), which Shopify writes only on an order's first line, are filled
  down to its other lines; customer ids (emails) are hashed, so no address reaches
  the canonical data; voided, refunded, cancelled and test orders are excluded
  unless the settings give ``exclude_statuses``.
* **Product master**: attributes a line lacks are filled from the master by
  product_id; a master with two different rows for one product id is an error.
  Lines whose product_id the master lacks are counted.
* **Subscriptions (定期) and costs tables** (optional, :mod:`ecrm.io.d2c`): the
  orders' ``subscription_id`` is normalised like the ids; the subscriptions
  table (``canonical/subscriptions.parquet``) is checked on its own and against
  the orders that name its ids (two customers, deliveries before the start,
  ids the table lacks: errors); the costs table (``canonical/costs.parquet``)
  by month form, cost, duplicate (month, channel) rows and channels the orders
  lack. Each has a section of the summary.
* **Customers table** (optional): personal columns (email, name, phone, address,
  birth_date) are left out, except email when ``exports.include_email`` is true.
  Its customer ids are normalised and hashed as the orders' are. Without a
  ``customers`` entry, the new set has no customers table.
* **Line order** of ``orders.parquet``: by customer_id (guest lines last),
  ordered_at, order_id, then the raw files' order. No analysis depends on it
  (every rule breaks its own ties); it keeps each customer's lines together,
  which halves the time of DuckDB's group-bys by customer on large shops.

One :class:`~ecrm.errors.IngestError` lists every problem: those of every file,
the product master and the customers table, and the conflicts between the lines
of the files that parsed. A canonical set that cannot be written (a full disk, a
read-only folder) is a :class:`~ecrm.io.canonical.CanonicalWriteError` naming
the folder and what to do; the previous set is then unchanged.

The steps live in their own modules: :mod:`ecrm.io.read` (raw files, encodings),
:mod:`ecrm.io.presets` (cart-export column presets), :mod:`ecrm.io.schema` (the
pandera contract of a raw file and its value parser), :mod:`ecrm.io.masters`
(product master, customers table, customer ids), :mod:`ecrm.io.d2c` (the
subscriptions and costs tables), :mod:`ecrm.io.quality` (the
summary and the result) and :mod:`ecrm.io.canonical` (types, line order, the
one-set replacement). This module runs them in order; the names it re-exports
(``read_raw``, ``detect_encoding``, ``QualitySummary``…) stay importable from here.
"""

from __future__ import annotations

import glob
import hashlib
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa_arrow

from ecrm import paths
from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.canonical import (
    AMOUNT_TYPE,
    by_customer,
    canonical_schema,
    previous_orders,
    replace_set,
)
from ecrm.io.d2c import (
    check_deliveries,
    costs_summary,
    costs_table,
    mixed_subscriptions,
    read_costs,
    read_subscriptions,
    subscriptions_summary,
    subscriptions_table,
)
from ecrm.io.masters import (
    EMAIL,
    customer_id_key,
    hash_customer_ids,
    normalize_customer_ids,
    read_customers,
    read_product_master,
)
from ecrm.io.presets import PRESETS, column_mapping
from ecrm.io.quality import IngestResult, QualitySummary, decimal_sum, decimal_text
from ecrm.io.read import detect_encoding, file_sha256, read_raw
from ecrm.io.schema import (
    MESSAGES,
    RawParser,
    header_list,
    is_null_marker,
    normalize_text,
    raw_schema,
    strip_text,
)
from ecrm.settings import CANONICAL_COLUMNS, REQUIRED_COLUMNS, ShopSettings, load_settings

__all__ = [
    "AMOUNT_TYPE",
    "PRESETS",
    "IngestResult",
    "QualitySummary",
    "detect_encoding",
    "ingest",
    "read_raw",
]

_SPLIT_TOLERANCE = pd.Timedelta(hours=1)
#: Text columns compared as codes: NFKC like identifiers (names keep their form).
_CODES = ("product_id", "channel", "status", "subscription_id")
#: The largest magnitude decimal(18, 4) holds, plus one unit of the last place.
_MONEY_LIMIT = Decimal(10) ** 14


def _text(s: pd.Series, *, nfkc: bool) -> pd.Series:
    """A raw text column: NFKC (codes) or stripped (names), null markers as ``""``."""
    t = normalize_text(s) if nfkc else strip_text(s.astype("string"))
    return t.where(~is_null_marker(t), "")


def _load_file(
    path: Path,
    label: str,
    source: Any,
    settings: ShopSettings,
    today: date,
    problems: list[InputProblem],
) -> tuple[pd.DataFrame | None, dict[str, Any], dict[str, int]]:
    columns, preset = column_mapping(settings)
    # a preset's delimiter (Amazon's tab-separated reports) unless the source names one
    delimiter = source.delimiter
    if "delimiter" not in source.model_fields_set and "delimiter" in preset:
        delimiter = preset["delimiter"]
    raw, enc = read_raw(
        path,
        fmt=source.format,
        encoding=source.encoding,
        sheet=source.sheet,
        delimiter=delimiter,
        skip_rows=source.skip_rows,
        label=label,
    )
    info = {"file": label, "encoding": enc, "rows": len(raw), "sha256": file_sha256(path)}
    if source.decimal != "." and enc == "excel":
        problems.append(
            InputProblem(
                label,
                None,
                None,
                "`decimal: ','` is for text exports: an Excel file's numbers carry no "
                "separator; remove it from this source",
            )
        )
        return None, info, {}
    constants = {**preset.get("constants", {}), **settings.constants}
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    missing = [
        f"{canon} (raw column {col!r})" for canon, col in columns.items() if col not in raw.columns
    ]
    need = set(REQUIRED_COLUMNS) - set(columns) - set(constants)
    if "amount" in need and "unit_price" in columns:
        need.discard("amount")
        if "quantity" not in columns:
            missing.append("quantity (needed with unit_price)")
    missing += [f"{c} (not mapped in the settings' `columns`)" for c in sorted(need)]
    if missing:
        problems.append(
            InputProblem(
                label,
                None,
                None,
                "missing column(s): "
                + "; ".join(missing)
                + f". The file has: {header_list(raw.columns)}",
            )
        )
        return None, info, {}
    mapped = pd.DataFrame({canon: raw[col] for canon, col in columns.items()}, index=raw.index)
    for canon, value in constants.items():
        mapped[canon] = value
    for canon in preset.get("fill_order_fields", ()):
        if canon in mapped.columns:
            col = _text(mapped[canon], nfkc=canon != "ordered_at")
            order = normalize_text(mapped["order_id"])
            mapped[canon] = col.where(col != "").groupby(order).transform("first")
    parser = RawParser(
        settings.timezone, today, min_date=settings.min_order_date, decimal=source.decimal
    )
    schema = raw_schema(parser, set(mapped.columns))
    row_offset = 1 if info["encoding"] == "parquet" else 2
    from pandera.errors import SchemaErrors

    failed = False  # go on to the sign rule, so that one error lists both kinds of problem
    try:
        schema.validate(mapped, lazy=True)
    except SchemaErrors as e:
        failed = True
        fc = e.failure_cases
        for rec in fc.itertuples(index=False):
            canon = str(rec.column)
            idx = rec.index
            raw_col = columns.get(canon, canon)
            key = (canon, str(rec.check))
            msg = parser.messages.get(key) or MESSAGES.get(key, f"failed check {rec.check}")
            value = None
            if idx is not None and not pd.isna(idx):
                cell = mapped.at[int(idx), canon]
                value = None if pd.isna(cell) else str(cell)[:60]
            row = None if idx is None or pd.isna(idx) else int(idx) + row_offset
            problems.append(InputProblem(label, row, raw_col, msg, value))
    out = pd.DataFrame(index=mapped.index)
    out["order_id"] = normalize_text(mapped["order_id"])
    out["customer_id"], guests, repaired = normalize_customer_ids(mapped["customer_id"], settings)
    out["_repaired"] = repaired.to_numpy()
    out["ordered_at"] = parser.timestamps(mapped["ordered_at"])
    if "quantity" in mapped.columns:
        out["quantity"] = parser.quantities(mapped["quantity"])
    if "amount" in mapped.columns:
        out["amount"] = parser.decimals("amount", mapped["amount"])
    else:
        price = pa_arrow.array(parser.decimals("unit_price", mapped["unit_price"]))
        qty = pa_arrow.array(out["quantity"].fillna(0).astype("int64")).cast(
            pa_arrow.decimal128(19, 0)
        )
        import pyarrow.compute as pc

        prod = pc.multiply(price, qty)
        too_big = pc.fill_null(pc.greater_equal(pc.abs(prod), _MONEY_LIMIT), False)
        for i in pc.indices_nonzero(too_big).to_pylist()[:20]:
            problems.append(
                InputProblem(
                    label,
                    i + row_offset,
                    columns["unit_price"],
                    "quantity × unit price is beyond the largest amount ecrm stores "
                    "(±99,999,999,999,999.9999)",
                    str(mapped["unit_price"].iloc[i])[:60],
                )
            )
        if pc.any(too_big).as_py():
            return None, info, {}
        out["amount"] = pd.Series(
            prod.cast(AMOUNT_TYPE), index=mapped.index, dtype=pd.ArrowDtype(AMOUNT_TYPE)
        )
    if "quantity" in out.columns:
        wrong_sign = (out["quantity"] < 0).fillna(False) & (out["amount"] > 0).fillna(False)
        amount_col = columns.get("amount", columns.get("unit_price", "amount"))
        for idx in out.index[wrong_sign.to_numpy(dtype=bool)][:50]:
            problems.append(
                InputProblem(
                    label,
                    int(idx) + row_offset,
                    amount_col,
                    "a negative quantity with a positive amount: a return must have a negative "
                    f"amount (quantity {out.at[idx, 'quantity']})",
                    str(mapped.at[idx, "amount" if "amount" in mapped else "unit_price"])[:60],
                )
            )
        failed = failed or bool(wrong_sign.any())
    if failed:
        return None, info, {}
    for canon in CANONICAL_COLUMNS:
        if canon in mapped.columns and canon not in out.columns:
            out[canon] = _text(mapped[canon], nfkc=canon in _CODES)
    rounded = parser.parsed.get("amount_rounded", parser.parsed.get("unit_price_rounded"))
    out["_rounded"] = False if rounded is None else rounded.to_numpy()
    out["_file"] = label
    out["_row"] = mapped.index.to_numpy() + row_offset
    return out, info, guests


def _inside(path: Path, folder: Path) -> bool:
    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == root or root in real.parents


def _refuse_external(settings: ShopSettings, files: list[tuple[Path, str]]) -> None:
    """Raise SettingsError for files outside the shop folder (unless the shop allows them)."""
    if settings.allow_external_sources:
        return
    outside = [(p, label) for p, label in files if not _inside(p, settings.shop_dir)]
    if outside:
        real = [os.path.realpath(p) for p, _ in outside]
        listed = "; ".join(
            label if r == label else f"{label} (resolves to {r})"
            for (_, label), r in zip(outside, real, strict=True)
        )
        raise SettingsError(
            f"shop {settings.name!r}: source file(s) outside the shop folder "
            f"{settings.shop_dir}: {listed}. Copy the exports into the shop folder, or set "
            "`allow_external_sources: true` in its settings to read them where they are"
        )


def _expand(settings: ShopSettings) -> list[tuple[Path, str, Any]]:
    files: list[tuple[Path, str, Any]] = []
    for src in settings.sources:
        pattern = settings.resolve(src.path)
        # only the source path is a glob: a shop folder like "shop [old]" is taken as it is
        base = "" if Path(src.path).is_absolute() else glob.escape(str(settings.base_dir))
        matches = sorted(Path(p) for p in glob.glob(os.path.join(base, src.path)))
        if not matches:
            raise SettingsError(
                f"shop {settings.name!r}: source {src.path!r} matches no file "
                f"(looked for {pattern})"
            )
        for m in matches:
            try:
                label = str(m.relative_to(settings.base_dir))
            except ValueError:
                label = str(m)
            files.append((m, label, src))
    side = [
        (settings.resolve(t.path), t.path)
        for t in (
            settings.product_master,
            settings.customers,
            settings.subscriptions,
            settings.costs,
        )
        if t is not None
    ]
    _refuse_external(settings, [(p, label) for p, label, _ in files] + side)
    return files


def _rows(df: pd.DataFrame, mask: pd.Series, n: int = 3) -> str:
    sub = df.loc[mask, ["_file", "_row"]].head(n)
    return ", ".join(f"{f} row {r}" for f, r in sub.itertuples(index=False))


def _money_problems(df: pd.DataFrame, amount_col: str) -> list[InputProblem]:
    """Orders (or the whole exports) whose amounts add up beyond decimal(18, 4)."""
    import pyarrow.compute as pc

    wide = pa_arrow.array(df["amount"]).cast(pa_arrow.decimal128(38, 4))
    frame = pa_arrow.table({"order_id": pa_arrow.array(df["order_id"]), "amount": wide})
    sums = frame.group_by("order_id").aggregate([("amount", "sum")])
    big = sums.filter(pc.greater_equal(pc.abs(sums["amount_sum"]), _MONEY_LIMIT))
    found = []
    for oid, total in zip(
        big["order_id"].to_pylist()[:20], big["amount_sum"].to_pylist()[:20], strict=True
    ):
        m = df["order_id"] == oid
        found.append(
            InputProblem(
                str(df.loc[m, "_file"].iloc[0]),
                int(df.loc[m, "_row"].iloc[0]),
                amount_col,
                f"the lines of order {oid!r} add up to {total:,}, beyond the largest amount "
                f"ecrm stores (±99,999,999,999,999.9999; {_rows(df, m)})",
            )
        )
    if not found:
        gross = pc.sum(pc.abs(wide)).as_py() or Decimal(0)
        if gross >= _MONEY_LIMIT:
            found.append(
                InputProblem(
                    ", ".join(sorted(set(df["_file"]))),
                    None,
                    amount_col,
                    f"the amounts add up to {gross:,} in absolute value, beyond the largest "
                    "total ecrm stores (±99,999,999,999,999.9999): check the amount column's unit",
                )
            )
    return found


def _shrink_problem(settings: ShopSettings, before: int, after: int) -> InputProblem:
    sources = ", ".join(s.path for s in settings.sources)
    return InputProblem(
        sources,
        None,
        None,
        f"the exports hold {after:,} orders where the current canonical set holds "
        f"{before:,}: {'no orders' if after == 0 else 'fewer than half'}, so nothing was "
        "replaced (a truncated or header-only export?). If the shop really has fewer "
        f"orders now, run `ecrm ingest {settings.name} --allow-shrink`",
    )


def ingest(
    settings: ShopSettings | str | Path,
    *,
    today: date | None = None,
    quiet: bool = True,
    allow_shrink: bool = False,
) -> IngestResult:
    """Ingest a shop's raw exports into its canonical orders table.

    Parameters
    ----------
    settings : ShopSettings, str or Path
        The shop's settings, a settings file, or a shop folder.
    today : date, optional
        The ingest date in the shop's time zone; orders after it are errors.
        Default: today's date in the shop's time zone.
    quiet : bool, default True
        If False, print the data-quality summary.
    allow_shrink : bool, default False
        Replace the current canonical set even when the new one has no orders
        or fewer than half as many (``ecrm ingest --allow-shrink``).

    Returns
    -------
    IngestResult
        Paths written and the :class:`QualitySummary`.

    Raises
    ------
    IngestError
        Any input problem; ``.problems`` lists all of them. Nothing is written
        and the previous canonical set stays in place.
    SettingsError
        A source matches no file, resolves outside the shop folder, or the
        settings are invalid.
    CanonicalWriteError
        The new set could not be written (no space, no permission); the
        previous set stays in place.

    Examples
    --------
    >>> result = ingest("data/demo-apparel")  # doctest: +SKIP
    >>> print(result.summary.render())  # doctest: +SKIP
    """
    if not isinstance(settings, ShopSettings):
        settings = load_settings(settings)
    if today is None:
        today = datetime.now(ZoneInfo(settings.timezone)).date()
    columns, preset = column_mapping(settings)
    problems: list[InputProblem] = []
    frames: list[pd.DataFrame] = []
    infos: list[dict[str, Any]] = []
    guest_markers: dict[str, int] = {}
    for fileno, (path, label, src) in enumerate(_expand(settings)):
        try:
            frame, info, guests = _load_file(path, label, src, settings, today, problems)
        except IngestError as e:
            problems.extend(e.problems)
            continue
        infos.append(info)
        if frame is not None:
            frames.append(frame.assign(_fileno=fileno))
            for k, v in guests.items():
                guest_markers[k] = guest_markers.get(k, 0) + v
    orders_complete = not problems  # every orders file parsed
    master = read_product_master(settings, problems)
    customers = read_customers(settings, problems, hash_ids=bool(preset.get("hash_customer_id")))
    subs = read_subscriptions(
        settings, problems, today=today, hash_ids=bool(preset.get("hash_customer_id"))
    )
    if not frames:
        raise IngestError(problems, shop=settings.name)
    # With problems already found, go on with the files that parsed so that the
    # one error also lists the conflicts between their lines.

    df = pd.concat(frames, ignore_index=True)
    rows_read = len(df)
    amounts_rounded = int(df["_rounded"].sum())
    guest_read = int((df["customer_id"] == "").sum())
    if settings.return_order_pattern:
        returns_read = int(df["order_id"].str.contains(settings.return_order_pattern).sum())
    else:
        returns_read = int((df["amount"] < 0).sum())
    revenue_read = decimal_sum(df["amount"])

    # customer ids ----------------------------------------------------------------
    repaired = int(df["_repaired"].sum())
    zero_lines = int(df["customer_id"].str.fullmatch(r"0+").fillna(False).sum())
    hashed = df["customer_id"].str.fullmatch(EMAIL).fillna(False).astype(bool)
    if preset.get("hash_customer_id"):
        hashed = df["customer_id"] != ""
    n_hashed = int(hashed.sum())
    if n_hashed:
        key = customer_id_key(settings.shop_dir)
        df.loc[hashed, "customer_id"] = hash_customer_ids(df.loc[hashed, "customer_id"], key)

    # exact duplicates (the last copy kept: a re-exported order keeps its last file's lines)
    content = [c for c in df.columns if not c.startswith("_")]
    dup = df.duplicated(subset=content, keep="last")
    n_dup = int(dup.sum())
    df = df.loc[~dup]

    # re-exports: an order in several files is taken whole from the last ------------
    last_file = df.groupby("order_id", sort=False)["_fileno"].transform("max")
    earlier = df["_fileno"] < last_file
    n_replaced_lines = int(earlier.sum())
    n_replaced_orders = int(df.loc[earlier, "order_id"].nunique())
    df = df.loc[~earlier]

    # excluded statuses ----------------------------------------------------------
    dropped_statuses: dict[str, int] = {}
    excl = (
        preset.get("exclude_statuses")
        if "exclude_statuses" not in settings.model_fields_set
        else None
    )
    listed = excl or settings.exclude_statuses
    statuses = {normalize_text(pd.Series([s])).iloc[0].casefold(): s for s in listed}
    n_status = 0
    if "status" in df.columns and statuses:
        folded = df["status"].str.casefold()
        is_ex = folded.isin(list(statuses)).fillna(False).astype(bool)
        n_status = int(is_ex.sum())
        if n_status:
            # counted per status as the settings name it, whatever the case in the file
            dropped_statuses = {
                statuses[str(k)]: int(v)
                for k, v in folded[is_ex].value_counts().sort_index().items()
            }
        df = df.loc[~is_ex]

    # conflicts within an order ----------------------------------------------------
    by_order = df.groupby("order_id", sort=False)
    n_cust = by_order["customer_id"].nunique(dropna=False)
    bad = n_cust[n_cust > 1].index
    for oid in bad[:20]:
        m = df["order_id"] == oid
        problems.append(
            InputProblem(
                str(df.loc[m, "_file"].iloc[0]),
                int(df.loc[m, "_row"].iloc[0]),
                columns.get("customer_id", "customer_id"),
                f"conflicting duplicate: lines of order {oid!r} name different customers "
                f"({', '.join(map(repr, sorted(df.loc[m, 'customer_id'].unique())))}; "
                f"{_rows(df, m)})",
            )
        )
    t_min = by_order["ordered_at"].transform("min")
    t_max = by_order["ordered_at"].transform("max")
    spread = t_max - t_min
    too_far = spread > _SPLIT_TOLERANCE
    for oid in df.loc[too_far, "order_id"].unique()[:20]:
        m = df["order_id"] == oid
        problems.append(
            InputProblem(
                str(df.loc[m, "_file"].iloc[0]),
                int(df.loc[m, "_row"].iloc[0]),
                columns.get("ordered_at", "ordered_at"),
                f"conflicting duplicate: lines of order {oid!r} have times more than an hour "
                f"apart ({df.loc[m, 'ordered_at'].min()} … {df.loc[m, 'ordered_at'].max()}; "
                f"{_rows(df, m)})",
            )
        )
    problems += _money_problems(df, columns.get("amount", columns.get("unit_price", "amount")))
    # channels are checked against complete orders only (a failed file may hold one)
    costs = read_costs(
        settings,
        problems,
        today=today,
        channels=df.get("channel"),
        check_channels=orders_complete,
    )
    if "subscription_id" in df.columns:
        problems += mixed_subscriptions(df, columns)
    if subs is not None and "subscription_id" not in df.columns:
        problems.append(
            InputProblem(
                subs.attrs["file"],
                None,
                None,
                "a subscriptions table needs the orders column subscription_id (the "
                "subscription each delivery belongs to): map it in the settings' `columns`",
            )
        )
    elif subs is not None:
        problems += check_deliveries(
            subs,
            df,
            table_file=subs.attrs["file"],
            columns=columns,
            table_columns=subs.attrs["columns"],
        )
    if problems:
        raise IngestError(problems, shop=settings.name)
    split = spread > pd.Timedelta(0)
    n_split = int(df.loc[split, "order_id"].nunique())
    df = df.assign(ordered_at=t_min)

    # product master -------------------------------------------------------------
    n_unmatched: int | None = None
    if master is not None:
        if "product_id" not in df.columns:
            raise SettingsError(
                f"shop {settings.name!r}: a product master needs product_id mapped in `columns`"
            )
        merged = df[["product_id"]].merge(master, on="product_id", how="left", indicator=True)
        merged.index = df.index
        n_unmatched = int((merged["_merge"] == "left_only").sum())
        for canon in master.columns.drop("product_id"):
            if canon in df.columns:
                have = df[canon].replace("", pd.NA)
                df[canon] = have.fillna(merged[canon])
            else:
                df[canon] = merged[canon]

    # canonical table ---------------------------------------------------------------
    canon_cols = [c for c in CANONICAL_COLUMNS if c in df.columns]
    out = df[canon_cols].copy()
    for c in canon_cols:
        if c not in ("ordered_at", "amount", "quantity"):
            out[c] = out[c].replace("", pd.NA).astype("string")
    out = out.reset_index(drop=True)
    schema = canonical_schema(canon_cols)
    table = by_customer(pa_arrow.Table.from_pandas(out, preserve_index=False).cast(schema))

    # replacing good data -----------------------------------------------------------
    n_orders = int(out["order_id"].nunique())
    before, readable = previous_orders(settings.shop_dir)
    if readable and before > 0 and n_orders * 2 < before and not allow_shrink:
        raise IngestError([_shrink_problem(settings, before, n_orders)], shop=settings.name)

    # summary ------------------------------------------------------------------------
    is_guest = out["customer_id"].isna()
    revenue = decimal_sum(out["amount"])
    guest_rev = decimal_sum(out.loc[is_guest, "amount"])
    if settings.return_order_pattern:
        is_return = out["order_id"].str.contains(settings.return_order_pattern, regex=True)
    else:
        is_return = out["amount"] < 0
    discount = (
        ((out["amount"] < 0) & (out["quantity"] > 0)).fillna(False)
        if "quantity" in out.columns
        else pd.Series(False, index=out.index)
    )
    summary = QualitySummary(
        shop=settings.name,
        ingest_date=today.isoformat(),
        timezone=settings.timezone,
        currency=settings.currency,
        files=[{k: v for k, v in i.items()} for i in infos],
        rows_read=rows_read,
        rows_kept=len(out),
        dropped={
            "exact_duplicate": n_dup,
            "excluded_status": n_status,
            "replaced_by_later_export": n_replaced_lines,
        },
        dropped_statuses=dropped_statuses,
        guest_rows_read=guest_read,
        guest_rows_kept=int(is_guest.sum()),
        guest_revenue_share=float(guest_rev / revenue) if revenue else 0.0,
        return_lines=int(is_return.fillna(False).sum()),
        return_lines_read=returns_read,
        customer_ids_repaired=repaired,
        orders_with_split_timestamps=n_split,
        lines_without_product_master=n_unmatched,
        date_from=str(out["ordered_at"].min().date()) if len(out) else None,
        date_to=str(out["ordered_at"].max().date()) if len(out) else None,
        customers=int(out["customer_id"].nunique()),
        orders=n_orders,
        revenue=decimal_text(revenue),
        revenue_read=decimal_text(revenue_read),
        fingerprint=hashlib.sha256(
            "".join(sorted(i["sha256"] for i in infos)).encode()
        ).hexdigest()[:16],
        columns=canon_cols,
        amounts_rounded=amounts_rounded,
        orders_replaced=n_replaced_orders,
        guest_markers=dict(sorted(guest_markers.items())),
        customer_id_zero_lines=zero_lines,
        customer_ids_hashed=n_hashed,
        negative_amount_positive_quantity=int(discount.sum()),
        previous_orders=before if readable else None,
        subscriptions=None if subs is None else subscriptions_summary(subs, df, today),
        costs=None if costs is None else costs_summary(costs),
    )

    tables = {paths.orders_path(settings.shop_dir).name: table}
    if customers is not None:
        tables[paths.customers_path(settings.shop_dir).name] = customers
    if subs is not None:
        tables[paths.subscriptions_path(settings.shop_dir).name] = subscriptions_table(subs)
    if costs is not None:
        tables[paths.costs_path(settings.shop_dir).name] = costs_table(costs)
    replace_set(settings.shop_dir, tables, summary, shop=settings.name)
    if not quiet:
        print(summary.render())
    return IngestResult(
        orders_path=paths.orders_path(settings.shop_dir),
        quality_path=paths.quality_path(settings.shop_dir),
        customers_path=paths.customers_path(settings.shop_dir) if customers is not None else None,
        summary=summary,
        subscriptions_path=paths.subscriptions_path(settings.shop_dir)
        if subs is not None
        else None,
        costs_path=paths.costs_path(settings.shop_dir) if costs is not None else None,
    )
