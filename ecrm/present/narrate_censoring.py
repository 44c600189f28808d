"""The left-censored first cohort in sentences (SPEC §3 Cohort).

Cohort, LTV and F2 tables flag the export's first month's cohort
(``left_censored``, :mod:`ecrm.analysis.censoring`); sentences and headlines
leave it out and say so once.
"""

from __future__ import annotations

import pandas as pd

from ecrm.present.labels import check_lang

__all__ = ["censored_note", "uncensored"]


def uncensored(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The table without the left-censored cohort's rows, and that cohort's label (or None)."""
    if "left_censored" not in table.columns or not table["left_censored"].any():
        return table, None
    flag = table["left_censored"].astype(bool)
    return table[~flag], str(table.loc[flag, "cohort"].iloc[0])


def censored_note(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """Says that the left-censored first cohort is left out ("" when there is none)."""
    check_lang(lang)
    label_ = uncensored(table)[1]
    if label_ is None:
        return ""
    if lang == "ja":
        return (
            f"{label_}コホートは集計から除いています: データの開始月のため、"
            "それ以前から購入していた顧客も「新規」に含まれます。"
        )
    return (
        f"The {label_} cohort is left out: it is the first month of the data, so it holds "
        "every customer who bought before the export began as 'new'."
    )
