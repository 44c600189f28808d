"""Segment exports: campaign lists, one list per segment, and their summary, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm.analysis import cpm
from ecrm.errors import ParameterError
from ecrm.render import exports  # cpm registers its segment labels

assert cpm.SEGMENTS  # the labels below are cpm's


def _per_customer() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c3", "c1", "c2", "c4", "c5"],
            "segment": ["loyal_active", "first_lapsed", "loyal_active", "mystery", "loyal_active"],
            "monetary": [9000, 100, 8000, 50, 7000],  # other columns are not exported
        }
    )


@pytest.mark.parametrize(
    ("lang", "loyal", "lapsed"),
    [
        (
            "ja",
            ("優良現役", "優良顧客向けの特典・先行案内"),
            ("初回離脱", "低コストの再来店キャンペーン"),
        ),
        (
            "en",
            ("Loyal (active)", "Loyal-customer perks and early access"),
            ("First-timer (lapsed)", "Low-cost come-back campaign"),
        ),
    ],
)
def test_campaign_list_by_hand(lang, loyal, lapsed):
    got = exports.segment_list(_per_customer(), kind="cpm", lang=lang)
    assert got.columns.tolist() == ["customer_id", "segment", "segment_label", "action"]
    assert got.values.tolist() == [
        ["c1", "first_lapsed", *lapsed],
        ["c2", "loyal_active", *loyal],
        ["c3", "loyal_active", *loyal],
        ["c5", "loyal_active", *loyal],
        ["c4", "mystery", "mystery", ""],  # an unknown code: itself as label, no action
    ]


def test_own_actions_replace_the_defaults():
    actions = {"loyal_active": ("電話でお礼", "Thank-you call")}
    got = exports.segment_list(_per_customer(), kind="cpm", lang="en", actions=actions)
    assert got.set_index("customer_id")["action"].to_dict() == {
        "c1": "",
        "c2": "Thank-you call",
        "c3": "Thank-you call",
        "c5": "Thank-you call",
        "c4": "",
    }


def test_unknown_kind_and_language_are_refused():
    with pytest.raises(ParameterError, match="kind must be one of"):
        exports.segment_list(_per_customer(), kind="deciles")
    with pytest.raises(ParameterError):
        exports.segment_list(_per_customer(), kind="cpm", lang="fr")


def test_one_list_per_segment_and_a_summary_without_ids():
    campaign = exports.segment_list(_per_customer(), kind="cpm", lang="en")
    parts = exports.split_by_segment(campaign, prefix="cpm")
    assert list(parts) == ["cpm_first_lapsed", "cpm_loyal_active", "cpm_mystery"]
    assert parts["cpm_loyal_active"]["customer_id"].tolist() == ["c2", "c3", "c5"]
    summary = exports.campaign_summary(campaign)
    assert summary[["segment", "customers"]].values.tolist() == [
        ["first_lapsed", 1],
        ["loyal_active", 3],
        ["mystery", 1],
    ]
    assert "customer_id" not in summary.columns
