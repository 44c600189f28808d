"""The analysis keys ``ecrm init`` proposes beyond the mapping (issue #21).

:mod:`ecrm.io.init` maps the exports; this module finds what the values and the
other files call for, each with its reason for the settings comment:

* **Non-merchandise products** (:func:`non_merchandise`): product lines whose
  id or name says postage, fees, wrapping, samples, manual adjustments or
  discounts (送料, 手数料, ラッピング, サンプル, postage, carriage, shipping, bank
  charges, manual, discount, and the UCI codes POST, DOT, M, C2, BANK CHARGES…)
  are proposed as ``analysis.products.exclude_products.ids``. Ids, not name
  patterns: a pattern would also catch future merchandise (``【送料無料】…`` is a
  product, and 送料無料 never matches); the comment lists each id with its name.
* **Subscriptions and costs files** (:func:`d2c_role`): a file without an order
  id whose header has a subscription id and a start date is the subscriptions
  table (定期); one with a month, a channel and a cost column is the costs
  table. Their ``columns`` map the canonical names of :mod:`ecrm.io.d2c` to the
  header (same-named columns need no entry).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from ecrm.io.mapping import SYNONYMS, normalise_name
from ecrm.settings import COST_COLUMNS, SUBSCRIPTION_COLUMNS

__all__ = ["D2C_SYNONYMS", "NON_MERCHANDISE_IDS", "d2c_role", "d2c_source", "non_merchandise"]

#: Product ids that are not merchandise whatever their name (UCI Online Retail's codes).
NON_MERCHANDISE_IDS: frozenset[str] = frozenset(
    {"post", "dot", "m", "c2", "bank charges", "amazonfee", "d", "s", "cruk", "b"}
)

#: Japanese words of non-merchandise lines, found anywhere in the name (送料無料 is merchandise).
_JA = re.compile(r"送料(?!無料)|配送料|手数料|ラッピング|ギフト包装|サンプル|値引|割引|クーポン")
#: English names of non-merchandise lines: the whole name is one of these.
_EN = re.compile(
    r"(dotcom |amazon )?(postage|carriage|shipping|delivery)( fee| charges?| cost)?"
    r"|bank charges?|manual|discount|samples?|amazon fee|gift ?wrap(ping)?|cruk commission"
    r"|adjust bad debt"
)

#: Header names of the subscriptions and costs columns (with :data:`ecrm.io.mapping.SYNONYMS`).
D2C_SYNONYMS: dict[str, tuple[str, ...]] = {
    "subscription_id": SYNONYMS["subscription_id"],
    "customer_id": SYNONYMS["customer_id"],
    "started_at": ("開始日", "定期開始日", "申込日", "started_at", "start_date", "subscribed_at"),
    "cancelled_at": ("解約日", "停止日", "終了日", "cancelled_at", "cancel_date", "ended_at"),
    "product_id": SYNONYMS["product_id"],
    "channel": (*SYNONYMS["channel"], "広告媒体", "媒体", "medium"),
    "month": ("月", "年月", "対象月", "month", "year_month"),
    "cost": ("費用", "広告費", "コスト", "cost", "spend", "ad_spend", "amount_spent"),
}


def _norm(value: object) -> str:
    s = unicodedata.normalize("NFKC", str(value)).casefold()
    return " ".join(s.split())


def non_merchandise(
    frame: pd.DataFrame, product_id: str | None, product_name: str | None
) -> tuple[list[str], list[str]] | None:
    """The product ids of an export that look like postage, fees or adjustments.

    Parameters
    ----------
    frame : DataFrame
        The orders export (cells as read by :func:`ecrm.io.sniff.sniff_file`).
    product_id, product_name : str or None
        Its mapped product id and name columns (None: not mapped).

    Returns
    -------
    (ids, reasons) or None
        The ids, sorted, and one ``id (name)`` entry per id for the comment;
        None when nothing matched or there is no product id column.

    Examples
    --------
    >>> f = pd.DataFrame({"id": ["POST", "A1", "X9"], "n": ["POSTAGE", "MUG", "送料"]})
    >>> non_merchandise(f, "id", "n")
    (['POST', 'X9'], ['POST (POSTAGE)', 'X9 (送料)'])
    """
    if product_id is None or product_id not in frame:
        return None
    ids = frame[product_id].astype("string").str.strip()
    if product_name and product_name in frame:
        names = frame[product_name].astype("string").fillna("").str.strip()
    else:
        names = pd.Series("", index=frame.index, dtype="string")
    lines = pd.DataFrame({"id": ids, "name": names}).dropna(subset=["id"])
    # each id by its most frequent name: one mistyped line ("samples") does not make a product
    counts = lines.value_counts(["id", "name"]).reset_index(name="n")
    top = counts.sort_values(["n", "name"], ascending=[False, True]).drop_duplicates("id")
    top = top.sort_values("id")
    nid, nname = top["id"].map(_norm), top["name"].map(_norm)
    hit = (
        nid.isin(NON_MERCHANDISE_IDS)
        | nid.map(lambda s: bool(_EN.fullmatch(s) or _JA.search(s)))
        | nname.map(lambda s: bool(_EN.fullmatch(s) or _JA.search(s)))
    )
    if not hit.any():
        return None
    found = top[hit.to_numpy()]
    reasons = [
        f"{i} ({n})" if n else str(i) for i, n in zip(found["id"], found["name"], strict=True)
    ]
    return [str(i) for i in found["id"]], reasons


def _match(header: list[str], canon: str) -> str | None:
    names = {normalise_name(n) for n in D2C_SYNONYMS[canon]}
    for h in header:
        if normalise_name(h) in names:
            return h
    return None


def d2c_role(header: list[str]) -> str | None:
    """``subscriptions``, ``costs`` or None, from a header without an order id.

    Examples
    --------
    >>> d2c_role(["定期ID", "会員ID", "開始日", "解約日"]), d2c_role(["月", "広告媒体", "費用"])
    ('subscriptions', 'costs')
    """
    if _match(header, "subscription_id") and _match(header, "started_at"):
        return "subscriptions"
    if all(_match(header, c) for c in COST_COLUMNS):
        return "costs"
    return None


def d2c_source(header: list[str], role: str) -> dict[str, str]:
    """The ``columns`` mapping of a subscriptions or costs source (canonical -> header).

    Same-named columns are left out (the default mapping reads them).
    """
    canon = SUBSCRIPTION_COLUMNS if role == "subscriptions" else COST_COLUMNS
    out = {}
    for c in canon:
        h = _match(header, c)
        if h is not None and h != c:
            out[c] = h
    return out
