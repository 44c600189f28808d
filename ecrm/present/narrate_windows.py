"""Windows stated as used (issue #21): the part of a window the shop's data covers.

A sentence that names a window ("直近12ヶ月", "1年前", "前期") on a shop whose
export begins inside it would claim more than was measured. These helpers word
an :class:`ecrm.analysis.segments.Window` as the days actually used, and say
when a comparison point lies before the data begin.
"""

from __future__ import annotations

from typing import Any

from ecrm.present.labels import check_lang

__all__ = ["before_data", "span"]


def span(window: Any, lang: str = "ja") -> str:
    """The days a window used: ``2025-11-01〜2026-10-31`` (data-limited ones say so).

    Parameters
    ----------
    window : Window
        :func:`ecrm.analysis.segments.data_window`.
    lang : {"ja", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> import datetime as dt
    >>> from ecrm.analysis.segments import Window
    >>> w = Window(dt.date(2010, 12, 1), dt.date(2011, 11, 30), dt.date(2010, 12, 1))
    >>> span(w), span(w._replace(start=dt.date(2010, 6, 1)), "en")
    ('2010-12-01〜2011-11-30', '2010-12-01 to 2011-11-30 (the data begin on 2010-12-01)')
    """
    check_lang(lang)
    lo, hi = window.used_start.isoformat(), window.end.isoformat()
    if lang == "ja":
        return f"{lo}〜{hi}" + ("" if window.full else f"(データは{lo}から)")
    return f"{lo} to {hi}" + ("" if window.full else f" (the data begin on {lo})")


def before_data(window: Any, what: tuple[str, str], lang: str = "ja") -> str:
    """A comparison that cannot be made: its point (``window.start``) is before the data.

    Parameters
    ----------
    window : Window
    what : (str, str)
        The comparison in Japanese and English (``("セグメントの移動", "movement")``).
    lang : {"ja", "en"}

    Returns
    -------
    str
    """
    check_lang(lang)
    first = window.first_order.isoformat() if window.first_order else "—"
    one = window.start == window.end
    lo, hi = window.start.isoformat(), window.end.isoformat()
    if lang == "ja":
        point = f"比較の時点({lo})" if one else f"比較する期間({lo}〜{hi})"
        return f"{point}はデータの開始({first})より前のため、{what[0]}はまだ測れません。"
    point = f"comparison date ({lo}) is" if one else f"comparison period ({lo} to {hi}) ends"
    return f"The {point} before the data begin ({first}): the {what[1]} cannot be measured yet."
