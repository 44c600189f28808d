"""The ``ecrm`` command line: ``ecrm ingest SHOP``, ``ecrm demo-data``, ...

Every command exits 0 on success, 2 on a user error (bad settings, bad input,
bad parameters: the message says what to fix) and 1 on anything unexpected.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from ecrm import paths
from ecrm.errors import EcrmError

app = typer.Typer(
    name="ecrm",
    help="CRM analysis for e-commerce shops: ingest order exports, analyse, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings_for(shop: str) -> Path:
    """A shop name under data/, or a path to a settings file or shop folder."""
    p = Path(shop)
    if p.suffix in (".yaml", ".yml") or p.is_dir():
        return p
    return paths.settings_path(shop)


def _fail(err: EcrmError) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(2)


@app.command()
def ingest(
    shop: Annotated[str, typer.Argument(help="shop name under data/, or a settings path")],
    today: Annotated[
        str | None, typer.Option(help="ingest date YYYY-MM-DD (default: today in the shop's zone)")
    ] = None,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="replace the canonical set even by one with no orders or fewer than half",
        ),
    ] = False,
) -> None:
    """Read a shop's raw exports and write its canonical orders table."""
    from ecrm.io.ingest import ingest as run

    try:
        run(
            _settings_for(shop),
            today=date.fromisoformat(today) if today else None,
            quiet=False,
            allow_shrink=allow_shrink,
        )
    except EcrmError as e:
        _fail(e)
    except ValueError as e:  # a bad --today
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@app.command("init")
def init(
    shop: Annotated[str, typer.Argument(help="shop slug: data/<shop>/settings.yaml is written")],
    first: Annotated[
        Path,
        typer.Option("--from", help="the client's exports (orders, product master, customers)"),
    ],
    more: Annotated[
        list[Path] | None, typer.Argument(help="more exports: --from FILE [FILE ...]")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="take the best guess where two columns compete")
    ] = False,
    force: Annotated[bool, typer.Option(help="replace an existing settings.yaml")] = False,
    today: Annotated[
        str | None, typer.Option(help="ingest date of the dry run, YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Propose data/<shop>/settings.yaml from a client's exports, then dry-run the ingestion.

    Sniffs each file (encoding, delimiter, decimal separator, title rows, date
    form), recognises a cart preset or proposes the column mapping from header
    names and values, writes the settings with a comment beside each guess, and
    ingests into a temporary folder (nothing of the shop is written but the
    settings) to print the quality summary or the most frequent problems.
    """
    from ecrm.io.dryrun import dry_run
    from ecrm.io.init import propose, write_settings
    from ecrm.settings import SLUG

    def ask(canonical: str, options: list[tuple[str, str]]) -> str:
        typer.echo(f"\n{canonical}: {len(options)} columns fit")
        for i, (col, why) in enumerate(options, 1):
            typer.echo(f"  {i}. {col}  ({why})")
        while True:
            n = typer.prompt(f"which one (1-{len(options)})", type=int, default=1)
            if 1 <= n <= len(options):
                return options[n - 1][0]

    try:
        if not SLUG.match(shop):
            raise EcrmError(f"shop name {shop!r} is not a slug (lower-case letters, digits, - _)")
        ingest_day = date.fromisoformat(today) if today else None
        files = [first, *(more or [])]
        proposal = propose(files, paths.shop_dir(shop), shop=shop, choose=None if yes else ask)
        target = write_settings(proposal, force=force)
    except EcrmError as e:
        _fail(e)
        return
    except ValueError as e:  # a bad --today
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {target}")
    typer.echo(proposal.describe())
    for note in proposal.notes:
        typer.echo(f"note: {note}")
    typer.echo("")
    run = dry_run(proposal, today=ingest_day)
    typer.echo(run.render())
    if run.summary is None:
        typer.echo(f"\nfix the settings (or the export), then: ecrm ingest {shop}")
    else:
        typer.echo(f"\nread {target} (every guess says why), then: ecrm ingest {shop}")


@app.command("demo-data")
def demo_data(
    customers: Annotated[int, typer.Option(help="customers per shop")] = 30_000,
    shops: Annotated[list[str] | None, typer.Option(help="demo shops to generate")] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="csv (default) or parquet (for large shops)")
    ] = "csv",
    suffix: Annotated[str, typer.Option(help="appended to shop names, e.g. -1m")] = "",
    lines_per_order: Annotated[
        float | None,
        typer.Option(help="mean lines per order (3.8 gives ~10M lines per 1M apparel customers)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="data folder (default: data/)")] = None,
    ingest_too: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="ingest after generating")
    ] = False,
) -> None:
    """Generate the deterministic demo shops into data/<shop>/ (raw exports + settings)."""
    from ecrm.io import demo
    from ecrm.io.ingest import ingest as run

    if file_format not in ("csv", "parquet"):
        typer.echo("error: --format must be csv or parquet", err=True)
        raise typer.Exit(2)
    try:
        written = demo.write_demo_shops(
            out or paths.data_dir(),
            n_customers=customers,
            shops=shops or list(demo.SHOPS),
            file_format=file_format,
            suffix=suffix,
            lines_per_order=lines_per_order,
        )
        for folder in written:
            typer.echo(f"generated {folder}")
            if ingest_too:
                typer.echo("")
                run(folder, today=demo.DEMO_INGEST_DATE, quiet=False)
                typer.echo("")
    except EcrmError as e:
        _fail(e)


@app.command()
def report(
    shop: Annotated[str, typer.Argument(help="shop slug (a folder under data/)")],
    month: Annotated[str, typer.Option(help="report month YYYY-MM (as_of = its last day)")],
    lang: Annotated[str, typer.Option(help="ja or en")] = "ja",
    workers: Annotated[int, typer.Option(help="notebooks run in parallel")] = 2,
    pdf: Annotated[
        bool, typer.Option(help="also print report.pdf (every page, A4) with headless Chromium")
    ] = False,
) -> None:
    """Render reports/<shop>/<YYYY-MM>/ (HTML pages, tables, segment exports).

    With ``--pdf`` also ``report.pdf`` (index and every page in order, A4); its
    time is printed separately. Without Chromium the HTML report is still
    written and the command exits 2 saying how to install it.

    Exits 0 when every page rendered its analysis, 1 when a page could not be
    shown (each is listed with its error's first line), 2 on bad input (shop,
    month, language, settings, an unwritable reports folder, a full disk).
    """
    from ecrm.render.report import render_request
    from ecrm.render.request import ReportRequest

    try:
        request = ReportRequest.parse(shop, month, lang)
        result = render_request(request, workers=workers, pdf=pdf)
    except EcrmError as e:
        _fail(e)
        return
    for p in result.pages:
        mark = "ok " if p.ok else "n/a"
        typer.echo(f"  {mark} {p.name:<10} {p.seconds:5.1f}s")
    typer.echo(str(result.index))
    if result.pdf is not None:
        typer.echo(f"{result.pdf} (PDF {result.pdf_seconds:.1f}s)")
    failed = [p for p in result.pages if not p.ok]
    if failed:
        typer.echo(f"error: {len(failed)} of {len(result.pages)} pages failed:", err=True)
        for p in failed:
            first = next((x.strip() for x in p.message.splitlines() if x.strip()), "")
            typer.echo(f"  {p.name}: {first}", err=True)
        raise typer.Exit(1)


@app.command()
def extract(
    shop: Annotated[str, typer.Argument(help="shop slug (a folder under data/)")],
    month: Annotated[str, typer.Option(help="month YYYY-MM (as_of = its last day)")],
    segment: Annotated[
        list[str] | None,
        typer.Option(help="rfm:CODE, cpm:CODE or lifecycle:CODE (repeat: any of them)"),
    ] = None,
    bought: Annotated[
        list[str] | None,
        typer.Option(help="category:VALUE, product:PRODUCT_ID or brand:VALUE (repeat: any)"),
    ] = None,
    not_bought: Annotated[
        list[str] | None, typer.Option(help="as --bought; excludes buyers of any of them")
    ] = None,
    first_between: Annotated[
        tuple[str, str] | None,
        typer.Option(help="first purchase from A to B inclusive: YYYY-MM-DD YYYY-MM-DD"),
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option(help="bought at least once through it (repeat: any)")
    ] = None,
    min_purchases: Annotated[int | None, typer.Option(help="at least n purchases")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="CSV to write (default reports/<shop>/extracts/<month>/extract-<hash>.csv)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out file")] = False,
    lang: Annotated[str, typer.Option(help="ja or en (profile and labels)")] = "ja",
) -> None:
    """Customers by condition (条件セグメント): print a profile and write a CSV list.

    Conditions combine with AND; a repeated option matches any of its values.
    The consent and no-contact-channel rules of the segment lists apply.
    """
    from ecrm.analysis import extract as ex
    from ecrm.errors import ParameterError
    from ecrm.render import exports
    from ecrm.render.request import ReportRequest

    try:
        request = ReportRequest.parse(shop, month, lang)
        orders = paths.orders_path(request.settings.shop_dir)
        if not orders.is_file():
            raise ParameterError(f"shop {shop!r} has no canonical orders: run `ecrm ingest {shop}`")
        conditions = {
            "segment": segment or None,
            "bought": bought or None,
            "not_bought": not_bought or None,
            "first_between": tuple(first_between) if first_between else None,
            "channel": channel or None,
            "min_purchases": min_purchases,
        }
        found = ex.extract(orders, as_of=request.as_of, settings=request.settings, **conditions)
        kept, left_out = exports.extract_list(
            found, settings=request.settings, orders=orders, as_of=request.as_of
        )
        kind = ex.parse_segment(segment[0], request.settings)[0] if segment else "rfm"
        target = out or exports.extract_path(
            request.root, shop, month, {k: v for k, v in conditions.items() if v is not None}
        )
        written = exports.write_list(kept, target, force=force)
    except EcrmError as e:
        _fail(e)
        return
    typer.echo(
        exports.extract_profile_text(
            ex.profile(kept, segment_kind=kind),
            left_out,
            segment_kind=kind,
            lang=lang,
            currency=request.settings.currency,
        )
    )
    typer.echo(str(written))


@app.command()
def batch(
    month: Annotated[str, typer.Option(help="report month YYYY-MM, or 'previous'")],
    shops: Annotated[
        list[str] | None,
        typer.Option(help="shops to render: --shops a b, or --shops a --shops b (default: all)"),
    ] = None,
    more: Annotated[
        list[str] | None, typer.Argument(help="more shops after --shops: --shops a b c")
    ] = None,
    workers: Annotated[int, typer.Option(help="parallel processes")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    ] = None,
    lang: Annotated[str, typer.Option(help="ja or en")] = "ja",
    first_business_day: Annotated[
        bool, typer.Option(help="run only on the month's first weekday (for daily timers)")
    ] = False,
) -> None:
    """Render every configured shop's report for a month; exit 1 if any shop or page failed.

    Exit codes: 0 every shop rendered every page; 1 a shop failed or a page
    could not be shown (the summary lists each, with its error's first line);
    2 bad input (month, language, shop names, an unwritable reports folder).
    ``--month previous`` means the month before today (Asia/Tokyo);
    ``--first-business-day`` does nothing unless today is the month's first
    weekday, so a daily timer renders each month exactly once.
    ``--shops`` takes a space-separated list (``--shops a b``, as the README
    writes it) and may be repeated (``--shops a --shops b``); shop names given
    without ``--shops`` are refused (exit 2) rather than read as a shop list.
    """
    import logging

    from tqdm import tqdm

    from ecrm.render.batch import configured_shops, exit_code, run_batch, summary_text
    from ecrm.render.request import parse_month

    today = _today_tokyo()
    if first_business_day and today != first_weekday(today):
        typer.echo(f"{today} is not the first business day of the month: nothing to do")
        return
    if month == "previous":
        month = f"{(today.replace(day=1) - timedelta(days=1)):%Y-%m}"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if more and not shops:
        typer.echo(f"error: unexpected argument {more[0]!r}: name shops with --shops a b", err=True)
        raise typer.Exit(2)
    names = [*(shops or []), *(more or [])] or configured_shops()
    try:
        parse_month(month)  # refused before the progress bar starts
        with tqdm(total=len(names), unit="shop", desc=f"ecrm batch {month}") as bar:
            results = run_batch(
                month,
                shops=names,
                lang=lang,
                workers=workers,
                scheduler=scheduler,
                progress=lambda r: bar.update(1),
            )
    except EcrmError as e:
        _fail(e)
        return
    typer.echo(summary_text(results))
    typer.echo(str(paths.reports_dir() / f"{month}-batch.html"))
    code = exit_code(results)
    if code:
        raise typer.Exit(code)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="customers per demo shop")] = 30_000,
    month: Annotated[str, typer.Option(help="report month")] = "2026-10",
    lang: Annotated[str, typer.Option(help="ja or en")] = "ja",
    workers: Annotated[int, typer.Option(help="notebooks run in parallel")] = 2,
) -> None:
    """Generate, ingest and report the demo shops (what `make demo` runs)."""
    from ecrm.io import demo as demo_mod
    from ecrm.io.ingest import ingest as run
    from ecrm.render.report import render_request
    from ecrm.render.request import ReportRequest, parse_lang, parse_month

    failed: list[str] = []
    try:
        parse_month(month)  # refused before any data is generated
        parse_lang(lang)
        folders = demo_mod.write_demo_shops(paths.data_dir(), n_customers=customers)
        indexes: list[Path] = []
        for folder in folders:
            typer.echo(f"\n== {folder.name}")
            run(folder, today=demo_mod.DEMO_INGEST_DATE, quiet=False)
            request = ReportRequest.parse(folder.name, month, lang)
            result = render_request(request, workers=workers)
            bad = [p.name for p in result.pages if not p.ok]
            if bad:
                typer.echo(f"pages not available: {', '.join(bad)}")
                failed += [f"{folder.name}/{b}" for b in bad]
            indexes.append(result.index)
        typer.echo("\nReports:")
        for i in indexes:
            typer.echo(f"  {i}")
    except EcrmError as e:
        _fail(e)
    if failed:
        typer.echo(f"error: pages that did not render: {', '.join(failed)}", err=True)
        raise typer.Exit(1)


def _today_tokyo() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def first_weekday(d: date) -> date:
    """The first Monday–Friday of ``d``'s month (public holidays are not known)."""
    first = d.replace(day=1)
    return first + timedelta(days=max(0, 7 - first.weekday()) if first.weekday() >= 5 else 0)


def main() -> None:
    """Entry point of the ``ecrm`` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
