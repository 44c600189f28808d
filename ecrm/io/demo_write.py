"""Writing the demo shops' raw exports: one file per channel or year, each written atomically.

CSV (UTF-8, UTF-8 with BOM or CP932 with CRLF line ends, as each export asks)
or Parquet, written one slice at a time so that memory stays bounded, through a
temporary name in the target folder so that a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["write_atomic", "write_split"]

_ROW_GROUP = 1 << 20  # rows per Parquet row group / CSV slice


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


def write_split(
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


def write_atomic(path: Path, write: Callable[[io.BufferedWriter], object]) -> None:
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
