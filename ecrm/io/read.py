"""Reading raw exports as they are: format, encoding and the file's fingerprint.

The first step of ingestion (:mod:`ecrm.io.ingest`): a raw CSV, Excel or Parquet
export is opened read-only and returned as a table of strings (CSV/Excel), with
the encoding it was read in. No column is mapped or parsed here; that is
:mod:`ecrm.io.schema`'s job.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pandas as pd

from ecrm.errors import IngestError, InputProblem

__all__ = ["detect_encoding", "file_sha256", "read_raw"]


def detect_encoding(data: bytes) -> str:
    """Tell UTF-8 with BOM, UTF-8 and CP932 (Shift_JIS) apart.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    str
        ``"utf-8-sig"``, ``"utf-8"`` or ``"cp932"``.

    Raises
    ------
    UnicodeDecodeError
        The bytes are none of the three. A NUL byte (as in UTF-16 or a binary
        file) never occurs in a UTF-8 or Shift_JIS text, though CP932 would
        decode it.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnicodeDecodeError("cp932", data, nul, nul + 1, "NUL byte in a text file")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        data.decode("cp932")  # raises if neither
        return "cp932"


def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    return "csv"


def read_raw(
    path: Path,
    *,
    fmt: str = "auto",
    encoding: str = "auto",
    sheet: str | int | None = None,
    delimiter: str = ",",
    label: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """Read one raw export as it is, every CSV/Excel cell as a string.

    Parameters
    ----------
    path : Path
        The file (opened read-only).
    fmt, encoding, sheet, delimiter
        As in the settings' ``sources`` entries.
    label : str, optional
        Name used in error messages (default: the path).

    Returns
    -------
    (DataFrame, str)
        The raw table (a default RangeIndex) and the encoding used (or the format
        for Excel/Parquet).

    Raises
    ------
    IngestError
        The file cannot be read or decoded.
    """
    label = label or str(path)
    kind = _format_of(path, fmt)
    try:
        if kind == "parquet":
            return pd.read_parquet(path), "parquet"
        if kind == "excel":
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False)
            return df, "excel"
        data = path.read_bytes()
        if path.suffix.lower() == ".gz":
            import gzip

            data = gzip.decompress(data)
        enc = {"shift_jis": "cp932"}.get(encoding, encoding)
        if enc == "auto":
            try:
                enc = detect_encoding(data)
            except UnicodeDecodeError:
                raise IngestError(
                    [
                        InputProblem(
                            label,
                            None,
                            None,
                            "file is neither UTF-8 nor Shift_JIS/CP932; "
                            "set `encoding` for this source in the settings",
                        )
                    ]
                ) from None
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise IngestError(
                [InputProblem(label, line, None, f"cannot be decoded as {enc}: {e.reason}")]
            ) from None
        import io

        if text.startswith("\ufeff"):
            text = text[1:]
        df = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, sep=delimiter
        )
        return df, enc
    except IngestError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, zipfile.BadZipFile) as e:
        raise IngestError(
            [InputProblem(label, None, None, f"cannot be read as {kind}: {e}")]
        ) from e


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
