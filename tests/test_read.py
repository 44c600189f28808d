"""Tests of ecrm.io.read: title rows, UTF-16, a mis-set delimiter and damaged files.

Each case has one example with its exact message, and the classes are proved with
Hypothesis: any table written with another delimiter is refused with the
delimiter to set (and read right with it), any truncation of a ``.csv.gz`` is one
clear error, and no error message carries a cell of the file.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm.errors import IngestError, InputProblem
from ecrm.io.read import detect_encoding, read_raw

CARTS = Path(__file__).parent / "fixtures" / "carts"

MSG_GZ = (
    "is a truncated or damaged gzip archive (it ends before its last byte or fails its "
    "checksum); download the export again"
)
MSG_XLSX = (
    "cannot be read as excel: it is not a complete .xlsx workbook (a truncated download, or "
    "another format with an Excel name); open and save it again in Excel, or export it again"
)
MSG_PARQUET = (
    "cannot be read as parquet: it is not a complete Parquet file (truncated, or another "
    "format with a .parquet name); export it again or set `format`"
)


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def problems_of(path: Path, **kw: object) -> list[InputProblem]:
    with pytest.raises(IngestError) as info:
        read_raw(path, label=path.name, **kw)  # type: ignore[arg-type]
    return info.value.problems


# --------------------------------------------------------------------------- title rows


def test_skip_rows_reads_below_the_title_and_keeps_the_line_numbers() -> None:
    df, enc = read_raw(CARTS / "title_rows_orders.csv", skip_rows=2)
    assert enc == "cp932"
    assert list(df.columns) == ["受注番号", "会員ID", "受注日時", "商品コード", "数量", "小計"]
    assert df["受注番号"].tolist() == ["B1", "B2"]
    # index + 2 is the spreadsheet row: header on line 3, first data line on line 4
    assert df.index.tolist() == [2, 3]


def test_without_skip_rows_a_titled_export_is_refused_with_the_hint(tmp_path: Path) -> None:
    [p] = problems_of(CARTS / "title_rows_orders.csv")
    assert p == InputProblem(
        "title_rows_orders.csv",
        3,
        None,
        "line 3 has 6 fields but the header has 1: check `delimiter` and "
        "`skip_rows` for this source, or quote cells that hold the delimiter",
    )


def test_skip_rows_of_an_excel_sheet(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    raw = pd.DataFrame([["受注一覧", None], ["order", "amount"], ["A1", "100"]])
    raw.to_excel(path, index=False, header=False)
    df, _ = read_raw(path, skip_rows=1)
    assert df.to_dict("records") == [{"order": "A1", "amount": "100"}]
    assert df.index.tolist() == [1]


def test_skip_rows_past_the_end_says_so(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("title\n", encoding="utf-8")
    [p] = problems_of(path, skip_rows=3)
    assert p.message == "holds no header line after the 3 title row(s) of `skip_rows`"


# --------------------------------------------------------------------------- UTF-16


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_detected_and_read(tmp_path: Path, codec: str) -> None:
    text = csv_text([["注文番号", "金額"], ["A1", "1200"], ["A2", "３００"]], "\t")
    data = text.encode(codec)
    if codec != "utf-16":  # the LE/BE codecs write no BOM: add it as Windows tools do
        data = ("\ufeff" + text).encode(codec)
    path = tmp_path / "orders.txt"
    path.write_bytes(data)
    assert detect_encoding(data) == "utf-16"
    df, enc = read_raw(path, delimiter="\t")
    assert enc == "utf-16"
    assert df.to_dict("records") == [
        {"注文番号": "A1", "金額": "1200"},
        {"注文番号": "A2", "金額": "３００"},
    ]


def test_utf16_fixture_is_read_with_tabs() -> None:
    df, enc = read_raw(CARTS / "unicode_text_orders.txt", delimiter="\t")
    assert enc == "utf-16" and len(df) == 3 and df.columns[0] == "注文番号"


def test_utf16_without_bom_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16-le"))
    [p] = problems_of(path)
    assert p.message == (
        "file is neither UTF-8 nor Shift_JIS/CP932; set `encoding` for this source in the settings"
    )


# --------------------------------------------------------------------------- delimiters


def test_semicolon_file_read_with_comma_is_refused_with_the_setting() -> None:
    [p] = problems_of(CARTS / "semicolon_decimal_comma.csv")
    assert p == InputProblem(
        "semicolon_decimal_comma.csv",
        1,
        None,
        "the header line is not split by the comma delimiter but by semicolons (5 columns): "
        'set `delimiter: ";"` for this source in the settings',
    )


def test_tab_file_read_with_comma_is_refused_with_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "o.tsv"
    path.write_text("受注番号\t小計\nA1\t1,200\n", encoding="utf-8")
    [p] = problems_of(path)
    assert p.message == (
        "the header line is not split by the comma delimiter but by tabs (2 columns): "
        'set `delimiter: "\\t"` for this source in the settings'
    )


def test_a_line_with_more_fields_than_the_header_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6,7\n", encoding="utf-8")
    [p] = problems_of(path)
    assert (p.row, p.message) == (
        4,
        "line 4 has 3 fields but the header has 2: check `delimiter` and "
        "`skip_rows` for this source, or quote cells that hold the delimiter",
    )


_cell = st.text(
    alphabet=st.characters(
        categories=("Lu", "Ll", "Nd", "Lo"), max_codepoint=0x9FFF, exclude_characters=","
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    delimiter=st.sampled_from(["\t", ";", "|"]),
    header=st.lists(_cell, min_size=2, max_size=6, unique=True),
    n_rows=st.integers(1, 5),
    data=st.data(),
)
def test_any_other_delimiter_is_refused_then_read_right(
    tmp_path: Path, delimiter: str, header: list[str], n_rows: int, data: st.DataObject
) -> None:
    secret = _cell.map(lambda c: "秘" + c)  # data cells the message must never carry
    rows = [
        data.draw(st.lists(secret, min_size=len(header), max_size=len(header)))
        for _ in range(n_rows)
    ]
    path = tmp_path / "export.csv"
    path.write_text(csv_text([header, *rows], delimiter), encoding="utf-8")
    with pytest.raises(IngestError) as info:
        read_raw(path)
    [p] = info.value.problems
    assert p.row == 1 and "set `delimiter: " in p.message
    assert not any(cell in p.message for row in rows for cell in row)  # no content echoed
    df, _ = read_raw(path, delimiter=delimiter)
    assert df.columns.tolist() == header and df.to_numpy().tolist() == rows


# --------------------------------------------------------------------------- damaged files


def test_truncated_csv_gz_is_one_clear_error(tmp_path: Path) -> None:
    full = gzip.compress(("a,b\n" + "1,2\n" * 5000).encode())
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(full[: len(full) // 2])
    assert problems_of(path) == [InputProblem("orders.csv.gz", None, None, MSG_GZ)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.floats(0.0, 0.999))
def test_every_truncation_of_a_gz_is_an_ingest_error(tmp_path: Path, cut: float) -> None:
    full = gzip.compress(("id,secret\n" + "1,topsecret\n" * 300).encode())
    path = tmp_path / "o.csv.gz"
    path.write_bytes(full[: int(len(full) * cut)])
    with pytest.raises(IngestError) as info:
        read_raw(path)
    assert "topsecret" not in str(info.value)


def test_corrupt_xlsx_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04 a truncated download")
    assert problems_of(path) == [InputProblem("orders.xlsx", None, None, MSG_XLSX)]


def test_a_parquet_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    path.write_text("order_id,amount\nA1,100\n", encoding="utf-8")
    assert problems_of(path) == [InputProblem("orders.parquet", None, None, MSG_PARQUET)]


def test_truncated_parquet(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"order_id": ["A1"] * 100, "amount": range(100)}).to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert problems_of(path) == [InputProblem("orders.parquet", None, None, MSG_PARQUET)]


def test_ingest_honours_skip_rows(tmp_path: Path) -> None:
    from datetime import date

    import yaml

    from ecrm.io.ingest import ingest

    shop = tmp_path / "shop"
    (shop / "raw").mkdir(parents=True)
    (shop / "raw" / "o.csv").write_bytes((CARTS / "title_rows_orders.csv").read_bytes())
    settings_data = {
        "name": "shop",
        "sources": [{"path": "raw/o.csv", "skip_rows": 2}],
        "columns": {
            "order_id": "受注番号",
            "customer_id": "会員ID",
            "ordered_at": "受注日時",
            "amount": "小計",
        },
    }
    (shop / "settings.yaml").write_text(yaml.safe_dump(settings_data, allow_unicode=True), "utf-8")
    summary = ingest(shop, today=date(2024, 12, 31)).summary
    assert (summary.rows_kept, summary.orders, summary.revenue) == (2, 2, "4200")
