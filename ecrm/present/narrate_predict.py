"""Sentences of the predicted customer value (SPEC §3 LTV, "Predicted customer value").

The horizons table, the hold-out's cut-off and tracking, and the P(alive)
matrix, read for the client. Every value sentence names its horizon and
whether it is discounted ("割引なし" / "undiscounted", else the annual rate).
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from ecrm.present import format as fmt
from ecrm.present.labels import check_lang

__all__ = ["alive_matrix", "cutoff", "discounting", "horizons", "tracking"]


def discounting(rate: float, *, lang: str = "ja") -> str:
    """How values are discounted: "割引なし" / "undiscounted" at rate 0, else the annual rate."""
    check_lang(lang)
    if float(rate) == 0:
        return "割引なし" if lang == "ja" else "undiscounted"
    r = fmt.rate(float(rate))
    return f"年率{r}で割引" if lang == "ja" else f"discounted at {r} a year"


def horizons(table: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """Expected purchases and value per customer at each horizon, with the discounting.

    ``table`` is :func:`ecrm.models.clv.horizon_table` (horizon_months, customers,
    expected_purchases, avg_expected_purchases, expected_value, avg_expected_value,
    discount_rate_annual).
    """
    check_lang(lang)
    if table.empty or int(table["customers"].iloc[0]) == 0:
        return "—"
    n = int(table["customers"].iloc[0])
    how = discounting(float(table["discount_rate_annual"].iloc[0]), lang=lang)
    parts = []
    for row in table.itertuples():  # one per horizon (three), not per customer
        per = fmt.money(row.avg_expected_value, currency)
        total = fmt.money(row.expected_value, currency)
        if lang == "ja":
            parts.append(
                f"{row.horizon_months}ヶ月で1人あたり{row.avg_expected_purchases:.2f}回・{per}"
                f"(合計{total})"
            )
        else:
            parts.append(
                f"{row.horizon_months} months: {row.avg_expected_purchases:.2f} purchases and "
                f"{per} per customer ({total} in total)"
            )
    if lang == "ja":
        return f"現在の顧客{n:,}人の予測({how}):" + "、".join(parts) + "。"
    return f"Today's {n:,} customers, predicted ({how}): " + "; ".join(parts) + "."


def cutoff(check: Any, *, lang: str = "ja") -> str:
    """The hold-out's cut-off date and why it is there (``Calibration.info``)."""
    check_lang(lang)
    info = check.info
    rule, start = info.get("cutoff_rule"), info.get("history_start")
    days = info.get("holdout_days")
    m = int(info.get("months", 12))
    if lang == "ja":
        why = {
            "as_of_minus_months": f"履歴({start}〜{check.as_of})が十分に長いため、"
            f"基準日の{m}ヶ月前で区切りました",
            "middle_of_history": f"履歴({start}〜{check.as_of})が{2 * m}ヶ月に満たないため、"
            "その中間で区切りました",
        }.get(rule, "指定された日付です")
        return (
            f"検証のカットオフは{check.cutoff}です({why})。それまでの購入でモデルを推定し、"
            f"その後{days:,}日間の購入と比べます。"
        )
    why = {
        "as_of_minus_months": f"the history ({start} to {check.as_of}) is long enough: "
        f"{m} months before the report date",
        "middle_of_history": f"the history ({start} to {check.as_of}) is shorter than "
        f"{2 * m} months: its middle",
    }.get(rule, "the date given")
    return (
        f"The hold-out cut-off is {check.cutoff} ({why}). The model is fitted on the purchases "
        f"up to it and compared with the {days:,} days after."
    )


def tracking(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """How far the cumulative prediction ended from the actual purchases over the hold-out.

    ``table`` is ``Calibration.tracking`` (predicted_cumulative, actual_cumulative).
    """
    check_lang(lang)
    if table.empty:
        return "—"
    pred = float(table["predicted_cumulative"].iloc[-1])
    act = float(table["actual_cumulative"].iloc[-1])
    weeks = len(table)
    gap = fmt.rate((pred - act) / act, signed=True) if act else "—"
    if lang == "ja":
        return (
            f"ホールドアウトの{weeks}週間で、累積の予測購入回数は{pred:,.0f}回、実績は{act:,.0f}回"
            f"でした(差{gap})。週ごとの線が離れている時期は、モデルが季節やキャンペーンを"
            "知らないためです。"
        )
    return (
        f"Over the {weeks} hold-out weeks the cumulative prediction ended at {pred:,.0f} "
        f"purchases against {act:,.0f} actual ({gap}). Where the weekly lines part, the model "
        "does not know the season or a campaign."
    )


def _silence(matrix: pd.DataFrame, frequency: int) -> int | None:
    """Days since the last purchase after which P(alive) < 50% for this frequency (None: never)."""
    row = matrix[matrix["frequency"] == frequency]
    alive = row[row["probability_alive"] >= 0.5]
    if alive.empty:
        return 0
    gone = row[row["probability_alive"] < 0.5]
    if gone.empty:
        return None
    return int(row["T"].iloc[0] - alive["recency"].min())


def alive_matrix(matrix: pd.DataFrame, *, lang: str = "ja") -> str:
    """Reads the P(alive) matrix: after how many silent days a customer has probably left.

    ``matrix`` is :func:`ecrm.models.clv.probability_alive_matrix` in days. For
    1, 3 and 10 repeat purchases (those within the grid), the days without a
    purchase after which P(alive) falls below 50%, at the grid's T.
    """
    check_lang(lang)
    f_max = int(matrix["frequency"].max()) if not matrix.empty else 0
    if f_max < 1:
        return "—"
    T = int(matrix["T"].iloc[0])
    freqs = sorted({f for f in (1, 3, 10) if f <= f_max})
    days = {f: _silence(matrix, f) for f in freqs}
    known = [d for d in days.values() if d is not None]
    sooner = len(known) > 1 and all(a > b for a, b in itertools.pairwise(known))
    if lang == "ja":
        parts = [
            f"{f}回リピートした顧客は{d:,}日"
            if d is not None
            else f"{f}回リピートした顧客は{T:,}日以内には下回りません"
            for f, d in days.items()
        ]
        return (
            f"初回購入から{T:,}日たった顧客で、最後の購入からこの日数を過ぎると生存確率が50%を"
            "下回ります:"
            + "、".join(parts)
            + "。"
            + (
                "よく買っていた顧客ほど、購入が途絶えたら早めに声をかける価値があります。"
                if sooner
                else ""
            )
        )
    parts = [
        f"{f} repeat purchase{'s' if f > 1 else ''}: "
        + (f"after {d:,} days without a purchase" if d is not None else f"not within {T:,} days")
        for f, d in days.items()
    ]
    return (
        f"For customers {T:,} days after their first purchase, the probability alive falls "
        "below 50% as follows. "
        + "; ".join(parts)
        + "."
        + (
            " The more often a customer bought, the sooner a silence means they have left: "
            "reach out early."
            if sooner
            else ""
        )
    )
