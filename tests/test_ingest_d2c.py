"""Ingestion of the D2C inputs (SPEC §1): subscription_id, the subscriptions table, costs.

Each problem of :mod:`ecrm.io.d2c` has one example with its exact message (file,
row, column, value); a Hypothesis property covers random subscriptions with
random start and cancel dates and deliveries; the canonical set flips with the
new files; and the subscription and channel analyses run on the ingested tables
of the fixture shop ``tests/fixtures/d2c`` and give the hand-computed numbers.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm import IngestError, InputProblem, SettingsError
from ecrm.analysis import channels, subscriptions
from ecrm.io import canonical
from ecrm.io.d2c import cost_months
from ecrm.io.ingest import ingest
from ecrm.settings import ShopSettings, load_settings

FIXTURE = Path(__file__).parent / "fixtures" / "d2c"
TODAY = date(2026, 7, 1)
AS_OF = "2026-06-30"
ORDERS_HEADER = ["受注番号", "会員ID", "受注日時", "小計", "商品コード", "販売チャネル", "定期ID"]
SUBS_HEADER = ["定期ID", "会員ID", "開始日", "解約日", "商品コード", "チャネル"]
COSTS_HEADER = ["月", "チャネル", "広告費"]
SUBS_CSV = "raw/subscriptions.csv"
COSTS_CSV = "raw/costs.csv"
ORDERS_CSV = "raw/orders.csv"


# --------------------------------------------------------------------------- helpers


def fixture_shop(tmp: Path) -> Path:
    shop = tmp / "d2c-fixture"
    shutil.copytree(FIXTURE, shop)
    return shop


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def edit_settings(shop: Path, **changes: Any) -> None:
    p = shop / "settings.yaml"
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def problems_of(shop: Path) -> list[InputProblem]:
    with pytest.raises(IngestError) as e:
        ingest(shop, today=TODAY)
    return e.value.problems


def read_rows(shop: Path, name: str) -> list[list[str]]:
    with (shop / "raw" / name).open(encoding="utf-8") as f:
        return list(csv.reader(f))[1:]


def replace_subs(shop: Path, rows: list[list[str]]) -> None:
    write_csv(shop / SUBS_CSV, SUBS_HEADER, rows)


def replace_costs(shop: Path, rows: list[list[str]]) -> None:
    write_csv(shop / COSTS_CSV, COSTS_HEADER, rows)


def replace_orders(shop: Path, rows: list[list[str]]) -> None:
    write_csv(shop / ORDERS_CSV, ORDERS_HEADER, rows)


# --------------------------------------------------------------------------- the fixture shop


def test_fixture_ingests_with_both_tables_and_summary(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    result = ingest(shop, today=TODAY)
    assert result.subscriptions_path == shop / "canonical" / "subscriptions.parquet"
    assert result.costs_path == shop / "canonical" / "costs.parquet"
    sb = result.summary.subscriptions
    assert sb == {
        "file": SUBS_CSV,
        "rows_read": 3,
        "exact_duplicates": 0,
        "subscriptions": 3,
        "active": 2,
        "cancelled": 1,
        "cancellations_scheduled": 0,
        "without_deliveries": 0,
        "delivery_orders": 7,
    }
    assert result.summary.costs == {
        "file": COSTS_CSV,
        "rows": 4,
        "months": 4,
        "month_from": "2026-01",
        "month_to": "2026-04",
        "channels": ["ad", "web"],
        "total": "21000",
    }
    text = result.summary.render()
    assert "subscriptions               3 (3 rows read): 2 active, 1 cancelled" in text
    assert "costs                       4 rows, 4 months (2026-01 … 2026-04), 2 channels" in text


def test_subscription_id_is_normalised_and_kept_in_orders(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    orders = pd.read_parquet(shop / "canonical" / "orders.parquet")
    by_order = orders.set_index("order_id")["subscription_id"]
    assert by_order["1006"] == "S1"  # 全角 Ｓ1 in the export
    assert pd.isna(by_order["1004"])  # no subscription: null, not ""
    assert sorted(by_order.dropna().unique()) == ["S1", "S2", "S3"]


def test_subscription_id_absent_without_mapping(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    data = yaml.safe_load((shop / "settings.yaml").read_text(encoding="utf-8"))
    del data["columns"]["subscription_id"]
    edit_settings(shop, columns=data["columns"], subscriptions=None)
    ingest(shop, today=TODAY)
    assert "subscription_id" not in pd.read_parquet(shop / "canonical" / "orders.parquet")


def test_subscriptions_table_is_normalised_and_joins_the_orders(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    subs = canonical.read_subscriptions(shop)
    orders = pd.read_parquet(shop / "canonical" / "orders.parquet")
    assert subs["subscription_id"].tolist() == ["S1", "S2", "S3"]
    # the e-mail customer id is hashed exactly as in the orders, so the tables join
    taro = orders.loc[orders["order_id"] == "1001", "customer_id"].iloc[0]
    assert taro.startswith("h") and "@" not in taro
    assert subs["customer_id"].tolist() == [taro, "C2", "C3"]
    assert subs["started_at"].dt.date.astype(str).tolist() == [
        "2026-01-10",
        "2026-02-05",
        "2026-06-20",
    ]
    assert subs["cancelled_at"].isna().tolist() == [True, False, True]  # NULL marker: active
    assert str(subs.loc[1, "cancelled_at"].date()) == "2026-02-20"
    assert subs["channel"].tolist() == ["web", "ad", "web"]


def test_costs_table_months_and_exact_money(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    costs = canonical.read_costs(shop)
    assert costs["month"].tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert costs["channel"].tolist() == ["web", "ad", "ad", "ad"]
    assert costs["cost"].tolist() == [Decimal(6000), Decimal(9000), Decimal(4000), Decimal(2000)]
    assert channels.check_costs(costs)["cost"].tolist() == [6000.0, 9000.0, 4000.0, 2000.0]


def test_readers_without_tables_return_none(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    edit_settings(shop, subscriptions=None, costs=None)
    ingest(shop, today=TODAY)
    assert canonical.read_subscriptions(shop) is None
    assert (
        canonical.read_costs(ShopSettings(name="x", sources=[{"path": "a"}], base_dir=shop)) is None
    )
    assert canonical.read_costs(shop) is None


# --------------------------------------------------------------------------- analyses on it


def test_subscription_analyses_on_the_ingested_tables(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    orders = shop / "canonical" / "orders.parquet"
    table = canonical.read_subscriptions(shop)
    s = subscriptions.subscriptions(orders, as_of=AS_OF, table=table)
    # S1: 5 deliveries (March skipped), active; S2 cancelled after its first; S3 pending
    assert s["subscription_id"].tolist() == ["S1", "S2", "S3"]
    assert s["status"].tolist() == ["active", "cancelled", "active"]
    assert s["deliveries"].tolist() == [5, 1, 1]
    assert s["revenue"].tolist() == [15000.0, 3000.0, 3000.0]
    c = subscriptions.continuation(orders, as_of=AS_OF, table=table).set_index("n")
    assert c.loc[1, ["reached", "continued", "cancelled", "pending"]].tolist() == [3, 1, 1, 1]
    assert c.loc[1, "continuation_rate"] == 0.5
    assert c.loc[5, ["reached", "continued", "cancelled", "pending"]].tolist() == [1, 0, 0, 1]
    assert c.loc[2, "survival"] == pytest.approx(1 / 3)


def test_acquisition_on_the_ingested_costs(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    a = channels.acquisition(
        shop / "canonical" / "orders.parquet", as_of=AS_OF, costs=canonical.read_costs(shop)
    ).set_index(["month", "channel", "days"])
    # 2026-01 web: taro, 3,000 within 30 days, 6,000 within 60 (2026-02-10 is day 31); cost 6,000
    assert a.loc[("2026-01", "web", 30), ["new_customers", "revenue", "cac"]].tolist() == [
        1,
        3000.0,
        6000.0,
    ]
    assert a.loc[("2026-01", "web", 60), "ltv_cac"] == 1.0
    # within 90 days: + the cup on day 69 and the delivery of 2026-04-10, day 90 (it counts)
    assert a.loc[("2026-01", "web", 90), "revenue"] == 10000.0
    assert a.loc[("2026-02", "ad", 30), "roas"] == pytest.approx(3000 / 9000)
    assert a.loc[("2026-03", "ad", 30), "ltv_cac"] == 1.25
    # 2026-04 ad: money spent, nobody acquired
    assert a.loc[("2026-04", "ad", 30), ["new_customers", "cost", "roas"]].tolist() == [
        0,
        2000.0,
        0.0,
    ]


def test_without_a_table_subscriptions_come_from_the_orders(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    edit_settings(shop, subscriptions=None, analysis={"subscriptions": {"lapse_days": 60}})
    result = ingest(shop, today=TODAY)
    assert result.summary.subscriptions is None
    lapse = load_settings(shop).analysis.subscriptions.lapse_days
    s = subscriptions.subscriptions(
        shop / "canonical" / "orders.parquet", as_of=AS_OF, lapse_days=lapse
    )
    # S2's last delivery 2026-02-05: cancelled on 02-05 + 60 + 1 day = 2026-04-07
    assert s["status"].tolist() == ["active", "cancelled", "active"]
    assert str(s.loc[1, "cancelled_at"].date()) == "2026-04-07"


# --------------------------------------------------------------------------- subscription problems


def one_problem(shop: Path) -> InputProblem:
    found = problems_of(shop)
    assert len(found) == 1, found
    return found[0]


def test_subscription_id_twice(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    replace_subs(shop, [*rows, ["S2", "C2", "2026-02-05", "2026-03-01", "TEA-SUB", "ad"]])
    assert one_problem(shop) == InputProblem(
        SUBS_CSV,
        5,
        "定期ID",
        "subscription id listed twice with different values (rows 3, 5)",
        "S2",
    )


def test_subscription_exact_duplicate_row_is_dropped_and_counted(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    replace_subs(shop, [*rows, rows[1]])
    sb = ingest(shop, today=TODAY).summary.subscriptions
    assert (sb["rows_read"], sb["exact_duplicates"], sb["subscriptions"]) == (4, 1, 3)


def test_cancelled_before_started(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[1][3] = "2026-02-04"
    replace_subs(shop, rows)
    assert one_problem(shop) == InputProblem(
        SUBS_CSV, 3, "解約日", "cancelled before it started (started_at 2026-02-05)", "2026-02-04"
    )


def test_cancelled_on_its_start_day_is_fine(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[1][3] = "2026-02-05 08:00"  # before the delivery's time, on the same day
    replace_subs(shop, rows)
    assert ingest(shop, today=TODAY).summary.subscriptions["cancelled"] == 1


def test_unparseable_date(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[2][2] = "6/20/2026"
    replace_subs(shop, rows)
    assert one_problem(shop) == InputProblem(
        SUBS_CSV, 4, "開始日", "not a date (expected e.g. 2026-05-31)", "6/20/2026"
    )


def test_empty_start_and_future_start(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[0][2] = ""
    rows[2][2] = "2026-07-02"
    replace_subs(shop, rows)
    found = problems_of(shop)
    assert (
        InputProblem(
            SUBS_CSV, 2, "開始日", "started_at is empty: a subscription needs its start date", ""
        )
        in found
    )
    assert (
        InputProblem(SUBS_CSV, 4, "開始日", "start date is after the ingest date", "2026-07-02")
        in found
    )


def test_cancellation_after_ingest_date_is_kept_and_counted(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[0][3] = "2026-07-31"
    replace_subs(shop, rows)
    sb = ingest(shop, today=TODAY).summary.subscriptions
    assert (sb["active"], sb["cancelled"], sb["cancellations_scheduled"]) == (2, 1, 1)
    s = subscriptions.subscriptions(
        shop / "canonical" / "orders.parquet",
        as_of=AS_OF,
        table=canonical.read_subscriptions(shop),
    )
    assert s.loc[s["subscription_id"] == "S1", "status"].item() == "active"


def test_orders_of_one_subscription_name_two_customers(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "orders.csv")
    rows[8][6] = "S2"  # C3's order 1009 delivers S2, which belongs to C2
    replace_orders(shop, rows)
    found = problems_of(shop)
    assert found[0] == InputProblem(
        ORDERS_CSV,
        4,
        "会員ID",
        "the orders of subscription 'S2' name different customers ('C2', 'C3'; "
        "raw/orders.csv row 4, raw/orders.csv row 10)",
        "S2",
    )
    assert len(found) == 1  # S3, now without deliveries, is no problem


def test_order_naming_two_subscriptions(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    edit_settings(shop, subscriptions=None)  # an error without a table too
    rows = read_rows(shop, "orders.csv")
    rows.append(["1002", "taro@example.jp", "2026-02-10 10:00:00", "500", "CUP", "web", "S9"])
    rows.append(["1002", "taro@example.jp", "2026-02-10 10:00:00", "200", "CUP", "web", ""])
    replace_orders(shop, rows)
    assert one_problem(shop) == InputProblem(
        ORDERS_CSV,
        3,
        "定期ID",
        "the lines of order '1002' name different subscriptions ('S1', 'S9'); a delivery "
        "belongs to one subscription: export one order per subscription delivered",
        "1002",
    )


def test_add_on_line_without_subscription_is_fine(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "orders.csv")
    rows.append(["1002", "taro@example.jp", "2026-02-10 10:00:00", "200", "CUP", "web", ""])
    replace_orders(shop, rows)
    result = ingest(shop, today=TODAY)
    assert result.summary.subscriptions["delivery_orders"] == 7


def test_order_customer_differs_from_the_table(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[1][1] = "C4"
    replace_subs(shop, rows)
    assert one_problem(shop) == InputProblem(
        ORDERS_CSV,
        4,
        "会員ID",
        "subscription 'S2' belongs to customer 'C4' in raw/subscriptions.csv (row 3), "
        "but this order names another customer",
        "C2",
    )


def test_delivery_before_start(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[0][2] = "2026-02-01"  # S1's first delivery was 2026-01-10
    replace_subs(shop, rows)
    assert one_problem(shop) == InputProblem(
        ORDERS_CSV,
        2,
        "受注日時",
        "delivery of subscription 'S1' before its start (2026-02-01 in raw/subscriptions.csv "
        "row 2, column '開始日')",
        "2026-01-10 10:00:00",
    )


def test_delivery_on_the_start_day_is_on_time(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    rows[0][2] = "2026-01-10 23:59"  # later that day than the 10:00 delivery
    replace_subs(shop, rows)
    assert ingest(shop, today=TODAY).summary.subscriptions["subscriptions"] == 3


def test_order_names_a_subscription_the_table_lacks(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    replace_subs(shop, rows[:2])  # S3 missing
    assert one_problem(shop) == InputProblem(
        ORDERS_CSV,
        10,
        "定期ID",
        "subscription id not in the subscriptions table raw/subscriptions.csv (1 order(s)); "
        "export the table again, or remove `subscriptions:` from the settings to derive "
        "subscriptions from the orders",
        "S3",
    )


def test_subscription_without_orders_is_kept_and_counted(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    replace_subs(shop, [*rows, ["S4", "C4", "2026-06-28", "", "TEA-SUB", "ad"]])
    sb = ingest(shop, today=TODAY).summary.subscriptions
    assert (sb["subscriptions"], sb["without_deliveries"]) == (4, 1)


def test_subscriptions_table_without_orders_column(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    data = yaml.safe_load((shop / "settings.yaml").read_text(encoding="utf-8"))
    del data["columns"]["subscription_id"]
    edit_settings(shop, columns=data["columns"])
    assert one_problem(shop) == InputProblem(
        SUBS_CSV,
        None,
        None,
        "a subscriptions table needs the orders column subscription_id (the subscription "
        "each delivery belongs to): map it in the settings' `columns`",
    )


def test_subscriptions_missing_column(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    write_csv(shop / SUBS_CSV, ["定期ID", "会員ID"], [["S1", "C1"]])
    p = one_problem(shop)
    assert p.file == SUBS_CSV and p.row is None
    assert p.message == (
        "subscriptions: missing column(s): started_at (raw column '開始日'); cancelled_at "
        "(raw column '解約日'); product_id (raw column '商品コード'); channel (raw column "
        "'チャネル'). The file has: ['定期ID', '会員ID']"
    )


def test_empty_ids_in_the_subscriptions_table(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "subscriptions.csv")
    replace_subs(shop, [*rows, ["", "C4", "2026-03-01", "", "", ""], ["S9", "-", "2026-03-01"]])
    found = problems_of(shop)
    assert InputProblem(SUBS_CSV, 5, "定期ID", "subscription_id is empty", "") in found
    assert (
        InputProblem(
            SUBS_CSV,
            6,
            "会員ID",
            "customer_id is empty (or a guest marker): a subscription needs a customer",
            "-",
        )
        in found
    )


# --------------------------------------------------------------------------- cost problems


def test_docstring_examples() -> None:
    import doctest

    import ecrm.io.d2c

    result = doctest.testmod(ecrm.io.d2c)
    assert result.attempted > 0 and result.failed == 0


def test_cost_month_forms() -> None:
    months, refused, why = cost_months(
        pd.Series(["2026-10", "2026/9", "２０２６年８月", "2026.07", "2026-06-01", "2026年5月"]),
        today=date(2026, 11, 30),
        min_date=date(2000, 1, 1),
    )
    assert months.tolist() == ["2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"]
    assert not refused.any() and why == {}
    typed = pd.Series(pd.to_datetime(["2026-10-01", "2026-10-15"]))
    months, refused, why = cost_months(typed, today=date(2026, 11, 30), min_date=date(2000, 1, 1))
    assert months.tolist() == ["2026-10", ""]
    assert why == {
        1: "a date, not a month (write 2026-10, 2026/10 or 2026年10月; a date must be the 1st)"
    }


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(2000, 2026),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    form=st.sampled_from(
        ["{y}-{m:02d}", "{y}/{m}", "{y}.{m:02d}", "{y}年{m}月", "{y}-{m:02d}-{d:02d}"]
    ),
    wide=st.booleans(),
)
def test_property_cost_months(year: int, month: int, day: int, form: str, wide: bool) -> None:
    """Every accepted form gives its YYYY-MM; a date is a month only on the 1st."""
    import unicodedata

    cell = form.format(y=year, m=month, d=day)
    if wide:  # 全角 digits, as a Japanese spreadsheet may write them
        cell = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in cell)
    assert unicodedata.normalize("NFKC", cell) == form.format(y=year, m=month, d=day)
    today = date(2026, 12, 31)
    months, refused, why = cost_months(pd.Series([cell]), today=today, min_date=date(2000, 1, 1))
    if "{d" in form and day != 1:
        assert refused.tolist() == [True] and why[0].startswith("a date, not a month")
    else:
        assert months.tolist() == [f"{year}-{month:02d}"] and not refused.any()


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("Oct 2026", "not a month (expected e.g. 2026-10, 2026/10 or 2026年10月)"),
        ("2026-13", "not a month (expected e.g. 2026-10, 2026/10 or 2026年10月)"),
        (
            "2026-03-15",
            "a date, not a month (write 2026-10, 2026/10 or 2026年10月; a date must be the 1st)",
        ),
        ("2026-08", "month is after the ingest date (a budget is not spend)"),
        ("1999-12", "month is before the shop's min_order_date (2000-01-01)"),
        ("", "month is empty"),
    ],
)
def test_bad_cost_month(tmp_path: Path, cell: str, message: str) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "costs.csv")
    rows[2][0] = cell
    replace_costs(shop, rows)
    assert one_problem(shop) == InputProblem(COSTS_CSV, 4, "月", message, cell)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-500", "cost is negative (spend is ≥ 0)"),
        ("▲500", "cost is negative (spend is ≥ 0)"),
        ("twelve", "not an amount (expected a number such as 12000 or ¥12,000)"),
        ("", "cost is empty (write 0 for a month without spend)"),
        (
            "2,55",
            "ambiguous number: this source's decimal separator is '.', so a ',' may only "
            "separate thousands (1,234,567.89); set `decimal: ','` on the source if the "
            "file writes 2,55 for 2.55",
        ),
    ],
)
def test_bad_cost(tmp_path: Path, cell: str, message: str) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "costs.csv")
    rows[1][2] = cell
    replace_costs(shop, rows)
    assert one_problem(shop) == InputProblem(COSTS_CSV, 3, "広告費", message, cell)


def test_cost_zero_and_yen_forms_are_read(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    replace_costs(shop, [["2026-01", "web", "０"], ["2026-02", "ad", "￥１，２００"]])
    ingest(shop, today=TODAY)
    assert canonical.read_costs(shop)["cost"].tolist() == [Decimal(0), Decimal(1200)]


def test_duplicate_month_channel(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "costs.csv")
    replace_costs(shop, [*rows, ["2026年2月", "ａｄ", "100"]])
    assert one_problem(shop) == InputProblem(
        COSTS_CSV,
        6,
        "チャネル",
        "duplicate (month, channel) row: 2026-02 / ad is on rows 3, 6",
        "2026-02 / ad",
    )


def test_channel_the_orders_do_not_have(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    rows = read_rows(shop, "costs.csv")
    replace_costs(shop, [*rows, ["2026-03", "tv", "100"], ["2026-04", "tv", "100"]])
    assert one_problem(shop) == InputProblem(
        COSTS_CSV,
        6,
        "チャネル",
        "channel not in the orders (2 row(s)); the orders' channels are ['ad', 'web']",
        "tv",
    )


def test_costs_without_an_orders_channel(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    data = yaml.safe_load((shop / "settings.yaml").read_text(encoding="utf-8"))
    del data["columns"]["channel"]
    edit_settings(shop, columns=data["columns"])
    assert one_problem(shop) == InputProblem(
        COSTS_CSV,
        None,
        "チャネル",
        "the costs table names channels but the orders have no channel column: "
        "map `channel` in the settings' `columns`",
    )


def test_costs_from_parquet_with_typed_columns(tmp_path: Path) -> None:
    """A Parquet costs file: spreadsheet dates for months, integer costs; rows count from 1."""
    shop = fixture_shop(tmp_path)
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-10"]),
            "channel": ["web", "ad", "ad"],
            "cost": [6000, 9000, 4000],
        }
    )
    frame.to_parquet(shop / "raw" / "costs.parquet")
    edit_settings(shop, costs={"path": "raw/costs.parquet"})
    assert one_problem(shop) == InputProblem(
        "raw/costs.parquet",
        3,
        "month",
        "a date, not a month (write 2026-10, 2026/10 or 2026年10月; a date must be the 1st)",
        "2026-03-10 00:00:00",
    )
    frame.loc[2, "month"] = pd.Timestamp("2026-03-01")
    frame.to_parquet(shop / "raw" / "costs.parquet")
    ingest(shop, today=TODAY)
    costs = canonical.read_costs(shop)
    assert costs["month"].tolist() == ["2026-01", "2026-02", "2026-03"]
    assert costs["cost"].tolist() == [Decimal(6000), Decimal(9000), Decimal(4000)]


def test_costs_default_mapping_and_comma_decimal(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    write_csv(shop / COSTS_CSV, ["month", "channel", "cost"], [["2026-01", "web", "1.234,5"]])
    edit_settings(shop, costs={"path": COSTS_CSV, "decimal": ","})
    ingest(shop, today=TODAY)
    assert canonical.read_costs(shop)["cost"].tolist() == [Decimal("1234.5")]


def test_every_problem_in_one_error(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    subs = read_rows(shop, "subscriptions.csv")
    subs[1][3] = "2026-01-01"
    subs[0][2] = "2026-02-01"
    replace_subs(shop, subs)
    costs = read_costs_rows = read_rows(shop, "costs.csv")
    read_costs_rows[0][2] = "-1"
    replace_costs(shop, costs)
    found = problems_of(shop)
    assert {(p.file, p.row, p.column) for p in found} == {
        (SUBS_CSV, 3, "解約日"),
        (ORDERS_CSV, 2, "受注日時"),
        (COSTS_CSV, 2, "広告費"),
    }


# --------------------------------------------------------------------------- the one set


def test_reingest_without_the_sources_removes_the_files(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    assert (shop / "canonical" / "subscriptions.parquet").exists()
    edit_settings(shop, subscriptions=None, costs=None)
    result = ingest(shop, today=TODAY)
    assert result.subscriptions_path is None and result.costs_path is None
    assert not (shop / "canonical" / "subscriptions.parquet").exists()
    assert not (shop / "canonical" / "costs.parquet").exists()
    assert result.summary.subscriptions is None and result.summary.costs is None


def test_failing_ingest_keeps_the_old_set(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    ingest(shop, today=TODAY)
    before = {p.name: p.read_bytes() for p in (shop / "canonical").iterdir()}
    assert {"subscriptions.parquet", "costs.parquet"} <= set(before)
    rows = read_rows(shop, "costs.csv")
    replace_costs(shop, [*rows, rows[0]])
    problems_of(shop)
    after = {p.name: p.read_bytes() for p in (shop / "canonical").iterdir()}
    assert after == before


def test_new_files_flip_with_the_orders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped after every file is written: the old set (without the new files) stays whole."""
    shop = fixture_shop(tmp_path)
    edit_settings(shop, subscriptions=None, costs=None)
    ingest(shop, today=TODAY)
    before = sorted(p.name for p in (shop / "canonical").iterdir())
    edit_settings(
        shop,
        subscriptions=yaml.safe_load((FIXTURE / "settings.yaml").read_text("utf-8"))[
            "subscriptions"
        ],
    )

    def stop(step: str) -> None:
        if step == "written":
            raise KeyboardInterrupt

    monkeypatch.setattr(canonical, "fault_point", stop)
    with pytest.raises(KeyboardInterrupt):
        ingest(shop, today=TODAY)
    assert sorted(p.name for p in (shop / "canonical").iterdir()) == before
    monkeypatch.undo()
    ingest(shop, today=TODAY)
    assert "subscriptions.parquet" in {p.name for p in (shop / "canonical").iterdir()}


def test_side_tables_outside_the_shop_are_refused(tmp_path: Path) -> None:
    shop = fixture_shop(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(shop / COSTS_CSV, outside)
    edit_settings(
        shop,
        costs={
            "path": str(outside),
            "columns": {"month": "月", "channel": "チャネル", "cost": "広告費"},
        },
    )
    with pytest.raises(SettingsError, match="outside the shop folder"):
        ingest(shop, today=TODAY)


def test_init_proposes_the_subscription_column() -> None:
    from ecrm.io.mapping import propose_columns

    df = pd.DataFrame(
        {
            "受注番号": ["1"],
            "会員ID": ["C1"],
            "受注日": ["2026/01/05"],
            "小計": ["1,200"],
            "定期ID": ["S1"],
        }
    )
    assert propose_columns(df)["subscription_id"].column == "定期ID"


# --------------------------------------------------------------------------- settings


def test_analysis_settings_keys() -> None:
    base = {"name": "s", "sources": [{"path": "raw/*.csv"}]}
    s = ShopSettings(**base)
    assert s.analysis.subscriptions.lapse_days == 60
    assert s.analysis.channels.gross_margin is None
    assert s.analysis.products.min_product_customers == 30
    assert s.analysis.products.exclude_products.pattern is None
    s = ShopSettings(
        **base,
        analysis={
            "channels": {"gross_margin": 1},
            "products": {"exclude_products": {"ids": ["SHIP"], "name_patterns": ["送料", "gift"]}},
        },
    )
    assert s.analysis.products.exclude_products.pattern == "(?:送料)|(?:gift)"
    for bad in (
        {"channels": {"gross_margin": 0}},
        {"channels": {"gross_margin": 1.2}},
        {"subscriptions": {"lapse_days": 0}},
        {"products": {"min_product_customers": 0}},
        {"products": {"exclude_products": {"name_patterns": ["("]}}},
    ):
        with pytest.raises(ValueError):
            ShopSettings(**base, analysis=bad)
    with pytest.raises(ValueError, match="unknown subscription column"):
        ShopSettings(**base, subscriptions={"path": "s.csv", "columns": {"plan": "x"}})
    with pytest.raises(ValueError, match="unknown cost column"):
        ShopSettings(**base, costs={"path": "c.csv", "columns": {"spend": "x"}})


# --------------------------------------------------------------------------- property


@st.composite
def d2c_shops(draw: st.DrawFn) -> dict[str, Any]:
    """Subscriptions with random start/cancel days and deliveries (some before the start)."""
    n = draw(st.integers(1, 4))
    subs, deliveries = [], []
    base = date(2026, 1, 1)
    for i in range(n):
        start = draw(st.integers(0, 120))
        cancel = draw(st.none() | st.integers(-3, 60))
        days = draw(st.lists(st.integers(-2, 90), min_size=0, max_size=4, unique=True))
        sid = draw(st.sampled_from([f"S{i}", f"Ｓ{i}", f" S{i} "]))
        # orders naming another customer than the table's: none, the first one, or all
        wrong = draw(st.sampled_from(["none", "none", "first", "all"]))
        subs.append((f"S{i}", sid, f"C{i}", start, cancel))
        for k, d in enumerate(sorted(days)):
            other = wrong == "all" or (wrong == "first" and k == 0)
            deliveries.append((f"S{i}", f"X{i}" if other else f"C{i}", start + d))
    return {"subs": subs, "deliveries": deliveries, "base": base}


def shop_from(folder: Path, case: dict[str, Any]) -> Path:
    shop = folder / "prop"
    (shop / "raw").mkdir(parents=True)
    base = case["base"]
    day = lambda k: (base + timedelta(days=k)).isoformat()  # noqa: E731
    orders = [["0", "C0", day(0), "100", "X", "web", ""]]  # one plain order always
    for j, (sid, cid, d) in enumerate(case["deliveries"], start=1):
        orders.append([str(j), cid, f"{day(d)} 12:00:00", "3000", "T", "web", sid])
    write_csv(shop / ORDERS_CSV, ORDERS_HEADER, orders)
    rows = [
        [raw_sid, cid, day(start), "" if cancel is None else day(start + cancel), "T", "web"]
        for _, raw_sid, cid, start, cancel in case["subs"]
    ]
    write_csv(shop / SUBS_CSV, SUBS_HEADER, rows)
    shutil.copy(FIXTURE / "settings.yaml", shop / "settings.yaml")
    edit_settings(shop, name="prop", costs=None)
    return shop


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=d2c_shops())
def test_property_accepts_exactly_the_good_shops(case: dict[str, Any]) -> None:
    """Either the canonical table equals the input normalised, or exactly the bad rows are named."""
    expected: set[tuple[str, int, str]] = set()
    for k, (sid, _, _, start, cancel) in enumerate(case["subs"]):
        if cancel is not None and cancel < 0:
            expected.add((SUBS_CSV, k + 2, "解約日"))
        mine = [(j, d) for j, d in enumerate(case["deliveries"], start=1) if d[0] == sid]
        early = [j for j, d in mine if d[2] < start]
        if early:  # the earliest delivery before the start is named (its line)
            expected.add((ORDERS_CSV, early[0] + 2, "受注日時"))
        if any(d[1] != f"C{k}" for _, d in mine):
            # two customers among its orders, or another customer than the table's:
            # named at the subscription's first order
            expected.add((ORDERS_CSV, mine[0][0] + 2, "会員ID"))
    with tempfile.TemporaryDirectory() as tmp:
        shop = shop_from(Path(tmp), case)
        if expected:
            with pytest.raises(IngestError) as e:
                ingest(shop, today=date(2026, 12, 31))
            assert {(p.file, p.row, p.column) for p in e.value.problems} == expected
            assert not (shop / "canonical").exists()
            return
        result = ingest(shop, today=date(2026, 12, 31))
        got = canonical.read_subscriptions(shop)
        base = pd.Timestamp(case["base"])
        want = pd.DataFrame(
            {
                "subscription_id": [s[0] for s in case["subs"]],
                "customer_id": [s[2] for s in case["subs"]],
                "started_at": [base + pd.Timedelta(days=s[3]) for s in case["subs"]],
                "cancelled_at": [
                    pd.NaT if s[4] is None else base + pd.Timedelta(days=s[3] + s[4])
                    for s in case["subs"]
                ],
            }
        )
        cols = ["subscription_id", "customer_id", "started_at", "cancelled_at"]
        pd.testing.assert_frame_equal(
            got[cols].reset_index(drop=True),
            want.astype({"started_at": "datetime64[us]", "cancelled_at": "datetime64[us]"}),
            check_dtype=False,
        )
        sb = result.summary.subscriptions
        assert sb["delivery_orders"] == len(case["deliveries"])
        assert sb["cancelled"] == sum(s[4] is not None for s in case["subs"])
