"""The column proposal of ``ecrm init``: which raw column is which canonical column, and why.

:func:`propose_columns` reads one export's header and values and proposes, for
every canonical column of SPEC §1 (and ``unit_price``), the raw column it most
likely is, with the reason a consultant reads beside it in ``settings.yaml``:

1. **Header names** (:data:`SYNONYMS`, static data): the Japanese and English
   names carts and spreadsheets use, best first. A header equal to a synonym
   (after NFKC, case folding and dropping blanks, ``_``, ``-`` and ``・``) scores
   by the synonym's rank; a header that only contains a synonym of three or more
   characters (``受注日時(JST)``) scores lower.
2. **Values** check every name match and find columns the names miss: an
   ``ordered_at`` candidate must read as dates (:func:`ecrm.io.sniff.date_format`),
   an ``amount``/``unit_price`` candidate as numbers, a ``quantity`` candidate as
   whole numbers, an ``order_id`` candidate must never be empty; a column no name
   matches whose values all read as dates is an ``ordered_at`` candidate.
3. **One raw column per canonical column**, the best scores first.
4. **Amount**: a mapped amount that equals unit price × quantity is kept; one
   that is the same on every line of multi-line orders but not price × quantity
   is an order total (it would count each order once per line), so
   ``unit_price × quantity`` is proposed instead.

Two candidates of the same kind (both exact names, or both found by values) for
one column *compete*: :class:`Guess` keeps the alternatives, and ``ecrm init``
asks which one is meant (``--yes`` takes the first).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from ecrm.io.sniff import date_format, numbers_share

__all__ = ["SYNONYMS", "Guess", "normalise_name", "propose_columns", "to_numbers"]

#: Header names of each canonical column (and unit_price), best first. Static data.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "受注番号", "注文番号", "注文ID", "受注ID", "受注コード", "注文コード", "オーダー番号",
        "伝票番号", "order_id", "order_no", "order_number", "orderid", "InvoiceNo",
        "invoice_no", "invoice", "basket_id", "transaction_id", "amazon-order-id",
    ),
    "customer_id": (
        "会員ID", "顧客ID", "顧客番号", "会員番号", "顧客コード", "会員コード", "購入者ID",
        "customer_id", "CustomerID", "member_id", "user_id", "client_id", "household_id",
        "buyer_id",
    ),
    "ordered_at": (
        "受注日時", "注文日時", "受注日", "注文日", "購入日時", "購入日", "注文日付", "受注日付",
        "売上日", "order_date", "ordered_at", "order_datetime", "InvoiceDate", "created_at",
        "purchase_date", "transaction_timestamp", "order_time", "date", "datetime",
    ),
    "amount": (
        "小計", "金額", "明細金額", "商品小計", "明細小計", "売上金額", "購入金額", "合計金額",
        "合計", "売上", "line_total", "amount", "line_amount", "subtotal", "sales_value", "sales",
        "total", "revenue", "item-price",
    ),
    "unit_price": (
        "販売価格", "単価", "販売単価", "商品単価", "価格", "unit_price", "UnitPrice", "price",
        "lineitem_price",
    ),
    "quantity": (
        "数量", "個数", "購入数量", "販売個数", "注文数", "点数", "quantity", "qty", "units",
        "lineitem_quantity",
    ),
    "product_id": (
        "商品コード", "商品番号", "商品ID", "品番", "SKU", "JANコード", "product_id",
        "product_code", "item_code", "item_id", "StockCode", "article", "asin",
    ),
    "product_name": (
        "商品名", "品名", "アイテム名", "product_name", "item_name", "Description", "title",
        "product-name", "lineitem_name",
    ),
    "category": ("カテゴリ", "カテゴリー", "商品カテゴリ", "分類", "大分類", "category",
                 "product_category", "department"),
    "taste": ("テイスト", "味", "フレーバー", "カラー", "色", "taste", "flavor", "flavour", "style",
              "color", "colour"),
    "brand": ("ブランド", "メーカー", "brand", "vendor", "manufacturer"),
    "channel": ("販売チャネル", "チャネル", "販売経路", "受注経路", "購入経路", "モール", "店舗",
                "channel", "sales_channel", "source"),
    "status": ("受注ステータス", "ステータス", "対応状況", "注文ステータス", "処理状況", "status",
               "order_status", "financial_status"),
    "subscription_id": ("定期ID", "定期購入ID", "定期番号", "定期購入番号", "subscription_id",
                        "subscription_no"),
}  # fmt: skip

#: Header words that rule out a "contains" match (a birth date is no order date).
_NOT: dict[str, re.Pattern[str]] = {
    "ordered_at": re.compile(
        r"birth|誕生|生年|regist|登録|更新|update|modif|発送|出荷|ship|入金|paid|pay|deliver|"
        r"お届け|配送|返品|return|cancel|キャンセル|last|最終"
    ),
    "customer_id": re.compile(r"mail|メール|name|名"),
}

#: Score tiers: an exact name, a name within the header, a column found by its values.
_EXACT, _CONTAINS, _VALUES = 100, 50, 10


def normalise_name(name: str) -> str:
    """A header name as compared with :data:`SYNONYMS` (NFKC, case-folded, no blanks or -_・).

    Examples
    --------
    >>> normalise_name("Lineitem quantity"), normalise_name("ＳＫＵ"), normalise_name("order-no")
    ('lineitemquantity', 'sku', 'orderno')
    """
    s = unicodedata.normalize("NFKC", str(name)).casefold().lstrip("\ufeff")
    return re.sub(r"[\s_\-・]+", "", s)


@dataclass
class Guess:
    """The proposal for one canonical column.

    Attributes
    ----------
    canonical : str
    column : str
        The raw column proposed.
    reason : str
        Why, in words (written beside the key in settings.yaml).
    alternatives : list of (str, str)
        Other raw columns of the same kind, with their reasons: they compete.
    """

    canonical: str
    column: str
    reason: str
    alternatives: list[tuple[str, str]] = field(default_factory=list)


def _name_scores(header: list[str]) -> list[tuple[int, str, str, str]]:
    """(score, canonical, raw column, reason) of every header-name match."""
    out = []
    for canon, names in SYNONYMS.items():
        normed = [normalise_name(n) for n in names]
        for col in header:
            h = normalise_name(col)
            if h in normed:
                rank = normed.index(h)
                out.append((_EXACT - rank, canon, col, f"header {col!r} is a name for {canon}"))
                continue
            hits = [i for i, n in enumerate(normed) if len(n) >= 3 and n in h]
            if hits and not (canon in _NOT and _NOT[canon].search(h)):
                n = names[hits[0]]
                out.append(
                    (_CONTAINS - hits[0], canon, col, f"header {col!r} contains {n!r} ({canon})")
                )
    return out


def _nonempty(s: pd.Series) -> pd.Series:
    if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
        return s.dropna()
    txt = s.astype("string").str.strip()
    return txt[txt.fillna("") != ""]


def _values_fit(canon: str, s: pd.Series, decimal: str = ".") -> tuple[bool, str]:
    """Whether a column's values fit the canonical column, and what was seen."""
    values = _nonempty(s)
    if canon == "order_id":
        empty = 1 - len(values) / max(len(s), 1)
        return empty < 0.01, "never empty" if not empty else f"{empty:.1%} empty"
    if canon == "ordered_at":
        label, read, share = date_format(s)
        if label is None:
            return False, "its values are not dates"
        if not read:
            return True, f"dates like {label}, a form ingestion does NOT read: convert the export"
        return True, f"{share:.0%} of values read as {label}"
    if canon in ("amount", "unit_price"):
        if pd.api.types.is_numeric_dtype(s):
            return True, "a numeric column"
        share = numbers_share(values, decimal) if len(values) else 0.0
        return share >= 0.95, f"{share:.0%} of values are numbers"
    if canon == "quantity":
        if pd.api.types.is_integer_dtype(s):
            return True, "an integer column"
        txt = values.astype("string").map(lambda v: unicodedata.normalize("NFKC", v))
        share = (
            float(txt.str.fullmatch(r"-?\d{1,9}(?:\.0+)?").fillna(False).mean())
            if len(txt)
            else 0.0
        )
        return share >= 0.95, f"{share:.0%} of values are whole numbers"
    return True, ""


def _by_values(frame: pd.DataFrame, used: set[str]) -> list[tuple[int, str, str, str]]:
    """Date columns no header name matched: their values all read as dates."""
    out = []
    for col in frame.columns:
        if col in used or _NOT["ordered_at"].search(normalise_name(col)):
            continue
        label, read, share = date_format(frame[col])
        if label is not None and read and share >= 0.99:
            out.append((_VALUES, "ordered_at", str(col), f"all values of {col!r} read as {label}"))
    return out


def to_numbers(s: pd.Series, decimal: str = ".") -> pd.Series:
    """A column's numbers as floats (NaN where none), read as ingestion reads amounts.

    NFKC first; ``¥``/``￥``/``円``, blanks and the thousands separator dropped;
    ``▲``/``△`` a minus sign; ``decimal`` the decimal separator.
    """
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    txt = s.astype("string").fillna("").map(lambda v: unicodedata.normalize("NFKC", v))
    group = "," if decimal == "." else "."
    txt = txt.str.replace(r"[¥￥円\\\s]", "", regex=True).str.replace(group, "", regex=False)
    txt = txt.str.replace(decimal, ".", regex=False).str.replace(r"^[▲△]", "-", regex=True)
    return pd.to_numeric(txt, errors="coerce")


def _tier(score: int) -> int:
    return 2 if score > _CONTAINS else 1 if score > _VALUES else 0


def propose_columns(frame: pd.DataFrame, *, decimal: str = ".") -> dict[str, Guess]:
    """Propose the canonical → raw column mapping of one export.

    Parameters
    ----------
    frame : DataFrame
        The export as read (:func:`ecrm.io.read.read_raw`), header stripped.
    decimal : str, default "."
        The file's decimal separator (numbers are checked under it).

    Returns
    -------
    dict
        Canonical column -> :class:`Guess`, for the columns found. ``amount`` and
        ``unit_price`` are never both returned (see the module docstring, rule 4).

    Examples
    --------
    >>> df = pd.DataFrame({"受注番号": ["A1"], "会員ID": ["C1"], "受注日": ["2024/01/05"],
    ...                    "小計": ["1,200"]})
    >>> {k: g.column for k, g in propose_columns(df).items()}
    {'order_id': '受注番号', 'customer_id': '会員ID', 'ordered_at': '受注日', 'amount': '小計'}
    """
    header = [str(c) for c in frame.columns]
    scored = []
    rejected: dict[tuple[str, str], str] = {}
    for score, canon, col, why in _name_scores(header):
        fits, seen = _values_fit(canon, frame[col], decimal)
        if fits:
            scored.append((score, canon, col, why + (f"; {seen}" if seen else "")))
        else:
            rejected[(canon, col)] = seen
    named = {col for _, _, col, _ in scored}
    scored += _by_values(frame, named)
    scored.sort(key=lambda t: (-t[0], header.index(t[2]), t[1]))
    guesses: dict[str, Guess] = {}
    taken: set[str] = set()
    for score, canon, col, why in scored:
        if col in taken:
            continue
        if canon in guesses:
            best = next(s for s, c, k, _ in scored if c == canon and k == guesses[canon].column)
            if _tier(score) == _tier(best):
                guesses[canon].alternatives.append((col, why))
            continue
        guesses[canon] = Guess(canon, col, why)
        taken.add(col)
    for g in guesses.values():  # an alternative another column took is no competitor
        g.alternatives = [(c, w) for c, w in g.alternatives if c not in taken or c == g.column]
    _settle_amount(frame, guesses, decimal)
    order = [*SYNONYMS]
    return {k: guesses[k] for k in sorted(guesses, key=order.index)}


def _settle_amount(frame: pd.DataFrame, guesses: dict[str, Guess], decimal: str) -> None:
    """Rule 4: keep ``amount`` or ``unit_price`` (× quantity), never both."""
    amount, price, qty = (guesses.get(k) for k in ("amount", "unit_price", "quantity"))
    if amount is None or price is None:
        return
    if qty is None:
        del guesses["unit_price"]
        return

    def num(col: str) -> pd.Series:
        return to_numbers(frame[col], decimal)

    a, p, q = num(amount.column), num(price.column), num(qty.column)
    ok = a.notna() & p.notna() & q.notna()
    equal = float(((a - p * q).abs() < 0.005)[ok].mean()) if ok.any() else 0.0
    if equal >= 0.95:
        amount.reason += f"; equals {price.column} × {qty.column} on {equal:.0%} of lines"
        del guesses["unit_price"]
        return
    order = guesses.get("order_id")
    if order is not None:
        lines = frame.groupby(frame[order.column].astype("string"))[amount.column]
        multi = lines.transform("size") > 1
        same = lines.transform("nunique") == 1
        if multi.any() and bool(same[multi].all()):
            price.reason += (
                f"; {amount.column!r} is the same on every line of an order (an order total, "
                f"counted once per line if mapped): amount = {price.column} × {qty.column}"
            )
            del guesses["amount"]
            return
    amount.reason += (
        f"; differs from {price.column} × {qty.column} on {1 - equal:.0%} of lines "
        "(discounts?): check which is the net line amount"
    )
    del guesses["unit_price"]
