"""The 定期 projection: recovers simulated churn and passes its own hold-out check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm.errors import ParameterError
from ecrm.models import subscription_value as sv

ALPHA, BETA = 0.9, 3.0
AS_OF = "2026-10-31"


def _shop(seed: int = 3, per_cohort: int = 300) -> pd.DataFrame:
    """Monthly deliveries of subscriptions started each month of 2024-11 … 2026-10.

    Lifetimes follow the sBG model (θ ~ Beta(0.9, 3.0)); delivery k of a
    subscription started in month m falls on the 10th of month m + k − 1.
    """
    rng = np.random.default_rng(seed)
    starts = pd.period_range("2024-11", "2026-10", freq="M")
    rows = []
    sid = 0
    for m, start in enumerate(starts):
        life = rng.geometric(rng.beta(ALPHA, BETA, size=per_cohort))
        months_left = len(starts) - m  # deliveries possible by as_of
        for k_max in np.minimum(life, months_left):
            rows.append((sid, start, int(k_max)))
            sid += 1
    sub, start, k = (np.array(x, dtype=object) for x in zip(*rows, strict=True))
    reps = k.astype(int)
    sub_r = np.repeat(sub, reps)
    start_r = np.repeat(start, reps)
    k_r = np.concatenate([np.arange(n) for n in reps])
    month = [s + int(i) for s, i in zip(start_r, k_r, strict=True)]
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(sub_r))],
            "customer_id": [f"c{s}" for s in sub_r],
            "ordered_at": [p.to_timestamp() + pd.Timedelta(days=9) for p in month],
            "amount": 2980,
            "subscription_id": [f"s{s}" for s in sub_r],
        }
    )


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return _shop()


def test_kaplan_meier_by_hand():
    lt = pd.DataFrame({"t": [1, 2, 1], "censored": [False, False, True], "count": [2, 1, 1]})
    # at delivery 1: 4 at risk, 2 end → S(2) = 1/2; at 2: 1 ended + 0 running at risk → S(3) = 0
    np.testing.assert_allclose(sv.kaplan_meier(lt, 3), [1.0, 0.5, 0.0])


def test_projection_recovers_the_simulated_model(shop):
    p = sv.project(shop, as_of=AS_OF, lapse_days=40, horizon=24)
    row = p.summary.iloc[0]
    assert row["alpha"] == pytest.approx(ALPHA, rel=0.15)
    assert row["beta"] == pytest.approx(BETA, rel=0.15)
    assert row["mean_delivery_value"] == pytest.approx(2980)
    assert row["subscriber_ltv"] == pytest.approx(2980 * row["expected_deliveries"])
    assert len(p.survival) == 24 and p.survival["projected"].iloc[0] == pytest.approx(1.0)
    seen = p.survival.dropna()
    assert np.abs(seen["projected"] - seen["observed"]).max() < 0.05


def test_the_holdout_check_follows_what_happened(shop):
    check = sv.projection_check(shop, cutoff="2026-04-30", as_of=AS_OF, lapse_days=40)
    assert check["beyond_cutoff"].any()
    assert check["n"].iloc[0] == 1 and check["observed"].iloc[0] == pytest.approx(1.0)
    assert np.nanmax(np.abs(check["error"])) < 0.06


def test_refuses_a_cutoff_after_as_of(shop):
    with pytest.raises(ParameterError, match="before as_of"):
        sv.projection_check(shop, cutoff=AS_OF, as_of="2026-04-30")
    with pytest.raises(ParameterError, match="horizon"):
        sv.project(shop, as_of=AS_OF, horizon=0)


def test_the_page_cutoff_follows_the_btyd_holdout_rule(shop):
    """First start 2024-11-10: to 2026-11-30 that is 24 months, so as_of − 12 months."""
    h = sv.holdout_check(shop, as_of="2026-11-30", lapse_days=40)
    assert str(h.cutoff) == "2025-11-30" and h.rule == "as_of_minus_months"
    # (every subscription lapses by 11-30 without a November delivery: only the first rows agree)
    assert h.table is not None and np.abs(h.table["error"].iloc[:6]).max() < 0.06
    # to 2026-10-31 the history is 9 days short of 24 months: its middle (720 days / 2)
    h = sv.holdout_check(shop, as_of=AS_OF, lapse_days=40)
    assert str(h.cutoff) == "2025-11-05" and h.rule == "middle_of_history"
    # a shorter history: the subscriptions started from 2025-11 only → its middle
    young = shop[shop["ordered_at"] >= "2025-11-01"]
    starts = young.groupby("subscription_id")["ordered_at"].transform("min")
    young = young[starts >= "2025-11-01"]
    h = sv.holdout_check(young, as_of=AS_OF, lapse_days=40)
    assert h.rule == "middle_of_history" and str(h.cutoff) == "2026-05-06"  # 355 days / 2


def test_a_cutoff_without_cancellations_gives_no_table():
    """Two subscriptions, nothing cancelled by the middle of their history: no fit, no error."""
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "a", "b", "b"],
            "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-10", "2026-01-12", "2026-03-01"]),
            "amount": 3000,
            "subscription_id": ["s1", "s1", "s2", "s2"],
        }
    )
    table = pd.DataFrame(
        {
            "subscription_id": ["s1", "s2"],
            "customer_id": ["a", "b"],
            "started_at": pd.to_datetime(["2026-01-10", "2026-01-12"]),
            "cancelled_at": pd.to_datetime(["2026-09-01", None]),  # after the cut-off
        }
    )
    h = sv.holdout_check(orders, as_of="2026-10-31", table=table)
    assert h.rule == "middle_of_history" and h.table is None
