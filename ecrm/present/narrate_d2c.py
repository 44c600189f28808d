"""Computed sentences for the D2C analyses: 定期, channels, revenue change, products.

Each function reads a finished table and returns one sentence (or two) in
Japanese or English that states the window it used; numbers are written by
:mod:`ecrm.present.format`. A table without the rows a sentence needs gives a
sentence that says so, never a made-up figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecrm import engine
from ecrm.present import format as fmt
from ecrm.present.labels import check_lang

__all__ = [
    "MISSING",
    "available",
    "censored_left_out",
    "channel_value",
    "cohort_retention",
    "continuation",
    "entry_products",
    "entry_value",
    "ltv_cac",
    "missing",
    "product_conversion",
    "product_pairs",
    "projection",
    "projection_check",
    "revenue_change",
    "subscription_monthly",
]


#: Why a section of the D2C page cannot be shown, by the data it lacks (ja, en).
MISSING: dict[str, tuple[str, str]] = {
    "subscriptions": (
        "このショップのデータには定期の記録がありません。"
        "ショップ設定の columns で定期IDの列を対応づけるか、"
        "subscriptions: に定期の表を指定してください。",
        "This shop's data has no subscriptions. Map the subscription id column "
        "in the shop settings (`columns`) or give a subscriptions table (`subscriptions:`).",
    ),
    "cancellations": (
        "まだ解約された定期がないため、解約のしやすさを推定できません"
        "(定期LTVの予測には解約の実績が必要です)。",
        "No subscription has been cancelled yet, so churn cannot be estimated (the subscriber "
        "LTV projection needs cancellations).",
    ),
    "channel": (
        "このショップのデータには販売チャネル(channel)がありません。"
        "ショップ設定の columns でチャネルの列を対応づけてください。",
        "This shop's data has no sales channel (channel). Map the channel column in the shop "
        "settings (`columns`).",
    ),
    "costs": (
        "広告費の表(costs:)がないため、CAC・LTV/CACは計算できません。"
        "月・チャネル・広告費の表をショップ設定の costs: に指定してください。",
        "Without an acquisition cost table (`costs:`) there is no CAC or LTV/CAC. Give a table "
        "of month, channel and cost in the shop settings (`costs:`).",
    ),
    "holdout": (
        "検証用の時点までに解約された定期がないため、予測を過去の実績で検証できません。",
        "No subscription had been cancelled by the hold-out cut-off, so the projection cannot be "
        "checked against what happened since.",
    ),
    "product_id": (
        "このショップのデータには商品ID(product_id)がありません。"
        "ショップ設定の columns または product_master で対応づけてください。",
        "This shop's data has no product id (product_id). Map it in the shop settings "
        "(`columns` or `product_master`).",
    ),
}


def available(
    orders: engine.OrdersLike, *, subscriptions: Any = None, costs: Any = None
) -> dict[str, bool]:
    """Which of the D2C page's inputs the shop has: each key of :data:`MISSING` but cancellations.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    subscriptions, costs : DataFrame or None
        :func:`ecrm.io.canonical.read_subscriptions` / ``read_costs``.

    Returns
    -------
    dict
        ``subscriptions``: the orders hold a subscription_id value (a
        subscriptions table alone has no deliveries to count); ``channel``,
        ``product_id``: the orders hold a value there; ``costs``: a costs table
        with at least one row.
    """
    t = engine.orders_table(orders)
    return {
        "subscriptions": engine.has_values(t, "subscription_id"),
        "channel": engine.has_values(t, "channel"),
        "product_id": engine.has_values(t, "product_id"),
        "costs": costs is not None and len(costs) > 0,
    }


def missing(what: str, *, lang: str = "ja") -> str:
    """The message shown in place of a section whose data the shop lacks (a key of :data:`MISSING`).

    >>> missing("costs", lang="en").startswith("Without an acquisition cost table")
    True
    """
    check_lang(lang)
    ja, en = MISSING[what]
    return ja if lang == "ja" else en


def ltv_cac(summary: pd.DataFrame, *, days: int = 360, lang: str = "ja") -> str:
    """How many first channels earn back their cost within ``days`` (months pooled by cost).

    The pooling is :func:`ecrm.present.plotting.d2c.plot_ltv_cac`'s: the LTV of
    the acquisition months observable for ``days`` times their new customers,
    over those months' cost; a channel without cost is left out.
    """
    check_lang(lang)
    col = f"ltv_{days}"
    if "cost" not in summary.columns:  # no costs table: the summary has no cost columns
        summary = summary.assign(cost=float("nan"))
    s = summary[summary[col].notna() & summary["cost"].notna()].copy()
    s["value"] = s[col] * s["new_customers"]
    g = s.groupby("channel")[["value", "cost"]].sum()
    g = g[g["cost"] > 0]
    if g.empty:
        return (
            f"広告費のある獲得月で{days}日経過したものがまだありません。"
            if lang == "ja"
            else f"No acquisition month with a cost has been observable for {days} days yet."
        )
    ratio = g["value"] / g["cost"]
    ok = int((ratio >= 1).sum())
    worst = ratio.idxmin()
    if lang == "ja":
        return (
            f"広告費のある{len(ratio)}チャネルのうち{ok}チャネルが{days}日で獲得費用を回収しています"
            f"(LTV/CAC ≥ 1)。最も低いのは{worst}で{fmt.number(ratio[worst])}です。"
        )
    return (
        f"{ok} of the {len(ratio)} channels with a cost earn it back within {days} days "
        f"(LTV/CAC ≥ 1); the lowest is {worst} at {fmt.number(ratio[worst])}."
    )


def continuation(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """The first renewal and the steadiest step of the 定期 ladder."""
    check_lang(lang)
    rated = table[table["continuation_rate"].notna()]
    if rated.empty:
        return (
            "まだ継続・解約が確定した定期はありません。"
            if lang == "ja"
            else "No subscription has renewed or cancelled yet."
        )
    first = rated.iloc[0]
    low = rated.loc[rated["continuation_rate"].astype(float).idxmin()]
    if lang == "ja":
        return (
            f"1回目から2回目への継続率は{fmt.rate(first['continuation_rate'])}"
            f"(到達{fmt.count(first['reached'])}件)で、"
            f"最も低いのは{low['label']}回目→{int(low['n']) + 1}回目の"
            f"{fmt.rate(low['continuation_rate'])}です。"
        )
    return (
        f"{fmt.rate(first['continuation_rate'])} of subscriptions renew after the first delivery "
        f"({fmt.count(first['reached'])} reached it); the weakest step is delivery "
        f"{low['label']} → {int(low['n']) + 1} at {fmt.rate(low['continuation_rate'])}."
    )


def subscription_monthly(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """This month's 解約率 against the average of the months shown."""
    check_lang(lang)
    last = table.iloc[-1]
    avg = table["cancellation_rate"].mean()
    n = int(table["cancellation_rate"].notna().sum())
    if lang == "ja":
        return (
            f"{last['month']}の解約率は{fmt.rate(last['cancellation_rate'])}"
            f"(月末継続{fmt.count(last['active'])}件)、"
            f"表示した{n}ヶ月の平均は{fmt.rate(avg)}です。"
        )
    return (
        f"In {last['month']} {fmt.rate(last['cancellation_rate'])} of subscriptions were "
        f"cancelled ({fmt.count(last['active'])} active at month end); the {n}-month average "
        f"is {fmt.rate(avg)}."
    )


def projection(
    summary: pd.DataFrame,
    check: pd.DataFrame | None = None,
    *,
    lang: str = "ja",
    currency: str = "JPY",
) -> str:
    """Expected deliveries and subscriber LTV, and how far the hold-out projection was off."""
    check_lang(lang)
    s = summary.iloc[0]
    horizon = int(s["horizon"])
    if lang == "ja":
        text = (
            f"新規の定期1件あたりの期待配送回数は{horizon}回までで"
            f"{fmt.number(s['expected_deliveries'], decimals=1)}回、"
            f"定期LTVは{fmt.money(s['subscriber_ltv'], currency)}"
            f"(1回平均{fmt.money(s['mean_delivery_value'], currency)})です。"
        )
    else:
        text = (
            f"A new subscription is expected to receive "
            f"{fmt.number(s['expected_deliveries'], decimals=1)} deliveries within {horizon}, "
            f"a subscriber LTV of {fmt.money(s['subscriber_ltv'], currency)} "
            f"({fmt.money(s['mean_delivery_value'], currency)} per delivery)."
        )
    if check is not None and check["error"].notna().any():
        worst = float(check["error"].abs().max())
        text += (
            f"検証期間の予測誤差は最大{fmt.points(worst, lang=lang).lstrip('+')}でした。"
            if lang == "ja"
            else f" Fitted at the cut-off, the projection was off by at most "
            f"{fmt.points(worst, lang=lang).lstrip('+')}."
        )
    return text


def channel_value(
    summary: pd.DataFrame, *, days: int = 360, lang: str = "ja", currency: str = "JPY"
) -> str:
    """The channel with the highest LTV at ``days`` (pooled over months) and its LTV/CAC."""
    check_lang(lang)
    col = f"ltv_{days}"
    s = summary[summary[col].notna()].copy()
    if s.empty:
        return (
            f"{days}日経過した獲得月がまだありません。"
            if lang == "ja"
            else f"No acquisition month has been observable for {days} days yet."
        )
    s["value"] = s[col] * s["new_customers"]
    if "cost" not in s.columns:  # no costs table: the summary has no cost columns
        s["cost"] = float("nan")
    g = s.groupby("channel")[["value", "new_customers", "cost"]].sum(min_count=1)
    g["ltv"] = g["value"] / g["new_customers"]
    best = g["ltv"].idxmax()
    row = g.loc[best]
    ratio = row["value"] / row["cost"] if pd.notna(row["cost"]) and row["cost"] > 0 else None
    if lang == "ja":
        text = f"{days}日LTVが最も高い初回チャネルは{best}で{fmt.money(row['ltv'], currency)}です。"
        if ratio is not None:
            text += f"広告費に対するLTV/CACは{fmt.number(ratio)}です。"
        return text
    ltv = fmt.money(row["ltv"], currency)
    text = f"The first channel with the highest {days}-day LTV is {best}, at {ltv}."
    if ratio is not None:
        text += f" Its LTV/CAC is {fmt.number(ratio)}."
    return text


def revenue_change(table: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """The month's revenue change and the driver that moved it most."""
    check_lang(lang)
    total = table[table["part"] == "total"].iloc[0]
    parts = table[table["part"] != "total"]
    top = parts.loc[parts["contribution"].abs().idxmax()]
    names = {
        ("new", "customers"): ("新規顧客数", "the number of new customers"),
        ("new", "purchases_per_customer"): ("新規の購入頻度", "new customers' purchase frequency"),
        ("new", "aov"): ("新規の客単価", "new customers' AOV"),
        ("repeat", "customers"): ("リピート顧客数", "the number of repeat customers"),
        ("repeat", "purchases_per_customer"): ("リピートの購入頻度", "repeat customers' frequency"),
        ("repeat", "aov"): ("リピートの客単価", "repeat customers' AOV"),
        ("other", "revenue"): ("ゲスト等の売上", "guest and other revenue"),
    }
    ja, en = names[(top["part"], top["factor"])]
    base, month = table["base_month"].iloc[0], table["month"].iloc[0]
    change = float(total["contribution"])
    if lang == "ja":
        return (
            f"{month}の売上は{base}比で{fmt.money(change, currency)}"
            f"({fmt.rate(change / total['before'], signed=True) if total['before'] else '—'})、"
            f"最大の要因は{ja}({fmt.money(top['contribution'], currency)})です。"
        )
    return (
        f"Revenue in {month} moved by {fmt.money(change, currency)} against {base} "
        f"({fmt.rate(change / total['before'], signed=True) if total['before'] else '—'}); "
        f"the largest driver is {en} ({fmt.money(top['contribution'], currency)})."
    )


def entry_products(table: pd.DataFrame, *, lang: str = "ja", days: int | None = None) -> str:
    """The entry product whose new customers come back most within ``days`` (360 or 90).

    ``days`` None reads 360 when some product has customers observable for
    360 days, else 90.
    """
    check_lang(lang)
    if days is None:
        days = 360 if table["f2_rate_360"].notna().any() else 90
    rate_col, seen_col = f"f2_rate_{int(days)}", f"customers_{int(days)}"
    t = table[table[rate_col].notna()] if rate_col in table.columns else table.iloc[:0]
    if t.empty:
        return (
            f"{days}日経過した初回購入商品の顧客がまだいません。"
            if lang == "ja"
            else f"No entry product has customers observable for {days} days yet."
        )
    best = t.loc[t[rate_col].astype(float).idxmax()]
    name = best.get("product_name", best["entry_product"])
    if lang == "ja":
        return (
            f"{days}日以内のF2転換率が最も高い初回購入商品は{name}で"
            f"{fmt.rate(best[rate_col])}({days}日経過した新規{fmt.count(best[seen_col])}人)です。"
        )
    return (
        f"New customers who started with {name} come back most: "
        f"{fmt.rate(best[rate_col])} within {days} days "
        f"({fmt.count(best[seen_col])} observable for {days} days)."
    )


def cohort_retention(table: pd.DataFrame, *, months: int = 3, lang: str = "ja") -> str:
    """The share still active ``months`` after the start: latest cohort against all of them.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.subscriptions.cohort_retention` (unsplit).
    months : int, default 3
        Months since start compared.
    """
    check_lang(lang)
    at = table[(table["months_since_start"] == int(months)) & table["active"].notna()]
    at = at[at["started"] > 0]
    if at.empty:
        return (
            f"開始から{months}ヶ月後の月末を迎えた定期はまだありません。"
            if lang == "ja"
            else f"No subscription has been running for {months} month ends yet."
        )
    last = at.sort_values("start_month").iloc[-1]
    pooled = float(at["active"].sum()) / float(at["started"].sum())
    n = at["start_month"].nunique()
    if lang == "ja":
        return (
            f"開始から{months}ヶ月後も継続している定期は、最新の{last['start_month']}開始分で"
            f"{fmt.rate(last['retention'])}(開始{fmt.count(last['started'])}件)、"
            f"{n}ヶ月分の開始月の合計では{fmt.rate(pooled)}です。"
        )
    return (
        f"{fmt.rate(last['retention'])} of the subscriptions started in {last['start_month']} "
        f"were still active {months} months on ({fmt.count(last['started'])} started), "
        f"against {fmt.rate(pooled)} over the {n} start months observable that long."
    )


def projection_check(check: pd.DataFrame, *, cutoff: Any, rule: str = "", lang: str = "ja") -> str:
    """How far the projection fitted at ``cutoff`` was from the survival observed since.

    Parameters
    ----------
    check : DataFrame
        :func:`ecrm.models.subscription_value.projection_check`.
    cutoff : date
        The cut-off the model was fitted at.
    rule : str, optional
        ``"middle_of_history"`` when the cut-off is the middle of a short
        history (said in the sentence); otherwise as_of − 12 months.
    """
    check_lang(lang)
    c = engine.as_of_date(cutoff)
    out = check[check["error"].notna()]
    why_ja = "(履歴が24ヶ月に満たないため、その中間で)" if rule == "middle_of_history" else ""
    why_en = (
        " (the middle of a history shorter than 24 months)" if rule == "middle_of_history" else ""
    )
    if out.empty:
        return (
            f"{c}{why_ja}までのデータで当てはめた予測を検証できる実績がまだありません。"
            if lang == "ja"
            else f"Nothing observed since {c}{why_en} can check the projection against yet."
        )
    err = out["error"].astype(float)
    worst = out.loc[err.abs().idxmax()]
    mean = float(err.abs().mean())
    side_ja = "高め" if float(worst["error"]) > 0 else "低め"
    side_en = "above" if float(worst["error"]) > 0 else "below"
    w = fmt.points(abs(float(worst["error"])), lang=lang).lstrip("+")
    m = fmt.points(mean, lang=lang).lstrip("+")
    if lang == "ja":
        return (
            f"{c}{why_ja}までのデータで当てはめたsBGモデルの予測は、その後の実績と比べて"
            f"平均{m}、最大で{int(worst['n'])}回目に{w}{side_ja}でした"
            f"(1〜{int(out['n'].max())}回目で検証)。"
        )
    return (
        f"Fitted on the data to {c}{why_en}, the sBG projection was off by {m} on average over "
        f"deliveries 1 to {int(out['n'].max())}, at most {w} {side_en} what was observed "
        f"(delivery {int(worst['n'])})."
    )


def censored_left_out(month: str | None, customers: int, *, lang: str = "ja") -> str:
    """Say how many customers of the left-censored month a pooled table leaves out ("" if none).

    The export's first month holds everyone who bought before the export began
    (SPEC §3 Cohort), so its "new" customers are not all new.
    """
    check_lang(lang)
    if month is None or customers <= 0:
        return ""
    if lang == "ja":
        return (
            f"{month}はデータの最初の月で、それ以前からの顧客も初回購入に見えるため、"
            f"この月の{fmt.count(customers)}人は集計から除いています。"
        )
    return (
        f"{month} is the export's first month and holds customers who bought before the export "
        f"began, so its {fmt.count(customers)} customers are left out of this table."
    )


def entry_value(
    table: pd.DataFrame, *, min_customers: int = 30, lang: str = "ja", currency: str = "JPY"
) -> str:
    """The entry product with the highest 360-day revenue per customer, with its F2.

    Only products with at least ``min_customers`` customers observable for 360
    days are compared (as :func:`ecrm.present.plotting.d2c.plot_entry_value`).
    """
    check_lang(lang)
    t = table[
        table["revenue_per_customer_360"].notna() & (table["customers_360"] >= int(min_customers))
    ]
    if t.empty:  # a short history: the 90-day F2 rates are compared instead (as the chart)
        head = (
            f"360日経過した顧客が{int(min_customers)}人以上いる初回購入商品はまだないため、"
            "90日以内のF2転換率で比べます。"
            if lang == "ja"
            else f"No entry product has {int(min_customers)} customers observable for 360 days "
            "yet, so the 90-day F2 rates are compared."
        )
        return head + ("" if lang == "ja" else " ") + entry_products(table, lang=lang, days=90)
    ranked = t.sort_values("revenue_per_customer_360", ascending=False)
    best, low = ranked.iloc[0], ranked.iloc[-1]
    name = best.get("product_name", best["entry_product"])
    low_name = low.get("product_name", low["entry_product"])
    v, lv = (fmt.money(r["revenue_per_customer_360"], currency) for r in (best, low))
    if lang == "ja":
        text = (
            f"初回購入から360日の顧客あたり売上が最も高い初回購入商品は{name}で{v}"
            f"(F2転換率{fmt.rate(best['f2_rate_360'])}、新規{fmt.count(best['customers_360'])}人)"
        )
        if len(ranked) > 1:
            text += f"、最も低い{low_name}は{lv}(F2転換率{fmt.rate(low['f2_rate_360'])})"
        return text + "です。"
    text = (
        f"Customers who started with {name} are worth the most within 360 days: {v} each "
        f"(F2 {fmt.rate(best['f2_rate_360'])}, {fmt.count(best['customers_360'])} customers)"
    )
    if len(ranked) > 1:
        text += f"; those who started with {low_name} {lv} (F2 {fmt.rate(low['f2_rate_360'])})"
    return text + "."


def product_conversion(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """The strongest entry → second-purchase product step (商品転換)."""
    check_lang(lang)
    if table.empty:
        return (
            "2回目の購入がある顧客が下限に届く初回購入商品がまだありません。"
            if lang == "ja"
            else "No entry product has enough customers with a second purchase yet."
        )
    top = table.sort_values(["probability", "customers"], ascending=False).iloc[0]
    a = top.get("entry_product_name", top["entry_product"])
    b = top.get("second_product_name", top["second_product"])
    if lang == "ja":
        return (
            f"{a}で初回購入し2回目も購入した顧客{fmt.count(top['customers'])}人のうち"
            f"{fmt.rate(top['probability'])}が、2回目に{b}を購入しています。"
        )
    return (
        f"Of the {fmt.count(top['customers'])} customers who started with {a} and came back, "
        f"{fmt.rate(top['probability'])} bought {b} on their second purchase."
    )


def product_pairs(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """The product pair with the highest lift (each unordered pair once)."""
    check_lang(lang)
    if table.empty:
        return (
            "直近12ヶ月に、下限の顧客数を超えて一緒に購入された商品の組み合わせはありません。"
            if lang == "ja"
            else "No pair of products was bought by enough customers in the last 12 months."
        )
    top = table.sort_values(["lift", "customers_both"], ascending=False).iloc[0]
    a = top.get("product_a_name", top["product_a"])
    b = top.get("product_b_name", top["product_b"])
    if lang == "ja":
        return (
            f"直近12ヶ月で最も結びつきの強い組み合わせは{a}と{b}で、"
            f"{a}の購入者の{fmt.rate(top['confidence_ab'])}が{b}も購入しています"
            f"(偶然の{fmt.number(top['lift'], decimals=1)}倍、"
            f"{fmt.count(top['customers_both'])}人)。"
        )
    return (
        f"In the last 12 months {a} and {b} go together most: "
        f"{fmt.rate(top['confidence_ab'])} of {a} buyers also bought {b} "
        f"({fmt.number(top['lift'], decimals=1)} times chance, "
        f"{fmt.count(top['customers_both'])} customers)."
    )
