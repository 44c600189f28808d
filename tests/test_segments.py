"""segments.transitions: both ways of pairing snapshots agree with per-date classification."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ecrm.analysis import cpm, lifecycle, segments

DATES = [dt.date(2026, 4, 30), dt.date(2026, 7, 31), dt.date(2026, 10, 31)]


def _from_scratch(orders, pairs, rule, codes) -> pd.DataFrame:
    """Classify at each date separately and count (from, to) per pair in pandas."""
    rows = []
    for a, b in pairs:
        fa = segments.classify(orders, as_of=a, rule=rule)[["customer_id", "segment"]]
        tb = segments.classify(orders, as_of=b, rule=rule)[["customer_id", "segment"]]
        j = tb.merge(fa, on="customer_id", how="left", suffixes=("_to", "_from"))
        j["segment_from"] = j["segment_from"].fillna("none")
        for (f, t), n in j.groupby(["segment_from", "segment_to"]).size().items():
            rows.append((a, b, f, t, n))
    got = pd.DataFrame(rows, columns=["from_date", "to_date", "from_segment", "to_segment", "n"])
    return got.set_index(["from_date", "to_date", "from_segment", "to_segment"])["n"]


@pytest.mark.parametrize(
    "pairs",
    [
        [(DATES[0], DATES[1]), (DATES[1], DATES[2])],  # neighbours: paired snapshots
        [(DATES[0], DATES[2]), (DATES[1], DATES[2])],  # overlapping: the self-join
    ],
    ids=["neighbours", "overlapping"],
)
@pytest.mark.parametrize("kind", ["cpm", "lifecycle"])
def test_transitions_match_per_date_classification(demo_root, pairs, kind):
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    rule, codes = (
        (cpm.cpm_rule(), cpm.SEGMENTS)
        if kind == "cpm"
        else (lifecycle.lifecycle_rule(), lifecycle.SEGMENTS)
    )
    got = segments.transitions(path, pairs=pairs, rule=rule, codes=codes)
    want = _from_scratch(path, pairs, rule, codes)
    got = got.set_index(["from_date", "to_date", "from_segment", "to_segment"])["customers"]
    assert got.sum() == want.sum() > 0
    assert got[got > 0].to_dict() == want.to_dict()
