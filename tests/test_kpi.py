import datetime as dt

import pytest

from ecrm.analysis import kpi
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def wide():
    return kpi.kpi_wide(fx.orders(), as_of=fx.AS_OF, months=3).set_index("month")


def test_october_by_hand(wide):
    oct_ = wide.loc[dt.date(2026, 10, 1)]
    assert oct_.revenue == 19999 + 20000 + 10000 + 3000  # G, K, M×2, guest J
    assert oct_.orders == 5
    assert oct_.customers == 3
    assert oct_.new_customers == 1  # M
    assert oct_.repeat_customers == 2  # G, K
    assert oct_.new_revenue == 10000
    assert oct_.repeat_revenue == 39999
    assert oct_.aov == pytest.approx(52999 / 5)
    assert oct_.purchases_per_customer == pytest.approx(4 / 3)
    assert oct_.repeat_rate == pytest.approx(2 / 3)
    # cohort of July (A): no second purchase → F2 0
    assert oct_.f2_rate == 0
    # cohort of October 2025: P (9,999) and Q (100,000), no more purchases
    assert oct_.ltv_12m == pytest.approx((9999 + 100000) / 2)
    # cohort of September 2025 (E, F): 12-month LTV includes purchases within 360 days
    assert wide.loc[dt.date(2026, 9, 1)].ltv_12m == pytest.approx(
        (35000 + 35000 + 40000 + 40000) / 2
    )


def test_lapse_rate_october(wide):
    # active on Sep 30 (last purchase after 2026-02-02): A B C D E F K L S T = 10;
    # L reaches 240 days on Oct 31 (T only 239) → 1 of 10 lapsed in October
    oct_ = wide.loc[dt.date(2026, 10, 1)]
    assert oct_.lapse_rate == pytest.approx(1 / 10)


def test_table_has_changes():
    t = kpi.kpi_table(fx.orders(), as_of=fx.AS_OF, months=2)
    rev = t[t.kpi == "revenue"].set_index("month")
    assert rev.loc[dt.date(2026, 10, 1), "prev_month"] == 20000 + 5000  # K5 + S1 in Sept
    assert rev.loc[dt.date(2026, 10, 1), "mom"] == pytest.approx(52999 / 25000 - 1)
    rr = t[t.kpi == "repeat_rate"].iloc[-1]
    assert rr.change == "points"


def test_analysis_does_not_import_presentation():
    """Compute apart from display: kpi_summary lives in ecrm.present.format."""
    import ast
    from pathlib import Path

    src = Path(kpi.__file__).read_text(encoding="utf-8")
    names = [n.module or "" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)] + [
        a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names
    ]
    assert not [n for n in names if n.startswith(("ecrm.present", "ecrm.render"))]
    assert not hasattr(kpi, "kpi_summary")
