"""Segment exports: campaign lists, one list per segment, the consent and channel rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from ecrm.analysis import cpm
from ecrm.errors import ParameterError
from ecrm.render import exports  # cpm registers its segment labels
from ecrm.settings import ShopSettings

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
    # no settings: no consent data, no channels, no email -> nobody is left out
    assert got.columns.tolist() == [
        "customer_id",
        "segment",
        "segment_label",
        "action",
        "left_out",
    ]
    assert got.values.tolist() == [
        # CPM's order (active stages, then lapsed ones), unknown codes last
        ["c2", "loyal_active", *loyal, ""],
        ["c3", "loyal_active", *loyal, ""],
        ["c5", "loyal_active", *loyal, ""],
        ["c1", "first_lapsed", *lapsed, ""],
        ["c4", "mystery", "mystery", "", ""],  # an unknown code: itself as label, no action
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
        ["loyal_active", 3],
        ["first_lapsed", 1],
        ["mystery", 1],
    ]
    assert "customer_id" not in summary.columns


# --- consent and no-contact channels (SPEC §1 "Consent") -----------------------------------


AS_OF = dt.date(2026, 10, 31)

#: customer -> raw mail_opt_in as a customers export holds it (None: not in the table)
RAW_CONSENT = {
    "c1": "True",
    "c2": "False",
    "c3": "",  # empty: unknown
    "c4": "yes",
    "c5": "配信しない",
    "c6": "maybe",  # unrecognised: unknown
    "c7": "True",
    "c8": "True",
    "c9": None,  # missing from the customers table: unknown
}
#: customer -> channels of their purchases, in time order
CHANNELS = {
    "c1": ["自社サイト"],
    "c2": ["Amazon"],  # marketplace only, and no consent: counted under the channel rule
    "c3": ["自社サイト"],
    "c4": ["自社サイト", "楽天市場"],  # own site first: contactable
    "c5": ["自社サイト"],
    "c6": ["自社サイト"],
    "c7": ["楽天市場", "楽天市場"],  # marketplace only: left out
    "c8": ["楽天市場", "自社サイト"],  # later bought on the own site: contactable
    "c9": ["ＡＭＡＺＯＮ"],  # full-width, upper case: still the Amazon marketplace
}
SEGMENT = {
    c: ("loyal_active" if c in ("c1", "c2", "c7", "c8") else "first_lapsed") for c in RAW_CONSENT
}


def _orders() -> pd.DataFrame:
    rows = []
    for c, chans in CHANNELS.items():
        for i, ch in enumerate(chans):
            rows.append((f"{c}-{i}", c, dt.datetime(2026, 3 + 2 * i, 10), 5000, ch))
    return pd.DataFrame(
        rows, columns=["order_id", "customer_id", "ordered_at", "amount", "channel"]
    )


def _shop(tmp_path, *, email: bool, no_contact=("楽天市場", "amazon")) -> ShopSettings:
    (tmp_path / "canonical").mkdir()
    cust = pd.DataFrame(
        {
            "customer_id": [c for c, v in RAW_CONSENT.items() if v is not None],
            "email": [f"{c}@example.com" for c, v in RAW_CONSENT.items() if v is not None],
            "mail_opt_in": pd.array(
                [v or None for v in RAW_CONSENT.values() if v is not None], dtype="string"
            ),
        }
    )
    cust.to_parquet(tmp_path / "canonical" / "customers.parquet")
    return ShopSettings(
        name="s",
        sources=[{"path": "x.csv"}],
        exports={"include_email": email, "no_contact_channels": list(no_contact)},
        base_dir=tmp_path,
    )


def _campaign(settings: ShopSettings) -> pd.DataFrame:
    per = pd.DataFrame({"customer_id": list(SEGMENT), "segment": list(SEGMENT.values())})
    return exports.segment_list(
        per, kind="cpm", settings=settings, lang="en", orders=_orders(), as_of=AS_OF
    )


def test_list_without_email_keeps_every_consent_value_and_shows_it(tmp_path):
    got = _campaign(_shop(tmp_path, email=False)).set_index("customer_id")
    assert got.columns.tolist() == [
        "segment",
        "segment_label",
        "action",
        "mail_opt_in",
        "first_channel",
        "left_out",
    ]
    assert got["mail_opt_in"].to_dict() == {
        "c1": "true",
        "c2": "false",
        "c7": "true",
        "c8": "true",
        "c3": "unknown",
        "c4": "true",
        "c5": "false",
        "c6": "unknown",
        "c9": "unknown",
    }
    assert got["first_channel"]["c8"] == "楽天市場"
    assert got["left_out"][got["left_out"] != ""].to_dict() == {
        "c2": "no_contact_channel",
        "c7": "no_contact_channel",
        "c9": "no_contact_channel",
    }
    parts = exports.split_by_segment(got.reset_index(), prefix="cpm")
    assert parts["cpm_loyal_active"]["customer_id"].tolist() == ["c1", "c8"]
    assert parts["cpm_first_lapsed"]["customer_id"].tolist() == ["c3", "c4", "c5", "c6"]
    assert "left_out" not in parts["cpm_first_lapsed"].columns
    summary = exports.campaign_summary(got.reset_index())
    assert summary.drop(columns=["segment_label", "action"]).values.tolist() == [
        # segment, customers, opted_in, left_out_no_consent, left_out_channel
        ["loyal_active", 2, 2, 0, 2],
        ["first_lapsed", 4, 1, 0, 1],
    ]


def test_list_with_email_holds_only_consent_true(tmp_path):
    campaign = _campaign(_shop(tmp_path, email=True))
    parts = exports.split_by_segment(campaign, prefix="cpm")
    assert parts["cpm_loyal_active"][["customer_id", "email", "mail_opt_in"]].values.tolist() == [
        ["c1", "c1@example.com", "true"],
        ["c8", "c8@example.com", "true"],
    ]
    assert parts["cpm_first_lapsed"][["customer_id", "email"]].values.tolist() == [
        ["c4", "c4@example.com"]  # "yes"; false, empty and "maybe" are left out
    ]
    left = campaign.set_index("customer_id")
    assert left["email"][left["left_out"] != ""].isna().all()  # no address kept for them
    summary = exports.campaign_summary(campaign)
    assert summary.drop(columns=["segment_label", "action"]).values.tolist() == [
        ["loyal_active", 2, 2, 0, 2],  # c2 (no consent too) counted once, by channel
        ["first_lapsed", 1, 1, 3, 1],  # c3 unknown, c5 false, c6 unknown; c9 by channel
    ]


def test_no_contact_channels_empty_keeps_marketplace_buyers(tmp_path):
    campaign = _campaign(_shop(tmp_path, email=False, no_contact=()))
    assert (campaign["left_out"] == "").all()
    assert campaign.set_index("customer_id")["first_channel"]["c9"] == "ＡＭＡＺＯＮ"


def test_no_contact_channels_need_the_orders(tmp_path):
    per = pd.DataFrame({"customer_id": ["c1"], "segment": ["loyal_active"]})
    with pytest.raises(ParameterError, match="needs orders= and as_of="):
        exports.segment_list(per, kind="cpm", settings=_shop(tmp_path, email=False))


def test_consent_values():
    raw = pd.Series(
        ["TRUE", " 1 ", "ｙｅｓ", "配信する", "0", "No", "希望しない", None, "", "-", "x"]
    )
    assert exports.consent_value(raw).tolist() == [
        *["true"] * 4,
        *["false"] * 3,
        *["unknown"] * 4,
    ]


def test_one_list_per_rfm_cell(tmp_path):
    campaign = _campaign(_shop(tmp_path, email=False))
    scores = pd.DataFrame(
        {
            "customer_id": list(SEGMENT),
            "r": [5, 5, 1, 5, 3, 3, 5, 5, 1],
            "f": [3, 3, 1, 3, 2, 2, 3, 3, 1],
        }
    )
    cells = exports.rfm_cell_lists(scores, campaign)
    assert list(cells) == ["rfm_cell_r5_f3", "rfm_cell_r3_f2", "rfm_cell_r1_f1"]
    # c2, c7 (marketplace only) are left out of r5_f3; c9 of r1_f1
    assert cells["rfm_cell_r5_f3"]["customer_id"].tolist() == ["c1", "c4", "c8"]
    assert cells["rfm_cell_r1_f1"]["customer_id"].tolist() == ["c3"]
    assert cells["rfm_cell_r5_f3"].columns[:3].tolist() == ["customer_id", "r", "f"]


_CONSENTS = st.sampled_from(["true", "false", "unknown", None])


@hyp_settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_CONSENTS, st.booleans(), st.sampled_from(["a", "b", "c"])),
        min_size=0,
        max_size=40,
    ),
    st.booleans(),
)
def test_property_email_lists_never_hold_a_non_consenting_customer(rows, email):
    ids = [f"k{i}" for i in range(len(rows))]
    campaign = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": [s for _, _, s in rows],
            "segment_label": [s for _, _, s in rows],
            "action": "",
        }
    )
    if email:
        campaign["email"] = [f"{i}@x.jp" for i in ids]
    consents = pd.DataFrame(
        {
            "customer_id": [i for i, (c, _, _) in zip(ids, rows, strict=True) if c is not None],
            "mail_opt_in": [c for c, _, _ in rows if c is not None],
        }
    )
    contacts = pd.DataFrame(
        {
            "customer_id": ids,
            "first_channel": "x",
            "no_contact_channel": [b for _, b, _ in rows],
        }
    )
    ruled = exports.apply_contact_rules(campaign, consents=consents, contacts=contacts, email=email)
    parts = exports.split_by_segment(ruled, prefix="p")
    consent = dict(zip(consents["customer_id"], consents["mail_opt_in"], strict=True))
    blocked = dict(zip(ids, [b for _, b, _ in rows], strict=True))
    for part in parts.values():
        for cid in part["customer_id"]:
            assert not blocked[cid]
            if email:
                assert consent.get(cid) == "true"
    summary = exports.campaign_summary(ruled).set_index("segment")
    sizes = campaign["segment"].value_counts()
    for seg, row in summary.iterrows():
        assert row["customers"] == len(parts[f"p_{seg}"])
        assert row["customers"] + row["left_out_no_consent"] + row["left_out_channel"] == sizes[seg]
        if not email:
            assert row["left_out_no_consent"] == 0


def test_the_page_says_who_was_left_out(tmp_path):
    s = _shop(tmp_path, email=True)
    campaign = _campaign(s)
    assert exports.left_out_text(campaign, settings=s, lang="ja") == (
        "連絡不可チャネル(楽天市場・amazon)で初回購入し、ほかのチャネルで購入していない顧客 "
        "3 人をリストから除外しました。リストはメールアドレスを含むため、配信同意ありの顧客だけを"
        "載せています(同意なし・不明の 3 人を除外)。"
    )
    no_email = campaign.drop(columns="email")
    assert exports.left_out_text(no_email, settings=s, lang="en").endswith(
        "The lists carry no email addresses; the consent column (true/false/unknown) "
        "shows who opted in: keep only those before sending email."
    )
    bare = exports.segment_list(
        pd.DataFrame({"customer_id": ["a"], "segment": ["loyal_active"]}), kind="cpm"
    )
    assert exports.left_out_text(bare, lang="en") == (
        "This shop has no consent data: do not use the lists for email."
    )
