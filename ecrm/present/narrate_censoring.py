"""The left-censored first cohort in sentences (SPEC §3 Cohort).

Cohort, LTV and F2 tables flag the export's first month's cohort
(``left_censored``, :mod:`ecrm.analysis.censoring`); sentences and headlines
leave it out and say so once.
"""

from __future__ import annotations

import pandas as pd

from ecrm.present.labels import check_lang

__all__ = ["censored_note", "cohort_span", "uncensored"]


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


def cohort_span(cohorts: pd.Series, *, lang: str = "ja") -> str:
    """The cohorts a pooled figure used, as the sentence states its window.

    Parameters
    ----------
    cohorts : Series of str
        ``YYYY-MM`` labels of the cohorts pooled (duplicates and order do not matter).
    lang : {"ja", "en"}

    Returns
    -------
    str
        "2011-01〜2011-09の9コホート" / "the 9 cohorts 2011-01 to 2011-09"
        (one cohort: "2011-01コホート" / "the 2011-01 cohort"); "" without any.

    Examples
    --------
    >>> cohort_span(pd.Series(["2011-02", "2011-01", "2011-02"]), lang="en")
    'the 2 cohorts 2011-01 to 2011-02'
    """
    check_lang(lang)
    labels = sorted(set(cohorts.dropna().astype(str)) - {"all"})
    if not labels:
        return ""
    first, last, n = labels[0], labels[-1], len(labels)
    if n == 1:
        return f"{first}コホート" if lang == "ja" else f"the {first} cohort"
    if lang == "ja":
        return f"{first}〜{last}の{n}コホート"
    return f"the {n} cohorts {first} to {last}"
