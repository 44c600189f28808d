"""End-to-end: render the demo shop's monthly report and check what a client gets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ecrm.analysis import decile, kpi
from ecrm.errors import ParameterError
from ecrm.render import batch, report

MONTH = "2026-10"
SHOP = "demo-apparel"


@pytest.fixture(scope="module")
def two_shops(
    demo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[batch.JobResult]]:
    """Both demo shops rendered with every page in one batch run, in Japanese and English.

    Every test of the whole report reads these (``rendered`` is the apparel shop's
    2026-10 report of this run): four full reports are rendered once for the file.
    """
    root = tmp_path_factory.mktemp("two-shops")
    shutil.copytree(demo_root / "data", root / "data")
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    jobs = []
    for month, lang in (("2026-10", "ja"), ("2026-09", "en")):
        results = batch.run_batch(month, root=root, lang=lang, workers=2)
        assert all(r.ok for r in results), [r.error for r in results]
        jobs += results
    return root, jobs


@pytest.fixture(scope="module")
def shop_root(two_shops) -> Path:
    """The project root the two shops were rendered in (its data equals ``demo_root``'s)."""
    return two_shops[0]


@pytest.fixture(scope="module")
def rendered(two_shops) -> report.ReportResult:
    """The demo apparel shop's 2026-10 report (Japanese) of the two-shop batch run."""
    _, jobs = two_shops
    job = next(j for j in jobs if (j.shop, j.month) == (SHOP, MONTH))
    return report.ReportResult(SHOP, MONTH, Path(job.index).parent, list(job.pages), job.seconds)


def _table_headers(page: Path) -> dict[str, tuple[str, ...]]:
    """Each named table's header texts (class ``ecrm-table-<name>``) on an exported page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    out = {}
    for table in soup.find_all("table", class_="ecrm-table"):
        names = [c for c in table.get("class", []) if c.startswith("ecrm-table-")]
        assert names, f"{page}: a table without its name"
        out[names[0]] = tuple(th.get_text(strip=True) for th in table.find_all("th"))
    return out


#: Columns named after a shop's own data (cluster features per category: ``cat_<category>_mean``)
#: differ between shops by design; every other header must not.
_SHOP_DATA_COLUMN = re.compile(r"^cat_.+_(mean|median)$")


@pytest.mark.parametrize(("month", "lang"), [("2026-10", "ja"), ("2026-09", "en")])
def test_both_shops_show_the_same_table_headers(shop_root, month, lang):
    """Labels are static data: one shop's run cannot change another shop's headers."""
    reports = shop_root / "reports"
    apparel, food = reports / "demo-apparel" / month, reports / "demo-food" / month
    compared = 0
    for page in sorted(apparel.glob("*.html")):
        a, f = _table_headers(page), _table_headers(food / page.name)
        for name in sorted(set(a) & set(f)):
            ha = tuple(h for h in a[name] if not _SHOP_DATA_COLUMN.match(h))
            hf = tuple(h for h in f[name] if not _SHOP_DATA_COLUMN.match(h))
            assert ha == hf, (lang, page.name, name)
            compared += 1
    assert compared >= 10, compared


@pytest.mark.xfail(
    strict=True,
    reason="known gap for the labels/cluster owners: cluster_profile (label_ja, "
    "recency_days_mean, cat_<category>_mean…) and CTB tables (horizon_days, top_n, "
    "customers_a) show code names as headers",
)
def test_every_shown_header_is_labelled(shop_root):
    unlabelled = set()
    for page in sorted((shop_root / "reports").glob("*/*/*.html")):
        for name, headers in _table_headers(page).items():
            unlabelled |= {(page.name, name, h) for h in headers if "_" in h}
    assert not unlabelled, sorted(unlabelled)


def _pages(result: report.ReportResult) -> list[Path]:
    return sorted(result.path.glob("*.html"))


def test_layout_of_spec_section_4(rendered):
    out = rendered.path
    assert out == rendered.path.parent / MONTH
    assert (out / "index.html").is_file()
    names = {p.name for p in report.notebooks()}
    for nb in names:
        page = nb.split("_", 1)[1].removesuffix(".ipynb") + ".html"
        assert (out / page).is_file(), page
        assert (out / "notebooks" / nb).is_file()
    assert list((out / "tables").glob("*.csv"))
    assert list((out / "segments").glob("*.csv"))
    # nothing half-written left beside it (the batch also rendered 2026-09 in English)
    assert sorted(p.name for p in out.parent.iterdir()) == ["2026-09", MONTH]


def test_every_page_rendered_its_analysis(rendered):
    assert rendered.ok, [(p.name, p.message) for p in rendered.pages if not p.ok]


def test_executed_notebooks_have_no_error_outputs(rendered):
    for nb_path in (rendered.path / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert o["output_type"] != "error", nb_path.name
                assert not (o["output_type"] == "stream" and "Traceback" in o.get("text", ""))


def test_pages_show_no_code_and_embed_their_images(rendered):
    for page in _pages(rendered):
        text = page.read_text(encoding="utf-8")
        assert "ctx." not in text and "import ecrm" not in text, page.name
        assert "<script" not in text
        assert not re.search(r"<img[^>]+src=['\"](?!data:)", text), page.name
        if page.name != "index.html":
            assert "data:image/png;base64," in text, page.name
            assert re.search(r"<nav class=.toc.>", text), page.name
            assert "as_of" in text or "基準日" in text
            assert "ecrm " in text


def test_footer_names_as_of_fingerprint_and_settings(rendered, shop_root):
    q = json.loads((shop_root / "data" / SHOP / "canonical" / "quality.json").read_text())
    text = (rendered.path / "rfm.html").read_text(encoding="utf-8")
    assert "2026-10-31" in text
    assert q["fingerprint"] in text
    assert f"{SHOP}/settings.yaml" in text


def test_tables_are_utf8_bom_and_match_the_functions(rendered, shop_root):
    orders = shop_root / "data" / SHOP / "canonical" / "orders.parquet"
    path = rendered.path / "tables" / "decile.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    got = pd.read_csv(path, encoding="utf-8-sig")
    want = decile.decile_table(orders, as_of="2026-10-31")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
    got_kpi = pd.read_csv(rendered.path / "tables" / "kpi.csv", encoding="utf-8-sig")
    want_kpi = kpi.kpi_table(orders, as_of="2026-10-31")
    assert got_kpi["value"].to_numpy() == pytest.approx(want_kpi["value"].to_numpy(), nan_ok=True)


def test_interpretation_sentences_use_the_numbers(rendered, shop_root):
    orders = shop_root / "data" / SHOP / "canonical" / "orders.parquet"
    top = decile.decile_table(orders, as_of="2026-10-31").revenue_share.iloc[0]
    text = (rendered.path / "decile.html").read_text(encoding="utf-8")
    assert f"{top:.1%}" in text


def _personal_data_finder(people: pd.DataFrame):
    """Every email, phone, name and email local part of ``people`` found in a text.

    Tokens are matched whole (an address, a phone number, a run of the characters
    a local part is made of) and names by one pattern, so the 8 MB of a report is
    searched once, not once per customer (5,500 substring scans took 25 s).
    """
    emails, phones = set(people["email"].dropna()), set(people["phone"].dropna())
    local = {e.split("@")[0] for e in emails}
    names = sorted(set(people["name"].dropna()), key=len, reverse=True)
    by_name = re.compile("|".join(map(re.escape, names)))

    def find(text: str) -> set[str]:
        hits = set(re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+", text)) & emails
        hits |= set(re.findall(r"[0-9+()-]{7,}", text)) & phones
        hits |= set(re.findall(r"[A-Za-z0-9._%+-]+", text)) & local
        return hits | set(by_name.findall(text))

    return find


def test_personal_data_finder_finds_each_kind():
    people = pd.DataFrame(
        {"email": ["ab.c+1@x.jp"], "phone": ["090-1234-5678"], "name": ["山田 花子"]}
    )
    find = _personal_data_finder(people)
    text = "x ab.c+1@x.jp, tel 090-1234-5678; 山田 花子様 and ab.c+1 alone"
    assert find(text) == {"ab.c+1@x.jp", "090-1234-5678", "山田 花子", "ab.c+1"}
    assert find("ab.c+12 090-1234-56789 山田 花") == set()


def test_no_personal_data_in_any_rendered_file(rendered, shop_root):
    people = pd.read_csv(shop_root / "data" / SHOP / "raw" / "customers.csv", dtype=str)
    find = _personal_data_finder(people)
    files = [p for p in rendered.path.rglob("*") if p.is_file()]
    assert files
    for f in files:
        text = f.read_text(encoding="utf-8-sig", errors="replace")
        assert "@" not in re.sub(r"@(media|font-face|import|keyframes|page)", "", text) or (
            f.suffix == ".ipynb"
        ), f
        hits = sorted(find(text))
        assert not hits, f"{f.relative_to(rendered.path)} holds personal data: {hits[:3]}"


def test_ltv_page_shows_the_predicted_value_from_its_tables(rendered):
    """The section's sentences carry the numbers of the tables saved beside the page."""
    text = (rendered.path / "ltv.html").read_text(encoding="utf-8")
    tables = rendered.path / "tables"
    deciles = pd.read_csv(tables / "predicted_value_deciles.csv", encoding="utf-8-sig")
    assert len(deciles) == 10
    n = int(deciles["customers"].sum())
    assert f"現在の顧客{n:,}人" in text
    assert f"¥{deciles['expected_value'].sum():,.0f}" in text
    assert f"その{deciles['expected_value_share'].iloc[0]:.1%}を占めます" in text
    check = pd.read_csv(tables / "predicted_value_calibration.csv", encoding="utf-8-sig")
    buys = check.set_index("measure").loc["purchases"]
    assert f"合計{buys.predicted_total:,.0f}回と予測し、実績は{buys.actual_total:,.0f}回" in text
    assert f"誤差{buys.relative_error:+.1%}" in text
    for title in ("予測LTV", "生存確率", "予測LTVの検証"):
        assert re.search(f"<h2[^>]*>{title}", text), title
    assert not re.search(r"class=.ecrm-error", text)
    assert text.count("data:image/png;base64,") >= 4 + 3  # the LTV plots and the new three


def test_per_customer_predictions_only_in_tables(rendered):
    """customer_id and model figures in tables/; the pages hold aggregates only."""
    per = pd.read_csv(
        rendered.path / "tables" / "predicted_value_customers.csv",
        encoding="utf-8-sig",
        dtype={"customer_id": str},
    )
    assert list(per.columns) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "expected_value",
        "spend_basis",
    ]
    assert per["customer_id"].is_unique and len(per) > 1000
    ids = set(per["customer_id"])
    for page in _pages(rendered):
        found = set(re.findall(r"C\d{7}", page.read_text(encoding="utf-8")))
        assert not found & ids, page.name


def test_predicted_value_that_cannot_be_fitted_is_a_message(demo_root, tmp_path, monkeypatch):
    """The LTV page still renders; only the model's sections say why they are missing.

    The shop asks for more repeat customers than it has, and pymc-marketing is
    hidden from the kernel: the point estimate never needs it (only MCMC does).
    """
    hidden = tmp_path / "hide"
    (hidden / "pymc_marketing").mkdir(parents=True)
    (hidden / "pymc_marketing" / "__init__.py").write_text(
        'raise ImportError("pymc-marketing hidden for a test")\n', encoding="utf-8"
    )
    # the notebook kernel imports the stub (and still the ecrm this test runs)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")])
    )
    folder = tmp_path / "nbs"
    folder.mkdir()
    shutil.copy(Path(report.NOTEBOOK_DIR) / "06_ltv.ipynb", folder / "06_ltv.ipynb")
    root = tmp_path / "project"  # its own reports/: the shared demo root keeps one month
    shutil.copytree(demo_root / "data" / SHOP, root / "data" / SHOP)
    settings = root / "data" / SHOP / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    text += "analysis:\n  ltv:\n    predict_min_repeat_customers: 10000000\n"
    settings.write_text(text, encoding="utf-8")
    r = report.render(SHOP, MONTH, root=root, notebook_dir=folder, lang="en")
    assert r.ok, r.pages
    text = (r.path / "ltv.html").read_text(encoding="utf-8")
    assert "LTV by days since the first purchase" in text  # the rest of the page
    assert text.count("This analysis could not be shown.") == 2  # prediction, hold-out check
    assert "at least 10,000,000" in text and "hidden for a test" not in text
    assert "Traceback" not in text and "Probability alive" not in text
    assert not list((r.path / "tables").glob("predicted_value*"))


def test_segment_exports_have_actions_and_no_email_by_default(rendered):
    seg = rendered.path / "segments" / "lifecycle_dormant.csv"
    df = pd.read_csv(seg, encoding="utf-8-sig")
    assert list(df.columns) == [
        "customer_id",
        "segment",
        "segment_label",
        "action",
        "mail_opt_in",
        "first_channel",
    ]
    assert (df["segment"] == "dormant").all() and len(df) > 0


def test_rerender_replaces_the_month_atomically(shop_root, monkeypatch, rendered):
    before = (rendered.path / "index.html").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_index", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        report.render(SHOP, MONTH, root=shop_root, workers=1, notebook_dir=_one_notebook(shop_root))
    assert (rendered.path / "index.html").read_bytes() == before
    assert sorted(p.name for p in rendered.path.parent.iterdir()) == ["2026-09", MONTH]


def _one_notebook(root: Path) -> Path:
    folder = root / "nb-one"
    if not folder.exists():
        folder.mkdir()
        src = Path(report.NOTEBOOK_DIR) / "02_decile.ipynb"
        shutil.copy(src, folder / "02_decile.ipynb")
    return folder


def test_missing_column_gives_a_message_not_a_traceback(demo_root, tmp_path):
    # a notebook that needs a column the shop does not have
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.read(Path(report.NOTEBOOK_DIR) / "02_decile.ipynb", as_version=4)
    nb.cells[2].source += '\nctx.require("flavour_of_the_month")'
    nbformat.write(nb, folder / "09_needs.ipynb")
    shutil.copy(Path(report.NOTEBOOK_DIR) / "02_decile.ipynb", folder / "02_decile.ipynb")
    r = report.render(SHOP, "2026-09", root=demo_root, notebook_dir=folder, lang="en")
    by = {p.name: p for p in r.pages}
    assert by["decile"].ok and not by["needs"].ok
    page = (r.path / "needs.html").read_text(encoding="utf-8")
    assert "flavour_of_the_month" in page and "Traceback" not in page
    assert "could not be shown" in page
    index = (r.path / "index.html").read_text(encoding="utf-8")
    assert "not available" in index


def test_english_labels(shop_root):
    """The batch's English run (2026-09): English headings, no Japanese ones."""
    for shop in ("demo-apparel", "demo-food"):
        text = (shop_root / "reports" / shop / "2026-09" / "decile.html").read_text("utf-8")
        assert "Decile analysis" in text and "デシル分析" not in text


@pytest.mark.parametrize(
    ("shop", "month", "lang"),
    [
        ("../evil", MONTH, "ja"),
        ("demo-apparel/../../x", MONTH, "ja"),
        ('x"; import os; os.system("touch pwned") #', MONTH, "ja"),
        ("x\nimport os", MONTH, "ja"),
        ("x'", MONTH, "ja"),
        ("Demo", MONTH, "ja"),
        (SHOP, "2026-13", "ja"),
        (SHOP, "2026-10\nimport os", "ja"),
        (SHOP, "../2026-10", "ja"),
        (SHOP, " 2026-10", "ja"),
        (SHOP, "2026-1", "ja"),
        (SHOP, "2026/10", "ja"),
        (SHOP, MONTH, "fr"),
        (SHOP, MONTH, 'ja"'),
    ],
)
def test_hostile_parameters_are_refused_before_anything_runs(demo_root, shop, month, lang):
    before = sorted(p.relative_to(demo_root) for p in demo_root.rglob("*"))
    with pytest.raises(ParameterError):
        report.render(shop, month, lang=lang, root=demo_root)
    after = sorted(p.relative_to(demo_root) for p in demo_root.rglob("*"))
    assert before == after
    assert not (demo_root / "pwned").exists()


def test_paths_unsafe_for_papermill_are_refused(demo_root, tmp_path):
    odd = tmp_path / 'we"ird'
    shutil.copytree(demo_root / "data", odd / "data")
    with pytest.raises(ParameterError, match="quote"):
        report.render(SHOP, MONTH, root=odd)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed (make browser)")
def test_pages_open_in_headless_chromium_without_console_errors(rendered, tmp_path):
    from PIL import Image

    for page in _pages(rendered):
        shot = tmp_path / f"{page.stem}.png"
        proc = subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1200,1600",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shot.is_file(), proc.stderr[-2000:]
        console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
        assert not console, (page.name, console)
        assert "Failed to load resource" not in proc.stderr, page.name
        img = Image.open(shot).convert("L")
        lo, hi = img.getextrema()
        assert hi - lo > 100, f"{page.name}: blank screenshot"
        colours = len(img.getcolors(maxcolors=1 << 16) or [])
        assert colours > 20, f"{page.name}: screenshot has almost no content"


def _named(nbs: list[Path]) -> list[str]:
    return [report._page_name(nb) for nb in nbs]


def test_without_measurements_heavy_pages_go_first_then_notebook_order():
    nbs = report.notebooks()
    order = _named(report.page_order(nbs))
    heavy = [report._page_name(nb) for nb in nbs if report._cost_class(nb) == "heavy"]
    assert heavy  # some pages declare themselves heavy in their metadata
    assert order[: len(heavy)] == heavy
    assert order[len(heavy) :] == [n for n in _named(nbs) if n not in heavy]


def test_measured_pages_go_longest_first_and_unmeasured_pages_before_them():
    nbs = report.notebooks()
    names = _named(nbs)
    seconds = {n: float(i) for i, n in enumerate(names)}  # later pages took longer
    assert _named(report.page_order(nbs, seconds)) == names[::-1]
    del seconds["rfm"]  # a page never measured (new): taken first
    assert _named(report.page_order(nbs, seconds))[0] == "rfm"
    tie = dict.fromkeys(names, 1.0)
    assert _named(report.page_order(nbs, tie)) == names  # ties keep notebook order


def test_page_durations_are_recorded_and_read_back(rendered, tmp_path):
    recorded = json.loads(
        (rendered.path / "notebooks" / report.PAGE_SECONDS_FILE).read_text(encoding="utf-8")
    )
    assert set(recorded) == {p.name for p in rendered.pages}
    assert all(v > 0 for v in recorded.values())
    shop = tmp_path / "shop"
    assert report.previous_page_seconds(shop) == {}
    for i, (month, secs) in enumerate([("2026-10", {"rfm": 1.0}), ("2026-08", {"ctb": 9.5})]):
        f = shop / month / "notebooks" / report.PAGE_SECONDS_FILE
        f.parent.mkdir(parents=True)
        f.write_text(json.dumps(secs), encoding="utf-8")
        os.utime(f, (1_000_000 + i, 1_000_000 + i))
    assert report.previous_page_seconds(shop) == {"ctb": 9.5}  # the latest written
    (shop / ".2026-11.tmp-x" / "notebooks").mkdir(parents=True)  # a half-built report
    (shop / ".2026-11.tmp-x" / "notebooks" / report.PAGE_SECONDS_FILE).write_text("{}")
    assert report.previous_page_seconds(shop) == {"ctb": 9.5}


def test_index_kpis_come_from_the_kpi_table(rendered, shop_root):
    from ecrm.present import format as fmt
    from ecrm.settings import load_settings

    s = load_settings(shop_root / "data" / SHOP)
    t = kpi.kpi_latest(
        kpi.kpi_table(paths_orders(shop_root), as_of="2026-10-31", settings=s)
    ).set_index("kpi")
    index = (rendered.path / "index.html").read_text(encoding="utf-8")
    assert fmt.money(t.loc["revenue", "value"], "JPY") in index
    assert fmt.rate(t.loc["repeat_rate", "value"]) in index
    assert fmt.kpi_change("repeat_rate", t.loc["repeat_rate", "yoy"]) in index


def paths_orders(root: Path) -> Path:
    from ecrm import paths

    return paths.orders_path(root / "data" / SHOP)
