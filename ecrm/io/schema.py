"""The contract of one mapped raw file: a declarative pandera schema and its value parser.

:func:`raw_schema` is the data contract of SPEC §1 for the columns of one raw
export after mapping (order_id, customer_id, ordered_at, amount or unit_price,
quantity), checked lazily so that a bad export gets every failure at once.
Its checks read :class:`RawParser`, which parses each column once (timestamps to
naive shop-local time, amounts to exact decimals, quantities to integers) and
keeps the results for :mod:`ecrm.io.ingest` to build the canonical lines from.
:data:`MESSAGES` turns a failed check into the text the user reads.

Every text cell of an identifier or a number is normalised first
(:func:`normalize_text`: Unicode NFKC, so 全角 ``１７８５０`` is ``17850``, then
surrounding blanks trimmed); :data:`NULL_MARKERS` are missing values.

**Numbers and the decimal separator** (``Source.decimal``, SPEC §1). With the
default ``.``, a ``,`` (or a blank) may only group thousands, in groups of
exactly three digits after a first group of one to three: ``1,234,567.89``
and ``1 000`` are read; ``2,55``, ``1.234,56``, ``1,2345``, ``12,34,567`` and
``,5`` are *ambiguous* and an error naming file, row, column and value (never
read as 255 or 1.23456). With ``decimal: ","`` the roles swap: ``2,55`` is
2.55, ``1.234,56`` is 1234.56 and ``1.234.567`` is 1234567, while ``1.5`` or
``1,234.56`` are ambiguous. Typed numbers (Parquet int/float columns) carry no
separator and are read as they are.
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

__all__ = [
    "MESSAGES",
    "NULL_MARKERS",
    "RawParser",
    "header_list",
    "is_null_marker",
    "normalize_text",
    "raw_schema",
    "strip_text",
]

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

#: Cell texts that mean "no value" (SPEC §1), compared case-insensitively after
#: NFKC and trimming: ``NaN``, ``NULL``, ``None``, ``#N/A``, ``N/A``, ``-``.
NULL_MARKERS: frozenset[str] = frozenset({"nan", "null", "none", "#n/a", "n/a", "-"})


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


def normalize_text(s: pd.Series) -> pd.Series:
    """A column as normalised text: Unicode NFKC, surrounding blanks trimmed, missing as ``""``.

    NFKC turns 全角 digits, letters and signs into their ASCII forms
    (``１７８５０`` → ``17850``, ``１，２００`` → ``1,200``, ``￥`` → ``¥``) and an
    ideographic space into a blank. Runs in Arrow (no Python loop per cell).

    Parameters
    ----------
    s : Series
        Any column (numbers are written as text first).

    Returns
    -------
    Series
        A ``string`` column with the same index, never missing.

    Examples
    --------
    >>> normalize_text(pd.Series(["　１７８５０ ", None])).tolist()
    ['17850', '']
    """
    import pyarrow.compute as pc

    arr = pa_arrow.array(s.astype("string"), type=pa_arrow.large_string(), from_pandas=True)
    arr = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, form="NFKC"))
    values = arr.to_numpy(zero_copy_only=False)
    return pd.Series(values, index=s.index, dtype="string").fillna("")


def is_null_marker(s: pd.Series) -> pd.Series:
    """True where a normalised text cell is one of :data:`NULL_MARKERS` (any case)."""
    return s.str.casefold().isin(NULL_MARKERS).fillna(False).astype(bool)


_HEADER_NAMES = 30
_HEADER_NAME_CHARS = 40


def header_list(columns: object) -> str:
    """A file's column names, capped and sanitised, for a message.

    Only the header of a plausible export is listed: at least two columns, at
    most 30 names of at most 40 characters each, control characters replaced.
    A file whose header is one cell (not a comma-separated export, or a file
    that is no export at all) is described without echoing its content.

    Examples
    --------
    >>> header_list(["受注番号", "会員ID"])
    "['受注番号', '会員ID']"
    >>> header_list(["root:x:0:0:root:/root:/bin/bash"])
    '1 column (not a comma-separated export? check `delimiter`)'
    """
    names = [str(c) for c in columns]  # type: ignore[attr-defined]
    if len(names) < 2:
        return (
            f"{len(names)} column"
            f"{'' if len(names) == 1 else 's'} (not a comma-separated export? check `delimiter`)"
        )
    shown = []
    for n in names[:_HEADER_NAMES]:
        n = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", n)
        shown.append(n if len(n) <= _HEADER_NAME_CHARS else n[: _HEADER_NAME_CHARS - 1] + "…")
    more = f" and {len(names) - _HEADER_NAMES} more" if len(names) > _HEADER_NAMES else ""
    return f"{shown}{more}"


#: What the decimal separator allows besides itself: the thousands separators.
_GROUPS = {".": (",", " "), ",": (".", " ")}


def ambiguous_message(decimal: str) -> str:
    """The message for a number that is ambiguous under the decimal separator ``decimal``."""
    if decimal == ".":
        return (
            "ambiguous number: this source's decimal separator is '.', so a ',' may only "
            "separate thousands (1,234,567.89); set `decimal: ','` on the source if the "
            "file writes 2,55 for 2.55"
        )
    return (
        "ambiguous number: this source's decimal separator is ',', so a '.' may only "
        "separate thousands (1.234.567,89); remove `decimal: ','` from the source if the "
        "file writes 2.55 for 2.55"
    )


class RawParser:
    """Parses mapped raw columns once; pandera checks read the results.

    Parameters
    ----------
    tz : str
        The shop's time zone (timestamps with an offset are converted to it).
    today : date
        The ingest date: later dates are errors.
    min_date : date, default 2000-01-01
        The shop's ``min_order_date``: earlier dates are errors.
    decimal : {".", ","}, default "."
        The source's decimal separator (see the module docstring).
    """

    def __init__(
        self, tz: str, today: date, *, min_date: date = date(2000, 1, 1), decimal: str = "."
    ) -> None:
        self.tz = tz
        self.latest = pd.Timestamp(today) + pd.Timedelta(days=1)  # exclusive
        self.earliest = pd.Timestamp(min_date)
        self.decimal = decimal
        self.parsed: dict[str, pd.Series] = {}
        #: Messages that depend on the settings, by (column, check) as in MESSAGES.
        self.messages: dict[tuple[str, str], str] = {
            (c, "early date"): f"date is before the shop's min_order_date ({min_date.isoformat()})"
            for c in ("ordered_at",)
        } | {
            (c, "ambiguous number"): ambiguous_message(decimal)
            for c in ("amount", "unit_price", "quantity")
        }

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
            txt = normalize_text(s)
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

    def not_too_early(self, s: pd.Series) -> pd.Series:
        """False for a date before the shop's ``min_order_date`` (SPEC §1 dates)."""
        ts = self.timestamps(s)
        return ts.isna() | (ts >= self.earliest)

    # numbers -----------------------------------------------------------------
    def _number_text(self, s: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Cells as plain number text (``-1234.5``) and the mask of ambiguous ones.

        Every number goes through its text, so that an int64 or float column
        (Parquet) meets the same rule as a CSV cell; typed numbers carry no
        separator and are read with ``.`` whatever the source's setting.
        """
        if pd.api.types.is_integer_dtype(s):
            txt, decimal = s.astype("Int64").astype("string").fillna(""), "."
        elif pd.api.types.is_float_dtype(s):
            txt = s.map(lambda v: "" if pd.isna(v) else repr(float(v))).astype("string")
            decimal = "."
        else:
            txt, decimal = normalize_text(s), self.decimal
        # A backslash is the yen sign of Shift_JIS (byte 0x5C) decoded as CP932;
        # NFKC has made ￥ a ¥ already.
        txt = txt.str.replace(r"[¥円\\]", "", regex=True).str.strip()
        txt = txt.str.replace(r"^[▲△]\s*", "-", regex=True).str.replace(r"^\+\s*", "", regex=True)
        txt = txt.str.replace(r"^-\s+", "-", regex=True)
        negative = txt.str.startswith("-")
        body = txt.str.removeprefix("-")
        dec = re.escape(decimal)
        grouped = pd.Series(False, index=s.index)
        for sep in _GROUPS[decimal]:
            pattern = rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+(?:{dec}\d*)?"
            hit = body.str.fullmatch(pattern).fillna(False).astype(bool)
            body = body.where(~hit, body.str.replace(sep, "", regex=False))
            grouped |= hit
        others = "[" + "".join(re.escape(c) for c in _GROUPS[decimal]) + "]"
        has_other = body.str.contains(others, regex=True).fillna(False).astype(bool)
        looks_numeric = body.str.fullmatch(r"[\d., ]+").fillna(False).astype(bool)
        ambiguous = has_other & looks_numeric & ~grouped
        if decimal == ",":
            body = body.str.replace(",", ".", regex=False)
        plain = (negative.map({True: "-", False: ""}).astype("string") + body).where(~ambiguous, "")
        return plain.fillna(""), ambiguous

    def decimals(self, name: str, s: pd.Series) -> pd.Series:
        if name in self.parsed:
            return self.parsed[name]
        txt, ambiguous = self._number_text(s)
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
        self.parsed[name + "_ok"] = ok | ambiguous  # ambiguous cells have their own check
        self.parsed[name + "_unambiguous"] = ~ambiguous
        return out

    def amount_ok(self, s: pd.Series) -> pd.Series:
        self.decimals("amount", s)
        return self.parsed["amount_ok"]

    def amount_unambiguous(self, s: pd.Series) -> pd.Series:
        self.decimals("amount", s)
        return self.parsed["amount_unambiguous"]

    def unit_price_ok(self, s: pd.Series) -> pd.Series:
        self.decimals("unit_price", s)
        return self.parsed["unit_price_ok"]

    def unit_price_unambiguous(self, s: pd.Series) -> pd.Series:
        self.decimals("unit_price", s)
        return self.parsed["unit_price_unambiguous"]

    def quantities(self, s: pd.Series) -> pd.Series:
        if "quantity" in self.parsed:
            return self.parsed["quantity"]
        if pd.api.types.is_integer_dtype(s):
            out, ok = s.astype("Int64"), pd.Series(True, index=s.index)
            ambiguous = pd.Series(False, index=s.index)
        else:
            txt, ambiguous = self._number_text(s)
            ok = (txt == "") | txt.str.fullmatch(r"-?\d{1,9}(?:\.0+)?").fillna(False).astype(bool)
            num = pd.to_numeric(txt.where(ok & (txt != "")), errors="coerce")
            out = num.round().astype("Int64")
        self.parsed["quantity"] = out
        self.parsed["quantity_ok"] = ok | ambiguous
        self.parsed["quantity_unambiguous"] = ~ambiguous
        return out

    def quantity_ok(self, s: pd.Series) -> pd.Series:
        self.quantities(s)
        return self.parsed["quantity_ok"]

    def quantity_unambiguous(self, s: pd.Series) -> pd.Series:
        self.quantities(s)
        return self.parsed["quantity_unambiguous"]

    def quantity_present(self, s: pd.Series) -> pd.Series:
        """False for an empty quantity (an unparseable one is reported by quantity_ok)."""
        q = self.quantities(s)
        return q.notna() | ~self.parsed["quantity_ok"] | ~self.parsed["quantity_unambiguous"]


MESSAGES = {
    ("order_id", "not_nullable"): "order_id is empty",
    ("order_id", "order_id is empty"): "order_id is empty",
    ("order_id", "null marker"): "order_id is missing (a null marker, not an order number)",
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
    is too when the amount is computed from it. ``parser.messages`` holds the
    texts of the checks whose message depends on the settings (min_order_date,
    the decimal separator).
    """
    import pandera.pandas as pa

    derive_amount = "amount" not in columns and "unit_price" in columns
    quantity_checks = [
        pa.Check(parser.quantity_ok, error="unparseable quantity"),
        pa.Check(parser.quantity_unambiguous, error="ambiguous number"),
    ]
    if derive_amount:
        quantity_checks.append(pa.Check(parser.quantity_present, error="empty quantity"))

    def order_id_text(s: pd.Series) -> pd.Series:
        return normalize_text(s)

    spec: dict[str, pa.Column] = {
        "order_id": pa.Column(
            checks=[
                pa.Check(lambda s: order_id_text(s) != "", error="order_id is empty"),
                pa.Check(lambda s: ~is_null_marker(order_id_text(s)), error="null marker"),
            ],
            nullable=False,
        ),
        "customer_id": pa.Column(nullable=True),
        "ordered_at": pa.Column(
            checks=[
                pa.Check(parser.timestamp_ok, error="unparseable date"),
                pa.Check(parser.not_future, error="future date"),
                pa.Check(parser.not_too_early, error="early date"),
            ],
            nullable=False,
        ),
        "amount": pa.Column(
            checks=[
                pa.Check(parser.amount_ok, error="unparseable amount"),
                pa.Check(parser.amount_unambiguous, error="ambiguous number"),
            ],
            nullable=False,
            required=False,
        ),
        "unit_price": pa.Column(
            checks=[
                pa.Check(parser.unit_price_ok, error="unparseable amount"),
                pa.Check(parser.unit_price_unambiguous, error="ambiguous number"),
            ],
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
