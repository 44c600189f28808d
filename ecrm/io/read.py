"""Reading raw exports as they are: format, encoding, title rows and the file's fingerprint.

The first step of ingestion (:mod:`ecrm.io.ingest`): a raw CSV, Excel or Parquet
export is opened read-only and returned as a table of strings (CSV/Excel), with
the encoding it was read in. No column is mapped or parsed here; that is
:mod:`ecrm.io.schema`'s job.

Rules (each failure is one :class:`~ecrm.errors.IngestError` naming the file and
what to do; no message repeats the file's content beyond its header names):

* **Encodings**: UTF-8, UTF-8 with BOM, CP932 (Shift_JIS) and UTF-16 with a BOM
  (what Excel's "Unicode text" and some Windows tools write) are told apart by
  :func:`detect_encoding`; any other NUL byte means the file is not text.
* **Title rows**: ``skip_rows`` lines above the header (an export's report title
  or its date range) are skipped. The returned table's index then starts at
  ``skip_rows``, so that *index + 2* is still the file's line number of a data
  line (the header is line ``skip_rows + 1``), the row number every ingest
  message gives.
* **Delimiter**: a header line that the configured delimiter does not split but
  ``;``, tab or ``|`` does is refused with the ``delimiter:`` to set (read with
  ``,``, a semicolon export would otherwise become one column, or pandas'
  "Expected 1 fields in line 111"). A data line with more fields than the header
  is refused with its line number.
* **Damaged files**: a truncated ``.gz``, an ``.xlsx`` that is no zip archive, or a
  ``.parquet`` that is not Parquet is refused with what to do (download or
  export the file again).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from ecrm.errors import IngestError, InputProblem

__all__ = [
    "DELIMITERS",
    "detect_encoding",
    "file_format",
    "file_sha256",
    "read_raw",
    "read_text",
]

#: Delimiters a CSV/TSV export uses, in the order they are tried when sniffing.
DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_DELIMITER_YAML = {",": '","', "\t": '"\\t"', ";": '";"', "|": '"|"'}

_UNDECODABLE = (
    "file is neither UTF-8 nor Shift_JIS/CP932; set `encoding` for this source in the settings"
)


def detect_encoding(data: bytes) -> str:
    """Tell UTF-8 with BOM, UTF-16 with BOM, UTF-8 and CP932 (Shift_JIS) apart.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    str
        ``"utf-8-sig"``, ``"utf-16"``, ``"utf-8"`` or ``"cp932"``.

    Raises
    ------
    UnicodeDecodeError
        The bytes are none of them. A NUL byte (UTF-16 without a BOM, or a binary
        file) never occurs in a UTF-8 or Shift_JIS text, though CP932 would
        decode it.

    Examples
    --------
    >>> detect_encoding("受注番号".encode("utf-16"))
    'utf-16'
    >>> detect_encoding("受注番号".encode("cp932"))
    'cp932'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data.decode("utf-16")  # raises on an odd length or a broken surrogate
        return "utf-16"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnicodeDecodeError("cp932", data, nul, nul + 1, "NUL byte in a text file")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        data.decode("cp932")  # raises if neither
        return "cp932"


def file_format(path: Path, fmt: str = "auto") -> str:
    """The format a source is read as: ``fmt`` itself, or guessed from the file name.

    Returns
    -------
    str
        ``"parquet"`` (``.parquet``, ``.pq``), ``"excel"`` (``.xlsx``, ``.xlsm``,
        ``.xls``) or ``"csv"`` (anything else, ``.csv.gz`` and ``.tsv`` included).
    """
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    return "csv"


def _problem(label: str, message: str, row: int | None = None) -> IngestError:
    return IngestError([InputProblem(label, row, None, message)])


def _file_bytes(path: Path, label: str) -> bytes:
    data = path.read_bytes()
    if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, gzip.BadGzipFile, zlib.error):
            raise _problem(
                label,
                "is a truncated or damaged gzip archive (it ends before its last byte "
                "or fails its checksum); download the export again",
            ) from None
    return data


def read_text(path: Path, *, encoding: str = "auto", label: str | None = None) -> tuple[str, str]:
    """A CSV/TSV export's text (``.gz`` unpacked, BOM dropped) and the encoding it was read in.

    Parameters
    ----------
    path : Path
        The file (opened read-only).
    encoding : str
        ``auto`` (see :func:`detect_encoding`), ``utf-8``, ``utf-8-sig``,
        ``utf-16``, ``cp932`` or ``shift_jis`` (read as CP932, its Windows superset).
    label : str, optional
        Name used in error messages (default: the path).

    Returns
    -------
    (str, str)
        The text and the encoding used.

    Raises
    ------
    IngestError
        The file is a damaged gzip archive or cannot be decoded.
    """
    label = label or str(path)
    data = _file_bytes(path, label)
    enc = {"shift_jis": "cp932"}.get(encoding, encoding)
    if enc == "auto":
        try:
            enc = detect_encoding(data)
        except UnicodeDecodeError:
            raise _problem(label, _UNDECODABLE) from None
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _problem(label, f"cannot be decoded as {enc}: {e.reason}", line) from None
    return text.removeprefix("\ufeff"), enc


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _check_delimiter(text: str, delimiter: str, skip_rows: int, label: str) -> list[str]:
    """The header's names; refuses a header the delimiter does not split but another does."""
    lines = io.StringIO(text)
    for _ in range(skip_rows):
        lines.readline()
    header_line = lines.readline()
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    if len(header) <= 1:
        for other in DELIMITERS:
            if other == delimiter:
                continue
            fields = next(csv.reader([header_line], delimiter=other), [])
            if len(fields) > 1:
                raise _problem(
                    label,
                    f"the header line is not split by the {_delimiter_name(delimiter)} "
                    f"delimiter but by {_DELIMITER_NAMES[other]}s ({len(fields)} columns): "
                    f"set `delimiter: {_DELIMITER_YAML[other]}` for this source in the settings",
                    skip_rows + 1,
                )
    return header


def _parse_csv(text: str, delimiter: str, skip_rows: int, label: str) -> pd.DataFrame:
    header = _check_delimiter(text, delimiter, skip_rows, label)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            sep=delimiter,
            skiprows=skip_rows,
        )
    except pd.errors.EmptyDataError:
        raise _problem(
            label,
            "holds no header line"
            + (f" after the {skip_rows} title row(s) of `skip_rows`" if skip_rows else ""),
        ) from None
    except pd.errors.ParserError as e:
        # pandas: "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
        import re

        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m:
            line = int(m.group(2)) + skip_rows
            raise _problem(
                label,
                f"line {line} has {m.group(3)} fields but the header has {m.group(1)}: "
                "check `delimiter` and `skip_rows` for this source, "
                "or quote cells that hold the delimiter",
                line,
            ) from None
        raise _problem(label, f"cannot be read as csv: {str(e).splitlines()[-1]}") from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas made the surplus fields an index
        raise _problem(
            label,
            f"the data lines have more fields than the header ({len(header)} names): are there "
            "title rows above the header? set `skip_rows` (and check `delimiter`) for this source",
            skip_rows + 1,
        )
    if skip_rows:
        df.index = pd.RangeIndex(skip_rows, skip_rows + len(df))
    return df


def read_raw(
    path: Path,
    *,
    fmt: str = "auto",
    encoding: str = "auto",
    sheet: str | int | None = None,
    delimiter: str = ",",
    skip_rows: int = 0,
    label: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """Read one raw export as it is, every CSV/Excel cell as a string.

    Parameters
    ----------
    path : Path
        The file (opened read-only).
    fmt, encoding, sheet, delimiter, skip_rows
        As in the settings' ``sources`` entries.
    label : str, optional
        Name used in error messages (default: the path).

    Returns
    -------
    (DataFrame, str)
        The raw table and the encoding used (or the format for Excel/Parquet). Its
        index is a RangeIndex starting at ``skip_rows`` (0 without title rows):
        index + 2 is the spreadsheet row of a CSV/Excel line.

    Raises
    ------
    IngestError
        The file cannot be read or decoded, its header is split by another
        delimiter than the one set, a line has more fields than the header, or
        the file is damaged (truncated ``.gz``, corrupt ``.xlsx`` or Parquet).

    Examples
    --------
    >>> df, enc = read_raw(Path("data/acme/raw/orders.csv"), skip_rows=2)  # doctest: +SKIP
    """
    label = label or str(path)
    kind = file_format(path, fmt)
    if kind == "parquet":
        import pyarrow as pa

        try:
            return pd.read_parquet(path), "parquet"
        except (OSError, ValueError, pa.ArrowException):
            raise _problem(
                label,
                "cannot be read as parquet: it is not a complete Parquet file (truncated, or "
                "another format with a .parquet name); export it again or set `format`",
            ) from None
    if kind == "excel":
        try:
            df = pd.read_excel(
                path, sheet_name=sheet or 0, dtype=str, keep_default_na=False, skiprows=skip_rows
            )
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
            what = (
                "it is not a complete .xlsx workbook (a truncated download, or another "
                "format with an Excel name); open and save it again in Excel, or export it again"
                if isinstance(e, (zipfile.BadZipFile, KeyError, OSError))
                else str(e).splitlines()[0]
            )
            raise _problem(label, f"cannot be read as excel: {what}") from None
        if skip_rows:
            df.index = pd.RangeIndex(skip_rows, skip_rows + len(df))
        return df, "excel"
    try:
        text, enc = read_text(path, encoding=encoding, label=label)
    except OSError as e:
        raise _problem(label, f"cannot be read: {e.strerror or e}") from None
    return _parse_csv(text, delimiter, skip_rows, label), enc


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
