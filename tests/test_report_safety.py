"""Reports under faults and hostile data (issue #18): escaping, months, exit codes, kills, disks.

Most tests render a one-cell notebook (:func:`_tiny`): what they check is the
renderer (folders, locks, swaps, messages), not an analysis. The escaping test
renders three real pages of a shop whose names are hostile.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecrm.errors import ParameterError
from ecrm.render import batch, publish, report
from ecrm.render.cli import app
from ecrm.render.context import ReportContext, format_table
from ecrm.render.request import parse_month
from tests.browser import Browser, chromium

SHOP = "demo-food"
MONTH = "2026-10"
REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**bold**",
    "$x$",
    "{{ x }}",
    "`tick`",
    "a$b",
)
HOSTILE_NAME = (
    "<script>alert('shop')</script> <img src=x onerror=alert(2)> **Shop** $x$ {{ y }} `z`"
)


# ----------------------------------------------------------------------------- helpers


def _tiny(folder: Path, *cells: str) -> Path:
    """A notebook folder with one page, ``01_tiny``: prints ``mark <ECRM_TEST_MARK>``."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'shop = ""\nmonth = ""\nlang = "ja"\noutput_dir = ""\nrequest_file = ""'
    )
    params.metadata["tags"] = ["parameters"]
    mark = nbformat.v4.new_code_cell(
        'import os\nprint("mark", os.environ.get("ECRM_TEST_MARK", "none"))'
    )
    nb.cells = [params, mark, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nbformat.write(nb, folder / "01_tiny.ipynb")
    return folder


@pytest.fixture()
def project(demo_root: Path, tmp_path: Path) -> Path:
    """A project root with the demo food shop (copied: tests write its reports)."""
    root = tmp_path / "proj"
    shutil.copytree(demo_root / "data" / SHOP, root / "data" / SHOP)
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    return root


def _leftovers(shop_reports: Path) -> list[str]:
    return sorted(p.name for p in shop_reports.iterdir() if p.name.startswith("."))


def _mark(report_dir: Path) -> str:
    """The run mark the tiny page printed, checking that the report is whole."""
    for name in ("index.html", "tiny.html", "notebooks/request.json", "notebooks/01_tiny.ipynb"):
        assert (report_dir / name).is_file(), name
    text = BeautifulSoup((report_dir / "tiny.html").read_text("utf-8"), "html.parser").get_text()
    return text.split("mark", 1)[1].split()[0]


# ----------------------------------------------------------------------------- escaping


def _hostile_shop(src: Path, dst: Path) -> None:
    """Copy a demo shop, giving its categories, brands, products, channels and name markup."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("canonical"))
    raw = dst / "raw"
    prod = pd.read_csv(raw / "products.csv", dtype=str, keep_default_na=False)
    cats = sorted(prod["カテゴリ"].unique())
    prod["カテゴリ"] = prod["カテゴリ"].map(
        {c: f"{c}{HOSTILE[i % len(HOSTILE)]}" for i, c in enumerate(cats)}
    )
    brands = sorted(prod["ブランド"].unique())
    prod["ブランド"] = prod["ブランド"].map(
        {b: f"{b}{HOSTILE[(i + 3) % len(HOSTILE)]}" for i, b in enumerate(brands)}
    )
    prod.to_csv(raw / "products.csv", index=False, encoding="utf-8")
    for f in raw.glob("orders_*.csv"):
        for enc in ("utf-8-sig", "cp932"):
            try:
                d = pd.read_csv(f, dtype=str, keep_default_na=False, encoding=enc)
                break
            except UnicodeDecodeError:
                continue
        d["商品名"] = d["商品名"] + "<i onclick=x>$1$</i><img src=x onerror=alert(3)>"
        d["販売チャネル"] = d["販売チャネル"] + "<script>alert('ch')</script>"
        d.to_csv(f, index=False, encoding=enc)
    costs = raw / "costs.csv"
    if costs.exists():  # the ad costs name the same channels
        c = pd.read_csv(costs, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        c["広告媒体"] = c["広告媒体"] + "<script>alert('ch')</script>"
        c.to_csv(costs, index=False, encoding="utf-8-sig")
    lines = []
    for line in (dst / "settings.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            line = f"name: {dst.name}"
        elif line.startswith("display_name:"):
            line = "display_name: " + json.dumps(HOSTILE_NAME)
        lines.append(line)
    (dst / "settings.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _assert_no_payload_markup(soup: BeautifulSoup, where: str) -> None:
    """No element or attribute the payloads could create: script, on* handlers, img src=x."""
    assert soup.find_all("script") == [], where
    handlers = [(t.name, a) for t in soup.find_all(True) for a in t.attrs if a[:2] == "on"]
    assert handlers == [], (where, handlers)
    assert soup.find("img", src="x") is None, where
    assert soup.find("i", onclick=True) is None, where


def _browser_dom(browser: Browser, page: Path) -> BeautifulSoup:
    """The page's DOM after headless Chromium parsed and ran it; no dialog may have opened."""
    browser.open(page)
    dialogs = browser.events("Page.javascriptDialogOpening")
    assert not dialogs, (page.name, dialogs)
    return BeautifulSoup(browser.evaluate("document.documentElement.outerHTML"), "html.parser")


def test_markup_in_shop_data_is_shown_literally_on_every_page(demo_root, tmp_path):
    """SPEC §4: names from data and settings are text, never markup, on every page."""
    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    root = tmp_path / "proj"
    _hostile_shop(demo_root / "data" / "demo-apparel", root / "data" / "hostile-shop")
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    ingest(root / "data" / "hostile-shop", today=demo.DEMO_INGEST_DATE)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name in ("00_overview", "07_cluster", "08_ctb"):  # name, footer; category plots; CTB
        shutil.copy(report.NOTEBOOK_DIR / f"{name}.ipynb", nbs / f"{name}.ipynb")
    r = report.render("hostile-shop", MONTH, root=root, notebook_dir=nbs, workers=2)
    assert [p.ok for p in r.pages] == [True, True, True], [p.message for p in r.pages]
    shown = ""
    with contextlib.ExitStack() as stack:
        # the DOM as the browser built it (the HTML parser a reader's browser uses)
        browser = stack.enter_context(Browser()) if chromium() else None
        for page in sorted(r.path.glob("*.html")):
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            _assert_no_payload_markup(soup, page.name)
            if browser is not None:
                _assert_no_payload_markup(_browser_dom(browser, page), f"{page.name} DOM")
            text = soup.get_text()
            assert HOSTILE_NAME in text, page.name  # title (pages) or heading (index), literally
            assert HOSTILE_NAME in soup.title.get_text() or page.name != "index.html"
            shown += text
    for h in HOSTILE:  # every hostile category or brand is shown as written somewhere
        assert h in shown, h


def _seen(text: str) -> str:
    """Text as a browser shows it: runs of white space (no-break spaces too) as one space."""
    return " ".join(text.replace("\xa0", " ").split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("<>&\"'`*_$[](){}#!/=\\ ax\n")), max_size=40))
def test_sentences_titles_and_tables_escape_any_text(text):
    """Whatever a sentence, shop name or table cell holds, the HTML shows exactly that text."""
    from unittest import mock

    from ecrm.settings import ShopSettings

    shown: list[str] = []
    ctx = ReportContext.__new__(ReportContext)
    ctx.shop, ctx.month, ctx.lang = "s", MONTH, "en"
    ctx.settings = mock.Mock(spec=ShopSettings, display_name=text or "s")
    with mock.patch("IPython.display.display", lambda obj: shown.append(obj.data)):
        ctx.say(text)
        ctx.title("T", "T", question_en=text)
    if not text:  # an empty sentence shows nothing; only the title was displayed
        assert len(shown) == 1
        shown.insert(0, "<p></p>")
    say = BeautifulSoup(shown[0], "html.parser")
    assert [t.name for t in say.find_all(True)] == ["p"]
    # a browser collapses runs of white space: the text a reader sees is compared
    assert _seen(say.get_text()) == _seen(text)
    title = BeautifulSoup(shown[1], "html.parser")
    assert {t.name for t in title.find_all(True)} <= {"h1", "p", "strong", "em"}
    assert _seen(text or "s") in _seen(title.get_text())
    cell = text.replace("\n", " ")  # pandas writes a newline in a cell as "\\n"
    table = BeautifulSoup(format_table(pd.DataFrame({"name": [cell]})), "html.parser")
    assert _seen(table.find("td").get_text()) == _seen(cell)
    assert {t.name for t in table.find_all(True)} <= {"table", "thead", "tbody", "tr", "th", "td"}


@pytest.mark.parametrize("label", ["$x$", "a$b", "$", "\\alpha$", "<b>**x**</b>", "{{ y }}"])
def test_chart_labels_with_dollars_are_literal(label):
    """A ``$`` in a category does not start mathtext (garbled, or a ValueError for odd ``$``)."""
    import io

    from ecrm.present.plotting.base import new_ax

    ax = new_ax()
    ax.bar([label, "b"], [1, 2], label=label)
    ax.legend()
    ax.set_xlabel(label)
    ax.figure.savefig(io.BytesIO(), format="png")  # mathtext would raise on "a$b" here
    assert ax.get_xticklabels()[0].get_text() == label
    assert not ax.get_xticklabels()[0]._parse_math  # drawn as text, never as a formula


# ----------------------------------------------------------------------------- case 12


BAD_MONTH = " 2026-10"
BAD_MONTH_MSG = "error: month must be YYYY-MM (e.g. 2026-10), got ' 2026-10'"


def test_month_is_exact_on_cli_report(project, monkeypatch):
    monkeypatch.setenv("ECRM_HOME", str(project))
    res = CliRunner().invoke(app, ["report", SHOP, "--month", BAD_MONTH])
    assert res.exit_code == 2
    assert res.output.strip() == BAD_MONTH_MSG
    assert not (project / "reports").exists()


def test_month_is_exact_on_cli_batch(project, monkeypatch):
    monkeypatch.setenv("ECRM_HOME", str(project))
    res = CliRunner().invoke(app, ["batch", "--month", BAD_MONTH, "--workers", "1"])
    assert res.exit_code == 2
    assert res.output.strip() == BAD_MONTH_MSG
    assert not (project / "reports").exists()


def test_month_is_exact_on_report_render(project):
    with pytest.raises(ParameterError, match=r"^month must be YYYY-MM \(e.g. 2026-10\), got ' "):
        report.render(SHOP, BAD_MONTH, root=project)
    assert not (project / "reports").exists()


def test_month_is_exact_on_run_batch(project):
    with pytest.raises(ParameterError, match=r"^month must be YYYY-MM \(e.g. 2026-10\), got ' "):
        batch.run_batch(BAD_MONTH, root=project, workers=1)
    assert not (project / "reports").exists()


@given(st.text(max_size=9))
def test_parse_month_accepts_exactly_yyyy_mm(text):
    import re

    exact = re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text) is not None
    try:
        parse_month(text)
    except ParameterError:
        assert not exact
    else:
        assert exact


# ----------------------------------------------------------------------------- case 13


def test_month_before_the_first_order_is_an_error_with_the_shops_dates(project):
    with pytest.raises(ParameterError) as e:
        report.render(SHOP, "2021-03", root=project, notebook_dir=_tiny(project / "nb"))
    first, last = _order_dates(project)
    assert str(e.value) == (
        f"{SHOP} has no orders on or before 2021-03-31 (the end of 2021-03): its orders run "
        f"from {first} to {last}; choose a month from {first[:7]} to {last[:7]}"
    )
    assert not (project / "reports" / SHOP / "2021-03").exists()
    results = batch.run_batch("2021-03", root=project, workers=1, notebook_dir=project / "nb")
    assert not results[0].ok and "has no orders on or before 2021-03-31" in results[0].error
    assert batch.exit_code(results) == 1


def _order_dates(root: Path) -> tuple[str, str]:
    orders = pd.read_parquet(root / "data" / SHOP / "canonical" / "orders.parquet")
    return str(orders["ordered_at"].min().date()), str(orders["ordered_at"].max().date())


def test_cli_report_exits_1_and_lists_each_failed_page(project, monkeypatch):
    nbs = _tiny(project / "nb", 'raise ValueError("the first line\\nand a second")')
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbs)
    monkeypatch.setenv("ECRM_HOME", str(project))
    res = CliRunner().invoke(app, ["report", SHOP, "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 1, res.output
    assert "error: 1 of 1 pages failed:\n  tiny: ValueError: the first line\n" in res.output
    assert "and a second" not in res.output


def test_cli_batch_exits_1_and_lists_each_failed_page(project, monkeypatch):
    nbs = _tiny(project / "nb", 'raise KeyError("missing thing")')
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbs)
    monkeypatch.setenv("ECRM_HOME", str(project))
    res = CliRunner().invoke(app, ["batch", "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 1, res.output
    assert "0 of 1 shops rendered every page" in res.output
    assert "page tiny failed: KeyError: 'missing thing'" in res.output
    page = (project / "reports" / f"{MONTH}-batch.html").read_text(encoding="utf-8")
    assert "PAGES FAILED" in page and "tiny: KeyError" in page


def test_exit_code_is_0_only_when_every_page_of_every_shop_rendered():
    ok = report.PageResult("a", True, 1.0)
    bad = report.PageResult("b", False, 1.0, "ValueError: x")
    job = batch.JobResult
    assert batch.exit_code([job("s", MONTH, True, 1.0, pages=(ok,))]) == 0
    assert batch.exit_code([job("s", MONTH, True, 1.0, pages=(ok, bad), pages_unavailable=("b",))])
    assert batch.exit_code([job("s", MONTH, False, 1.0, error="boom")]) == 1


# ----------------------------------------------------------------------------- case 10


def test_read_only_reports_folder_is_one_clear_message(project, monkeypatch):
    shop_reports = project / "reports" / SHOP

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(shop_reports))

    monkeypatch.setattr(publish.tempfile, "mkdtemp", refuse)
    monkeypatch.setenv("ECRM_HOME", str(project))
    monkeypatch.setattr(report, "NOTEBOOK_DIR", _tiny(project / "nb"))
    res = CliRunner().invoke(app, ["report", SHOP, "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 2
    assert res.output.strip() == (
        f"error: cannot write {shop_reports} (Read-only file system): make {shop_reports} "
        "writable for this user, or run ecrm from a project whose reports/ folder is "
        "writable (the previous report is unchanged)"
    )
    assert "Traceback" not in res.output


def test_read_only_reports_folder_stops_a_batch_before_it_runs(project, monkeypatch):
    reports = project / "reports"

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(reports))

    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    monkeypatch.setenv("ECRM_HOME", str(project))
    res = CliRunner().invoke(app, ["batch", "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 2, res.output
    assert f"error: cannot write {reports} (Permission denied): make {reports} writable" in (
        res.output
    )


def test_full_disk_while_rendering_is_one_clear_message_and_keeps_the_report(project, monkeypatch):
    nbs = _tiny(project / "nb")
    first = report.render(SHOP, MONTH, root=project, notebook_dir=nbs, workers=1)
    before = (first.path / "index.html").read_bytes()
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "index.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    monkeypatch.setenv("ECRM_HOME", str(project))
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbs)
    res = CliRunner().invoke(app, ["report", SHOP, "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 2, res.output
    shop_reports = project / "reports" / SHOP
    assert res.output.startswith(f"error: no space left on the device while writing {shop_reports}")
    assert res.output.strip().endswith(
        f"/index.html: free space on the disk holding {shop_reports} and run again "
        "(the previous report is unchanged)"
    )
    assert (first.path / "index.html").read_bytes() == before
    assert _leftovers(shop_reports) == []


def test_full_disk_in_a_page_fails_the_report_not_just_the_page(project):
    nbs = _tiny(
        project / "nb",
        "import errno\nraise OSError(errno.ENOSPC, 'No space left on device', '/r/tables/x.csv')",
    )
    with pytest.raises(publish.ReportOutputError) as e:
        report.render(SHOP, MONTH, root=project, notebook_dir=nbs, workers=1)
    assert str(e.value) == (
        "page tiny: no space left on the device while writing /r/tables/x.csv: free space on "
        f"the disk holding {project / 'reports' / SHOP} and run again (the previous report "
        "is unchanged)"
    )
    assert _leftovers(project / "reports" / SHOP) == []


# ----------------------------------------------------------------------------- case 15

_KILLED = """
import os, sys
from pathlib import Path
from ecrm.render import publish, report
step = sys.argv[1]
if sys.argv[2] == "no-exchange":
    publish._exchange = lambda a, b: False
real = publish.fault_point
def die(s):
    if s == step:
        os._exit(9)
    real(s)
publish.fault_point = die
report.render({shop!r}, {month!r}, root=Path(sys.argv[3]), notebook_dir=Path(sys.argv[4]),
              workers=1)
"""


def _killed_render(root: Path, nbs: Path, step: str, how: str = "exchange") -> int:
    env = {**os.environ, "ECRM_TEST_MARK": "new", "PYTHONPATH": str(REPO)}
    script = _KILLED.format(shop=SHOP, month=MONTH)
    proc = subprocess.run(
        [PY, "-c", script, step, how, str(root), str(nbs)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    return proc.returncode


@pytest.mark.parametrize("step", ["locked", "built", "swapped", "done"])
def test_a_render_killed_at_each_step_leaves_the_old_or_the_new_report(project, monkeypatch, step):
    nbs = _tiny(project / "nb")
    monkeypatch.setenv("ECRM_TEST_MARK", "old")
    old = report.render(SHOP, MONTH, root=project, notebook_dir=nbs, workers=1)
    assert _mark(old.path) == "old"
    assert _killed_render(project, nbs, step) == 9
    expected = "new" if step in ("swapped", "done") else "old"
    assert _mark(old.path) == expected
    shop_reports = project / "reports" / SHOP
    if step in ("built", "swapped"):
        assert _leftovers(shop_reports), "the killed run left its temporary folder"
    monkeypatch.setenv("ECRM_TEST_MARK", "next")
    report.render(SHOP, MONTH, root=project, notebook_dir=nbs, workers=1)
    assert _mark(old.path) == "next"
    assert _leftovers(shop_reports) == []  # the dead run's temporaries are gone


def test_a_kill_between_the_two_renames_is_repaired_by_the_next_run(project, monkeypatch):
    """Without an atomic exchange, the old report is renamed back before anything else."""
    nbs = _tiny(project / "nb")
    monkeypatch.setenv("ECRM_TEST_MARK", "old")
    old = report.render(SHOP, MONTH, root=project, notebook_dir=nbs, workers=1)
    assert _killed_render(project, nbs, "set-aside", "no-exchange") == 9
    shop_reports = project / "reports" / SHOP
    assert not old.path.exists()  # the documented gap of the fallback
    restored = publish.clean_stale(shop_reports, MONTH)
    assert restored[0].name.startswith(f".{MONTH}.old-{restored[0].name.split('-')[2]}")
    assert [p.name.startswith(f".{MONTH}.tmp-") for p in restored[1:]] == [True]
    assert _mark(old.path) == "old"
    assert _leftovers(shop_reports) == []


def test_stale_temporaries_of_dead_runs_are_removed_and_live_ones_kept(project):
    shop_reports = project / "reports" / SHOP
    shop_reports.mkdir(parents=True)
    for name in (f".{MONTH}.tmp-999999-a", ".2026-09.tmp-999999-b", ".2026-08.old-1-c"):
        (shop_reports / name).mkdir()
    (shop_reports / "2026-08").mkdir()
    with publish.shop_month_lock(shop_reports, "2026-07"):  # a live render of 2026-07
        (shop_reports / ".2026-07.tmp-1-d").mkdir()
        removed = publish.clean_stale(shop_reports, MONTH)
        assert sorted(p.name for p in removed) == sorted(
            [f".{MONTH}.tmp-999999-a", ".2026-09.tmp-999999-b", ".2026-08.old-1-c"]
        )
        assert _leftovers(shop_reports) == [".2026-07.tmp-1-d"]


def test_a_second_render_of_the_same_shop_month_waits_for_the_first(project):
    nbs = _tiny(project / "nb")
    shop_reports = project / "reports" / SHOP
    shop_reports.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ECRM_TEST_MARK": "second"}
    script = textwrap.dedent(
        f"""
        import logging, sys
        from pathlib import Path
        from ecrm.render import report
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
        report.render({SHOP!r}, {MONTH!r}, root=Path({str(project)!r}),
                      notebook_dir=Path({str(nbs)!r}), workers=1)
        """
    )
    with publish.shop_month_lock(shop_reports, MONTH):
        proc = subprocess.Popen(
            [PY, "-c", script], env=env, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        guard = threading.Timer(90, proc.kill)  # never hang the suite if it does not wait
        guard.start()
        line = next((x for x in proc.stderr if "another render" in x), "")
        guard.cancel()
        assert line.strip() == (
            f"another render of {SHOP} {MONTH} is running (pid {os.getpid()}): "
            "waiting for it to finish"
        )
        assert proc.poll() is None and not (shop_reports / MONTH).exists()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert _mark(shop_reports / MONTH) == "second"


def test_two_concurrent_renders_of_one_shop_month_both_succeed(project):
    nbs = _tiny(project / "nb")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = (
        "from pathlib import Path\nfrom ecrm.render import report\n"
        f"report.render({SHOP!r}, {MONTH!r}, root=Path({str(project)!r}), "
        f"notebook_dir=Path({str(nbs)!r}), workers=1)"
    )
    procs = [
        subprocess.Popen(
            [PY, "-c", script], env={**env, "ECRM_TEST_MARK": m}, stderr=subprocess.PIPE
        )
        for m in ("one", "two")
    ]
    codes = [p.wait(timeout=180) for p in procs]
    assert codes == [0, 0], [p.stderr.read() for p in procs]
    assert _mark(project / "reports" / SHOP / MONTH) in ("one", "two")
    assert _leftovers(project / "reports" / SHOP) == []
