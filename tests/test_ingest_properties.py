"""Property-based tests of ingestion: random realistic exports against independent totals.

A generator builds a shop's order history as plain Python values (orders, their
customer, time, status and lines), then writes it out the way real cart exports
do: 全角 digits, thousands separators, ``¥``/``円``/``▲``, decimal commas in
some files, null markers for guests, email customer ids in any case, ``.0``
ids, quoted commas, quotes and newlines in product names, CP932 / UTF-8 / BOM,
exact duplicate lines, orders re-exported with other lines in a later file,
returns and cancelled orders — and sometimes one bad cell. The totals the
ingestion must give (revenue, orders, customers, guest lines) are computed from
the Python values, never from ecrm.

Properties: ingest raises nothing but ecrm's own errors; when it succeeds its
totals are the independent ones; the raw bytes never change; when it fails the
previous canonical set is unchanged, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecrm
from ecrm.errors import EcrmError, IngestError

TODAY = date(2024, 12, 31)
HEADER = [
    "受注番号",
    "会員ID",
    "受注日時",
    "小計",
    "数量",
    "商品コード",
    "商品名",
    "受注ステータス",
]
COLUMNS = dict(
    zip(
        (
            "order_id",
            "customer_id",
            "ordered_at",
            "amount",
            "quantity",
            "product_id",
            "product_name",
            "status",
        ),
        HEADER,
        strict=True,
    )
)
FULL = str.maketrans("0123456789,.-:ACDELN", "０１２３４５６７８９，．－：ＡＣＤＥＬＮ")
MARKERS = ["", "NaN", "nan", "NULL", "null", "None", "#N/A", "N/A", "-"]
NAMES = ["緑茶", "煎茶, 100g", 'ほうじ茶 "特選"', "抹茶\n詰め合わせ"]


@dataclass
class Line:
    product: str
    amount: Decimal
    quantity: int
    name: str


@dataclass
class Order:
    order_id: str
    customer: str | None  # the canonical key: None for a guest, emails lower-case
    at: datetime
    cancelled: bool
    lines: list[Line]
    files: str  # "first", "second" or "both" (then the first holds an older version)
    old_lines: list[Line] = field(default_factory=list)


# --------------------------------------------------------------------------- the history


@st.composite
def lines_of(draw: st.DrawFn) -> list[Line]:
    out = []
    for j in range(draw(st.integers(1, 3))):
        cents = draw(st.sampled_from([1, 1, 1, 100]))
        amount = Decimal(draw(st.integers(-30_000, 3_000_000))) / cents
        quantity = -draw(st.integers(1, 3)) if amount < 0 else draw(st.integers(1, 5))
        out.append(Line(f"P{j}", amount, quantity, draw(st.sampled_from(NAMES))))
    return out


@st.composite
def histories(draw: st.DrawFn) -> list[Order]:
    orders = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["member", "member", "guest", "email"]))
        k = draw(st.integers(1, 4))
        customer = {"member": f"1785{k}", "guest": None, "email": f"user{k}@example.jp"}[kind]
        lines = draw(lines_of())
        files = draw(st.sampled_from(["first", "second", "both"]))
        old = []
        if files == "both":  # an older export of the order: other amounts, maybe a line less
            old = [
                Line(x.product, x.amount + (1 if x.amount >= 0 else -1), x.quantity, x.name)
                for x in lines
            ]
            old = old[: draw(st.integers(1, len(old)))]
        orders.append(
            Order(
                order_id=f"A{i:03d}",
                customer=customer,
                at=datetime(2020, 1, 1) + timedelta(minutes=draw(st.integers(0, 2_000_000))),
                cancelled=draw(st.booleans()) and draw(st.booleans()),
                lines=lines,
                files=files,
                old_lines=old,
            )
        )
    return orders


# --------------------------------------------------------------------------- writing it out


def render_amount(d: Decimal, decimal: str, encoding: str, draw: st.DrawFn) -> str:
    sign = "-" if d < 0 else ""
    whole, _, frac = f"{abs(d):f}".partition(".")
    frac = frac.rstrip("0")
    group = "," if decimal == "." else "."
    if len(whole) > 3 and draw(st.booleans()):
        parts = []
        while whole:
            parts.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = group.join(parts)
    text = whole + (decimal + frac if frac else "")
    if sign:
        sign = draw(st.sampled_from(["-", "▲", "△"]))
    yen = "￥" if encoding == "cp932" else draw(st.sampled_from(["¥", "￥"]))
    text = sign + draw(st.sampled_from(["{}", yen + "{}", "{}円"])).format(text)
    return text.translate(FULL) if draw(st.booleans()) else text


def render_customer(o: Order, draw: st.DrawFn) -> str:
    if o.customer is None:
        return draw(st.sampled_from(MARKERS))
    if "@" in o.customer:
        return draw(st.sampled_from([o.customer, o.customer.upper(), o.customer.title()]))
    form = draw(st.sampled_from(["{}", "{}.0", " {} "]))
    text = form.format(o.customer)
    return text.translate(FULL) if draw(st.booleans()) else text


def render_time(t: datetime, draw: st.DrawFn) -> str:
    fmt = draw(st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M"]))
    text = t.strftime(fmt)
    return text.translate(FULL) if draw(st.booleans()) else text


@st.composite
def exports(draw: st.DrawFn) -> dict[str, Any]:
    """The history, its files (name → bytes, decimal separator) and maybe one bad cell."""
    history = draw(histories())
    files: dict[str, dict[str, Any]] = {}
    for name in ("orders_1.csv", "orders_2.csv"):
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
        files[name] = {"encoding": encoding, "decimal": draw(st.sampled_from([".", ".", ","]))}
        files[name]["rows"] = []
    for o in history:
        versions = {"first": [("orders_1.csv", o.lines)], "second": [("orders_2.csv", o.lines)]}
        versions["both"] = [("orders_1.csv", o.old_lines), ("orders_2.csv", o.lines)]
        for fname, lines in versions[o.files]:
            f = files[fname]
            cancelled = o.cancelled and lines is o.lines
            for x in lines:
                status = (
                    draw(st.sampled_from(["cancelled", "ＣＡＮＣＥＬＬＥＤ"]))
                    if cancelled
                    else "発送済"
                )
                oid = o.order_id.translate(FULL) if draw(st.booleans()) else o.order_id
                f["rows"].append(
                    [
                        oid,
                        render_customer(o, draw),
                        render_time(o.at, draw),
                        render_amount(x.amount, f["decimal"], f["encoding"], draw),
                        str(x.quantity),
                        x.product,
                        x.name,
                        status,
                    ]
                )
    bad = draw(st.sampled_from([None] * 6 + ["amount", "date", "text"]))
    for f in files.values():
        rows = f["rows"]
        for i in draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=2)):
            if rows:
                rows.insert(i, list(rows[i]))  # an exact duplicate line
    target = next((f for f in files.values() if f["rows"]), None)
    if bad and target is not None:
        row = target["rows"][draw(st.integers(0, len(target["rows"]) - 1))]
        if bad == "amount":  # ambiguous under the file's separator
            row[3] = "2,55" if target["decimal"] == "." else "2.55"
        elif bad == "date":
            row[2] = "1900-01-01 00:00"
        else:
            row[3] = "12x"
    else:
        bad = None
    return {"history": history, "files": files, "bad": bad}


def csv_of(rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


# --------------------------------------------------------------------------- the shop


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop with a canonical set of one order: what every example starts from."""
    shop = tmp_path_factory.mktemp("template")
    (shop / "raw").mkdir()
    (shop / "raw" / "orders_0.csv").write_bytes(
        csv_of([["Z1", "C9", "2024-01-01 10:00:00", "100", "1", "P1", "緑茶", "発送済"]], "utf-8")
    )
    settings_for(shop, {})
    ecrm.ingest(shop, today=TODAY)
    (shop / "raw" / "orders_0.csv").unlink()
    return shop


def settings_for(shop: Path, files: dict[str, dict[str, Any]]) -> None:
    sources = [{"path": f"raw/{n}", "decimal": f["decimal"]} for n, f in files.items()]
    data = {
        "name": "prop-shop",
        "sources": sources or [{"path": "raw/orders_*.csv"}],
        "columns": COLUMNS,
    }
    (shop / "settings.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def expected(history: list[Order]) -> dict[str, Any]:
    """The totals, from the Python values alone."""
    kept = [o for o in history if not o.cancelled]
    lines = [(o, x) for o in kept for x in o.lines]
    return {
        "revenue": sum((x.amount for _, x in lines), Decimal(0)),
        "orders": len(kept),
        "customers": len({o.customer for o in kept if o.customer is not None}),
        "guest_rows_kept": sum(1 for o, _ in lines if o.customer is None),
        "rows_kept": len(lines),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=exports())
def test_random_exports_give_the_independent_totals(template: Path, case: dict[str, Any]) -> None:
    files = {n: f for n, f in case["files"].items() if f["rows"]}
    with tempfile.TemporaryDirectory() as tmp:
        shop = Path(tmp) / "shop"
        shutil.copytree(template, shop, symlinks=True)
        for name, f in files.items():
            (shop / "raw" / name).write_bytes(csv_of(f["rows"], f["encoding"]))
        settings_for(shop, files)
        raw_before = hashes(shop / "raw")
        set_before = hashes(shop / "canonical")
        want = expected(case["history"])
        try:
            result = ecrm.ingest(shop, today=TODAY)
        except IngestError as e:
            if case["bad"] is None:  # only the shrink guard may refuse good exports
                assert want["orders"] == 0, str(e)
                assert "the exports hold 0 orders where the current canonical set holds 1" in str(e)
            assert hashes(shop / "canonical") == set_before
        except Exception as e:  # anything else must still be one of ecrm's own errors
            assert isinstance(e, EcrmError), repr(e)
            assert hashes(shop / "canonical") == set_before
        else:
            assert case["bad"] is None
            s = result.summary
            got = {
                "revenue": Decimal(s.revenue),
                "orders": s.orders,
                "customers": s.customers,
                "guest_rows_kept": s.guest_rows_kept,
                "rows_kept": s.rows_kept,
            }
            assert got == want
        assert hashes(shop / "raw") == raw_before


# --------------------------------------------------------------------------- the number rule alone


def parse(cells: list[str], decimal: str) -> tuple[list[Decimal | None], list[bool]]:
    """RawParser's amounts of ``cells`` and which were reported ambiguous."""
    import pandas as pd

    from ecrm.io.schema import RawParser

    parser = RawParser("Asia/Tokyo", TODAY, decimal=decimal)
    s = pd.Series(cells, dtype="string")
    got = parser.decimals("amount", s)
    values = [None if pd.isna(v) else Decimal(v) for v in got]
    return values, (~parser.amount_unambiguous(s)).tolist()


@settings(max_examples=200, deadline=None)
@given(
    value=st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False),
    decimal=st.sampled_from([".", ","]),
    data=st.data(),
)
def test_a_number_written_in_any_accepted_form_reads_as_itself(
    value: Decimal, decimal: str, data: st.DataObject
) -> None:
    text = render_amount(value, decimal, "utf-8", data.draw)
    assert parse([text], decimal) == ([value], [False]), text


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(0, 10**6),
    tail=st.text("0123456789", min_size=1, max_size=6).filter(lambda t: len(t) != 3),
    decimal=st.sampled_from([".", ","]),
)
def test_a_separator_not_before_three_digits_is_ambiguous(
    whole: int, tail: str, decimal: str
) -> None:
    """``2,55`` or ``1,2345`` under ``.`` (``2.55`` under ``,``) is never a number."""
    group = "," if decimal == "." else "."
    text = f"{whole}{group}{tail}"
    assert parse([text], decimal) == ([None], [True]), text
