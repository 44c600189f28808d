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
NEW = "#f28e2b"
#: リピート / repeat customers, in every family.
REPEAT = "#4e79a7"
#: A segment a family does not know (a light grey no family uses).
OTHER = "#dddddd"
#: Colour-blind-friendly qualitative colours (Tableau 10), for clusters and series.
QUALITATIVE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def lighten(hex_colour: str, amount: float = 0.55) -> str:
    """Mix ``hex_colour`` with white (``amount`` 0 = unchanged, 1 = white)."""
    r, g, b = to_rgb(hex_colour)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


_CPM_STAGES: dict[str, str] = {
    "first": NEW,
    "toddler": "#edc948",
    "steady": "#59a14f",
    "fad": "#b07aa1",
    "loyal": "#e15759",
}

_FAMILIES: dict[str, dict[str, str]] = {
    "rfm": {
        "champions": "#b2182b",
        "loyal_customers": "#e15759",
        "potential_loyalists": "#ff9da7",
        "new_customers": NEW,
        "promising": "#edc948",
        "need_attention": "#76b7b2",
        "about_to_sleep": "#4e79a7",
        "at_risk": "#9c755f",
        "cannot_lose": "#b07aa1",
        "hibernating": "#79706e",
        "lost": "#bab0ac",
    },
    "cpm": {
        **{f"{stage}_active": c for stage, c in _CPM_STAGES.items()},
        **{f"{stage}_lapsed": lighten(c) for stage, c in _CPM_STAGES.items()},
    },
    "lifecycle": {
        "new": NEW,
        "first_repeat": "#a0cbe8",
        "repeat": REPEAT,
        "vip": "#e15759",
        "dormant": "#9c755f",
        "churned": "#bab0ac",
    },
    "new_repeat": {
        "new": NEW,
        "repeat": REPEAT,
        "new_customers": NEW,
        "repeat_customers": REPEAT,
        "new_revenue": NEW,
        "repeat_revenue": REPEAT,
        "revenue": "#3b3b3b",
        "customers": "#3b3b3b",
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
