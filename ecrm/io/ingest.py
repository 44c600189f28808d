"""Ingestion: raw exports → the canonical orders table (SPEC §1) as Parquet.

``ingest(settings)`` reads every raw export a shop's settings name, maps their
columns, validates them declaratively (a pandera schema, checked lazily so one
error lists every problem with file, row and column), applies the documented
repairs, and writes ``canonical/orders.parquet`` plus ``canonical/quality.json``
(the data-quality summary) atomically, then ``canonical/order_totals.parquet``
(the orders grouped from the lines, which the analyses read instead of
grouping them again: :func:`ecrm.engine.write_order_totals`). Raw files are
opened read-only and never modified.

Rules and documented repairs (each counted in the data-quality summary):

* **Encodings.** CSV files are UTF-8, UTF-8 with BOM or Shift_JIS; ``auto``
  detects which (a BOM means UTF-8-SIG; bytes that decode as UTF-8 are UTF-8;
  otherwise CP932, the Windows superset of Shift_JIS that Japanese cart exports
  use). ``shift_jis`` in the settings is read as CP932 for the same reason. A file
  that is none of them (Latin-1, UTF-16, anything with a NUL byte) is an error.
* **Rows** are numbered as a spreadsheet shows them: the header is row 1, the
  first data line row 2 (Parquet: the first record is row 1).
* **Timestamps** without an offset are wall-clock times in the shop's time zone;
  timestamps with an offset (``+09:00``, ``Z``) are converted to it. The canonical
  ``ordered_at`` is naive shop-local time. ISO dates, ``YYYY/MM/DD`` and
  ``YYYY年MM月DD日`` forms are accepted. Every line needs one.
* **Amounts** may carry thousands separators, ``¥``/``￥``/``円`` (and ``\\``, the
  yen sign of Shift_JIS read as CP932) and ``▲``/``△`` as a minus sign (Japanese
  accounting exports); they are stored as exact decimals ``decimal(18, 4)``. Every
  line needs one. A number with more than four decimal places or in exponent
  form — a float written out by a spreadsheet or an export, such as
  ``4.440892e-16`` for zero — is rounded half-even to four decimals and counted
  (``amounts_rounded``); text that is no number is an error. When the settings map
  ``unit_price`` and not ``amount``, ``amount = quantity × unit_price`` and every
  line needs a quantity.
* **Exact duplicates**: lines equal in every mapped column are dropped and counted.
* **Excluded statuses** (``exclude_statuses``, compared case-insensitively) are
  dropped and counted per status, as the settings spell it.
* **Guests**: an empty customer_id is a guest line; it is kept (revenue KPIs) and
  counted; customer analyses leave it out.
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
  are errors. So are unparseable dates, amounts or quantities, empty order ids,
  and dates after the ingest date (in the shop's time zone).
* **Shopify preset** (``preset: shopify``): order-level fields (customer, time,
  status, channel), which Shopify writes only on an order's first line, are filled
  down to its other lines; customer ids (emails) are hashed, so no address reaches
  the canonical data; voided, refunded, cancelled and test orders are excluded
  unless the settings give ``exclude_statuses``.
* **Product master**: attributes a line lacks are filled from the master by
  product_id; a master with two different rows for one product id is an error.
  Lines whose product_id the master lacks are counted.
* **Customers table** (optional): personal columns (email, name, phone, address,
  birth_date) are left out, except email when ``exports.include_email`` is true.
  A preset that hashes customer ids (Shopify) hashes them here too. Without a
  ``customers`` entry, a customers table left by an earlier ingestion is removed.
* **Line order** of ``orders.parquet``: by customer_id (guest lines last),
  ordered_at, order_id, then the raw files' order. No analysis depends on it
  (every rule breaks its own ties); it keeps each customer's lines together,
  which halves the time of DuckDB's group-bys by customer on large shops.

One :class:`~ecrm.errors.IngestError` lists every problem: those of every file,
the product master and the customers table, and the conflicts between the lines
of the files that parsed.

The steps live in their own modules: :mod:`ecrm.io.read` (raw files, encodings),
:mod:`ecrm.io.presets` (cart-export column presets), :mod:`ecrm.io.schema` (the
pandera contract of a raw file and its value parser), :mod:`ecrm.io.masters`
(product master, customers table), :mod:`ecrm.io.quality` (the summary and the
result) and :mod:`ecrm.io.canonical` (types, line order, the atomic write). This
module runs them in order; the names it re-exports (``read_raw``,
``detect_encoding``, ``QualitySummary``…) stay importable from here.
"""

from __future__ import annotations

import glob
import hashlib
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa_arrow

from ecrm import paths
from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.canonical import AMOUNT_TYPE, by_customer, canonical_schema, write_canonical
from ecrm.io.masters import hash_customer_ids, read_customers, read_product_master
from ecrm.io.presets import PRESETS, column_mapping
from ecrm.io.quality import IngestResult, QualitySummary, decimal_sum, decimal_text
from ecrm.io.read import detect_encoding, file_sha256, read_raw
from ecrm.io.schema import MESSAGES, RawParser, raw_schema, strip_text
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


def _load_file(
    path: Path,
    label: str,
    source: Any,
    settings: ShopSettings,
    today: date,
    problems: list[InputProblem],
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    raw, enc = read_raw(
        path,
        fmt=source.format,
        encoding=source.encoding,
        sheet=source.sheet,
        delimiter=source.delimiter,
        label=label,
    )
    info = {"file": label, "encoding": enc, "rows": len(raw), "sha256": file_sha256(path)}
    columns, preset = column_mapping(settings)
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    missing = [
        f"{canon} (raw column {col!r})" for canon, col in columns.items() if col not in raw.columns
    ]
    need = set(REQUIRED_COLUMNS) - set(columns) - set(settings.constants)
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
                "missing column(s): " + "; ".join(missing) + f". The file has: {list(raw.columns)}",
            )
        )
        return None, info
    mapped = pd.DataFrame({canon: raw[col] for canon, col in columns.items()}, index=raw.index)
    for canon, value in settings.constants.items():
        mapped[canon] = value
    for canon in preset.get("fill_order_fields", ()):
        if canon in mapped.columns:
            col = strip_text(mapped[canon].astype("string"))
            mapped[canon] = col.where(col != "").groupby(mapped["order_id"]).transform("first")
    parser = RawParser(settings.timezone, today)
    schema = raw_schema(parser, set(mapped.columns))
    row_offset = 1 if info["encoding"] == "parquet" else 2
    from pandera.errors import SchemaErrors

    try:
        schema.validate(mapped, lazy=True)
    except SchemaErrors as e:
        fc = e.failure_cases
        for rec in fc.itertuples(index=False):
            canon = str(rec.column)
            idx = rec.index
            raw_col = columns.get(canon, canon)
            msg = MESSAGES.get((canon, str(rec.check)), f"failed check {rec.check}")
            value = None
            if idx is not None and not pd.isna(idx):
                cell = mapped.at[int(idx), canon]
                value = None if pd.isna(cell) else str(cell)[:60]
            row = None if idx is None or pd.isna(idx) else int(idx) + row_offset
            problems.append(InputProblem(label, row, raw_col, msg, value))
        return None, info
    out = pd.DataFrame(index=mapped.index)
    out["order_id"] = strip_text(mapped["order_id"].astype("string"))
    out["customer_id"] = strip_text(mapped["customer_id"].astype("string"))
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

        prod = pc.multiply(price, qty).cast(AMOUNT_TYPE)
        out["amount"] = pd.Series(prod, index=mapped.index, dtype=pd.ArrowDtype(AMOUNT_TYPE))
    for canon in CANONICAL_COLUMNS:
        if canon in mapped.columns and canon not in out.columns:
            out[canon] = strip_text(mapped[canon].astype("string"))
    rounded = parser.parsed.get("amount_rounded", parser.parsed.get("unit_price_rounded"))
    out["_rounded"] = False if rounded is None else rounded.to_numpy()
    out["_file"] = label
    out["_row"] = mapped.index.to_numpy() + row_offset
    return out, info


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
    return files


def _rows(df: pd.DataFrame, mask: pd.Series, n: int = 3) -> str:
    sub = df.loc[mask, ["_file", "_row"]].head(n)
    return ", ".join(f"{f} row {r}" for f, r in sub.itertuples(index=False))


def ingest(
    settings: ShopSettings | str | Path,
    *,
    today: date | None = None,
    quiet: bool = True,
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

    Returns
    -------
    IngestResult
        Paths written and the :class:`QualitySummary`.

    Raises
    ------
    IngestError
        Any input problem; ``.problems`` lists all of them. Nothing is written
        and the previous canonical files stay in place.
    SettingsError
        A source matches no file or the settings are invalid.

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
    for path, label, src in _expand(settings):
        try:
            frame, info = _load_file(path, label, src, settings, today, problems)
        except IngestError as e:
            problems.extend(e.problems)
            continue
        infos.append(info)
        if frame is not None:
            frames.append(frame)
    master = read_product_master(settings, problems)
    customers = read_customers(settings, problems, hash_ids=bool(preset.get("hash_customer_id")))
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
    repaired = 0
    if settings.strip_float_suffix:
        fl = df["customer_id"].str.fullmatch(r"\d+\.0+").fillna(False).astype(bool)
        repaired = int(fl.sum())
        if repaired:
            df.loc[fl, "customer_id"] = df.loc[fl, "customer_id"].str.replace(
                r"\.0+$", "", regex=True
            )
    if preset.get("hash_customer_id"):
        df["customer_id"] = hash_customer_ids(df["customer_id"])

    # exact duplicates -------------------------------------------------------------
    content = [c for c in df.columns if not c.startswith("_")]
    dup = df.duplicated(subset=content, keep="first")
    n_dup = int(dup.sum())
    df = df.loc[~dup]

    # excluded statuses ----------------------------------------------------------
    dropped_statuses: dict[str, int] = {}
    excl = (
        preset.get("exclude_statuses")
        if "exclude_statuses" not in settings.model_fields_set
        else None
    )
    statuses = {s.casefold(): s for s in (excl or settings.exclude_statuses)}
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

    # summary ------------------------------------------------------------------------
    is_guest = out["customer_id"].isna()
    revenue = decimal_sum(out["amount"])
    guest_rev = decimal_sum(out.loc[is_guest, "amount"])
    if settings.return_order_pattern:
        is_return = out["order_id"].str.contains(settings.return_order_pattern, regex=True)
    else:
        is_return = out["amount"] < 0
    summary = QualitySummary(
        shop=settings.name,
        ingest_date=today.isoformat(),
        timezone=settings.timezone,
        currency=settings.currency,
        files=[{k: v for k, v in i.items()} for i in infos],
        rows_read=rows_read,
        rows_kept=len(out),
        dropped={"exact_duplicate": n_dup, "excluded_status": n_status},
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
        orders=int(out["order_id"].nunique()),
        revenue=decimal_text(revenue),
        revenue_read=decimal_text(revenue_read),
        fingerprint=hashlib.sha256(
            "".join(sorted(i["sha256"] for i in infos)).encode()
        ).hexdigest()[:16],
        columns=canon_cols,
        amounts_rounded=amounts_rounded,
    )

    target = paths.canonical_dir(settings.shop_dir)
    target.mkdir(parents=True, exist_ok=True)
    writes: list[tuple[Path, Any]] = [(paths.orders_path(settings.shop_dir), table)]
    if customers is not None:
        writes.append((paths.customers_path(settings.shop_dir), customers))
    write_canonical(writes, paths.quality_path(settings.shop_dir), summary)
    if customers is None:  # a customers table of earlier settings must not linger
        paths.customers_path(settings.shop_dir).unlink(missing_ok=True)
    from ecrm import engine

    engine.write_order_totals(paths.orders_path(settings.shop_dir))  # whatever ECRM_CACHE says
    if not quiet:
        print(summary.render())
    return IngestResult(
        orders_path=paths.orders_path(settings.shop_dir),
        quality_path=paths.quality_path(settings.shop_dir),
        customers_path=paths.customers_path(settings.shop_dir) if customers is not None else None,
        summary=summary,
    )
