"""Tests of ecrm.render.context: a section that cannot run shows a message, not a traceback.

(The notebooks themselves are checked in tests/test_notebooks.py; rendering in
tests/test_report.py.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ecrm.errors import MissingDependencyError, ModelFitError
from ecrm.render.context import ReportContext


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the context displays, instead of showing it."""
    import IPython.display

    out: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: out.extend(objs))
    return out


def _ctx(lang: str) -> ReportContext:
    return ReportContext(
        shop="demo",
        month="2026-10",
        lang=lang,
        as_of=dt.date(2026, 10, 31),
        settings=None,  # type: ignore[arg-type]  # attempt() does not use them
        orders=Path("orders.parquet"),
        output_dir=None,
    )


def _fail(exc: Exception) -> None:
    raise exc


def test_attempt_returns_the_result_and_shows_nothing(shown: list[Any]) -> None:
    assert _ctx("ja").attempt(divmod, 7, 2) == (3, 1)
    assert _ctx("ja").attempt(dict, a=1) == {"a": 1}
    assert shown == []


def test_missing_extra_is_a_message(shown: list[Any]) -> None:
    err = MissingDependencyError("install it with `pip install 'ecrm[predict]'` <here>")
    assert _ctx("ja").attempt(_fail, err) is None
    (box,) = shown
    assert box.data == (
        "<div class='ecrm-error'><strong>この分析は表示できません.</strong>"
        "<p>必要なオプションのパッケージがインストールされていません。 install it with "
        "`pip install &#39;ecrm[predict]&#39;` &lt;here&gt;</p></div>"
    )


def test_model_fit_error_is_a_message(shown: list[Any]) -> None:
    err = ModelFitError("only 3 of 6 customers have a repeat purchase")
    assert _ctx("en").attempt(_fail, err) is None
    (box,) = shown
    assert "This analysis could not be shown." in box.data
    assert (
        "The model could not be estimated from this data. only 3 of 6 customers have a "
        "repeat purchase"
    ) in box.data


def test_other_errors_propagate(shown: list[Any]) -> None:
    with pytest.raises(ZeroDivisionError):
        _ctx("en").attempt(lambda: 1 / 0)
    with pytest.raises(TypeError):
        _ctx("en").attempt(divmod, "a", "b")
    assert shown == []


@pytest.mark.parametrize("rows", [10, 60_000])
def test_write_csv_short_and_long_tables_read_back_equal(tmp_path, monkeypatch, rows) -> None:
    from ecrm.render import context as notebook

    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(rows)],
            "value": rng.choice(["トップス", 'say "hi"', "a,b", "line\nbreak"], rows),
            "rank": rng.integers(1, 4, rows),
            "score": rng.random(rows) * 1e-6,
            "money": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows) * 1e6),
        }
    )
    target = tmp_path / "t.csv"
    notebook.write_csv(df, target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    back = pd.read_csv(target, encoding="utf-8-sig", dtype={"customer_id": str, "value": str})
    pd.testing.assert_frame_equal(back, df, check_dtype=False, rtol=1e-15)
    pandas_text = tmp_path / "p.csv"
    df.to_csv(pandas_text, index=False, encoding="utf-8-sig")
    same_text = raw == pandas_text.read_bytes()
    assert same_text == (rows <= notebook._ARROW_CSV_ROWS)  # the long one went through Arrow


def test_write_csv_keeps_pandas_for_dates_and_booleans(tmp_path) -> None:
    from ecrm.render import context as notebook

    n = notebook._ARROW_CSV_ROWS + 1
    df = pd.DataFrame({"d": pd.to_datetime(["2026-10-31"] * n), "b": [True] * n})
    notebook.write_csv(df, tmp_path / "t.csv")
    df.to_csv(tmp_path / "p.csv", index=False, encoding="utf-8-sig")
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
