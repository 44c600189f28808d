"""What a report notebook needs in one object: :func:`context`.

A notebook's setup cell calls ``ctx = context(shop, month, lang,
output_dir=output_dir, request_file=request_file)`` with its papermill parameters; after
that every cell is one ecrm call and one ``ctx.show`` / ``ctx.plot`` /
``ctx.say``. In a report run ``request_file`` names the request the renderer
validated and wrote (:class:`ecrm.render.request.ReportRequest`, settings
included as data), and the context is built from it; explored in JupyterLab,
the context parses shop, month and language itself, the same way. From Python,
``ReportContext.from_request(request)`` takes a request directly.

When ``output_dir`` is set (the report renderer sets it) every table shown is also written to
``<output_dir>/tables/<name>.csv`` in UTF-8 with BOM, so Excel opens the
Japanese text, with its header row in the report's language and its numbers
rounded (:func:`ecrm.present.tables.csv_frame`; ``tables: {csv_headers: codes}``
keeps the column codes); in JupyterLab (no ``output_dir``) nothing is written.
Tables are shown by :func:`ecrm.present.tables.format_table` (re-exported here).

Two ways for an analysis that cannot run on a shop:

* ``ctx.require("category")`` in the setup cell: the whole page is replaced by
  a message (the data lacks what every section needs);
* ``result = ctx.attempt(func, ...)``: one section shows a message where its
  result would be (an optional extra not installed, a model the data cannot
  support) and returns ``None``; the cells that use the result start with
  ``if result is not None:``, and the rest of the page renders as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecrm.errors import ColumnsError, MissingDependencyError, ModelFitError, ParameterError
from ecrm.present import format as fmt
from ecrm.present.tables import MAX_ROWS, csv_frame, format_table
from ecrm.render.request import ReportRequest, ensure_ingested, read_quality
from ecrm.settings import SLUG, ShopSettings

__all__ = ["OPTIONAL_ERRORS", "ReportContext", "context", "format_table", "write_csv"]

#: Errors :meth:`ReportContext.attempt` turns into a message: the analysis cannot
#: run on this shop or installation, and nothing is wrong with the code or the data.
OPTIONAL_ERRORS: tuple[type[Exception], ...] = (MissingDependencyError, ModelFitError)

#: Tables longer than this are written with Arrow's CSV writer (see :func:`write_csv`).
_ARROW_CSV_ROWS = 50_000


def write_csv(df: pd.DataFrame, target: Path) -> None:
    """Write ``df`` as CSV in UTF-8 with BOM (Excel shows the Japanese text).

    Long tables of plain strings and numbers (per-customer predictions, campaign
    lists of a million customers) go through Arrow's CSV writer, about 10x faster
    than pandas'. The values are the same, the spelling differs slightly: every
    string is quoted, floats are in their shortest round-trip form (``3`` rather
    than ``3.0``, ``1e-7`` rather than ``1e-07``); missing values are empty in
    both. Other tables (dates, booleans, up to 50,000 rows) use pandas.
    """
    plain = all(
        pd.api.types.is_string_dtype(t)
        or pd.api.types.is_integer_dtype(t)
        or pd.api.types.is_float_dtype(t)
        for t in df.dtypes
    ) and not any(pd.api.types.is_bool_dtype(t) for t in df.dtypes)
    if len(df) <= _ARROW_CSV_ROWS or not plain or not df.columns.is_unique:
        df.to_csv(target, index=False, encoding="utf-8-sig")
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(df, preserve_index=False)
    with open(target, "wb") as fh:
        fh.write("\ufeff".encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=True, quoting_style="needed"))


@dataclass
class ReportContext:
    """Everything a report notebook uses: shop, as_of, settings, orders, output."""

    shop: str
    month: str
    lang: str
    as_of: dt.date
    settings: ShopSettings
    orders: Path
    output_dir: Path | None
    quality: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls, request: ReportRequest, output_dir: Path | str | None = None
    ) -> ReportContext:
        """The context of a validated request (ingesting the shop first if needed).

        Parameters
        ----------
        request : ReportRequest
        output_dir : Path, optional
            Report folder the tables and segment lists are written to; None for
            ad hoc use (nothing is written).
        """
        orders = ensure_ingested(request.settings)
        import ecrm.present.plotting.base as pb

        pb.use_japanese_font()
        return cls(
            shop=request.shop,
            month=request.month,
            lang=request.lang,
            as_of=request.as_of,
            settings=request.settings,
            orders=orders,
            output_dir=Path(output_dir) if output_dir else None,
            quality=read_quality(request.settings),
        )

    # -- text ------------------------------------------------------------------
    def t(self, ja: str, en: str) -> str:
        """The text in the context's language."""
        return ja if self.lang == "ja" else en

    def title(self, ja: str, en: str, *, question_ja: str = "", question_en: str = "") -> None:
        """Show the page title and the question it answers.

        Every text is escaped (markupsafe) and shown as written (SPEC §4): a
        shop's ``display_name`` of ``**bold**`` or ``<b>`` is shown literally,
        never as markup.
        """
        from IPython.display import HTML, display
        from markupsafe import Markup

        shop = self.settings.display_name or self.shop
        text = Markup("<h1>{}</h1><p><strong>{}</strong> · {}</p>").format(
            self.t(ja, en), shop, self.month
        )
        q = self.t(question_ja, question_en)
        if q:
            text += Markup("<p><em>{}</em></p>").format(q)
        display(HTML(str(text)))

    def section(self, ja: str, en: str) -> None:
        """Show a section heading (it becomes a table-of-contents entry); escaped."""
        from IPython.display import HTML, display
        from markupsafe import Markup

        display(HTML(str(Markup("<h2>{}</h2>").format(self.t(ja, en)))))

    def say(self, text: str) -> None:
        """Show a sentence of interpretation, as plain text.

        Sentences name the shop's own values (product names, categories,
        channels, segment names), so they are escaped and never read as
        Markdown or HTML: ``*``, backticks, ``$`` and tags are shown as written.
        An empty sentence (a narrate function with nothing to say, such as
        "" for no censored customers) shows nothing.
        """
        from IPython.display import HTML, display
        from markupsafe import Markup

        if not text:
            return
        display(HTML(str(Markup("<p class='ecrm-say'>{}</p>").format(text))))

    def unavailable(self, reason: str) -> None:
        """Show, in place of a section's results, that it cannot be shown here and why."""
        from IPython.display import HTML, display
        from markupsafe import Markup

        head = self.t("この分析は表示できません", "This analysis could not be shown")
        fragment = Markup("<div class='ecrm-error'><strong>{}.</strong><p>{}</p></div>")
        display(HTML(str(fragment.format(head, reason))))

    def attempt(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any | None:
        """``func(*args, **kwargs)``; or, when it cannot run here, a message and ``None``.

        For a section that may be impossible on a shop without anything being
        wrong: an optional extra that is not installed
        (:class:`~ecrm.errors.MissingDependencyError`) or data a model cannot
        describe (:class:`~ecrm.errors.ModelFitError`, e.g. too few repeat
        customers). The reason is shown with :meth:`unavailable` and the rest of
        the page still renders; every other error propagates as usual.

        Examples
        --------
        >>> pred = ctx.attempt(predict.predict_value, ctx.orders, as_of=ctx.as_of)  # doctest: +SKIP
        """
        try:
            return func(*args, **kwargs)
        except OPTIONAL_ERRORS as e:
            if isinstance(e, MissingDependencyError):
                why = self.t(
                    "必要なオプションのパッケージがインストールされていません。",
                    "An optional package it needs is not installed.",
                )
            else:
                why = self.t(
                    "このデータからはモデルを推定できませんでした。",
                    "The model could not be estimated from this data.",
                )
            self.unavailable(f"{why} {e}")
            return None

    def summary(self, text: str) -> None:
        """Show the page's 1–3 sentence summary (``<div class='ecrm-summary'>``), escaped.

        The page assembler puts every summary right under the page title,
        wherever the notebook displays it (so a notebook can summarise after
        computing its tables). The text is plain: names from the data in it are
        shown as written, never read as HTML. An empty text shows nothing.
        """
        from IPython.display import HTML, display
        from markupsafe import Markup

        if not text or not text.strip():
            return
        display(HTML(str(Markup("<div class='ecrm-summary'>{}</div>").format(text))))

    def quality_table(self) -> pd.DataFrame:
        """The ingestion's data-quality summary as a two-column table (no personal data)."""
        q = self.quality
        rows = [
            (self.t("読み込み行数", "rows read"), fmt.count(q.get("rows_read", 0))),
            (self.t("分析対象行数", "rows kept"), fmt.count(q.get("rows_kept", 0))),
            (
                self.t("重複行(除外)", "exact duplicates dropped"),
                fmt.count(q.get("dropped", {}).get("exact_duplicate", 0)),
            ),
            (
                self.t("除外ステータス行", "excluded-status rows"),
                fmt.count(q.get("dropped", {}).get("excluded_status", 0)),
            ),
            (self.t("ゲスト購入行", "guest rows"), fmt.count(q.get("guest_rows_kept", 0))),
            (self.t("返品行", "return lines"), fmt.count(q.get("return_lines", 0))),
            (self.t("期間", "date range"), f"{q.get('date_from')} – {q.get('date_to')}"),
            (self.t("顧客数", "customers"), fmt.count(q.get("customers", 0))),
            (self.t("注文数", "orders"), fmt.count(q.get("orders", 0))),
            (self.t("売上合計", "revenue"), fmt.money(q.get("revenue", 0), self.settings.currency)),
        ]
        return pd.DataFrame(rows, columns=[self.t("項目", "item"), self.t("値", "value")])

    # -- tables and plots ------------------------------------------------------
    def show(self, df: pd.DataFrame, name: str, *, max_rows: int = MAX_ROWS) -> None:
        """Show a table and, in a report run, save it as ``tables/<name>.csv``.

        The table is rendered by :func:`ecrm.present.tables.format_table`: headers
        and values in the page's language, the currency in money headers; a
        table longer than ``max_rows`` shows its first rows and links to its CSV
        (a note naming ``tables/`` when nothing is written).
        """
        from IPython.display import HTML, display

        written = self.save(df, name)
        href = f"tables/{name}.csv" if written is not None else None
        currency = self.settings.currency
        table = format_table(
            df, lang=self.lang, currency=currency, max_rows=max_rows, name=name, csv_href=href
        )
        display(HTML(table))

    def save(self, df: pd.DataFrame, name: str) -> Path | None:
        """Write ``tables/<name>.csv`` (UTF-8 with BOM) when rendering a report.

        The CSV is :func:`ecrm.present.tables.csv_frame`: every column, numbers
        rounded (money to the currency's minor unit, rates to 4 decimals), the
        header row in the report's language, or the column codes when the shop
        sets ``tables: {csv_headers: codes}``.
        """
        if self.output_dir is None:
            return None
        if not SLUG.match(name):
            raise ParameterError(f"table name {name!r} is not a slug")
        target = self.output_dir / "tables" / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        table = csv_frame(
            df,
            name=name,
            lang=self.lang,
            currency=self.settings.currency,
            headers=self.settings.tables.csv_headers,
        )
        write_csv(table, target)
        return target

    def plot(self, ax: Any, *, alt: str | None = None, dpi: int = 110) -> None:
        """Show the figure an ecrm ``plot_*`` function drew, as an embedded PNG with alt text.

        Displays ``<figure class='ecrm-figure'><img alt=… src='data:image/png;base64,…'>``.
        Without ``alt`` the text is the figure's own words
        (:func:`ecrm.render.page.figure_alt`):
        its title and every axes' title and axis labels, in the page's
        language as the plot function wrote them. Escaped like every text.
        """
        import base64
        import io

        from IPython.display import HTML, display
        from markupsafe import Markup

        from ecrm.render.page import figure_alt

        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        text = alt if alt and alt.strip() else figure_alt(ax.figure, self.lang)
        html_ = Markup(
            "<figure class='ecrm-figure'><img alt='{}' src='data:image/png;base64,{}'></figure>"
        ).format(text, data)
        display(HTML(str(html_)))

    def export(self, df: pd.DataFrame, name: str) -> Path | None:
        """Write a campaign list ``segments/<name>.csv`` when rendering a report."""
        if self.output_dir is None:
            return None
        if not SLUG.match(name):
            raise ParameterError(f"segment export name {name!r} is not a slug")
        target = self.output_dir / "segments" / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_csv(df, target)
        return target

    def export_segments(self, campaign: pd.DataFrame, prefix: str) -> list[Path]:
        """Write ``segments/<prefix>_<segment>.csv`` for each segment of a campaign list."""
        from ecrm.render.exports import split_by_segment

        written = []
        for name, part in split_by_segment(campaign, prefix=prefix).items():
            p = self.export(part, name)
            if p is not None:
                written.append(p)
        return written

    def require(self, *columns: str) -> None:
        """Raise :class:`ColumnsError` unless the orders hold values in ``columns``."""
        from ecrm import engine

        t = engine.orders_table(self.orders)
        missing = [c for c in columns if not engine.has_values(t, c)]
        if missing:
            raise ColumnsError(
                self.t(
                    f"この分析には {', '.join(missing)} 列が必要ですが、このショップのデータには"
                    "ありません。ショップ設定の columns または product_master で"
                    "対応づけてください。",
                    f"This analysis needs the column(s) {', '.join(missing)}, which this shop's "
                    "data does not have. Map them in the shop settings (`columns` or "
                    "`product_master`) and ingest again.",
                )
            )


def context(
    shop: str,
    month: str,
    lang: str = "ja",
    *,
    output_dir: str = "",
    request_file: str = "",
    settings_path: str = "",
) -> ReportContext:
    """Build a notebook's context from its papermill parameters.

    Parameters
    ----------
    shop : str
        Shop slug (a folder under ``data/``).
    month : str
        Report month ``YYYY-MM``; as_of is its last day.
    lang : {"ja", "en"}
    output_dir : str
        Report output folder; empty for ad hoc use.
    request_file : str
        The request the renderer validated and wrote
        (:meth:`ReportRequest.write`): the context uses it instead of parsing
        the parameters and reading the settings file again.
    settings_path : str
        For ad hoc use: a settings file other than ``data/<shop>/settings.yaml``
        (ignored with ``request_file``).

    Raises
    ------
    ParameterError
        A parameter is invalid (e.g. a shop name that is not a slug), or the
        parameters disagree with ``request_file``.
    """
    if request_file:
        request = ReportRequest.read(request_file)
        given = (shop, month, lang)
        if given != (request.shop, request.month, request.lang):
            raise ParameterError(
                f"parameters {given} disagree with the report request "
                f"{(request.shop, request.month, request.lang)} in {request_file}"
            )
    else:
        request = ReportRequest.parse(shop, month, lang, settings_path=settings_path or None)
    return ReportContext.from_request(request, output_dir or None)
