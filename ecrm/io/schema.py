"""The contract of one mapped raw file: a declarative pandera schema and its value parser.

:func:`raw_schema` is the data contract of SPEC §1 for the columns of one raw
export after mapping (order_id, customer_id, ordered_at, amount or unit_price,
quantity), checked lazily so that a bad export gets every failure at once.
Its checks read :class:`RawParser`, which parses each column once (timestamps to
naive shop-local time, amounts to exact decimals, quantities to integers) and
keeps the results for :mod:`ecrm.io.ingest` to build the canonical lines from.
:data:`MESSAGES` turns a failed check into the text the user reads.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa_arrow

from ecrm.io.canonical import AMOUNT_TYPE

if TYPE_CHECKING:  # pandera loads with the first validation: pages never ingest
    import pandera.pandas as pa

__all__ = ["MESSAGES", "RawParser", "raw_schema", "strip_text"]

_TIMESTAMP_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y%m%d",
)


_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")


_AMOUNT = r"-?\d{1,14}(?:\.\d{1,4}0*)?"  # trailing zeros (a decimal(18, 6) column) are fine


_LOOSE_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?"


def _round4(text: str) -> str | None:
    """``text`` rounded half-even to four decimals, or None if out of range."""
    from decimal import ROUND_HALF_EVEN, InvalidOperation

    try:
        d = Decimal(text).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return None
    return format(d, "f") if abs(d) < Decimal(10) ** 14 else None


def strip_text(s: pd.Series) -> pd.Series:
    """A text column stripped of surrounding blanks, missing cells as ``""``; others as they are."""
    if pd.api.types.is_string_dtype(s) or s.dtype == object:
        return s.astype("string").str.strip().fillna("")
    return s


class RawParser:
    """Parses mapped raw columns once; pandera checks read the results."""

    def __init__(self, tz: str, today: date) -> None:
        self.tz = tz
        self.latest = pd.Timestamp(today) + pd.Timedelta(days=1)  # exclusive
        self.parsed: dict[str, pd.Series] = {}

    # timestamps ------------------------------------------------------------
    def timestamps(self, s: pd.Series) -> pd.Series:
        if "ordered_at" in self.parsed:
            return self.parsed["ordered_at"]
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s
            if getattr(out.dt, "tz", None) is not None:
                out = out.dt.tz_convert(self.tz).dt.tz_localize(None)
            out = out.astype("datetime64[us]")
        else:
            txt = strip_text(s.astype("string"))
            has_offset = txt.str.contains(_OFFSET, regex=True)
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
            naive = txt[~has_offset & (txt != "")]
            if len(naive):
                got = pd.to_datetime(naive, format="ISO8601", errors="coerce")
                for fmt in _TIMESTAMP_FORMATS:
                    miss = got.isna()
                    if not miss.any():
                        break
                    got[miss] = pd.to_datetime(naive[miss], format=fmt, errors="coerce")
                out[got.index] = got.astype("datetime64[us]")
            aware = txt[has_offset]
            if len(aware):
                norm = aware.str.replace(r"\s+([+-]\d{2}:?\d{2})$", r"\1", regex=True)
                got = pd.to_datetime(norm, format="ISO8601", utc=True, errors="coerce")
                out[got.index] = (
                    got.dt.tz_convert(self.tz).dt.tz_localize(None).astype("datetime64[us]")
                )
        self.parsed["ordered_at"] = out
        return out

    def timestamp_ok(self, s: pd.Series) -> pd.Series:
        return self.timestamps(s).notna()

    def not_future(self, s: pd.Series) -> pd.Series:
        ts = self.timestamps(s)
        return ts.isna() | (ts < self.latest)

    # numbers -----------------------------------------------------------------
    def _decimal_text(self, s: pd.Series) -> pd.Series:
        txt = strip_text(s.astype("string"))
        # A backslash is the yen sign of Shift_JIS (byte 0x5C) decoded as CP932.
        txt = txt.str.replace(r"[,¥￥円\\\s]", "", regex=True)
        txt = txt.str.replace(r"^[▲△]", "-", regex=True).str.replace(r"^\+", "", regex=True)
        return txt

    def decimals(self, name: str, s: pd.Series) -> pd.Series:
        if name in self.parsed:
            return self.parsed[name]
        # Every amount goes through its text, so that an int64 or float column
        # (Parquet) meets the same rule as a CSV cell.
        if pd.api.types.is_integer_dtype(s):
            s = s.astype("Int64").astype("string")
        elif pd.api.types.is_float_dtype(s):
            s = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        txt = self._decimal_text(s)
        ok = txt.str.fullmatch(_AMOUNT).fillna(False).astype(bool)
        # Documented repair: a number with more than four decimals or in exponent
        # form (a float written by a spreadsheet or a float export, e.g.
        # 4.440892e-16 for zero) is rounded half-even to four decimals and counted.
        loose = ~ok & txt.str.fullmatch(_LOOSE_NUMBER).fillna(False).astype(bool)
        if loose.any():
            fixed = txt[loose].map(_round4)
            good = fixed.notna()
            txt = txt.where(~loose, fixed.reindex(txt.index))
            loose = loose & good.reindex(txt.index, fill_value=False)
            ok = ok | loose
        self.parsed[name + "_rounded"] = loose
        arr = pa_arrow.array(txt.where(ok, None), type=pa_arrow.string(), from_pandas=True)
        out = pd.Series(arr.cast(AMOUNT_TYPE), index=s.index, dtype=pd.ArrowDtype(AMOUNT_TYPE))
        self.parsed[name] = out
        self.parsed[name + "_ok"] = ok
        return out

    def amount_ok(self, s: pd.Series) -> pd.Series:
        self.decimals("amount", s)
        return self.parsed["amount_ok"]

    def unit_price_ok(self, s: pd.Series) -> pd.Series:
        self.decimals("unit_price", s)
        return self.parsed["unit_price_ok"]

    def quantities(self, s: pd.Series) -> pd.Series:
        if "quantity" in self.parsed:
            return self.parsed["quantity"]
        if pd.api.types.is_integer_dtype(s):
            out, ok = s.astype("Int64"), pd.Series(True, index=s.index)
        else:
            txt = self._decimal_text(
                s.map(lambda v: "" if pd.isna(v) else str(v))
                if not pd.api.types.is_string_dtype(s)
                else s
            )
            ok = (txt == "") | txt.str.fullmatch(r"-?\d{1,9}(?:\.0+)?").fillna(False).astype(bool)
            num = pd.to_numeric(txt.where(ok & (txt != "")), errors="coerce")
            out = num.round().astype("Int64")
        self.parsed["quantity"] = out
        self.parsed["quantity_ok"] = ok
        return out

    def quantity_ok(self, s: pd.Series) -> pd.Series:
        self.quantities(s)
        return self.parsed["quantity_ok"]

    def quantity_present(self, s: pd.Series) -> pd.Series:
        """False for an empty quantity (an unparseable one is reported by quantity_ok)."""
        return self.quantities(s).notna() | ~self.quantity_ok(s)


MESSAGES = {
    ("order_id", "not_nullable"): "order_id is empty",
    ("order_id", "order_id is empty"): "order_id is empty",
    ("ordered_at", "unparseable date"): "not a date/time (expected e.g. 2024-05-31 13:45:00)",
    ("ordered_at", "future date"): "date is after the ingest date",
    ("amount", "unparseable amount"): "not an amount (expected a number such as 1200 or -350.5)",
    ("unit_price", "unparseable amount"): "not a unit price (expected a number such as 1200)",
    ("quantity", "unparseable quantity"): "not a whole number",
}


# A null cell (Parquet, Excel) is reported like an empty CSV cell.
MESSAGES |= {
    ("ordered_at", "not_nullable"): MESSAGES[("ordered_at", "unparseable date")],
    ("amount", "not_nullable"): MESSAGES[("amount", "unparseable amount")],
    ("unit_price", "not_nullable"): MESSAGES[("unit_price", "unparseable amount")],
    ("quantity", "not_nullable"): "quantity is empty (amount = quantity × unit_price needs it)",
    ("quantity", "empty quantity"): "quantity is empty (amount = quantity × unit_price needs it)",
}


def raw_schema(parser: RawParser, columns: set[str]) -> pa.DataFrameSchema:
    """The declarative contract of one mapped raw file (checked lazily).

    ordered_at and the amount (or unit_price) are required in every line; quantity
    is too when the amount is computed from it.
    """
    import pandera.pandas as pa

    derive_amount = "amount" not in columns and "unit_price" in columns
    quantity_checks = [pa.Check(parser.quantity_ok, error="unparseable quantity")]
    if derive_amount:
        quantity_checks.append(pa.Check(parser.quantity_present, error="empty quantity"))
    spec: dict[str, pa.Column] = {
        "order_id": pa.Column(
            checks=pa.Check(
                lambda s: strip_text(s.astype("string")) != "", error="order_id is empty"
            ),
            nullable=False,
        ),
        "customer_id": pa.Column(nullable=True),
        "ordered_at": pa.Column(
            checks=[
                pa.Check(parser.timestamp_ok, error="unparseable date"),
                pa.Check(parser.not_future, error="future date"),
            ],
            nullable=False,
        ),
        "amount": pa.Column(
            checks=pa.Check(parser.amount_ok, error="unparseable amount"),
            nullable=False,
            required=False,
        ),
        "unit_price": pa.Column(
            checks=pa.Check(parser.unit_price_ok, error="unparseable amount"),
            nullable=not derive_amount,
            required=False,
        ),
        "quantity": pa.Column(
            checks=quantity_checks,
            nullable=not derive_amount,
            required=False,
        ),
    }
    return pa.DataFrameSchema({k: v for k, v in spec.items() if k in columns or v.required})
