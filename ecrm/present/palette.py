"""One colour per segment, defined once for every chart of every page.

Static data: each *family* of segments (RFM named segments, the ten CPM
segments, lifecycle segments, new vs repeat, clusters) maps its segment codes
to a colour, and every plot that draws a segment takes its colour from here, so
新規 is the same orange in the KPI lines, the lifecycle bars and the RFM grid.

Choices
-------
* The concept "new" has one colour in every family (:data:`NEW`: lifecycle
  ``new``, RFM ``new_customers``, CPM ``first_active``, the KPI
  ``new_customers`` / ``new_revenue``) and "repeat" another (:data:`REPEAT`).
* CPM: each stage has one hue; the lapsed segment of a stage is a lighter tint
  of its active colour and is drawn hatched (:func:`hatch`), so a pair reads as
  one hue and the two states stay apart in grey-scale print.
* Clusters have no meaning in their numbers: cluster ``k`` gets the ``k``-th
  colour of a colour-blind-friendly qualitative list (Tableau 10), cycling.
* A code that is not in its family (a shop's own RFM segment map) gets a
  neutral grey rather than an error, so a chart never fails on a new name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from matplotlib.colors import to_hex, to_rgb

__all__ = [
    "FAMILIES",
    "NEW",
    "OTHER",
    "QUALITATIVE",
    "REPEAT",
    "colour",
    "colours",
    "hatch",
    "lighten",
]

#: 新規 / new customers, in every family.
NEW = "#F28E2B"
#: リピート / repeat customers, in every family.
REPEAT = "#4E79A7"
#: A segment a family does not know, and "other" rows.
OTHER = "#BAB0AC"
#: Colour-blind-friendly qualitative colours (Tableau 10), for clusters and series.
QUALITATIVE: tuple[str, ...] = (
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)


def lighten(hex_colour: str, amount: float = 0.55) -> str:
    """Mix ``hex_colour`` with white (``amount`` 0 = unchanged, 1 = white)."""
    r, g, b = to_rgb(hex_colour)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


_CPM_STAGES: dict[str, str] = {
    "first": NEW,
    "toddler": "#EDC948",
    "steady": "#59A14F",
    "fad": "#B07AA1",
    "loyal": "#E15759",
}

_FAMILIES: dict[str, dict[str, str]] = {
    "rfm": {
        "champions": "#B2182B",
        "loyal_customers": "#E15759",
        "potential_loyalists": "#FF9DA7",
        "new_customers": NEW,
        "promising": "#EDC948",
        "need_attention": "#76B7B2",
        "about_to_sleep": "#4E79A7",
        "at_risk": "#9C755F",
        "cannot_lose": "#B07AA1",
        "hibernating": "#79706E",
        "lost": "#BAB0AC",
    },
    "cpm": {
        **{f"{stage}_active": c for stage, c in _CPM_STAGES.items()},
        **{f"{stage}_lapsed": lighten(c) for stage, c in _CPM_STAGES.items()},
    },
    "lifecycle": {
        "new": NEW,
        "first_repeat": "#A0CBE8",
        "repeat": REPEAT,
        "vip": "#E15759",
        "dormant": "#9C755F",
        "churned": OTHER,
    },
    "new_repeat": {
        "new": NEW,
        "repeat": REPEAT,
        "new_customers": NEW,
        "repeat_customers": REPEAT,
        "new_revenue": NEW,
        "repeat_revenue": REPEAT,
        "revenue": "#3B3B3B",
        "customers": "#3B3B3B",
    },
}

#: Family name → {segment code: hex colour} (read-only). Clusters are computed
#: by :func:`colour` (``"cluster"`` family, code = cluster number).
FAMILIES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {k: MappingProxyType(v) for k, v in _FAMILIES.items()}
)


def colour(family: str, code: object) -> str:
    """The colour of segment ``code`` in ``family``.

    Parameters
    ----------
    family : {"rfm", "cpm", "lifecycle", "new_repeat", "cluster"}
        The segment family.
    code : str or int
        The segment code (``"first_lapsed"``, ``"new"``) or, for clusters, the
        cluster number (1-based).

    Returns
    -------
    str
        A ``#rrggbb`` colour; :data:`OTHER` for a code the family does not know.

    Raises
    ------
    ValueError
        Unknown family.

    Examples
    --------
    >>> colour("lifecycle", "new") == colour("rfm", "new_customers") == NEW
    True
    """
    if family == "cluster":
        try:
            return QUALITATIVE[(int(code) - 1) % len(QUALITATIVE)]  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return OTHER
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {[*FAMILIES, 'cluster']}; got {family!r}")
    return FAMILIES[family].get(str(code), OTHER)


def colours(family: str, codes: Iterable[object]) -> list[str]:
    """:func:`colour` of each code, in order."""
    return [colour(family, c) for c in codes]


def hatch(family: str, code: object) -> str | None:
    """The hatch pattern of a segment: ``"///"`` for CPM's lapsed segments, else None."""
    if family == "cpm" and str(code).endswith("_lapsed"):
        return "///"
    return None
