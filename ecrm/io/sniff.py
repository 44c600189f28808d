"""What a raw export is, found from its bytes: encoding, delimiter, title rows, decimals, dates.

``ecrm init`` (:mod:`ecrm.io.init`) sniffs every file it is given before it
proposes a column mapping. Each finding comes with the reason a consultant
reads in the proposed ``settings.yaml``:

* **encoding**: :func:`ecrm.io.read.detect_encoding` (BOM, UTF-16, UTF-8, CP932);
* **delimiter**: of ``,``, tab, ``;`` and ``|``, the one that splits the most
  sample lines (the first 50 below the title rows) into the same number of
  fields, at least two; ties go to the earlier in that list;
* **title rows** (``skip_rows``): the lines above the first line that has the
  data lines' number of fields with at least 80 % of them non-empty (a report
  title, an export date or a date range above the header);
* **decimal separator**: ``,`` when, in a file not separated by commas, the
  numeric-looking cells of some column carry a comma followed by other than
  three digits (``2,55``) and none a point; ``.`` otherwise;
* **date format** (:func:`date_format`): the first of ingestion's forms that
  reads at least 95 % of a column's non-empty values, or a form ingestion does
  not read (day or month first, ``12/1/2010 8:26``) named as such.

Nothing here writes anything; files are opened read-only.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ecrm.io.read import DELIMITERS, file_format, read_raw, read_text

__all__ = ["DATE_FORMATS", "FileSniff", "date_format", "numbers_share", "sniff_file"]

_SAMPLE_LINES = 60

#: Date forms ingestion reads (label, strptime format); "ISO" is ISO 8601.
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("ISO 8601 (YYYY-MM-DD hh:mm:ss)", "ISO8601"),
    ("YYYY/MM/DD hh:mm:ss", "%Y/%m/%d %H:%M:%S"),
    ("YYYY/MM/DD hh:mm", "%Y/%m/%d %H:%M"),
    ("YYYY/MM/DD", "%Y/%m/%d"),
    ("YYYY年MM月DD日 hh:mm:ss", "%Y年%m月%d日 %H:%M:%S"),
    ("YYYY年MM月DD日 hh:mm", "%Y年%m月%d日 %H:%M"),
    ("YYYY年MM月DD日", "%Y年%m月%d日"),
    ("YYYYMMDD", "%Y%m%d"),
)
#: Forms a spreadsheet writes that ingestion does not read (SPEC §1 lists the read ones).
_UNREAD_FORMATS: tuple[tuple[str, str], ...] = (
    ("M/D/YYYY h:mm (month first)", "%m/%d/%Y %H:%M"),
    ("M/D/YYYY (month first)", "%m/%d/%Y"),
    ("D/M/YYYY h:mm (day first)", "%d/%m/%Y %H:%M"),
    ("D/M/YYYY (day first)", "%d/%m/%Y"),
    ("D.M.YYYY (day first)", "%d.%m.%Y"),
)
_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")


@dataclass
class FileSniff:
    """What :func:`sniff_file` found in one export.

    Attributes
    ----------
    path : Path
    format : str
        ``csv``, ``excel`` or ``parquet``.
    encoding : str
        The encoding (CSV) or the format (Excel, Parquet).
    delimiter : str
    skip_rows : int
        Title rows above the header.
    decimal : str
        ``.`` or ``,``.
    frame : DataFrame
        The whole file as read with the findings (cells as strings for CSV/Excel).
    notes : dict
        Finding -> the reason, in words (``encoding``, ``delimiter``, ``skip_rows``,
        ``decimal``).
    """

    path: Path
    format: str
    encoding: str
    delimiter: str
    skip_rows: int
    decimal: str
    frame: pd.DataFrame
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        """The header names, stripped (a BOM or blanks around a name removed)."""
        return [str(c).strip().lstrip("\ufeff") for c in self.frame.columns]


def _rows(lines: list[str], delimiter: str) -> list[list[str]]:
    return list(csv.reader(lines, delimiter=delimiter))


def _delimiter_and_title(lines: list[str]) -> tuple[str, int, str, str]:
    best: tuple[float, int, int, str] | None = None
    for i, d in enumerate(DELIMITERS):
        rows = _rows(lines, d)
        tail = [len(r) for r in rows[len(rows) // 3 :] if r] or [0]
        modal, _ = Counter(tail).most_common(1)[0]
        if modal < 2:
            continue
        share = sum(1 for n in tail if n == modal) / len(tail)
        key = (share, modal, -i, d)
        if best is None or key[:3] > best[:3]:
            best = key
    if best is None:
        return ",", 0, "no delimiter splits the lines: a one-column file", ""
    share, modal, _, delim = best
    rows = _rows(lines, delim)
    need = max(2, math.ceil(0.8 * modal))
    skip = 0
    for i, r in enumerate(rows):
        if len(r) >= modal and sum(1 for c in r if c.strip()) >= need:
            skip = i
            break
    name = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "pipes"}[delim]
    why_d = f"{name} split {share:.0%} of the sample lines into {modal} fields"
    why_s = (
        f"{skip} line(s) above the header do not have the data lines' {modal} fields "
        "(a report title or export date)"
        if skip
        else ""
    )
    return delim, skip, why_d, why_s


def numbers_share(values: pd.Series, decimal: str = ".") -> float:
    """The share of non-empty ``values`` that read as numbers (yen signs, separators, ▲ allowed)."""
    txt = values.astype("string").str.strip()
    txt = txt[txt.fillna("") != ""].head(5000)
    if not len(txt):
        return 0.0
    import unicodedata

    txt = txt.map(lambda v: unicodedata.normalize("NFKC", v))
    txt = txt.str.replace(r"^[▲△]", "-", regex=True).str.replace(r"[¥￥円\\\s]", "", regex=True)
    sep, group = (".", ",") if decimal == "." else (",", ".")
    pat = rf"-?(?:\d{{1,3}}(?:\{group}\d{{3}})+|\d+)(?:\{sep}\d+)?"
    return float(txt.str.fullmatch(pat).fillna(False).mean())


def _decimal(frame: pd.DataFrame, delimiter: str) -> tuple[str, str]:
    if delimiter == ",":
        return ".", ""
    for col in frame.columns:
        s = frame[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        txt = s.astype("string").str.strip()
        txt = txt[txt.fillna("") != ""].head(5000)
        if not len(txt) or numbers_share(txt, ",") < 0.95:
            continue
        comma = txt.str.contains(r"\d,(?:\d{1,2}|\d{4,})$", regex=True).fillna(False)
        point = txt.str.contains(r"\d\.\d{1,2}$", regex=True).fillna(False)
        if comma.any() and not point.any():
            return ",", (
                f"column {str(col)!r} writes numbers with a decimal comma "
                f"({int(comma.sum())} of {len(txt)} sampled values)"
            )
    return ".", ""


def sniff_file(path: Path) -> FileSniff:
    """Find a raw export's format, encoding, delimiter, title rows and decimal separator.

    Parameters
    ----------
    path : Path
        A CSV/TSV (optionally ``.gz``), Excel or Parquet export.

    Returns
    -------
    FileSniff
        The findings, the file read with them, and the reasons.

    Raises
    ------
    IngestError
        The file cannot be read at all (undecodable, damaged).

    Examples
    --------
    >>> s = sniff_file(Path("data/acme/raw/orders.csv"))  # doctest: +SKIP
    >>> s.encoding, s.delimiter, s.skip_rows  # doctest: +SKIP
    ('cp932', ',', 0)
    """
    kind = file_format(path)
    notes: dict[str, str] = {}
    if kind == "parquet":
        frame, enc = read_raw(path, fmt="parquet", label=str(path))
        return FileSniff(path, kind, enc, ",", 0, ".", frame, {"encoding": "a Parquet file"})
    if kind == "excel":
        head = pd.read_excel(path, header=None, dtype=str, nrows=_SAMPLE_LINES).fillna("")
        text = "\n".join(",".join(f'"{c}"' for c in row) for row in head.to_numpy().tolist())
        _, skip, _, why_s = _delimiter_and_title(text.splitlines())
        frame, enc = read_raw(path, fmt="excel", skip_rows=skip, label=str(path))
        if why_s:
            notes["skip_rows"] = why_s
        notes["encoding"] = "an Excel workbook (first sheet)"
        return FileSniff(path, kind, enc, ",", skip, ".", frame, notes)
    text, enc = read_text(path, label=str(path))
    notes["encoding"] = {
        "utf-8-sig": "the file starts with a UTF-8 byte-order mark",
        "utf-16": "the file starts with a UTF-16 byte-order mark",
        "utf-8": "every byte sequence is valid UTF-8",
        "cp932": "not UTF-8, and valid Shift_JIS (CP932, as Japanese carts write)",
    }[enc]
    lines = io.StringIO(text).read(1 << 20).splitlines()[:_SAMPLE_LINES]
    delim, skip, why_d, why_s = _delimiter_and_title(lines)
    notes["delimiter"] = why_d
    if why_s:
        notes["skip_rows"] = why_s
    frame, _ = read_raw(path, encoding=enc, delimiter=delim, skip_rows=skip, label=str(path))
    decimal, why_dec = _decimal(frame, delim)
    if why_dec:
        notes["decimal"] = why_dec
    return FileSniff(path, kind, enc, delim, skip, decimal, frame, notes)


def date_format(values: pd.Series) -> tuple[str | None, bool, float]:
    """The form of a column's dates: (label, read by ingestion, share of values it reads).

    Parameters
    ----------
    values : Series
        A column's cells (strings, or datetimes from Excel/Parquet).

    Returns
    -------
    (str or None, bool, float)
        The form that reads the most of the (up to 2,000 sampled) non-empty values,
        whether ingestion reads it, and the share it reads; ``(None, False, 0.0)``
        when no form reads half of them.

    Examples
    --------
    >>> date_format(pd.Series(["2024/01/05 10:00", "2024/02/01 09:30"]))
    ('YYYY/MM/DD hh:mm', True, 1.0)
    >>> date_format(pd.Series(["12/1/2010 8:26", "12/13/2010 9:01"]))[:2]
    ('M/D/YYYY h:mm (month first)', False)
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return "timestamps (typed column)", True, 1.0
    txt = values.astype("string").str.strip()
    txt = txt[txt.fillna("") != ""].head(2000)
    if not len(txt):
        return None, False, 0.0
    has_offset = txt.str.contains(_OFFSET, regex=True).fillna(False)
    best: tuple[float, str, bool] = (0.0, "", False)
    for forms, read in ((DATE_FORMATS, True), (_UNREAD_FORMATS, False)):
        for label, fmt in forms:
            if fmt == "ISO8601":
                norm = txt.str.replace(r"\s+([+-]\d{2}:?\d{2})$", r"\1", regex=True)
                # ISO needs a dash date: pandas' ISO8601 also reads 20240105
                iso = norm.str.match(r"\d{4}-\d{2}-\d{2}").fillna(False)
                got = pd.to_datetime(norm.where(iso), format=fmt, errors="coerce", utc=True)
            else:
                got = pd.to_datetime(txt.where(~has_offset), format=fmt, errors="coerce")
            share = float(got.notna().mean())
            if share > best[0] + 1e-9:
                best = (share, label, read)
        if best[0] >= 0.95:
            break
    if best[0] < 0.5:
        return None, False, best[0]
    label = best[1] + (" with a time-zone offset" if has_offset.mean() > 0.5 else "")
    return label, best[2], best[0]
