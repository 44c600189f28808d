"""Segment exports for campaign tools: who is in a segment, what to do, who may be contacted.

:func:`segment_list` turns a per-customer segment table (from :func:`ecrm.analysis.rfm.rfm`,
:func:`ecrm.analysis.cpm.cpm` or :func:`ecrm.analysis.lifecycle.lifecycle`) into a campaign list —
customer_id, segment, its label, a suggested action, the consent value
``mail_opt_in`` and the ``first_channel`` — and marks in ``left_out`` who may not be on
it. Email is added only when the shop's settings allow it
(``exports.include_email: true``); ingestion keeps email out of the canonical
data otherwise, so it cannot leak by mistake.

The contact rules (SPEC §1 "Consent", applied in this order, each customer
counted once under the first rule that leaves them out):

1. ``no_contact_channel``: the first purchase came through a channel of
   ``exports.no_contact_channels`` (a marketplace) and the customer never bought
   through another channel (see :mod:`ecrm.analysis.extract`). Left out of every list.
2. ``no_consent``: a list that carries email holds only customers whose
   ``mail_opt_in`` is ``true``; ``false`` *and* ``unknown`` (no customers table, a
   customer missing from it, an empty or unrecognised value) are left out.
   A list without email keeps every consent value and shows it in
   ``mail_opt_in`` (the campaign tool importing the ids must honour it); its
   summary counts how many of the kept customers have consent ``true``.

:func:`split_by_segment` writes only the kept customers; :func:`campaign_summary`
(shown on the page) gives per segment the kept count and the left-out counts by rule.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ecrm import paths
from ecrm.analysis import extract
from ecrm.errors import ParameterError
from ecrm.present.labels import check_lang, label
from ecrm.settings import ShopSettings

__all__ = [
    "ACTIONS",
    "LEFT_OUT",
    "apply_contact_rules",
    "campaign_summary",
    "consent",
    "consent_value",
    "extract_list",
    "extract_path",
    "extract_profile_text",
    "left_out_text",
    "rfm_cell_lists",
    "segment_list",
    "split_by_segment",
    "write_list",
]

_FAMILY = {"rfm": "RFM", "cpm": "CPM", "lifecycle": "ライフサイクル"}

#: Why a customer is left out of a list, in the order the rules apply.
LEFT_OUT: tuple[str, ...] = ("no_contact_channel", "no_consent")

#: Raw ``mail_opt_in`` values read as consent given / refused (after NFKC, trim, lower case).
_TRUE = frozenset(
    {
        "true",
        "t",
        "1",
        "yes",
        "y",
        "on",
        "はい",
        "可",
        "希望",
        "希望する",
        "配信する",
        "受け取る",
        "購読",
        "同意",
    }
)
_FALSE = frozenset(
    {
        "false",
        "f",
        "0",
        "no",
        "n",
        "off",
        "いいえ",
        "不可",
        "不要",
        "希望しない",
        "配信しない",
        "受け取らない",
        "停止",
        "拒否",
    }
)

#: Suggested action per segment code: (Japanese, English). Replaceable data.
ACTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "lifecycle": {
        "new": (
            "2回目購入を促すフォローメール(購入後14〜30日)",
            "Second-purchase follow-up 14–30 days after the first order",
        ),
        "first_repeat": (
            "3回目購入に向けた関連商品の提案",
            "Cross-sell related products toward a third purchase",
        ),
        "repeat": (
            "会員ランク・ポイント施策で継続を後押し",
            "Loyalty points or tier perks to keep them buying",
        ),
        "vip": ("限定先行販売・感謝施策で関係を深める", "Early access and thank-you offers"),
        "dormant": ("休眠掘り起こしクーポン・新商品案内", "Win-back coupon and new-arrival news"),
        "churned": (
            "配信頻度を下げ、大型セール時のみ案内",
            "Lower contact frequency; invite to major sales only",
        ),
    },
    "cpm": {
        "first_active": ("2回目購入のきっかけづくり", "Trigger a second purchase"),
        "toddler_active": ("購入間隔が空く前の再購入提案", "Prompt a repeat before the gap grows"),
        "steady_active": (
            "購入単価アップの提案(まとめ買い・上位商品)",
            "Raise basket size (bundles, premium lines)",
        ),
        "fad_active": (
            "継続購入を促す定期便・会員施策",
            "Subscription or membership to make it last",
        ),
        "loyal_active": ("優良顧客向けの特典・先行案内", "Loyal-customer perks and early access"),
        "first_lapsed": ("低コストの再来店キャンペーン", "Low-cost come-back campaign"),
        "toddler_lapsed": (
            "前回購入品に関連する再提案",
            "Re-offer products related to the last purchase",
        ),
        "steady_lapsed": ("離脱理由の把握と復帰特典", "Ask why they left; come-back offer"),
        "fad_lapsed": (
            "新作・トレンド商品での再アプローチ",
            "Re-approach with new and trending items",
        ),
        "loyal_lapsed": (
            "個別フォロー・特別復帰特典(最優先)",
            "Personal follow-up and a special come-back offer (top priority)",
        ),
    },
    "rfm": {
        "champions": (
            "新商品の先行案内・レビュー依頼",
            "Early access to new products; ask for reviews",
        ),
        "loyal_customers": ("アップセル・会員ランク特典", "Upsell and tier perks"),
        "potential_loyalists": ("会員プログラムへの招待", "Invite to the membership programme"),
        "new_customers": ("オンボーディング・使い方案内", "Onboarding and how-to content"),
        "promising": ("お試し価格での2回目提案", "Second purchase at a trial price"),
        "need_attention": (
            "期間限定オファーで再購入を促す",
            "Limited-time offer to prompt a repeat",
        ),
        "about_to_sleep": (
            "人気商品のおすすめ・再来店特典",
            "Recommend bestsellers; come-back perk",
        ),
        "at_risk": ("パーソナライズした復帰メール", "Personalised win-back email"),
        "cannot_lose": ("個別対応・強い復帰特典", "Personal contact and a strong come-back offer"),
        "hibernating": ("大型セール時のみ案内", "Invite to major sales only"),
        "lost": ("配信停止の検討(費用対効果)", "Consider suppressing (cost vs. return)"),
    },
}


def consent_value(raw: pd.Series) -> pd.Series:
    """``mail_opt_in`` values as ``"true"``, ``"false"`` or ``"unknown"``.

    Booleans and the usual yes/no spellings of cart exports (``1``/``0``,
    ``yes``/``no``, ``TRUE``, ``配信する``/``配信しない``, ``希望する``/``希望しない``…;
    NFKC, case and surrounding space ignored) map to true/false; anything else —
    empty, a null marker, an unrecognised word — is ``unknown``, which an email
    list treats like a refusal (never a guess in favour of mailing).
    """
    text = raw.astype("string").str.normalize("NFKC").str.strip().str.lower()
    out = pd.Series("unknown", index=raw.index, dtype=object)
    out[text.isin(_TRUE).fillna(False).astype(bool)] = "true"
    out[text.isin(_FALSE).fillna(False).astype(bool)] = "false"
    return out


def consent(settings: ShopSettings | None) -> pd.DataFrame | None:
    """customer_id and ``mail_opt_in`` (true/false/unknown) from the canonical customers table.

    None when there is no customers table or it has no ``mail_opt_in`` column.
    """
    if settings is None:
        return None
    cpath = paths.customers_path(settings.shop_dir)
    if not cpath.is_file():
        return None
    cust = pd.read_parquet(cpath)
    if "mail_opt_in" not in cust.columns:
        return None
    return pd.DataFrame(
        {
            "customer_id": cust["customer_id"].astype(str),
            "mail_opt_in": consent_value(cust["mail_opt_in"]),
        }
    ).drop_duplicates("customer_id")


def apply_contact_rules(
    campaign: pd.DataFrame,
    *,
    consents: pd.DataFrame | None,
    contacts: pd.DataFrame | None,
    email: bool,
) -> pd.DataFrame:
    """Add mail_opt_in, first_channel and ``left_out`` (the module's rules) to a list.

    Parameters
    ----------
    campaign : DataFrame
        customer_id and any other columns.
    consents : DataFrame, optional
        :func:`consent`; None when the shop has no consent data (no mail_opt_in
        column then; an email list is then empty: nobody has consent true).
    contacts : DataFrame, optional
        :func:`ecrm.analysis.extract.contacts`; None: no channel data.
    email : bool
        The list carries email addresses.

    Returns
    -------
    DataFrame
        ``campaign`` with mail_opt_in (when known), first_channel (when known) and
        left_out: ``""`` (kept), ``"no_contact_channel"`` or ``"no_consent"``. The
        email of a left-out customer is blanked.
    """
    out = campaign.copy()
    ids = out["customer_id"].astype(str)
    if consents is not None:
        out["mail_opt_in"] = (
            ids.map(consents.set_index("customer_id")["mail_opt_in"])
            .astype(object)
            .fillna("unknown")
        )
        opt = out["mail_opt_in"]
    else:
        opt = pd.Series("unknown", index=out.index)
    blocked = pd.Series(False, index=out.index)
    if contacts is not None:
        c = contacts.set_index("customer_id")
        if c["first_channel"].notna().any():
            out["first_channel"] = ids.map(c["first_channel"])
        blocked = ids.map(c["no_contact_channel"]).fillna(False).astype(bool)
    left = pd.Series("", index=out.index, dtype=object)
    if email:
        left[opt != "true"] = "no_consent"
    left[blocked] = "no_contact_channel"
    out["left_out"] = left
    if "email" in out.columns:
        out["email"] = out["email"].where(left == "", None)
    return out


def segment_list(
    per_customer: pd.DataFrame,
    *,
    kind: str,
    settings: ShopSettings | None = None,
    lang: str = "ja",
    actions: Mapping[str, tuple[str, str]] | None = None,
    orders: Any = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """A campaign list: one row per customer with segment, action and the contact rules.

    Parameters
    ----------
    per_customer : DataFrame
        customer_id and segment (output of ``rfm``, ``cpm`` or ``lifecycle``).
    kind : {"rfm", "cpm", "lifecycle"}
        Which action table to use.
    settings : ShopSettings, optional
        The shop's settings: email is joined only when ``exports.include_email``;
        consent comes from the shop's canonical customers table;
        ``exports.no_contact_channels`` names the channels left out.
    lang : {"ja", "en"}
        Language of the label and action columns.
    actions : mapping, optional
        Replaces the default actions: segment -> (Japanese, English).
    orders : DataFrame, ibis Table or path, optional
        Canonical orders, for each customer's first channel and the no-contact rule
        (required when the settings name no-contact channels).
    as_of : date or str, optional
        The analysis date (with ``orders``).

    Returns
    -------
    DataFrame
        customer_id, segment, segment_label, action [, mail_opt_in] [, first_channel]
        [, email], left_out (see the module docstring), sorted by segment in the
        order of the action table (the analysis's stage order; unknown codes last,
        by code), then customer_id.

    Raises
    ------
    ParameterError
        Unknown kind or language; no-contact channels set but no orders given.
    """
    check_lang(lang)
    table = actions if actions is not None else ACTIONS.get(kind)
    if table is None:
        raise ParameterError(f"kind must be one of {sorted(ACTIONS)}, got {kind!r}")
    no_contact = list(settings.exports.no_contact_channels) if settings is not None else []
    if no_contact and orders is None:
        raise ParameterError(
            "exports.no_contact_channels is set: segment_list needs orders= and as_of= "
            "to find each customer's channels"
        )
    i = 0 if lang == "ja" else 1
    out = per_customer[["customer_id", "segment"]].copy()
    segs = out["segment"].drop_duplicates()  # a handful of codes: label each once
    out["segment_label"] = out["segment"].map({s: label(s, lang) for s in segs})
    out["action"] = out["segment"].map({s: table.get(s, ("", ""))[i] for s in segs})
    email = False
    if settings is not None and settings.exports.include_email:
        cpath = paths.customers_path(settings.shop_dir)
        if cpath.is_file():
            cust = pd.read_parquet(cpath)
            if "email" in cust.columns:
                out = out.merge(cust[["customer_id", "email"]], on="customer_id", how="left")
                email = True
    contacts = (
        extract.contacts(orders, as_of=as_of, no_contact=no_contact) if orders is not None else None
    )
    out = apply_contact_rules(out, consents=consent(settings), contacts=contacts, email=email)
    rank = {code: i for i, code in enumerate(table)}  # the analysis's own order of segments
    out["_rank"] = out["segment"].map(rank).fillna(len(rank))
    out = out.sort_values(["_rank", "segment", "customer_id"]).drop(columns="_rank")
    return out.reset_index(drop=True)


def extract_list(
    extracted: pd.DataFrame,
    *,
    settings: ShopSettings | None = None,
    orders: Any = None,
    as_of: Any = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The contact rules applied to :func:`ecrm.analysis.extract.extract`'s customers.

    Returns
    -------
    (DataFrame, dict)
        The kept customers (with mail_opt_in when known, and email when the
        settings allow it), and the left-out count per rule of :data:`LEFT_OUT`
        (plus ``opted_in``: kept customers with consent true, when consent is known).
    """
    no_contact = list(settings.exports.no_contact_channels) if settings is not None else []
    out = extracted.copy()
    email = False
    if settings is not None and settings.exports.include_email:
        cpath = paths.customers_path(settings.shop_dir)
        if cpath.is_file():
            cust = pd.read_parquet(cpath)
            if "email" in cust.columns:
                out = out.merge(cust[["customer_id", "email"]], on="customer_id", how="left")
                email = True
    contacts = None
    if no_contact and orders is not None:
        contacts = extract.contacts(orders, as_of=as_of, no_contact=no_contact)
    ruled = apply_contact_rules(out, consents=consent(settings), contacts=contacts, email=email)
    counts = {r: int((ruled["left_out"] == r).sum()) for r in LEFT_OUT}
    kept = ruled[ruled["left_out"] == ""].drop(columns="left_out").reset_index(drop=True)
    if "mail_opt_in" in kept.columns:
        counts["opted_in"] = int(kept["mail_opt_in"].eq("true").sum())
    return kept, counts


def extract_path(root: Path, shop: str, month: str, conditions: Mapping[str, Any]) -> Path:
    """Default file of ``ecrm extract``: ``reports/<shop>/extracts/<month>/extract-<hash>.csv``.

    The hash (12 hex digits of SHA-256) is of the conditions as sorted JSON, so
    the same conditions name the same file. The folder is beside the month
    reports, not inside one: rendering a report replaces its month folder whole,
    which would delete an extract kept there.
    """
    key = json.dumps(dict(sorted(conditions.items())), ensure_ascii=False, default=str)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return root / "reports" / shop / "extracts" / month / f"extract-{digest}.csv"


def write_list(kept: pd.DataFrame, target: Path, *, force: bool = False) -> Path:
    """Write a customer list as CSV (UTF-8 with BOM), atomically, never over a file silently.

    Raises
    ------
    ParameterError
        ``target`` exists and ``force`` is false (the message names it), or it
        is a folder.
    """
    from ecrm.render.context import write_csv

    target = Path(target)
    if target.is_dir():
        raise ParameterError(f"--out {target} is a folder; give a file name (….csv)")
    if target.exists() and not force:
        raise ParameterError(
            f"{target} exists; not overwritten (pass --force to replace it, or --out another file)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        write_csv(kept, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def extract_profile_text(
    prof: Mapping[str, Any],
    left_out: Mapping[str, int],
    *,
    segment_kind: str = "rfm",
    lang: str = "ja",
    currency: str = "JPY",
) -> str:
    """The profile ``ecrm extract`` prints: count, left out, 12-month revenue, mixes.

    Parameters
    ----------
    prof : mapping
        :func:`ecrm.analysis.extract.profile` of the kept customers.
    left_out : mapping
        :func:`extract_list`'s counts.
    segment_kind : {"rfm", "cpm", "lifecycle"}
        The segment family of the mix.
    lang : {"ja", "en"}
    currency : str
        The shop's currency.
    """
    from ecrm.present import format as fmt

    check_lang(lang)
    ja = lang == "ja"
    n = prof["customers"]
    lines = [
        f"顧客数: {n:,} 人" if ja else f"customers: {n:,}",
        (
            f"除外: 連絡不可チャネル {left_out.get('no_contact_channel', 0):,} 人、"
            f"配信同意なし {left_out.get('no_consent', 0):,} 人"
            if ja
            else f"left out: {left_out.get('no_contact_channel', 0):,} no-contact channel, "
            f"{left_out.get('no_consent', 0):,} no consent"
        ),
    ]
    if "opted_in" in left_out:
        k = left_out["opted_in"]
        lines.append(f"うち配信同意あり: {k:,} 人" if ja else f"of which opted in: {k:,}")
    lines += [
        ("売上(直近12ヶ月): " if ja else "revenue (12 months): ")
        + fmt.money(prof["revenue_12m"], currency),
        (
            f"セグメント構成({_FAMILY.get(segment_kind, segment_kind)}):"
            if ja
            else f"{segment_kind.upper() if segment_kind != 'lifecycle' else 'lifecycle'} segments:"
        ),
    ]
    total = max(n, 1)
    for code, k in prof["segments"].items():
        lines.append(f"  {label(code, lang)}: {k:,} ({k / total:.1%})")
    lines.append("初回購入チャネル:" if ja else "first channel:")
    for ch, k in prof["first_channels"].items():
        name = ("(不明)" if ja else "(unknown)") if ch == "(unknown)" else ch
        lines.append(f"  {name}: {k:,} ({k / total:.1%})")
    return "\n".join(lines)


def split_by_segment(campaign: pd.DataFrame, *, prefix: str) -> dict[str, pd.DataFrame]:
    """One list per segment, keyed ``<prefix>_<segment>`` (the export file names).

    Only kept customers are written (``left_out`` empty); the column itself is dropped.
    A segment whose customers were all left out gets an empty list (header only), so
    last month's file is never left standing for it.
    """
    keep = campaign["left_out"].eq("") if "left_out" in campaign.columns else None
    out = {}
    for seg, g in campaign.groupby("segment", sort=True):
        if keep is not None:
            g = g[keep.loc[g.index]].drop(columns="left_out")
        out[f"{prefix}_{seg}"] = g.reset_index(drop=True)
    return out


def rfm_cell_lists(scores: pd.DataFrame, campaign: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One list per R×F grid cell, keyed ``rfm_cell_r<R>_f<F>`` (e.g. ``rfm_cell_r5_f3``).

    Parameters
    ----------
    scores : DataFrame
        :func:`ecrm.analysis.rfm.rfm` output (customer_id, r, f).
    campaign : DataFrame
        :func:`segment_list` of the same customers (kind ``"rfm"``): the contact
        rules are the list's, and only kept customers are written.

    Returns
    -------
    dict
        Every occupied cell, sorted by R then F (best first), each list with
        columns r and f added after customer_id, sorted by customer_id.
    """
    cells = scores[["customer_id", "r", "f"]]
    merged = campaign.merge(cells, on="customer_id", how="inner", validate="one_to_one")
    cols = ["customer_id", "r", "f"] + [c for c in campaign.columns if c != "customer_id"]
    merged = merged[cols]
    out = {}
    for (r, f), g in merged.groupby(["r", "f"], sort=True):
        g = g.sort_values("customer_id")
        if "left_out" in g.columns:
            g = g[g["left_out"].eq("")].drop(columns="left_out")
        out[f"rfm_cell_r{int(r)}_f{int(f)}"] = g.reset_index(drop=True)
    return dict(sorted(out.items(), key=lambda kv: kv[0], reverse=True))


def left_out_text(
    campaign: pd.DataFrame, *, settings: ShopSettings | None = None, lang: str = "ja"
) -> str:
    """One or two sentences for the page: who the lists left out and how consent is handled.

    Parameters
    ----------
    campaign : DataFrame
        :func:`segment_list` output.
    settings : ShopSettings, optional
        For the names of the no-contact channels.
    lang : {"ja", "en"}
        Language of the text.
    """
    check_lang(lang)
    ja = lang == "ja"
    left = campaign["left_out"] if "left_out" in campaign.columns else pd.Series(dtype=object)
    n_ch = int(left.eq("no_contact_channel").sum())
    n_co = int(left.eq("no_consent").sum())
    chans = list(settings.exports.no_contact_channels) if settings is not None else []
    parts = []
    if chans:
        names = ("・" if ja else ", ").join(chans)
        parts.append(
            f"連絡不可チャネル({names})で初回購入し、ほかのチャネルで購入していない顧客 "
            f"{n_ch:,} 人をリストから除外しました。"
            if ja
            else f"{n_ch:,} customers whose first purchase was through a no-contact channel "
            f"({names}) and who never bought through another channel are left out of the lists."
        )
    if "email" in campaign.columns:
        parts.append(
            f"リストはメールアドレスを含むため、配信同意ありの顧客だけを載せています"
            f"(同意なし・不明の {n_co:,} 人を除外)。"
            if ja
            else f"The lists carry email addresses, so they hold only customers who opted in "
            f"({n_co:,} without consent or with unknown consent left out)."
        )
    elif "mail_opt_in" in campaign.columns:
        parts.append(
            "リストはメールアドレスを含みません。配信同意(あり/なし/不明)を列に示しているので、"
            "メール配信の前に同意ありの顧客に絞ってください。"
            if ja
            else "The lists carry no email addresses; the consent column (true/false/unknown) "
            "shows who opted in: keep only those before sending email."
        )
    else:
        parts.append(
            "このショップには配信同意のデータがないため、リストをメール配信に使わないでください。"
            if ja
            else "This shop has no consent data: do not use the lists for email."
        )
    return "".join(parts) if ja else " ".join(parts)


def campaign_summary(campaign: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment of a campaign list, kept and left out by rule (no customer ids).

    Returns
    -------
    DataFrame
        segment, segment_label, action, customers (on the list), [opted_in (of
        them, consent true; when the shop has consent data)],
        left_out_no_consent, left_out_channel (left out by each rule).
    """
    c = campaign
    left = c["left_out"] if "left_out" in c.columns else pd.Series("", index=c.index)
    flags = pd.DataFrame(
        {
            "customers": left.eq(""),
            "left_out_no_consent": left.eq("no_consent"),
            "left_out_channel": left.eq("no_contact_channel"),
        }
    )
    if "mail_opt_in" in c.columns:
        flags.insert(1, "opted_in", left.eq("") & c["mail_opt_in"].eq("true"))
    keys = c[["segment", "segment_label", "action"]]
    return (
        pd.concat([keys, flags.astype("int64")], axis=1)
        .groupby(["segment", "segment_label", "action"], sort=False)
        .sum()
        .reset_index()
    )
