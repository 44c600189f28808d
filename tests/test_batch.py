"""ecrm batch: many shops, a broken one isolated, a process pool and a Dask cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecrm.errors import ParameterError
from ecrm.render import batch, report

MONTH = "2026-10"


@pytest.fixture(scope="module")
def project(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the demo project with a third, broken shop; and a one-notebook folder."""
    root = tmp_path_factory.mktemp("batch")
    shutil.copytree(demo_root / "data", root / "data")
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    broken = root / "data" / "broken-shop"
    shutil.copytree(root / "data" / "demo-food", broken)
    shutil.rmtree(broken / "canonical")
    shutil.rmtree(broken / "raw")  # settings point at exports that are not there
    nbs = root / "nbs"
    nbs.mkdir()
    shutil.copy(report.NOTEBOOK_DIR / "02_decile.ipynb", nbs / "02_decile.ipynb")
    return root, nbs


def test_configured_shops(project):
    root, _ = project
    assert batch.configured_shops(root) == ["broken-shop", "demo-apparel", "demo-food"]


def test_a_broken_shop_is_isolated_and_reported(project):
    root, nbs = project
    seen = []
    results = batch.run_batch(MONTH, root=root, workers=2, notebook_dir=nbs, progress=seen.append)
    by = {r.shop: r for r in results}
    assert by["demo-apparel"].ok and by["demo-food"].ok
    assert not by["broken-shop"].ok
    assert "matches no file" in by["broken-shop"].error
    assert len(seen) == 3
    index = (root / "reports" / f"{MONTH}-batch.html").read_text(encoding="utf-8")
    assert "2 of 3 shops rendered" in index and "FAILED" in index
    assert (root / "reports" / "demo-food" / MONTH / "decile.html").is_file()


def test_cli_exit_code_is_non_zero_when_a_shop_failed(project, monkeypatch):
    from ecrm.render.cli import app

    root, nbs = project
    monkeypatch.setenv("ECRM_HOME", str(root))
    monkeypatch.setattr(
        batch,
        "render_job",
        lambda req, w=1, nb=None, keep_kernel=False, _orig=batch.render_job: _orig(
            req, w, str(nbs), keep_kernel=keep_kernel
        ),
    )
    res = CliRunner().invoke(app, ["batch", "--month", MONTH, "--workers", "1"])
    assert res.exit_code == 1, res.output
    assert "2 of 3 shops rendered" in res.output
    ok = CliRunner().invoke(
        app, ["batch", "--month", MONTH, "--workers", "1", "--shops", "demo-food"]
    )
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("month", ["2026-13", " 2026-10", "2026-10 ", "2026-1", "2026/10"])
def test_bad_parameters_are_refused_before_anything_runs(project, month):
    root, _ = project
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with pytest.raises(ParameterError, match="YYYY-MM"):
        batch.run_batch(month, root=root)
    with pytest.raises(ParameterError):
        batch.run_batch(MONTH, root=root, shops=["../etc"])
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_a_shop_with_invalid_settings_fails_alone(project, tmp_path):
    """Settings are parsed once per shop in the parent; a bad file fails that shop only."""
    root, nbs = project
    other = tmp_path / "p"
    shutil.copytree(root / "data" / "demo-food", other / "data" / "demo-food")
    (other / "data" / "bad-yaml").mkdir()
    (other / "data" / "bad-yaml" / "settings.yaml").write_text("name: [\n", encoding="utf-8")
    results = batch.run_batch(MONTH, root=other, workers=1, notebook_dir=nbs)
    by = {r.shop: r for r in results}
    assert by["demo-food"].ok and not by["bad-yaml"].ok
    assert "not valid YAML" in by["bad-yaml"].error


def test_runs_on_a_dask_cluster(project):
    distributed = pytest.importorskip("distributed")
    root, nbs = project
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        results = batch.run_batch(
            MONTH,
            root=root,
            shops=["demo-apparel", "broken-shop"],
            scheduler=cluster.scheduler_address,
            notebook_dir=nbs,
        )
    by = {r.shop: r for r in results}
    assert by["demo-apparel"].ok
    assert not by["broken-shop"].ok


def test_first_weekday_of_the_month():
    import datetime as dt

    from ecrm.render.cli import first_weekday

    assert first_weekday(dt.date(2026, 11, 23)) == dt.date(2026, 11, 2)  # 1 Nov is a Sunday
    assert first_weekday(dt.date(2026, 8, 31)) == dt.date(2026, 8, 3)  # 1 Aug is a Saturday
    assert first_weekday(dt.date(2026, 10, 5)) == dt.date(2026, 10, 1)  # a Thursday


def _threads_notebooks(folder: Path) -> Path:
    """Two pages that save the DuckDB threads their kernel's queries use."""
    import nbformat

    folder.mkdir()
    for name in ("01_first", "02_second"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
        nb.metadata["language_info"] = {"name": "python"}
        params = nbformat.v4.new_code_cell(
            'shop = "demo-food"\nmonth = "2026-10"\nlang = "ja"\noutput_dir = ""\nrequest_file = ""'
        )
        params.metadata["tags"] = ["parameters"]
        nb.cells = [
            params,
            nbformat.v4.new_code_cell(
                "import ecrm, ibis, pandas as pd\n"
                "ctx = ecrm.render.context.context(\n"
                "    shop, month, lang, output_dir=output_dir, request_file=request_file\n"
                ")\n"
                'ctx.title("スレッド", "Threads")'
            ),
            nbformat.v4.new_code_cell(
                "ecrm.engine.orders_table(ctx.orders)\n"
                "con = ibis.get_backend()\n"
                "n = con.raw_sql(\"SELECT current_setting('threads')\").fetchall()[0][0]\n"
                f'ctx.save(pd.DataFrame({{"threads": [n]}}), "threads_{name}")'
            ),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def test_parallel_kernels_share_the_cores(project, tmp_path, monkeypatch):
    """Two workers' kernels run DuckDB on their share of the cores, in a batch and a report."""
    root, _ = project
    nbs = _threads_notebooks(tmp_path / "nbs")
    monkeypatch.delenv("ECRM_DUCKDB_THREADS", raising=False)
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 2)  # the pool's share, as on CI
    share = "1"
    report.render("demo-food", MONTH, root=root, workers=2, notebook_dir=nbs)
    results = batch.run_batch(
        MONTH, root=root, shops=["demo-food", "demo-apparel"], workers=2, notebook_dir=nbs
    )
    assert all(r.ok for r in results), [r.error for r in results]
    for shop in ("demo-food", "demo-apparel"):
        tables = root / "reports" / shop / MONTH / "tables"
        for name in ("01_first", "02_second"):
            got = (tables / f"threads_{name}.csv").read_text(encoding="utf-8-sig").split()
            assert got == ["threads", share], (shop, name)


def _alive(p) -> bool:
    import psutil

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_kill_9_of_the_batch_leaves_no_process_of_the_run(demo_root, tmp_path):
    """Workers, their kernels and the resource tracker die with a SIGKILLed ``ecrm batch``."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    root = tmp_path / "proj"
    shutil.copytree(demo_root / "data", root / "data")
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    env = {
        **os.environ,
        "ECRM_HOME": str(root),
        "PYTHONPATH": str(Path(report.__file__).parents[2]),
    }
    cmd = [sys.executable, "-m", "ecrm", "batch", "--month", MONTH, "--workers", "2"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    parent = psutil.Process(proc.pid)

    def cmdline(p) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:
            return ""

    deadline = time.monotonic() + 120
    family: list = []
    try:
        while time.monotonic() < deadline:  # mid-run: both workers have started their kernels
            family = parent.children(recursive=True)
            if sum("ipykernel" in cmdline(p) for p in family) >= 2:
                break
            assert proc.poll() is None, "the batch ended before its kernels started"
            time.sleep(0.2)
        family = parent.children(recursive=True)
        assert sum("ipykernel" in cmdline(p) for p in family) >= 2
        assert sum("multiprocessing.spawn" in cmdline(p) for p in family) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gone_by = time.monotonic() + 5
        while time.monotonic() < gone_by and any(_alive(p) for p in family):
            time.sleep(0.1)
        assert [cmdline(p)[:80] for p in family if _alive(p)] == []
    finally:  # a failing test must not leave the run behind either
        for p in [parent, *family]:
            if _alive(p):
                p.kill()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--shops", "demo-apparel", "demo-food"], ["demo-apparel", "demo-food"]),
        (["--shops", "demo-apparel", "--shops", "demo-food"], ["demo-apparel", "demo-food"]),
        (["--shops", "a", "b", "--workers", "1", "c"], ["a", "b", "c"]),
        (["--shops", "demo-food"], ["demo-food"]),
    ],
)
def test_batch_shops_takes_the_readme_form_and_repeats(monkeypatch, tmp_path, argv, expected):
    """``ecrm batch --month M --shops a b`` (README) and ``--shops a --shops b`` both name shops."""
    from ecrm.render.cli import app

    monkeypatch.setenv("ECRM_HOME", str(tmp_path))
    seen: list[list[str]] = []

    def fake_run_batch(month, *, shops, **kw):
        seen.append(list(shops))
        return []

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    res = CliRunner().invoke(app, ["batch", "--month", MONTH, *argv])
    assert res.exit_code == 0, res.output
    assert seen == [expected]


def test_batch_shop_names_without_the_option_are_refused(monkeypatch, tmp_path):
    from ecrm.render.cli import app

    monkeypatch.setenv("ECRM_HOME", str(tmp_path))
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: pytest.fail("must not run"))
    res = CliRunner().invoke(app, ["batch", "--month", MONTH, "demo-food"])
    assert res.exit_code == 2
    assert "unexpected argument 'demo-food': name shops with --shops a b" in res.output


@given(st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True), min_size=1, max_size=5))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_batch_shops_list_and_repeated_forms_agree(monkeypatch, tmp_path, names):
    from ecrm.render.cli import app

    monkeypatch.setenv("ECRM_HOME", str(tmp_path))
    seen: list[list[str]] = []
    monkeypatch.setattr(batch, "run_batch", lambda m, *, shops, **kw: seen.append(shops) or [])
    repeated = [a for n in names for a in ("--shops", n)]
    for argv in (["--shops", *names], repeated):
        res = CliRunner().invoke(app, ["batch", "--month", MONTH, *argv])
        assert res.exit_code == 0, res.output
    assert seen == [names, names]


def test_the_readmes_batch_command_runs(monkeypatch, tmp_path):
    """The README's ``ecrm batch --month 2026-10 [--shops a b] [--workers 2]``, brackets taken."""
    import re
    import shlex

    from ecrm.render.cli import app

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (line,) = [x for x in readme.splitlines() if "ecrm batch --month" in x and "--shops" in x]
    argv = shlex.split(re.sub(r"[\[\]]", "", line.split("#")[0]))[1:]
    assert argv[:1] == ["batch"] and "--shops" in argv
    monkeypatch.setenv("ECRM_HOME", str(tmp_path))
    seen: list[tuple[list[str], int]] = []
    monkeypatch.setattr(
        batch, "run_batch", lambda m, *, shops, workers, **kw: seen.append((shops, workers)) or []
    )
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert seen == [(["a", "b"], 2)]


def test_a_shop_whose_data_start_after_the_month_fails_alone_with_its_dates(project, tmp_path):
    """Issue #21: a month before a shop's first order fails that shop (its dates named)."""
    import pandas as pd

    from ecrm import paths

    root, nbs = project
    other = tmp_path / "late"
    shutil.copytree(root / "data" / "demo-food", other / "data" / "demo-food")
    late = other / "data" / "late-shop"
    shutil.copytree(root / "data" / "demo-food", late)
    (late / "settings.yaml").write_text(
        (late / "settings.yaml")
        .read_text(encoding="utf-8")
        .replace("name: demo-food", "name: late-shop"),
        encoding="utf-8",
    )
    orders = pd.read_parquet(paths.orders_path(late))
    kept = orders[orders["ordered_at"] >= pd.Timestamp("2024-06-01")]
    kept.to_parquet(paths.orders_path(late), index=False)
    first, last = kept["ordered_at"].min().date(), kept["ordered_at"].max().date()
    results = batch.run_batch("2024-03", root=other, workers=1, notebook_dir=nbs)
    by = {r.shop: r for r in results}
    assert by["demo-food"].ok, by["demo-food"].error
    assert not by["late-shop"].ok
    assert by["late-shop"].error.endswith(
        f"late-shop has no orders on or before 2024-03-31 (the end of 2024-03): its orders run "
        f"from {first} to {last}; choose a month from {first:%Y-%m} to {last:%Y-%m}"
    )
    assert batch.exit_code(results) == 1
    page = (other / "reports" / "demo-food" / "2024-03" / "decile.html").read_text("utf-8")
    food = pd.read_parquet(paths.orders_path(other / "data" / "demo-food"), columns=["ordered_at"])
    begin = food["ordered_at"].min().date()
    assert f"{begin}〜2024-03-31(データは{begin}から)の売上" in page  # the window as used
    assert "比較する期間(2022-04-01〜2023-03-31)はデータの開始" in page
