"""One validated report request: user input parsed once, at the edge.

The command line and the Python API (:func:`ecrm.render.report.render`,
:func:`ecrm.render.batch.run_batch`, :func:`ecrm.render.context.context`) turn
what the user typed — shop, month, language, settings file — into one frozen
:class:`ReportRequest` with :meth:`ReportRequest.parse`. Everything inside
receives that object and never parses the raw strings again.

How the settings reach the notebook kernel
------------------------------------------
The renderer writes the request, with the already-validated settings as data
(``ShopSettings.model_dump``), to ``<report>/notebooks/request.json`` and
passes the file's path as the notebooks' ``request_file`` parameter. The
kernel rebuilds the request with :meth:`ReportRequest.read`: it never reads
the shop's ``settings.yaml`` again, so a file edited during a run cannot give
the pages different settings from the footer and the index, and the settings
a report used stay beside its executed notebooks for audit. Papermill only
ever writes two paths and the three validated slugs into the notebooks (a JSON
text as a parameter would need quotes, which papermill cannot write safely).

This module also holds the one "ingest if missing" step
(:func:`ensure_ingested`) and the one reader of the ingestion's data-quality
summary (:func:`read_quality`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecrm import paths
from ecrm.analysis import periods
from ecrm.errors import ParameterError
from ecrm.present.labels import check_lang
from ecrm.settings import SLUG, ShopSettings, load_settings

__all__ = [
    "ReportRequest",
    "ensure_ingested",
    "parse_lang",
    "parse_month",
    "parse_shop",
    "read_quality",
]

#: Exactly ``YYYY-MM`` in ASCII digits: no spaces, no other separator, two-digit month.
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def parse_shop(shop: Any) -> str:
    """The shop slug, or :class:`ParameterError` (path separators, quotes, dots, newlines…)."""
    if not isinstance(shop, str) or not SLUG.fullmatch(shop):
        raise ParameterError(f"shop must be a slug (a-z, 0-9, '-' and '_'), got {shop!r}")
    return shop


def parse_month(month: Any) -> dt.date:
    """The report month's last day (as_of) from exactly ``YYYY-MM``.

    Raises
    ------
    ParameterError
        Anything else: surrounding whitespace (``" 2026-10"``), a one-digit
        month (``"2026-1"``), another separator (``"2026/10"``), a month that
        does not exist (``"2026-13"``).

    Examples
    --------
    >>> parse_month("2026-10")
    datetime.date(2026, 10, 31)
    """
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ParameterError(f"month must be YYYY-MM (e.g. 2026-10), got {month!r}")
    return periods.parse_month(month)


def parse_lang(lang: Any) -> str:
    """``"ja"`` or ``"en"``, or :class:`ParameterError`."""
    if not isinstance(lang, str):
        raise ParameterError(f"lang must be 'ja' or 'en', got {lang!r}")
    check_lang(lang)
    return lang


@dataclass(frozen=True)
class ReportRequest:
    """A validated shop-month report request (build it with :meth:`parse`).

    Attributes
    ----------
    shop : str
        Shop slug.
    month : str
        ``YYYY-MM``.
    lang : {"ja", "en"}
    as_of : date
        The month's last day.
    settings : ShopSettings
        The shop's validated settings (``settings.base_dir`` is the shop folder).
    settings_path : Path
        The file they were read from (named in the page footers).
    root : Path
        Project root (``data/``, ``reports/``).
    """

    shop: str
    month: str
    lang: str
    as_of: dt.date
    settings: ShopSettings
    settings_path: Path
    root: Path

    @classmethod
    def parse(
        cls,
        shop: Any,
        month: Any,
        lang: Any = "ja",
        *,
        root: Path | str | None = None,
        settings_path: Path | str | None = None,
    ) -> ReportRequest:
        """Validate user input into a request; nothing is run or written.

        Parameters
        ----------
        shop : str
            Shop slug: ``data/<shop>/settings.yaml`` (or ``settings_path``) must exist.
        month : str
            Exactly ``YYYY-MM``; as_of is the month's last day.
        lang : {"ja", "en"}
        root : Path, optional
            Project root (default :func:`ecrm.paths.project_root`).
        settings_path : Path, optional
            Settings file (default ``data/<shop>/settings.yaml``).

        Raises
        ------
        ParameterError
            Shop, month or language is invalid (see :func:`parse_month`).
        SettingsError
            The settings file is missing or invalid.

        Examples
        --------
        >>> req = ReportRequest.parse("demo-apparel", "2026-10", "en")  # doctest: +SKIP
        >>> req.as_of
        datetime.date(2026, 10, 31)
        """
        shop = parse_shop(shop)
        as_of = parse_month(month)
        lang = parse_lang(lang)
        base = Path(root).resolve() if root else paths.project_root().resolve()
        spath = Path(settings_path) if settings_path else paths.settings_path(shop, base)
        if spath.is_dir():
            spath = spath / "settings.yaml"
        settings = load_settings(spath)
        return cls(shop, month, lang, as_of, settings, spath.resolve(), base)

    # -- derived ----------------------------------------------------------------------
    @property
    def orders_path(self) -> Path:
        """The shop's canonical orders table."""
        return paths.orders_path(self.settings.shop_dir)

    @property
    def reports_dir(self) -> Path:
        """``reports/<shop>/`` of the project."""
        return paths.reports_dir(self.root) / self.shop

    # -- to and from the kernel -------------------------------------------------------
    def to_json(self) -> str:
        """The request as JSON: the settings as data, with their folder."""
        return json.dumps(
            {
                "shop": self.shop,
                "month": self.month,
                "lang": self.lang,
                "settings": self.settings.model_dump(mode="json"),
                "settings_dir": str(self.settings.base_dir),
                "settings_path": str(self.settings_path),
                "root": str(self.root),
            },
            ensure_ascii=False,
            indent=1,
        )

    def write(self, target: Path) -> Path:
        """Write :meth:`to_json` to ``target`` (UTF-8) and return it."""
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def read(cls, source: Path | str) -> ReportRequest:
        """The request a renderer wrote with :meth:`write` (no settings file is read).

        Raises
        ------
        ParameterError
            The file is not a request written by :meth:`write`.
        """
        try:
            d = json.loads(Path(source).read_text(encoding="utf-8"))
            settings = ShopSettings(**d["settings"], base_dir=Path(d["settings_dir"]))
            return cls(
                shop=parse_shop(d["shop"]),
                month=d["month"],
                lang=parse_lang(d["lang"]),
                as_of=parse_month(d["month"]),
                settings=settings,
                settings_path=Path(d["settings_path"]),
                root=Path(d["root"]),
            )
        except (OSError, KeyError, TypeError, ValueError) as e:
            if isinstance(e, ParameterError):
                raise
            raise ParameterError(f"not a report request file: {source} ({e})") from e


def ensure_ingested(settings: ShopSettings) -> Path:
    """The shop's canonical orders table, ingesting the raw exports first if it is missing.

    Raises
    ------
    IngestError, SettingsError
        The raw exports cannot be ingested.
    """
    orders = paths.orders_path(settings.shop_dir)
    if not orders.is_file():
        from ecrm.io.ingest import ingest

        ingest(settings)
    return orders


def read_quality(settings: ShopSettings) -> dict[str, Any]:
    """The ingestion's data-quality summary (``quality.json``); empty when there is none."""
    q = paths.quality_path(settings.shop_dir)
    return json.loads(q.read_text(encoding="utf-8")) if q.is_file() else {}
